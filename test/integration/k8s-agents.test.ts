/**
 * Three tortie agents in network namespaces, wired to a real kube-apiserver
 * (test/support/kube) as the agent's ServiceAccount with deploy/'s CRDs and
 * RBAC, end to end:
 *
 *   1. Node objects appearing and disappearing are mesh sessions coming and
 *      going, and a leaving node resets no other session;
 *   2. a BGPPeer's nodeSelector puts the peer (a BIRD ToR) on the selected
 *      node only, relabelling moves it, and a file peer at its address wins;
 *   3. two agents allocate concurrently through the CRD IPAM store while a
 *      chaos writer bumps every block and affinity they write, so their next
 *      writes get real 409s: no address twice, every one found by its handle,
 *      all released;
 *   4. when the API dies (the bridge into the namespaces is cut), sessions
 *      and kernel routes stay and status turns stale; when it returns, stale
 *      clears and a Node added afterwards becomes a session (watch resumed);
 *   5. (regression, fails until ipam/allocator.ts is fixed) an IPAM write
 *      that fails while the API is down must not withdraw the node's block.
 *
 * The apiserver listens on the host's 127.0.0.1; each namespace reaches it
 * through a forwarder on its own 127.0.0.1 and a unix socket
 * (test/support/kube/netns-bridge.ts), so kubeconfig and certificate are
 * unchanged.
 *
 *   tor 192.0.2.1 (BIRD, AS 65100) ─┐
 *   a 192.0.2.11 ─┬── bridge (sw) ──┘   all agents AS 65001, mesh from Nodes
 *   b 192.0.2.12 ─┤
 *   c 192.0.2.13 ─┘   (c has the ToR in its file)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CoreV1Api, CustomObjectsApi, type V1Node } from '@kubernetes/client-node';
import { expect } from 'chai';
import type { SessionView, StatusView } from '../../agent/api-types.js';
import { ControlClient } from '../../agent/control-client.js';
import { ANNOTATION_BGP_ADDRESS, TORTIE_GROUP, TORTIE_VERSION } from '../../agent/k8s/types.js';
import type { IpamAssignResponse, IpamShowView, IpamAllocationsResponse } from '../../ipam/api-types.js';
import { startBird } from '../support/daemons.js';
import { AGENT_USER, ApiBridge, type KubeCluster, ResourceChaos, startAgentCluster } from '../support/kube/index.js';
import { isRoot, requireCommands, run, sleep, Topology, waitFor, type Netns, type TrackedProcess } from '../support/netns.js';

const REPO = resolve(import.meta.dirname, '../..');
const TSX = join(REPO, 'node_modules/.bin/tsx');
const PROTO = 201;
const TOR = '192.0.2.1';
/** Each agent's own loopback (its namespace's), so one port for all. */
const METRICS_PORT = 9099;

interface AgentSpec {
  readonly key: 'a' | 'b' | 'c';
  readonly node: string;
  readonly address: string;
  readonly rack: string;
  /** Originated by the file (routes.originate). */
  readonly prefix: string;
}

const AGENTS: readonly AgentSpec[] = [
  { key: 'a', node: 'node-a', address: '192.0.2.11', rack: 'r1', prefix: '203.0.113.0/26' },
  { key: 'b', node: 'node-b', address: '192.0.2.12', rack: 'r2', prefix: '203.0.113.64/26' },
  { key: 'c', node: 'node-c', address: '192.0.2.13', rack: 'r1', prefix: '203.0.113.128/26' },
];

function agentConfig(s: AgentSpec, dir: string, kubeconfig: string): string {
  // c lists the ToR in its file: a BGPPeer at the same address must lose to it.
  const peers = s.key === 'c' ? `\n  peers:\n    - { address: ${TOR}, asn: 65100, description: tor-from-file }` : '';
  return `node:
  name: ${s.node}
  asn: 65001
  sourceAddress: ${s.address}
bgp:
  listen: { address: ${s.address}, port: 179 }
  holdTimeSec: 9
  connectRetrySec: 1
  nodeToNodeMesh: { enabled: true }${peers}
routes:
  originate: ["${s.prefix}"]
  protocol: ${PROTO}
ipam:
  pools: [{ name: pods, cidr: 10.244.0.0/24, blockSize: 28 }]
  releaseCooldownSec: 0
  datastore: { type: kubernetes }
kubernetes:
  enabled: true
  kubeconfig: ${kubeconfig}
paths:
  stateDir: ${dir}/state
  controlSocket: ${dir}/ctl.sock
metrics: { address: 127.0.0.1, port: ${METRICS_PORT} }
health: { address: 127.0.0.1, port: 0 }
`;
}

function torConfig(): string {
  const neighbors = AGENTS.map((s) => `protocol bgp ${s.key} from node { neighbor ${s.address} as 65001; }`).join('\n');
  return `router id ${TOR};
log stderr all;
protocol device {}
template bgp node {
  local ${TOR} as 65100;
  hold time 9; connect retry time 1; error wait time 1, 2;
  ipv4 { import all; export none; };
}
${neighbors}
`;
}

/** A metric's value from the agent's /metrics, fetched inside its namespace. */
async function metric(ns: Netns, name: string): Promise<number | undefined> {
  const script = `fetch('http://127.0.0.1:${METRICS_PORT}/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))`;
  const text = (await ns.exec(process.execPath, ['-e', script])).stdout;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

interface KRoute { dst: string; gateway?: string; type?: string }

/** Our kernel routes in a namespace, "prefix -> via" (ip -json). */
async function kernelRoutes(ns: Netns): Promise<Record<string, string>> {
  const r = await ns.ip(['-json', 'route', 'show', 'proto', String(PROTO)]);
  const out: Record<string, string> = {};
  for (const x of JSON.parse(r.stdout || '[]') as KRoute[]) {
    const dst = x.dst.includes('/') ? x.dst : `${x.dst}/32`;
    out[dst] = x.type === 'blackhole' ? 'blackhole' : `via ${x.gateway ?? '?'}`;
  }
  return out;
}

/** The agents' environment: ours, without anything that would point them at another cluster. */
function agentEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${join(REPO, 'node_modules/.bin')}:${process.env.PATH ?? ''}`, NODE_EXTRA_CA_CERTS: '' };
  for (const k of ['KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT', 'KUBECONFIG']) delete env[k];
  return env;
}

describe('k8s: three agents in namespaces against a real API server', function () {
  this.timeout(240_000);
  const topo = new Topology();
  let kube: KubeCluster | undefined;
  let bridge: ApiBridge | undefined;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  const ns: Partial<Record<AgentSpec['key'] | 'tor', Netns>> = {};
  const agents: Partial<Record<AgentSpec['key'], { proc: TrackedProcess; client: ControlClient; dir: string }>> = {};

  const spec = (k: AgentSpec['key']): AgentSpec => AGENTS.find((s) => s.key === k)!;
  const client = (k: AgentSpec['key']): ControlClient => agents[k]!.client;

  async function sessions(k: AgentSpec['key']): Promise<SessionView[]> {
    return (await client(k).get<{ sessions: SessionView[] }>('/v1/bgp/sessions')).sessions;
  }

  async function status(k: AgentSpec['key']): Promise<StatusView> {
    return client(k).get<StatusView>('/v1/status');
  }

  /** "peer source state" of the mesh (Node) sessions, sorted. */
  async function meshView(k: AgentSpec['key']): Promise<string[]> {
    return (await sessions(k)).filter((s) => s.source.startsWith('node/')).map((s) => `${s.peer} ${s.source} ${s.state}`).sort();
  }

  /** What every other agent's Node should be in k's mesh, Established. */
  function fullMesh(k: AgentSpec['key'], without: readonly string[] = []): string[] {
    return AGENTS.filter((s) => s.key !== k && !without.includes(s.node)).map((s) => `${s.address} node/${s.node} Established`).sort();
  }

  async function untilEqual<T>(what: string, probe: () => Promise<T>, want: T, timeoutMs = 30_000): Promise<void> {
    let last: T | undefined;
    try {
      await waitFor(what, async () => {
        last = await probe();
        return JSON.stringify(last) === JSON.stringify(want) ? true : undefined;
      }, { timeoutMs, intervalMs: 200, describe: () => `last: ${JSON.stringify(last)}\nwant: ${JSON.stringify(want)}\n${agentLogs()}` });
    } catch (err) {
      // What each agent believes, for a failure that does not recur at will.
      (err as Error).message += `\n${await agentState()}`;
      throw err;
    }
  }

  /** Each agent's sessions, its BGP routes and kernel routes for the pod range, and its IPAM blocks. */
  async function agentState(): Promise<string> {
    const out: string[] = [];
    for (const s of AGENTS) {
      const part = async (label: string, f: () => Promise<unknown>): Promise<string> => {
        try {
          return `${label}: ${JSON.stringify(await f())}`;
        } catch (err) {
          return `${label}: (${(err as Error).message})`;
        }
      };
      out.push(`=== ${s.key}`,
        await part('sessions', async () => (await sessions(s.key)).map((x) => `${x.peer} ${x.source} ${x.state}`)),
        await part('bgp routes 10.244', async () => (await client(s.key).get<{ routes: { prefix: string; best?: unknown }[] }>('/v1/bgp/routes?limit=200')).routes
          .filter((r) => r.prefix.startsWith('10.244.')).map((r) => `${r.prefix} ${JSON.stringify(r.best)}`)),
        await part('kernel 10.244', async () => Object.fromEntries(Object.entries(await kernelRoutes(ns[s.key]!)).filter(([p]) => p.startsWith('10.244.')))),
        await part('ipam blocks', async () => (await client(s.key).get<IpamShowView>('/v1/ipam/show')).blocks.map((b) => `${b.cidr} ${b.node ?? '-'} used ${b.used}`)));
    }
    return out.join('\n');
  }

  function agentLogs(): string {
    return AGENTS.map((s) => `--- ${s.key}\n${agents[s.key]?.proc.logTail(15) ?? ''}`).join('\n');
  }

  async function createNode(s: AgentSpec, labels: Record<string, string> = { rack: s.rack }): Promise<void> {
    const body: V1Node = {
      metadata: { name: s.node, labels, annotations: { [ANNOTATION_BGP_ADDRESS]: s.address } },
      status: { addresses: [{ type: 'InternalIP', address: s.address }] },
    };
    await core.createNode({ body });
  }

  async function relabel(node: string, labels: Record<string, string>): Promise<void> {
    const n = await core.readNode({ name: node });
    n.metadata!.labels = labels;
    await core.replaceNode({ name: node, body: n });
  }

  before(async function () {
    if (!isRoot()) throw new Error('this test needs root (network namespaces); run it through .ci/run or as root');
    requireCommands(['ip', 'bird', 'birdc']);
    // Fails (ERR_TEST_PREREQ) when the kube-apiserver binary or etcd is missing, like the other k8s tests.
    ({ kube } = await startAgentCluster());
    const admin = kube.kubeConfig();
    core = admin.makeApiClient(CoreV1Api);
    custom = admin.makeApiClient(CustomObjectsApi);
    const kubeconfig = kube.kubeconfigFileFor(AGENT_USER);

    bridge = new ApiBridge(kube.server, topo.tmpDir);
    await bridge.restore();
    const sw = await topo.addNamespace('sw');
    await sw.ip(['link', 'add', 'br0', 'type', 'bridge']);
    await sw.ip(['link', 'set', 'br0', 'up']);
    const hosts: [AgentSpec['key'] | 'tor', string][] = [['tor', TOR], ...AGENTS.map((s): [AgentSpec['key'], string] => [s.key, s.address])];
    for (const [key, addr] of hosts) {
      const n = await topo.addNamespace(key);
      ns[key] = n;
      const l = await topo.link(n, sw, { aAddresses: [`${addr}/24`], aName: 'eth0', bName: `p-${key}` });
      await sw.ip(['link', 'set', l.b.ifname, 'master', 'br0']);
    }
    await startBird(topo, ns.tor!, torConfig(), { name: 'tor' });
    await Promise.all(AGENTS.map(async (s) => {
      const dir = join(topo.tmpDir, `agent-${s.key}`);
      mkdirSync(dir, { recursive: true });
      await bridge!.forwardInto(ns[s.key]!, join(dir, 'forwarder.log'));
      const config = join(dir, 'tortie.yaml');
      writeFileSync(config, agentConfig(s, dir, kubeconfig));
      // One process (node with tsx's loader), not the tsx CLI, whose child would outlive a signal to it.
      const proc = ns[s.key]!.spawn(process.execPath, ['--import', pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href, join(REPO, 'agent/main.ts'), '--config', config], {
        logFile: join(dir, 'agent.log'),
        env: agentEnv(),
      });
      agents[s.key] = { proc, client: new ControlClient(join(dir, 'ctl.sock')), dir };
    }));
    await waitFor('every agent in sync with the API', async () => {
      for (const s of AGENTS) {
        if (!agents[s.key]!.proc.running) throw new Error(`agent ${s.key} exited:\n${agents[s.key]!.proc.logTail(40)}`);
        const st = await status(s.key).catch(() => undefined);
        if (st?.kubernetes?.state !== 'synced') return undefined;
      }
      return true;
    }, { timeoutMs: 60_000, intervalMs: 250, describe: agentLogs });
  });

  after(async () => {
    await topo.destroy();
    await bridge?.close();
    await kube?.stop();
  });

  it('Node objects coming and going are mesh sessions coming and going; nothing else is reset', async () => {
    // Regression: ClusterSource said "stale" (and logged the API unreachable) at every start, while it was still listing.
    for (const s of AGENTS) expect(agents[s.key]!.proc.logTail(10_000), `${s.key}'s log`).to.not.contain('Kubernetes API unreachable: keeping the current peers');
    // No Node objects yet, no static members: no mesh.
    for (const s of AGENTS) expect(await meshView(s.key), `${s.key} before any Node`).to.deep.equal([]);
    for (const s of AGENTS) await createNode(s);
    for (const s of AGENTS) await untilEqual(`${s.key}'s mesh from the Nodes`, () => meshView(s.key), fullMesh(s.key));
    expect(bridge!.connections, 'the agents reached the API through the bridge').to.be.greaterThan(0);

    // tortiectl shows the same, with the SOURCE.
    const { stdout } = await run(TSX, [join(REPO, 'agent/ctl-main.ts'), 'bgp', 'sessions', '-o', 'json', '--socket', client('a').socketPath]);
    const viaCli = (JSON.parse(stdout) as SessionView[]).filter((s) => s.type === 'mesh').map((s) => `${s.peer} ${s.source}`).sort();
    expect(viaCli).to.deep.equal(['192.0.2.12 node/node-b', '192.0.2.13 node/node-c']);

    await sleep(1100); // uptime grows: a reset would show as a smaller uptime
    const beforeA = await sessions('a');
    const beforeB = await sessions('b');
    await core.deleteNode({ name: 'node-c' });
    await untilEqual('node-c to leave a', () => meshView('a'), fullMesh('a', ['node-c']));
    await untilEqual('node-c to leave b', () => meshView('b'), fullMesh('b', ['node-c']));
    for (const [k, before, other] of [['a', beforeA, '192.0.2.12'], ['b', beforeB, '192.0.2.11']] as const) {
      const after = await sessions(k);
      // Exactly that one session went; the others are the same sessions, never reset.
      expect(after.map((s) => s.peer).sort(), `${k}'s sessions`).to.deep.equal(before.map((s) => s.peer).filter((p) => p !== '192.0.2.13').sort());
      const was = before.find((s) => s.peer === other)!;
      const now = after.find((s) => s.peer === other)!;
      expect(now.state, `${k} -> ${other}`).to.equal('Established');
      expect(now.flaps, `${k} -> ${other} flaps`).to.equal(was.flaps);
      expect(now.uptimeSec, `${k} -> ${other} uptime`).to.be.at.least(was.uptimeSec);
      const st = await status(k);
      expect(st.lastReload, `${k}'s last reload`).to.deep.include({ ok: true, message: 'removed 192.0.2.13' });
    }

    await createNode(spec('c'));
    for (const s of AGENTS) await untilEqual(`${s.key}'s mesh with node-c back`, () => meshView(s.key), fullMesh(s.key));
  });

  it('a BGPPeer applies to the nodes its selector picks, moves with their labels, and loses to a file peer', async () => {
    const torSession = async (k: AgentSpec['key']): Promise<string> => {
      const s = (await sessions(k)).find((x) => x.peer === TOR);
      return s ? `${s.source} ${s.state}` : 'none';
    };
    // Before: only c has the ToR, from its file.
    await untilEqual('c and the ToR', () => torSession('c'), 'file Established');
    expect([await torSession('a'), await torSession('b')]).to.deep.equal(['none', 'none']);
    const cBefore = (await sessions('c')).find((x) => x.peer === TOR)!;

    await custom.createClusterCustomObject({
      group: TORTIE_GROUP, version: TORTIE_VERSION, plural: 'bgppeers',
      body: { apiVersion: `${TORTIE_GROUP}/${TORTIE_VERSION}`, kind: 'BGPPeer', metadata: { name: 'tor-r1' }, spec: { address: TOR, asn: 65100, nodeSelector: 'rack == "r1"' } },
    });
    // a (rack r1) gets it, b (r2) does not, c (r1) keeps its own.
    await untilEqual('a peers with the ToR from the BGPPeer', () => torSession('a'), 'bgppeer/tor-r1 Established');
    expect(await torSession('b')).to.equal('none');
    expect(await torSession('c')).to.equal('file Established');

    // tortiectl's table has the SOURCE column.
    const table = (await run(TSX, [join(REPO, 'agent/ctl-main.ts'), 'bgp', 'sessions', '--socket', client('a').socketPath])).stdout.split('\n');
    expect(table[0]).to.match(/\bSOURCE\b/);
    expect(table.find((l) => l.startsWith(`${TOR} `)), 'the ToR row').to.match(/\bbgppeer\/tor-r1\b/);

    await relabel('node-a', { rack: 'r2' });
    await relabel('node-b', { rack: 'r1' });
    await untilEqual('the ToR moves to b', async () => [await torSession('a'), await torSession('b')], ['none', 'bgppeer/tor-r1 Established']);
    // a's log names where the removed session came from (it used to say "file": the new configuration's origins were asked).
    const removedLine = agents.a!.proc.logTail(10_000).split('\n').reverse().find((l) => l.includes('session removed: peer no longer configured') && l.includes(`"peer":"${TOR}"`));
    expect(removedLine, 'a logged the ToR session removed').to.be.a('string');
    expect(JSON.parse(removedLine!)).to.deep.include({ origin: 'bgppeer/tor-r1' });

    // The file won all along: c's session was never touched.
    const cAfter = (await sessions('c')).find((x) => x.peer === TOR)!;
    expect(cAfter).to.deep.include({ source: 'file', description: 'tor-from-file', state: 'Established', flaps: cBefore.flaps });
    expect(cAfter.uptimeSec).to.be.at.least(cBefore.uptimeSec);

    await custom.deleteClusterCustomObject({ group: TORTIE_GROUP, version: TORTIE_VERSION, plural: 'bgppeers', name: 'tor-r1' });
    await untilEqual('the BGPPeer gone from b', () => torSession('b'), 'none');
    await relabel('node-a', { rack: 'r1' });
    await relabel('node-b', { rack: 'r2' });
  });

  it('two agents allocate concurrently through the CRD store under real 409s: no duplicates, all released', async () => {
    const PER_AGENT = 48;
    const WORKERS = 4;
    const auditFrom = kube!.auditEvents(AGENT_USER).length;
    const statsBefore = await Promise.all(['a', 'b'].map(async (k) => (await client(k as 'a').get<IpamShowView>('/v1/ipam/show')).stats));

    // The chaos writer: after every write of an agent to a block, it bumps that object's
    // resourceVersion, so the agent's next write to it (with the version it cached) gets a 409.
    const chaos = new ResourceChaos(kube!.kubeConfig(), TORTIE_GROUP, TORTIE_VERSION, ['ipamblocks']);
    await chaos.start();
    let chaosResult: { bumps: number; lost: number } | undefined;

    // Each agent: PER_AGENT assigns, WORKERS at a time (many batches, so the chaos lands between them).
    const assignAll = async (k: 'a' | 'b'): Promise<{ k: string; handle: string; r: IpamAssignResponse }[]> => {
      const out: { k: string; handle: string; r: IpamAssignResponse }[] = [];
      let next = 0;
      await Promise.all(Array.from({ length: WORKERS }, async () => {
        while (next < PER_AGENT) {
          const handle = `chaos-${k}-${next++}`;
          out.push({ k, handle, r: await client(k).post<IpamAssignResponse>('/v1/ipam/assign', { handle, families: ['ipv4'] }) });
        }
      }));
      return out;
    };
    try {
      const t0 = Date.now();
      const assigned = (await Promise.all([assignAll('a'), assignAll('b')])).flat();
      console.log(`      ${assigned.length} assigns in ${Date.now() - t0} ms`);
      const addresses = assigned.map((x) => x.r.ips[0]?.address);
      expect(addresses.filter((x) => x === undefined), 'assigns without an address').to.deep.equal([]);
      expect(new Set(addresses).size, 'duplicate addresses').to.equal(addresses.length);
      expect(addresses.length).to.equal(2 * PER_AGENT);

      // Every allocation is found by its handle, on the agent that made it.
      for (const x of assigned) {
        const found = await client(x.k as 'a').get<IpamAllocationsResponse>(`/v1/ipam/allocations?handle=${encodeURIComponent(x.handle)}`);
        expect(found.allocations.map((a) => a.address), x.handle).to.deep.equal([x.r.ips[0].address]);
      }
      // And the shared store, read by either agent, holds exactly these.
      for (const k of ['a', 'b'] as const) {
        const view = await client(k).get<IpamShowView>('/v1/ipam/show?allocations=1');
        const stored = (view.allocations ?? []).map((a) => `${a.handle}=${a.address}`).sort();
        expect(stored, `allocations as ${k} reads the store`).to.deep.equal(assigned.map((x) => `${x.handle}=${x.r.ips[0].address}`).sort());
      }
      console.log(`      looked up and listed in ${Date.now() - t0} ms`);

      // Release everything, concurrently and still under chaos.
      const released = await Promise.all(assigned.map((x) => client(x.k as 'a').post<{ released: { address: string }[] }>('/v1/ipam/release', { handle: x.handle })));
      expect(released.map((r) => r.released.map((x) => x.address).join()).sort()).to.deep.equal([...addresses].sort());
      console.log(`      released in ${Date.now() - t0} ms`);
    } finally {
      chaosResult = await chaos.stop();
    }

    // Conflicts really happened (assigning or releasing): in the allocators' stats and as 409s in the API server's audit log.
    const statsAfter = await Promise.all(['a', 'b'].map(async (k) => (await client(k as 'a').get<IpamShowView>('/v1/ipam/show')).stats));
    const conflicts = statsAfter.reduce((sum, s, i) => sum + s.conflicts - statsBefore[i].conflicts, 0);
    const refused = kube!.auditEvents(AGENT_USER).slice(auditFrom)
      .filter((e) => e.stage === 'ResponseComplete' && e.responseStatus?.code === 409 && e.objectRef?.resource === 'ipamblocks');
    const batches = statsAfter.reduce((sum, s, i) => sum + s.batches - statsBefore[i].batches, 0);
    const bumps = chaosResult.bumps;
    console.log(`      chaos bumps ${bumps} (lost ${chaosResult.lost}); allocator batches ${batches}, conflicts ${conflicts}; 409s on ipamblocks in the audit log ${refused.length}`);
    expect(bumps, 'chaos bumps').to.be.greaterThan(0);
    expect(conflicts, 'allocator conflicts').to.be.greaterThan(0);
    expect(refused.length, 'agents\' block writes refused with 409').to.be.greaterThan(0);

    // Nothing is left.
    for (const k of ['a', 'b'] as const) {
      const view = await client(k).get<IpamShowView>('/v1/ipam/show?allocations=1');
      expect(view.allocations ?? [], `allocations left, as ${k} reads the store`).to.deep.equal([]);
    }
  });

  it('API death: sessions and kernel routes stay, status turns stale; on return the watches resume', async () => {
    // A pod address on a: its block is originated and b routes to it.
    const pod = await client('a').post<IpamAssignResponse>('/v1/ipam/assign', { handle: 'outage-pod', families: ['ipv4'] });
    const block = pod.ips[0].block;
    // Settled: test 3's emptied blocks are released (IPAM upkeep), only the pod's block is routed.
    const podRoutes = async (k: AgentSpec['key']): Promise<Record<string, string>> =>
      Object.fromEntries(Object.entries(await kernelRoutes(ns[k]!)).filter(([p]) => p.startsWith('10.244.')));
    for (const [k, want] of [['a', 'blackhole'], ['b', 'via 192.0.2.11'], ['c', 'via 192.0.2.11']] as const) {
      await untilEqual(`${k}'s kernel routes to the pod block only`, () => podRoutes(k), { [block]: want });
    }
    const wantB = { [block]: 'via 192.0.2.11', [spec('a').prefix]: 'via 192.0.2.11', [spec('c').prefix]: 'via 192.0.2.13' };
    expect(await kernelRoutes(ns.b!)).to.deep.include(wantB);
    const routesBefore = await Promise.all(AGENTS.map((s) => kernelRoutes(ns[s.key]!)));
    const sessionsBefore = await Promise.all(AGENTS.map(async (s) => (await sessions(s.key)).map((x) => `${x.peer} ${x.state}`).sort()));
    for (const list of sessionsBefore) expect(list.every((x) => x.endsWith('Established')), JSON.stringify(list)).to.equal(true);

    const cutAt = Date.now();
    let staleMs: number | undefined;
    await bridge!.cut();
    try {
      for (const s of AGENTS) {
        await waitFor(`${s.key} to say stale`, async () => ((await status(s.key)).kubernetes?.stale === true ? true : undefined), { timeoutMs: 15_000, intervalMs: 100 });
      }
      staleMs = Date.now() - cutAt;
      const stText = (await run(TSX, [join(REPO, 'agent/ctl-main.ts'), 'status', '--socket', client('a').socketPath])).stdout;
      expect(stText).to.match(/STALE since/);
      expect(await metric(ns.a!, 'tortie_kubernetes_stale'), 'tortie_kubernetes_stale while the API is down').to.equal(1);
      await sleep(1000); // a few failed retries (a longer outage only lengthens the informers' backoff)
      for (const [i, s] of AGENTS.entries()) {
        const st = await status(s.key);
        expect(st.kubernetes, `${s.key} status`).to.deep.include({ stale: true, state: 'stale' });
        expect((await sessions(s.key)).map((x) => `${x.peer} ${x.state}`).sort(), `${s.key}'s sessions while the API is down`).to.deep.equal(sessionsBefore[i]);
        expect(await kernelRoutes(ns[s.key]!), `${s.key}'s kernel routes while the API is down`).to.deep.equal(routesBefore[i]);
      }
    } finally {
      await bridge!.restore();
    }
    for (const s of AGENTS) {
      await waitFor(`${s.key} in sync again`, async () => {
        const k = (await status(s.key)).kubernetes;
        return k?.stale === false && k.state === 'synced' ? true : undefined;
      }, { timeoutMs: 45_000, intervalMs: 100, describe: agentLogs }); // informer backoff: at most 30 s
    }
    expect(await metric(ns.a!, 'tortie_kubernetes_stale'), 'tortie_kubernetes_stale after').to.equal(0);
    const changesBefore = await metric(ns.a!, 'tortie_kubernetes_peer_changes_total');
    console.log(`      stale ${staleMs} ms after the cut; back in sync ${Date.now() - cutAt} ms after it`);

    // The watches resumed: a Node created now becomes a session everywhere.
    const d: AgentSpec = { key: 'a', node: 'node-d', address: '192.0.2.14', rack: 'r9', prefix: '' };
    await createNode(d);
    for (const s of AGENTS) {
      await waitFor(`${s.key} to add node-d`, async () => ((await sessions(s.key)).some((x) => x.peer === d.address && x.source === 'node/node-d') ? true : undefined), { timeoutMs: 20_000, intervalMs: 100 });
    }
    expect(await metric(ns.a!, 'tortie_kubernetes_peer_changes_total'), 'peer changes counted').to.be.greaterThan(changesBefore ?? Number.NaN);
    await core.deleteNode({ name: 'node-d' });
    for (const s of AGENTS) await untilEqual(`${s.key} to drop node-d`, () => meshView(s.key), fullMesh(s.key));
    for (const [i, s] of AGENTS.entries()) {
      expect(await kernelRoutes(ns[s.key]!), `${s.key}'s kernel routes after the outage`).to.deep.equal(routesBefore[i]);
    }
    await client('a').post('/v1/ipam/release', { handle: 'outage-pod' });
  });
  // Regression for a bug in ipam/allocator.ts (write fails without a conflict → refresh() cannot read the
  // block → it deletes the block from its cache → the node stops originating its pod block). Fails until fixed.
  it('an IPAM write that fails while the API is down leaves the node\'s pod block advertised', async () => {
    const pod = await client('a').post<IpamAssignResponse>('/v1/ipam/assign', { handle: 'gap-pod', families: ['ipv4'] });
    const block = pod.ips[0].block;
    await untilEqual("b's route to a's pod block", async () => (await kernelRoutes(ns.b!))[block], 'via 192.0.2.11');
    const before = { a: await kernelRoutes(ns.a!), b: await kernelRoutes(ns.b!) };
    await bridge!.cut();
    try {
      await waitFor('a to say stale', async () => ((await status('a')).kubernetes?.stale === true ? true : undefined), { timeoutMs: 15_000, intervalMs: 100 });
      // A pod started now cannot get an address (the store is the API)...
      const during = await client('a').post('/v1/ipam/assign', { handle: 'during-outage', families: ['ipv4'] })
        .then(() => 'assigned', (err: { code?: string }) => err.code ?? 'failed');
      expect(during, 'an assign while the API is down').to.not.equal('assigned');
      await sleep(1500); // BGP withdrawal and the kernel would have followed by now
      // ...and that must not take the existing pods' block away.
      expect(await kernelRoutes(ns.a!), "a's kernel routes after the failed assign").to.deep.equal(before.a);
      expect(await kernelRoutes(ns.b!), "b's kernel routes after a's failed assign").to.deep.equal(before.b);
    } finally {
      await bridge!.restore();
    }
    for (const s of AGENTS) {
      await waitFor(`${s.key} in sync again`, async () => ((await status(s.key)).kubernetes?.state === 'synced' ? true : undefined), { timeoutMs: 45_000, intervalMs: 100 });
    }
    await client('a').post('/v1/ipam/release', { handle: 'gap-pod' });
  });
});
