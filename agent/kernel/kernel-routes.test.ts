/**
 * KernelRoutes against the in-memory kernel (fake-ip.ts): adoption without
 * flush, coalescing, failures and retries, drift repair from monitor
 * events, foreign and CNI routes left alone, stop() leaving routes.
 * The same behaviour on a real kernel: test/integration/kernel-routes.test.ts.
 */
import { expect } from 'chai';
import { hasCode } from '../../lib/errors.js';
import { type LogRecord, memoryLogger } from '../../lib/log.js';
import { FakeCommandRunner } from './command-runner.js';
import { FakeIpKernel, type FakeRoute } from './fake-ip.js';
import { KernelRoutes, type KernelRoutesOptions } from './kernel-routes.js';
import type { RouteInput } from './routes.js';

const P = 77;

function setup(opts: Partial<KernelRoutesOptions> = {}): { k: FakeIpKernel; kr: KernelRoutes; logs: LogRecord[] } {
  const k = new FakeIpKernel();
  k.addLink('eth0', '192.0.2.1/24', '2001:db8:1::1/64');
  const logs: LogRecord[] = [];
  const kr = new KernelRoutes({
    proto: P,
    runner: k.runner,
    log: memoryLogger(logs),
    coalesceMs: 1,
    repairDelayMs: 5,
    resyncDelayMs: 5,
    retryMinMs: 20,
    retryMaxMs: 200,
    ...opts,
  });
  return { k, kr, logs };
}

const via = (prefix: string, gw = prefix.includes(':') ? '2001:db8:1::2' : '192.0.2.2'): RouteInput => ({
  prefix,
  kind: 'unicast',
  nextHops: [{ via: gw }],
});
const ours = (prefix: string, gw = '192.0.2.2', proto = P): FakeRoute => ({
  prefix,
  table: 254,
  metric: prefix.includes(':') ? 1024 : 0,
  proto,
  type: 1,
  hops: [{ via: gw, dev: 'eth0', weight: 1 }],
});
const describe4 = (k: FakeIpKernel, proto = P): string[] =>
  k.list(proto).map((r) => `${r.type === 6 ? 'blackhole ' : ''}${r.prefix}${r.hops.map((h) => ` via ${h.via ?? '-'}${h.weight !== 1 ? `*${h.weight}` : ''}`).join('')}`);

async function until(what: string, probe: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('kernel/kernel-routes: KernelRoutes (fake kernel)', () => {
  let kr: KernelRoutes | undefined;
  afterEach(async () => {
    await kr?.stop();
    kr = undefined;
  });

  it('rejects a reserved proto and a bad table with stable codes', () => {
    const k = new FakeIpKernel();
    for (const [opts, code] of [
      [{ proto: 12 }, 'ERR_KERNEL_PROTO_INVALID'],
      [{ proto: P, table: 255 }, 'ERR_KERNEL_TABLE_INVALID'],
    ] as const) {
      let caught: unknown;
      try {
        new KernelRoutes({ runner: k.runner, log: memoryLogger(), ...opts });
      } catch (err) {
        caught = err;
      }
      expect(hasCode(caught, code)).to.equal(true);
    }
  });

  it('start() adopts routes with our proto and deletes nothing until the desired set is complete', async () => {
    const s = setup();
    kr = s.kr;
    s.k.insert(ours('10.1.0.0/24'));
    s.k.insert(ours('10.2.0.0/24'));
    s.k.insert(ours('10.3.0.0/24', '192.0.2.3', 12));
    s.kr.upsert(via('10.2.0.0/24', '192.0.2.3'));
    const adopted = await s.kr.start();
    expect(adopted).to.deep.equal({ adopted: 2, unmanaged: 0, foreign: 1 }); // bird's
    expect(s.k.batchLog).to.deep.equal(['route replace 10.2.0.0/24 via 192.0.2.3 proto 77 metric 0']);
    expect(s.kr.status().map((x) => `${x.prefix} ${x.state}`)).to.deep.equal(['10.1.0.0/24 adopted', '10.2.0.0/24 installed']);
    expect(s.kr.isReconciled).to.equal(false);

    s.kr.declareComplete();
    await s.kr.settled();
    expect(s.k.batchLog.slice(1)).to.deep.equal(['route del 10.1.0.0/24 proto 77 metric 0']);
    expect(describe4(s.k)).to.deep.equal(['10.2.0.0/24 via 192.0.2.3']);
    expect(describe4(s.k, 12)).to.deep.equal(['10.3.0.0/24 via 192.0.2.3']);
    expect(s.kr.isReconciled).to.equal(true);
  });

  it('setDesired() installs unicast, ECMP and blackhole routes of both families and rejects invalid ones', async () => {
    const s = setup();
    kr = s.kr;
    await s.kr.start();
    const { rejected } = s.kr.setDesired([
      via('10.1.0.0/24'),
      { prefix: '10.2.0.0/24', kind: 'unicast', nextHops: [{ via: '192.0.2.2' }, { via: '192.0.2.3', weight: 3 }] },
      { prefix: '10.8.0.0/16', kind: 'blackhole' },
      via('2001:db8:10::/48'),
      { prefix: '2001:db8:12::/48', kind: 'blackhole' },
      { prefix: '10.9.0.1/24', kind: 'blackhole' },
    ]);
    expect(rejected.map((r) => r.prefix)).to.deep.equal(['10.9.0.1/24']);
    await s.kr.settled();
    expect(describe4(s.k)).to.deep.equal([
      '10.1.0.0/24 via 192.0.2.2',
      '10.2.0.0/24 via 192.0.2.2 via 192.0.2.3*3',
      'blackhole 10.8.0.0/16',
      '2001:db8:10::/48 via 2001:db8:1::2',
      'blackhole 2001:db8:12::/48',
    ]);
    expect(s.kr.stats()).to.include({ routesInstalled: 5, routesDesired: 5, routesFailed: 0, applies: 1, linesApplied: 5 });
  });

  it('coalesces many upserts and removes into one apply', async () => {
    const s = setup({ coalesceMs: 5 });
    kr = s.kr;
    await s.kr.start();
    for (let i = 0; i < 200; i++) s.kr.upsert(via(`10.${i}.0.0/16`));
    for (let i = 100; i < 200; i++) s.kr.remove(`10.${i}.0.0/16`);
    await s.kr.settled();
    expect(s.kr.stats().applies).to.equal(1);
    expect(s.k.list(P).length).to.equal(100);
    expect(s.k.batchLog.length).to.equal(100);
  });

  it('a burst of upsert, remove and upsert again, over slices and lanes, ends in exactly the last desired state', async () => {
    const s = setup({ applySliceLines: 500, batchLanes: 3 });
    kr = s.kr;
    await s.kr.start();
    const p = (i: number): string => `10.${i >> 8}.${i & 255}.0/24`;
    for (let i = 0; i < 2000; i++) s.kr.upsert(via(p(i)));
    for (let i = 0; i < 1500; i++) s.kr.remove(p(i));
    for (let i = 0; i < 300; i++) s.kr.upsert(via(p(i), '192.0.2.3'));
    await s.kr.settled();
    const want = [...Array.from({ length: 300 }, (_, i) => `${p(i)} via 192.0.2.3`), ...Array.from({ length: 500 }, (_, i) => `${p(1500 + i)} via 192.0.2.2`)];
    expect(describe4(s.k).sort()).to.deep.equal(want.sort());
  });

  it('logs a rejected route with the kernel message, reports it, retries with back-off, and installs it once reachable', async () => {
    const s = setup();
    kr = s.kr;
    await s.kr.start();
    s.kr.setDesired([via('10.1.0.0/24'), via('10.2.0.0/24', '198.51.100.1')]);
    await s.kr.settled();
    expect(describe4(s.k)).to.deep.equal(['10.1.0.0/24 via 192.0.2.2']);
    const [st] = s.kr.status('10.2.0.0/24');
    expect(st).to.include({ state: 'failed', error: 'Error: Nexthop has invalid gateway.' });
    const warn = s.logs.find((l) => l.msg === 'kernel rejected a route change');
    expect(warn).to.include({ op: 'add', error: 'Error: Nexthop has invalid gateway.', route: '10.2.0.0/24 via 198.51.100.1 proto 77 metric 0' });
    // Retried on its own, with back-off.
    await until('a retry', () => (s.kr?.failures().get('10.2.0.0/24')?.attempts ?? 0) >= 2);
    expect(s.kr.isReconciled).to.equal(true); // failed routes do not hold readiness
    // The next hop becomes reachable: a link event triggers the retry at once.
    s.k.linkUp('eth1', '198.51.100.2/24');
    await until('installed', () => s.k.list(P).length === 2);
    await s.kr.settled();
    expect(s.kr.failures().size).to.equal(0);
    expect(s.kr.status('10.2.0.0/24')[0].state).to.equal('installed');
  });

  it('restores a route someone deletes, and replaces one someone changes (drift repair)', async () => {
    const s = setup();
    kr = s.kr;
    await s.kr.start();
    s.kr.setDesired([via('10.1.0.0/24'), via('2001:db8:10::/48')]);
    await s.kr.settled();
    const dumps = s.k.dumps;
    s.k.remove('10.1.0.0/24');
    s.k.remove('2001:db8:10::/48');
    await until('restored', () => s.k.list(P).length === 2);
    s.k.insert(ours('10.1.0.0/24', '192.0.2.9'));
    await until('repaired', () => describe4(s.k)[0] === '10.1.0.0/24 via 192.0.2.2');
    expect(s.kr.stats().driftRepairs).to.equal(3);
    expect(s.k.dumps).to.equal(dumps); // repaired from events alone, no re-read
  });

  it('re-reads the table when a link goes down (IPv4 drops its routes silently)', async () => {
    const s = setup();
    kr = s.kr;
    await s.kr.start();
    s.kr.setDesired([via('10.1.0.0/24')]);
    await s.kr.settled();
    const reads = s.kr.stats().fullReads;
    s.k.linkDown('eth0');
    await until('a re-read', () => (s.kr?.stats().fullReads ?? 0) > reads);
    await until('a failure', () => s.kr?.failures().has('10.1.0.0/24') ?? false);
    s.k.linkUp('eth0', '192.0.2.1/24');
    await until('restored', () => s.k.list(P).length === 1);
  });

  it('never touches a foreign route in our slot (blocked), and installs ours once it is gone', async () => {
    const s = setup();
    kr = s.kr;
    s.k.insert(ours('10.1.0.0/24', '192.0.2.9', 4));
    await s.kr.start();
    s.kr.setDesired([via('10.1.0.0/24')]);
    await s.kr.settled();
    expect(s.k.batchLog).to.deep.equal([]);
    const [st] = s.kr.status('10.1.0.0/24');
    expect(st.state).to.equal('blocked');
    expect(st.blockedBy).to.include({ proto: 4 });
    s.k.remove('10.1.0.0/24');
    await until('installed', () => s.k.list(P).length === 1);
    // A foreign replace over our route: we notice and step back.
    s.k.insert(ours('10.1.0.0/24', '192.0.2.7', 12));
    await until('blocked', () => s.kr?.status('10.1.0.0/24')[0].state === 'blocked');
    expect(describe4(s.k, 12)).to.deep.equal(['10.1.0.0/24 via 192.0.2.7']);
    expect(s.k.batchLog.filter((l) => l.includes('del'))).to.deep.equal([]);
  });

  it('leaves dev-only routes with our proto (the CNI plugin\'s pod routes) alone', async () => {
    const s = setup();
    kr = s.kr;
    s.k.insert({ prefix: '10.244.0.5/32', table: 254, metric: 0, proto: P, type: 1, hops: [{ dev: 'eth0', weight: 1 }] });
    const adopted = await s.kr.start();
    expect(adopted.unmanaged).to.equal(1);
    s.kr.setDesired([]);
    await s.kr.settled();
    expect(s.k.list(P).map((r) => r.prefix)).to.deep.equal(['10.244.0.5/32']);
    expect(s.k.batchLog).to.deep.equal([]);
  });

  it('remove() before completeness deletes just that prefix', async () => {
    const s = setup();
    kr = s.kr;
    s.k.insert(ours('10.1.0.0/24'));
    s.k.insert(ours('10.2.0.0/24'));
    await s.kr.start();
    s.kr.remove('10.2.0.0/24');
    await s.kr.settled();
    expect(s.k.list(P).map((r) => r.prefix)).to.deep.equal(['10.1.0.0/24']);
  });

  it('restarts a monitor that died and re-reads the table', async () => {
    const s = setup({ monitorRestartMs: 5 });
    kr = s.kr;
    await s.kr.start();
    const reads = s.kr.stats().fullReads;
    s.k.crashMonitors();
    await until('a new monitor and a re-read', () => s.k.monitorCount === 1 && (s.kr?.stats().fullReads ?? 0) > reads);
    expect(s.kr.stats().monitorRestarts).to.equal(1);
  });

  it('pauses the monitor during a large apply, then re-reads in the background', async () => {
    const s = setup({ muteMonitorAboveLines: 10 });
    kr = s.kr;
    await s.kr.start();
    const reads = s.kr.stats().fullReads;
    s.kr.setDesired(Array.from({ length: 50 }, (_, i) => via(`10.${i}.0.0/16`)));
    await s.kr.idle();
    expect(s.k.list(P).length).to.equal(50);
    expect(s.kr.stats().fullReads).to.equal(reads + 1);
    expect(s.k.monitorCount).to.equal(1);
    const monitors = s.k.runner.spawned.filter((x) => x.argv.includes('monitor'));
    expect(monitors.length).to.equal(2);
  });

  it('stop() stops the monitor and the batch process and leaves every route', async () => {
    const s = setup();
    await s.kr.start();
    s.kr.setDesired([via('10.1.0.0/24'), { prefix: '10.8.0.0/16', kind: 'blackhole' }]);
    await s.kr.settled();
    await s.kr.stop();
    expect(s.k.list(P).length).to.equal(2);
    expect(s.k.runner.spawned.every((x) => !x.cmd.running)).to.equal(true);
    expect(s.k.batchLog.filter((l) => l.includes(' del '))).to.deep.equal([]);
  });

  it('start() rejects with ERR_KERNEL_READ when the table cannot be read, and leaves no process running', async () => {
    const runner = new FakeCommandRunner({
      run: () => ({ stdout: '', stderr: 'Cannot open network namespace "nope"\n', code: 1 }),
      spawn: (_argv, _netns, ctl) => ({ onEnd: () => ctl.exit(0) }),
    });
    const broken = new KernelRoutes({ proto: P, runner, log: memoryLogger() });
    let caught: unknown;
    try {
      await broken.start();
    } catch (err) {
      caught = err;
    }
    expect(hasCode(caught, 'ERR_KERNEL_READ')).to.equal(true);
    expect(runner.spawned.length).to.be.greaterThan(0);
    expect(runner.spawned.every((x) => !x.cmd.running)).to.equal(true);
  });

  it('upsert() throws ERR_KERNEL_ROUTE_INVALID for a bad route and changes nothing', async () => {
    const s = setup();
    kr = s.kr;
    await s.kr.start();
    let caught: unknown;
    try {
      s.kr.upsert({ prefix: '10.0.0.0/8', kind: 'unicast', nextHops: [{ via: '2001:db8::1' }] });
    } catch (err) {
      caught = err;
    }
    expect(hasCode(caught, 'ERR_KERNEL_ROUTE_INVALID')).to.equal(true);
    expect(s.kr.stats().routesDesired).to.equal(0);
  });
});
