/**
 * Two tortie agents (an iBGP mesh, AS 65001) and two BIRD routers (eBGP,
 * AS 65100) on one L2 segment, each in its own namespace. Checks the kernel
 * FIB each agent programs, ECMP, drift repair, restart behaviour, reload and
 * tortiectl. Needs root; fails loudly without it.
 *
 *   r1 192.0.2.1 ─┐                ┌─ a 192.0.2.11 (originates 203.0.113.0/26)
 *   r2 192.0.2.2 ─┴── bridge (sw) ─┴─ b 192.0.2.12 (originates 203.0.113.64/26)
 *   r1 and r2 both announce 198.51.100.0/24.
 */
import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ControlClient } from '../../agent/control-client.js';
import type { SessionView, StatusView } from '../../agent/api-types.js';
import { startBird } from '../support/daemons.js';
import { isRoot, requireCommands, run, sleep, Topology, waitFor, type Netns, type TrackedProcess } from '../support/netns.js';

const REPO = resolve(import.meta.dirname, '../..');
const TSX = join(REPO, 'node_modules/.bin/tsx');
const PROTO = 201;

interface KRoute { dst: string; type?: string; gateway?: string; nexthops?: { gateway: string }[]; protocol?: string | number }

/** Our routes in a namespace, as "prefix -> description", sorted. */
async function fib(ns: Netns): Promise<Record<string, string>> {
  const v4 = await ns.ip(['-json', 'route', 'show', 'proto', String(PROTO)]);
  const v6 = await ns.ip(['-6', '-json', 'route', 'show', 'proto', String(PROTO)]);
  const out: Record<string, string> = {};
  const parsed = [...(JSON.parse(v4.stdout || '[]') as KRoute[]), ...(JSON.parse(v6.stdout || '[]') as KRoute[])];
  for (const r of parsed) {
    const via = r.nexthops ? r.nexthops.map((h) => h.gateway).sort().join('+') : r.gateway ?? '';
    // ip -json writes host routes without their length.
    const dst = r.dst.includes('/') ? r.dst : `${r.dst}/${r.dst.includes(':') ? 128 : 32}`;
    out[dst] = r.type === 'blackhole' ? 'blackhole' : `via ${via}`;
  }
  return sortKeys(out);
}

function agentConfig(name: string, addr: string, block: string, dir: string, extra = ''): string {
  const n = addr.split('.')[3];
  const v6block = n === '11' ? '2001:db8:a::/122' : '2001:db8:b::/122';
  return `node:
  name: ${name}
  asn: 65001
  sourceAddress: ${addr}
  sourceAddressV6: 2001:db8::${n}
bgp:
  listen: { address: ${addr}, port: 179 }
  holdTimeSec: 9
  connectRetrySec: 1
  maxPaths: 8
  nodeToNodeMesh:
    enabled: true
    members:
      - { address: 192.0.2.11, name: node-a }
      - { address: 192.0.2.12, name: node-b }
  peers:
    - { address: 192.0.2.1, asn: 65100, description: r1 }
    - { address: 192.0.2.2, asn: 65100, description: r2${extra} }
routes:
  originate: ["${block}", "${v6block}"]
  protocol: ${PROTO}
paths:
  stateDir: ${dir}/state
  controlSocket: ${dir}/ctl.sock
metrics: { address: 127.0.0.1, port: 0 }
health: { address: 127.0.0.1, port: 0 }
`;
}

function birdConfig(id: string): string {
  return `router id ${id};
log stderr all;
protocol device {}
protocol static s4 { ipv4; route 198.51.100.0/24 blackhole; }
template bgp node {
  local ${id} as 65100;
  hold time 9; connect retry time 1; error wait time 1, 2;
  graceful restart on;
  ipv4 { import all; export where source = RTS_STATIC; };
}
protocol bgp a from node { neighbor 192.0.2.11 as 65001; }
protocol bgp b from node { neighbor 192.0.2.12 as 65001; }
`;
}

describe('agent: two agents and two BIRD routers in namespaces', function () {
  this.timeout(180_000);
  const topo = new Topology();
  const ns: Record<string, Netns> = {};
  const agents: Record<string, { proc?: TrackedProcess; dir: string; config: string; client: ControlClient }> = {};

  function startAgent(name: string): void {
    const a = agents[name];
    // One process (node with tsx's loader), not the tsx CLI, which forks a
    // child that outlives a signal to the wrapper.
    a.proc = ns[name].spawn(process.execPath, ['--import', pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href, join(REPO, 'agent/main.ts'), '--config', a.config], {
      logFile: join(a.dir, `agent-${Date.now()}.log`),
      env: { ...process.env, PATH: `${join(REPO, 'node_modules/.bin')}:${process.env.PATH ?? ''}`, NODE_EXTRA_CA_CERTS: '' },
    });
  }

  async function sessions(name: string): Promise<SessionView[]> {
    return (await agents[name].client.get<{ sessions: SessionView[] }>('/v1/bgp/sessions')).sessions;
  }

  async function allEstablished(name: string): Promise<boolean> {
    try {
      const s = await sessions(name);
      return s.length === 3 && s.every((x) => x.state === 'Established');
    } catch {
      return false;
    }
  }

  const EXPECT_A = {
    '203.0.113.0/26': 'blackhole', '203.0.113.64/26': 'via 192.0.2.12', '198.51.100.0/24': 'via 192.0.2.1+192.0.2.2',
    '2001:db8:a::/122': 'blackhole', '2001:db8:b::/122': 'via 2001:db8::12',
  };
  const EXPECT_B = {
    '203.0.113.64/26': 'blackhole', '203.0.113.0/26': 'via 192.0.2.11', '198.51.100.0/24': 'via 192.0.2.1+192.0.2.2',
    '2001:db8:b::/122': 'blackhole', '2001:db8:a::/122': 'via 2001:db8::11',
  };

  before(async function () {
    if (!isRoot()) throw new Error('this test needs root (network namespaces); run it through .ci/run or as root');
    requireCommands(['ip', 'bird', 'birdc']);
    const sw = await topo.addNamespace('sw');
    await sw.ip(['link', 'add', 'br0', 'type', 'bridge']);
    await sw.ip(['link', 'set', 'br0', 'up']);
    const hosts: [string, string][] = [['r1', '192.0.2.1'], ['r2', '192.0.2.2'], ['a', '192.0.2.11'], ['b', '192.0.2.12']];
    for (const [name, addr] of hosts) {
      ns[name] = await topo.addNamespace(name);
      const l = await topo.link(ns[name], sw, { aAddresses: [`${addr}/24`, `2001:db8::${addr.split('.')[3]}/64`], aName: 'eth0', bName: `p-${name}` });
      await sw.ip(['link', 'set', l.b.ifname, 'master', 'br0']);
    }
    await startBird(topo, ns.r1, birdConfig('192.0.2.1'), { name: 'r1' });
    await startBird(topo, ns.r2, birdConfig('192.0.2.2'), { name: 'r2' });
    for (const [name, addr, block] of [['a', '192.0.2.11', '203.0.113.0/26'], ['b', '192.0.2.12', '203.0.113.64/26']]) {
      const dir = join(topo.tmpDir, `agent-${name}`);
      mkdirSync(dir, { recursive: true });
      const config = join(dir, 'tortie.yaml');
      writeFileSync(config, agentConfig(`node-${name}`, addr, block, dir));
      agents[name] = { dir, config, client: new ControlClient(join(dir, 'ctl.sock')) };
      startAgent(name);
    }
    await waitFor('both agents to establish all sessions', async () => (await allEstablished('a')) && (await allEstablished('b')) ? true : undefined, { timeoutMs: 60_000, intervalMs: 250 });
  });

  after(async () => {
    await topo.destroy();
  });

  it('each FIB holds exactly the expected routes with our protocol tag (own block blackholed, ECMP toward the routers)', async () => {
    await waitFor('a FIB', async () => JSON.stringify(await fib(ns.a)) === JSON.stringify(sortKeys(EXPECT_A)) ? true : undefined, { timeoutMs: 15_000, intervalMs: 200 })
      .catch(async () => expect(await fib(ns.a)).to.deep.equal(EXPECT_A));
    await waitFor('b FIB', async () => JSON.stringify(await fib(ns.b)) === JSON.stringify(sortKeys(EXPECT_B)) ? true : undefined, { timeoutMs: 15_000, intervalMs: 200 })
      .catch(async () => expect(await fib(ns.b)).to.deep.equal(EXPECT_B));
    // Nothing else of ours, and the routers learned both blocks.
    const r1 = await run('birdc', ['-s', join(topo.tmpDir, 'bird-r1', 'bird.ctl'), 'show', 'route', '203.0.113.0/26']).catch(() => ({ stdout: '' }));
    expect(r1.stdout).to.contain('203.0.113.0/26');
  });

  it('tortiectl -o json shows what the agent reports', async () => {
    const bin = join(REPO, 'agent/ctl-main.ts');
    const { stdout } = await run(TSX, [bin, 'bgp', 'sessions', '-o', 'json', '--socket', join(agents.a.dir, 'ctl.sock')]);
    const viaCli = JSON.parse(stdout) as SessionView[];
    const viaApi = await sessions('a');
    const strip = (s: SessionView[]): unknown => s.map(({ uptimeSec: _u, since: _s, ...rest }) => rest);
    expect(strip(viaCli)).to.deep.equal(strip(viaApi));
    expect(viaCli.map((s) => `${s.peer} ${s.type} ${s.state}`).sort()).to.deep.equal([
      '192.0.2.1 explicit Established', '192.0.2.12 mesh Established', '192.0.2.2 explicit Established']);
    const st = JSON.parse((await run(TSX, [bin, 'status', '-o', 'json', '--socket', join(agents.a.dir, 'ctl.sock')])).stdout) as StatusView;
    expect(st).to.deep.include({ node: 'node-a', asn: 65001, routerId: '192.0.2.11' });
    expect(st.routes.kernel).to.equal(5);
    expect(st.routeFailures).to.deep.equal([]);
  });

  it('restores a deleted IPv6 route too', async () => {
    await ns.a.ip(['-6', 'route', 'del', '2001:db8:b::/122', 'proto', String(PROTO)]);
    await waitFor('the IPv6 route to come back', async () => (await fib(ns.a))['2001:db8:b::/122'] === 'via 2001:db8::12' ? true : undefined, { timeoutMs: 5_000, intervalMs: 100 });
  });

  it('restores a route someone deletes', async () => {
    await ns.a.ip(['route', 'del', '203.0.113.64/26', 'proto', String(PROTO)]);
    expect(await fib(ns.a)).to.not.have.property('203.0.113.64/26');
    await waitFor('the route to come back', async () => (await fib(ns.a))['203.0.113.64/26'] === 'via 192.0.2.12' ? true : undefined, { timeoutMs: 5_000, intervalMs: 100 });
  });

  it('restarting the agent leaves the FIB untouched while it is down and reconciles when it comes back', async () => {
    const before = await fib(ns.a);
    const beforeB = await fib(ns.b);
    await agents.a.proc!.stop(); // SIGTERM: a restart
    await sleep(1500);
    expect(await fib(ns.a), 'FIB while the agent is down').to.deep.equal(before);
    // Graceful restart: a closed its sessions without a NOTIFICATION, so b
    // (and the routers) still route to a's blocks while a is away.
    expect(await fib(ns.b), "b's FIB while a restarts").to.deep.equal(beforeB);
    // A leftover of ours that nothing will re-learn must go once BGP has converged.
    await ns.a.ip(['route', 'add', '203.0.113.200/32', 'via', '192.0.2.1', 'proto', String(PROTO)]);
    startAgent('a');
    await waitFor('a to re-establish', async () => (await allEstablished('a')) ? true : undefined, { timeoutMs: 60_000, intervalMs: 250 });
    await waitFor('the leftover to be removed', async () => (await fib(ns.a))['203.0.113.200/32'] === undefined ? true : undefined, { timeoutMs: 30_000, intervalMs: 200 });
    await waitFor('the FIB to be as before', async () => JSON.stringify(await fib(ns.a)) === JSON.stringify(before) ? true : undefined, { timeoutMs: 15_000, intervalMs: 200 })
      .catch(async () => expect(await fib(ns.a)).to.deep.equal(before));
  });

  it('SIGUSR2 drains: peers withdraw the node\'s blocks at once, and its own FIB stays', async () => {
    const beforeB = await fib(ns.b);
    agents.b.proc!.signal('SIGUSR2');
    await agents.b.proc!.exited();
    // Well inside the 9 s hold time: the Cease made a withdraw b's blocks.
    await waitFor("a to drop b's blocks", async () => {
      const f = await fib(ns.a);
      return f['203.0.113.64/26'] === undefined && f['2001:db8:b::/122'] === undefined ? true : undefined;
    }, { timeoutMs: 4_000, intervalMs: 100 });
    expect(await fib(ns.b), "b's own FIB after draining").to.deep.equal(beforeB);
    startAgent('b');
    await waitFor('b to re-establish', async () => (await allEstablished('b')) ? true : undefined, { timeoutMs: 60_000, intervalMs: 250 });
    await waitFor("a to learn b's blocks again", async () => JSON.stringify(await fib(ns.a)) === JSON.stringify(EXPECT_A) ? true : undefined, { timeoutMs: 15_000, intervalMs: 200 })
      .catch(async () => expect(await fib(ns.a)).to.deep.equal(EXPECT_A));
  });

  it('a reload that changes one peer resets only that session', async () => {
    const before = await sessions('a');
    const t0 = Date.now();
    writeFileSync(agents.a.config, agentConfig('node-a', '192.0.2.11', '203.0.113.0/26', agents.a.dir, ', holdTimeSec: 30'));
    agents.a.proc!.signal('SIGHUP');
    await waitFor('the reload to be applied', async () => {
      const st = await agents.a.client.get<StatusView>('/v1/status');
      return st.lastReload ? st.lastReload : undefined;
    }, { timeoutMs: 10_000, intervalMs: 100 }).then((r) => expect(r).to.deep.include({ ok: true }));
    await waitFor('r2 to come back', async () => (await allEstablished('a')) ? true : undefined, { timeoutMs: 30_000, intervalMs: 250 });
    const afterReload = await sessions('a');
    // The changed session started over; the others kept running (uptime kept growing, no flap).
    const get = (list: SessionView[], peer: string): SessionView => list.find((s) => s.peer === peer)!;
    const elapsedSec = Math.ceil((Date.now() - t0) / 1000);
    expect(get(afterReload, '192.0.2.2').uptimeSec, 'r2 was reset').to.be.at.most(elapsedSec);
    for (const peer of ['192.0.2.1', '192.0.2.12']) {
      expect(get(afterReload, peer).uptimeSec, `${peer} must not have been reset`).to.be.at.least(get(before, peer).uptimeSec);
      expect(get(afterReload, peer).flaps).to.equal(get(before, peer).flaps);
    }
    const st = await agents.a.client.get<StatusView>('/v1/status');
    expect(st.lastReload?.message).to.contain('reset 192.0.2.2');
  });

  it('a broken config on reload is rejected and the running one stays', async () => {
    writeFileSync(agents.a.config, 'node:\n  asn: "not a number"\n');
    agents.a.proc!.signal('SIGHUP');
    await waitFor('the reload to be rejected', async () => {
      const st = await agents.a.client.get<StatusView>('/v1/status');
      return st.lastReload && !st.lastReload.ok ? st.lastReload : undefined;
    }, { timeoutMs: 10_000, intervalMs: 100 }).then((r) => expect(r.message).to.contain('tortie.yaml:2:8: node.asn'));
    expect(await allEstablished('a')).to.equal(true);
  });
});

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([x], [y]) => x.localeCompare(y)));
}
