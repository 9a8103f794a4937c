/**
 * The `ip -force -batch -` channel: failure attribution (from real ip
 * stderr, fixtures/batch-stderr.txt), process recycling, a crashing ip,
 * closing; and lanes of them side by side. Driven by the fake kernel; the real ip is covered by
 * test/integration/kernel-routes.test.ts.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeIpKernel } from './fake-ip.js';
import { BatchStderrParser, IpBatch } from './ip-batch.js';
import { IpLanes, laneOf } from './ip-lanes.js';

const stderrFixture = readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'batch-stderr.txt'), 'utf8');

function kernel(): FakeIpKernel {
  const k = new FakeIpKernel();
  k.addLink('eth0', '192.0.2.1/24');
  return k;
}

const add = (i: number, via = '192.0.2.2'): string => `route add 10.${i >> 8}.${i & 255}.0/24 via ${via} proto 77 metric 0`;

describe('kernel/ip-batch: BatchStderrParser on real ip stderr', () => {
  for (const chunkSize of [1, 7, 64, 10_000]) {
    it(`attributes every message to its line (chunks of ${chunkSize} bytes)`, () => {
      const p = new BatchStderrParser();
      const reports = [];
      for (let i = 0; i < stderrFixture.length; i += chunkSize) reports.push(...p.push(stderrFixture.slice(i, i + chunkSize)));
      expect(reports).to.deep.equal([
        { lineNo: 1, message: 'Error: Nexthop has invalid gateway.' },
        { lineNo: 3, message: 'RTNETLINK answers: File exists' },
        { lineNo: 4, message: 'RTNETLINK answers: No such process' },
        { lineNo: 5, message: 'Cannot find device "nosuchdev"' },
        { lineNo: 6, message: 'Object "tortie-sync" is unknown, try "ip help".' },
      ]);
      expect(p.pendingText()).to.equal('');
    });
  }
});

describe('kernel/ip-batch: IpBatch', () => {
  it('runs lines, reports failures by index with the kernel message, and carries on after them (-force)', async () => {
    const k = kernel();
    const b = new IpBatch({ runner: k.runner });
    try {
      const lines = [add(1), add(2, '198.51.100.1'), add(3), add(1), 'route del 10.9.9.0/24 proto 77 metric 0', add(4)];
      const out = await b.exec(lines);
      expect(out.unknown).to.deep.equal([]);
      expect(out.failures).to.deep.equal([
        { index: 1, line: lines[1], message: 'Error: Nexthop has invalid gateway.' },
        { index: 3, line: lines[3], message: 'RTNETLINK answers: File exists' },
        { index: 4, line: lines[4], message: 'RTNETLINK answers: No such process' },
      ]);
      expect(k.list(77).map((r) => r.prefix)).to.deep.equal(['10.0.1.0/24', '10.0.3.0/24', '10.0.4.0/24']);
      expect(b.stats().processesStarted).to.equal(1);
    } finally {
      await b.close();
    }
  });

  it('keeps one process across calls and counts its lines across them', async () => {
    const k = kernel();
    const b = new IpBatch({ runner: k.runner });
    try {
      await b.exec([add(1), add(2)]);
      const out = await b.exec([add(3), add(1)]);
      expect(out.failures.map((f) => f.index)).to.deep.equal([1]);
      expect(b.stats().processesStarted).to.equal(1);
      expect(b.stats().commandsSent).to.equal(6); // 4 routes and 2 sync markers
    } finally {
      await b.close();
    }
  });

  it('retires a process after maxCommandsPerProcess lines and attributes failures across processes', async () => {
    const k = kernel();
    const b = new IpBatch({ runner: k.runner, maxCommandsPerProcess: 5 });
    try {
      const lines = Array.from({ length: 23 }, (_, i) => add(i, i % 6 === 5 ? '203.0.113.1' : '192.0.2.2'));
      const out = await b.exec(lines);
      expect(out.failures.map((f) => f.index)).to.deep.equal([5, 11, 17]);
      expect(k.list(77).length).to.equal(20);
      // 4 lines + 1 marker per process: 6 processes for 23 lines.
      expect(b.stats().processesStarted).to.equal(6);
      const batchProcs = k.runner.spawned.filter((s) => s.argv.includes('-batch'));
      // Every process but the last was told to finish (stdin closed) and has gone.
      await Promise.all(batchProcs.slice(0, -1).map((s) => s.cmd.exited));
      expect(batchProcs.slice(0, -1).every((s) => !s.cmd.running)).to.equal(true);
    } finally {
      await b.close();
    }
  });

  it('reports lines after an ip crash as unknown, then works on with a new process', async () => {
    const k = kernel();
    k.crashOnLine = (line) => line.includes('10.0.3.0/24');
    const b = new IpBatch({ runner: k.runner });
    try {
      const lines = [add(1), add(2, '198.51.100.1'), add(3), add(4)];
      const out = await b.exec(lines);
      expect(out.failures.map((f) => f.index)).to.deep.equal([1]);
      expect(out.unknown.map((f) => f.index)).to.deep.equal([2, 3]);
      expect(out.unknown[0].message).to.match(/inet prefix is expected/);
      k.crashOnLine = undefined;
      const again = await b.exec([add(4)]);
      expect(again).to.deep.equal({ failures: [], unknown: [] });
      expect(b.stats().processesStarted).to.equal(2);
    } finally {
      await b.close();
    }
  });

  it('closes an idle process after idleCloseMs and starts a new one when needed', async () => {
    const k = kernel();
    const b = new IpBatch({ runner: k.runner, idleCloseMs: 20 });
    try {
      await b.exec([add(1)]);
      const first = k.runner.spawned[0].cmd;
      await first.exited;
      await b.exec([add(2)]);
      expect(b.stats().processesStarted).to.equal(2);
    } finally {
      await b.close();
    }
  });

  it('close() ends every process; exec() afterwards reports every line as unknown', async () => {
    const k = kernel();
    const b = new IpBatch({ runner: k.runner });
    await b.exec([add(1)]);
    await b.close();
    expect(k.runner.spawned.every((s) => !s.cmd.running)).to.equal(true);
    const out = await b.exec([add(2)]);
    expect(out.unknown.map((u) => u.index)).to.deep.equal([0]);
  });
});

describe('kernel/ip-lanes: IpLanes', () => {
  it('spreads lines over lanes by key, keeps one key in order, and maps failures back to the caller\'s indices', async () => {
    const k = kernel();
    const lanes = new IpLanes(3, { runner: k.runner });
    try {
      const lines: string[] = [];
      const keys: string[] = [];
      for (let i = 0; i < 30; i++) {
        const p = `10.0.${i}.0/24`;
        lines.push(`route add ${p} via 192.0.2.2 proto 77 metric 0`, `route del ${p} proto 77 metric 0`, `route add ${p} via 192.0.2.3 proto 77 metric 0`);
        keys.push(p, p, p);
      }
      lines.push(add(200, '198.51.100.1'));
      keys.push('10.0.200.0/24');
      const out = await lanes.exec(lines, keys);
      expect(out.failures.map((f) => f.index)).to.deep.equal([90]);
      expect(out.failures[0].line).to.equal(lines[90]);
      expect(k.list(77).map((r) => r.hops[0].via)).to.deep.equal(new Array(30).fill('192.0.2.3'));
      expect(new Set(k.runner.spawned.map((s) => s.cmd.pid)).size).to.equal(3);
      expect([0, 1, 2].map((lane) => keys.filter((key) => laneOf(key, 3) === lane).length).every((n) => n > 0)).to.equal(true);
    } finally {
      await lanes.close();
    }
  });
});
