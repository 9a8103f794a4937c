/**
 * KernelRoutes on a real kernel (root). Each test builds its own pair of
 * namespaces, "node" (where routes go) and "peer" (which owns the next
 * hops), joined by a veth, and destroys them in finally.
 *
 * What is checked against `ip -json route show` directly (not through our
 * parser): exact installed state for unicast, ECMP and blackhole in both
 * families; foreign routes untouched; a hand-deleted route restored by the
 * monitor within 3 s; a restarted instance adopting routes without one
 * route event; stop() leaving routes and no process behind.
 */
import { expect } from 'chai';
import { TortieError } from '../../lib/errors.js';
import { memoryLogger, type LogRecord } from '../../lib/log.js';
import { type CommandRunner, NodeCommandRunner, type RunningCommand } from '../../agent/kernel/command-runner.js';
import { KernelRoutes, type KernelRoutesOptions } from '../../agent/kernel/kernel-routes.js';
import type { RouteInput } from '../../agent/kernel/routes.js';
import { type Netns, isRoot, requireCommands, sleep, waitFor } from '../support/netns.js';
import { buildNodePeer, type NodePeer } from '../support/kernel-topology.js';

const P = 77;

type Node = NodePeer;

const build = buildNodePeer;

/** A runner that remembers every long-lived process it started. */
class RecordingRunner implements CommandRunner {
  readonly spawned: RunningCommand[] = [];
  private readonly inner = new NodeCommandRunner();
  run(...args: Parameters<CommandRunner['run']>): ReturnType<CommandRunner['run']> {
    return this.inner.run(...args);
  }
  spawn(...args: Parameters<CommandRunner['spawn']>): RunningCommand {
    const cmd = this.inner.spawn(...args);
    this.spawned.push(cmd);
    return cmd;
  }
}

function routes(n: Node, opts: Partial<KernelRoutesOptions> = {}): { kr: KernelRoutes; runner: RecordingRunner; logs: LogRecord[] } {
  const runner = new RecordingRunner();
  const logs: LogRecord[] = [];
  const kr = new KernelRoutes({ proto: P, runner, netns: n.node.name, log: memoryLogger(logs), ...opts });
  return { kr, runner, logs };
}

type Json = Record<string, unknown>;

/** `ip -json [-6] route show proto 77`, exactly as ip prints it, sorted by dst. */
async function shown(ns: Netns, family: 4 | 6, proto: number | 'all' = P): Promise<Json[]> {
  const args = [`-${family}`, 'route', 'show', ...(proto === 'all' ? ['table', 'main'] : ['proto', String(proto)])];
  const rows = await ns.ipJson<Json[]>(args);
  return rows.sort((a, b) => String(a.dst).localeCompare(String(b.dst)));
}

const via = (prefix: string, gw: string, dev?: string): RouteInput => ({ prefix, kind: 'unicast', nextHops: [{ via: gw, ...(dev ? { dev } : {}) }] });

const DESIRED: RouteInput[] = [
  via('10.1.0.0/24', '192.0.2.2'),
  { prefix: '10.2.0.0/24', kind: 'unicast', nextHops: [{ via: '192.0.2.2' }, { via: '192.0.2.3', weight: 3 }] },
  { prefix: '10.3.0.0/16', kind: 'blackhole' },
  via('10.4.0.5/32', '192.0.2.3'),
  via('2001:db8:10::/48', '2001:db8:1::2'),
  { prefix: '2001:db8:11::/48', kind: 'unicast', nextHops: [{ via: '2001:db8:1::2', weight: 2 }, { via: 'fe80::1', dev: 've0a' }] },
  { prefix: '2001:db8:12::/48', kind: 'blackhole' },
];

const EXPECTED_V4: Json[] = [
  { dst: '10.1.0.0/24', gateway: '192.0.2.2', dev: 've0a', flags: [] },
  {
    dst: '10.2.0.0/24',
    flags: [],
    nexthops: [
      { gateway: '192.0.2.2', dev: 've0a', weight: 1, flags: [] },
      { gateway: '192.0.2.3', dev: 've0a', weight: 3, flags: [] },
    ],
  },
  { type: 'blackhole', dst: '10.3.0.0/16', flags: [] },
  { dst: '10.4.0.5', gateway: '192.0.2.3', dev: 've0a', flags: [] },
];

const EXPECTED_V6: Json[] = [
  { dst: '2001:db8:10::/48', gateway: '2001:db8:1::2', dev: 've0a', metric: 1024, flags: [], pref: 'medium' },
  {
    dst: '2001:db8:11::/48',
    metric: 1024,
    flags: [],
    pref: 'medium',
    nexthops: [
      { gateway: '2001:db8:1::2', dev: 've0a', weight: 2, flags: [] },
      { gateway: 'fe80::1', dev: 've0a', weight: 1, flags: [] },
    ],
  },
  { type: 'blackhole', dst: '2001:db8:12::/48', dev: 'lo', metric: 1024, flags: [], pref: 'medium' },
];

/** Route events (`ip -o monitor route`) in `ns` while `fn` runs. */
async function routeEventsDuring(n: Node, fn: () => Promise<void>): Promise<string[]> {
  const log = `${n.topo.tmpDir}/monitor-${Date.now()}.txt`;
  const mon = n.node.spawn('ip', ['-o', 'monitor', 'route'], { logFile: log });
  try {
    await sleep(200); // let it subscribe
    await fn();
    await sleep(300); // let the last events arrive
  } finally {
    await mon.stop();
  }
  return mon.logTail(10_000).split('\n').filter((l) => l.trim() !== '');
}

describe('agent/kernel: KernelRoutes on a real kernel (root)', function () {
  this.timeout(60_000);

  before(() => {
    if (!isRoot()) throw new TortieError('ERR_TEST_PREREQ', 'kernel-routes integration tests need root (network namespaces)');
    requireCommands(['ip']);
  });

  it('(a) installs unicast, ECMP and blackhole routes of both families exactly, then changes and withdraws them', async () => {
    const n = await build();
    const { kr } = routes(n);
    try {
      await kr.start();
      const { rejected } = kr.setDesired(DESIRED);
      expect(rejected).to.deep.equal([]);
      await kr.settled();
      expect(await shown(n.node, 4)).to.deep.equal(EXPECTED_V4);
      expect(await shown(n.node, 6)).to.deep.equal(EXPECTED_V6);
      expect(kr.stats()).to.include({ routesInstalled: 7, routesFailed: 0, routesBlocked: 0 });

      // ECMP → single path, blackhole → unicast, one v6 withdrawn.
      kr.upsert(via('10.2.0.0/24', '192.0.2.3'));
      kr.upsert(via('10.3.0.0/16', '192.0.2.2'));
      kr.remove('2001:db8:11::/48');
      await kr.settled();
      expect(await shown(n.node, 4)).to.deep.equal([
        EXPECTED_V4[0],
        { dst: '10.2.0.0/24', gateway: '192.0.2.3', dev: 've0a', flags: [] },
        { dst: '10.3.0.0/16', gateway: '192.0.2.2', dev: 've0a', flags: [] },
        EXPECTED_V4[3],
      ]);
      expect(await shown(n.node, 6)).to.deep.equal([EXPECTED_V6[0], EXPECTED_V6[2]]);

      kr.setDesired([]);
      await kr.settled();
      expect(await shown(n.node, 4)).to.deep.equal([]);
      expect(await shown(n.node, 6)).to.deep.equal([]);
    } finally {
      await kr.stop();
      await n.topo.destroy();
    }
  });

  it('(a2) reports an unreachable next hop as failed with the kernel message and installs the rest', async () => {
    const n = await build();
    const { kr, logs } = routes(n, { retryMinMs: 200 });
    try {
      await kr.start();
      kr.setDesired([via('10.1.0.0/24', '192.0.2.2'), via('10.9.0.0/24', '198.51.100.1')]);
      await kr.settled();
      expect((await shown(n.node, 4)).map((r) => r.dst)).to.deep.equal(['10.1.0.0/24']);
      const [st] = kr.status('10.9.0.0/24');
      expect(st.state).to.equal('failed');
      expect(st.error).to.match(/Nexthop has invalid gateway|Network is unreachable/);
      expect(logs.some((l) => l.msg === 'kernel rejected a route change' && String(l.route).startsWith('10.9.0.0/24'))).to.equal(true);
      // The next hop becomes reachable: the link event brings the retry forward.
      await n.node.ip(['addr', 'add', '198.51.100.2/24', 'dev', 've0a']);
      await n.node.ip(['link', 'set', 've0a', 'down']);
      await n.node.ip(['link', 'set', 've0a', 'up']);
      await waitFor(
        '10.9.0.0/24 installed',
        async () => ((await shown(n.node, 4)).some((r) => r.dst === '10.9.0.0/24') ? true : undefined),
        { timeoutMs: 10_000, intervalMs: 100 },
      );
    } finally {
      await kr.stop();
      await n.topo.destroy();
    }
  });

  it('(a3) a burst of upsert, remove and upsert again, over slices and two ip lanes, ends in exactly the last desired state', async () => {
    const n = await build();
    const { kr } = routes(n, { batchLanes: 2, applySliceLines: 500 });
    try {
      await kr.start();
      const p = (i: number): string => `10.${10 + (i >> 8)}.${i & 255}.0/24`;
      for (let i = 0; i < 3000; i++) kr.upsert(via(p(i), '192.0.2.2'));
      for (let i = 0; i < 2000; i++) kr.remove(p(i));
      for (let i = 0; i < 500; i++) kr.upsert(via(p(i), '192.0.2.3'));
      kr.declareComplete();
      await kr.settled();
      const got = (await shown(n.node, 4)).map((r) => `${String(r.dst)} ${String(r.gateway)}`).sort();
      const want = [
        ...Array.from({ length: 500 }, (_, i) => `${p(i)} 192.0.2.3`),
        ...Array.from({ length: 1000 }, (_, i) => `${p(2000 + i)} 192.0.2.2`),
      ].sort();
      expect(got).to.deep.equal(want);
      expect(kr.stats().batch.processesStarted).to.be.at.least(2);
    } finally {
      await kr.stop();
      await n.topo.destroy();
    }
  });

  it('(b) never touches foreign routes (static, bird, no proto), even on the same prefix', async () => {
    const n = await build();
    const { kr } = routes(n);
    try {
      const foreign = [
        ['route', 'add', '10.1.0.0/24', 'via', '192.0.2.3', 'proto', 'static', 'metric', '10'],
        ['route', 'add', '10.4.0.0/24', 'via', '192.0.2.3', 'proto', 'bird'],
        ['route', 'add', '10.5.0.0/24', 'via', '192.0.2.3'],
        ['route', 'add', '2001:db8:10::/48', 'via', '2001:db8:1::3', 'proto', 'bird'],
        ['route', 'add', '2001:db8:13::/48', 'via', '2001:db8:1::3', 'proto', 'static', 'metric', '2000'],
      ];
      for (const f of foreign) await n.node.ip(f);
      const before4 = (await shown(n.node, 4, 'all')).filter((r) => r.protocol !== undefined || !String(r.dst).startsWith('192.0.2.'));
      const before6 = await shown(n.node, 6, 'all');
      await kr.start();
      kr.setDesired([
        via('10.1.0.0/24', '192.0.2.2'), // same prefix as the static route, another metric: both live
        via('10.4.0.0/24', '192.0.2.2'), // bird's slot: blocked
        via('10.5.0.0/24', '192.0.2.2'), // the boot route's slot: blocked
        via('2001:db8:10::/48', '2001:db8:1::2'), // bird's slot: blocked
        via('2001:db8:13::/48', '2001:db8:1::2'), // another metric: both live
      ]);
      await kr.settled();
      expect(kr.status().map((s) => `${s.prefix} ${s.state}`)).to.deep.equal([
        '10.1.0.0/24 installed',
        '10.4.0.0/24 blocked',
        '10.5.0.0/24 blocked',
        '2001:db8:10::/48 blocked',
        '2001:db8:13::/48 installed',
      ]);
      expect((await shown(n.node, 4)).map((r) => r.dst)).to.deep.equal(['10.1.0.0/24']);
      expect((await shown(n.node, 6)).map((r) => r.dst)).to.deep.equal(['2001:db8:13::/48']);
      // Withdraw everything, re-read, and repair: the foreign routes are exactly as they were.
      kr.setDesired([]);
      await kr.settled();
      await kr.reconcile();
      const after4 = (await shown(n.node, 4, 'all')).filter((r) => r.protocol !== undefined || !String(r.dst).startsWith('192.0.2.'));
      expect(after4).to.deep.equal(before4);
      expect(await shown(n.node, 6, 'all')).to.deep.equal(before6);
      expect(await shown(n.node, 4)).to.deep.equal([]);
    } finally {
      await kr.stop();
      await n.topo.destroy();
    }
  });

  it('(c) restores a route deleted by hand within 3 s, through the monitor', async () => {
    const n = await build();
    const { kr } = routes(n);
    try {
      await kr.start();
      kr.setDesired(DESIRED);
      await kr.settled();
      for (const [prefix, family] of [['10.2.0.0/24', 4], ['2001:db8:11::/48', 6], ['10.3.0.0/16', 4]] as const) {
        const reads = kr.stats().fullReads;
        const t0 = Date.now();
        await n.node.ip(['route', 'del', prefix]);
        await waitFor(
          `${prefix} restored`,
          async () => ((await shown(n.node, family)).some((r) => r.dst === prefix) ? true : undefined),
          { timeoutMs: 3_000, intervalMs: 20 },
        );
        expect(Date.now() - t0, prefix).to.be.lessThan(3_000);
        expect(kr.stats().fullReads, 'repaired from the event, without re-reading the table').to.equal(reads);
      }
      // Changed by hand (another gateway, same proto) → put back.
      await n.node.ip(['route', 'replace', '10.1.0.0/24', 'via', '192.0.2.3', 'proto', String(P)]);
      await waitFor(
        '10.1.0.0/24 repaired',
        async () => ((await shown(n.node, 4)).find((r) => r.dst === '10.1.0.0/24')?.gateway === '192.0.2.2' ? true : undefined),
        { timeoutMs: 3_000, intervalMs: 20 },
      );
      expect(await shown(n.node, 4)).to.deep.equal(EXPECTED_V4);
      expect(await shown(n.node, 6)).to.deep.equal(EXPECTED_V6);
    } finally {
      await kr.stop();
      await n.topo.destroy();
    }
  });

  it('(d) a new instance (agent restart) adopts the routes without a single route change, then reconciles the difference', async () => {
    const n = await build();
    const first = routes(n);
    const second = routes(n);
    try {
      await first.kr.start();
      first.kr.setDesired(DESIRED);
      await first.kr.settled();
      await first.kr.stop();
      const before4 = await shown(n.node, 4);
      const before6 = await shown(n.node, 6);

      const events = await routeEventsDuring(n, async () => {
        const adopted = await second.kr.start();
        expect(adopted.adopted).to.equal(DESIRED.length);
      });
      expect(events, 'route changes while adopting').to.deep.equal([]);
      expect(await shown(n.node, 4)).to.deep.equal(before4);
      expect(await shown(n.node, 6)).to.deep.equal(before6);

      // The restarted agent's desired set differs a little: only that changes.
      const next = DESIRED.filter((r) => r.prefix !== '10.4.0.5/32' && r.prefix !== '2001:db8:12::/48');
      next.push(via('10.6.0.0/24', '192.0.2.3'));
      next[0] = via('10.1.0.0/24', '192.0.2.3');
      const changes = await routeEventsDuring(n, async () => {
        second.kr.setDesired(next);
        await second.kr.settled();
      });
      const touched = changes.map((l) => /^(?:Deleted )?(?:blackhole )?(\S+)/.exec(l)?.[1]).sort();
      expect(touched).to.deep.equal(['10.1.0.0/24', '10.4.0.5', '10.6.0.0/24', '2001:db8:12::/48']);
      expect((await shown(n.node, 4)).map((r) => r.dst)).to.deep.equal(['10.1.0.0/24', '10.2.0.0/24', '10.3.0.0/16', '10.6.0.0/24']);
      expect((await shown(n.node, 6)).map((r) => r.dst)).to.deep.equal(['2001:db8:10::/48', '2001:db8:11::/48']);
    } finally {
      await first.kr.stop();
      await second.kr.stop();
      await n.topo.destroy();
    }
  });

  it('(c2) after a large apply (monitor paused, table re-read) drift is repaired again', async () => {
    const n = await build();
    const { kr } = routes(n, { muteMonitorAboveLines: 1000 });
    try {
      await kr.start();
      const p = (i: number): string => `10.${20 + (i >> 8)}.${i & 255}.0/24`;
      kr.setDesired(Array.from({ length: 3000 }, (_, i) => via(p(i), '192.0.2.2')));
      await kr.idle();
      expect(kr.stats().fullReads, 'the re-read after the paused apply').to.equal(2);
      expect((await shown(n.node, 4)).length).to.equal(3000);
      await n.node.ip(['route', 'del', p(1234)]);
      await waitFor(
        `${p(1234)} restored`,
        async () => ((await shown(n.node, 4)).some((r) => r.dst === p(1234)) ? true : undefined),
        { timeoutMs: 3_000, intervalMs: 50 },
      );
    } finally {
      await kr.stop();
      await n.topo.destroy();
    }
  });

  it('(e) stop() leaves the routes in place and no process of ours running', async () => {
    const n = await build();
    const { kr, runner } = routes(n);
    try {
      await kr.start();
      kr.setDesired(DESIRED);
      await kr.settled();
      const before4 = await shown(n.node, 4);
      const before6 = await shown(n.node, 6);
      expect(runner.spawned.some((c) => c.running)).to.equal(true);
      await kr.stop();
      expect(runner.spawned.filter((c) => c.running).map((c) => c.pid)).to.deep.equal([]);
      await sleep(200);
      expect(await shown(n.node, 4)).to.deep.equal(before4);
      expect(await shown(n.node, 6)).to.deep.equal(before6);
    } finally {
      await kr.stop();
      await n.topo.destroy();
    }
  });
});
