/**
 * IPAM and BGP together: two agents in an iBGP mesh on one segment, sharing
 * one local datastore, one pool of two /30 blocks, strict affinity off.
 *
 *   - a node advertises each block it claims (and blackholes it locally);
 *   - with its own block full and no free block, a node borrows an address
 *     from the other node's block and advertises it as a /32, which gets no
 *     blackhole on the borrower (the pod's route carries it);
 *   - once its addresses are released, the /32 is withdrawn, and the empty
 *     block is released and withdrawn.
 *
 *   a 192.0.2.81 ─┐
 *                 bridge (sw)
 *   b 192.0.2.82 ─┘
 * Needs root.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import type { RouteView } from '../../agent/api-types.js';
import type { IpamGcResponse, IpamShowView } from '../../ipam/api-types.js';
import { ensureBuilt, netConf, resultAddresses, runPlugin, startAgent, type AgentHandle } from '../../ipam/testing/harness.js';
import { isRoot, requireCommands, Topology, waitFor, type Netns } from '../support/netns.js';

const PROTO = 201;

interface KRoute { dst: string; type?: string; gateway?: string }

/** Our IPv4 routes in a namespace, as "prefix -> blackhole | via X". */
async function fib(ns: Netns): Promise<Record<string, string>> {
  const routes = await ns.ipJson<KRoute[]>(['route', 'show', 'proto', String(PROTO)]);
  const out: Record<string, string> = {};
  for (const r of routes) {
    const dst = r.dst.includes('/') ? r.dst : `${r.dst}/32`;
    out[dst] = r.type === 'blackhole' ? 'blackhole' : `via ${r.gateway ?? '?'}`;
  }
  return out;
}

async function ribHas(a: AgentHandle, prefix: string): Promise<RouteView | undefined> {
  try {
    const r = await a.client.get<{ routes: RouteView[] }>(`/v1/bgp/routes?prefix=${encodeURIComponent(prefix)}`);
    return r.routes[0];
  } catch {
    return undefined;
  }
}

describe('ipam: blocks and borrowed addresses in BGP', function () {
  this.timeout(180_000);
  const topo = new Topology();
  const agents: Record<string, AgentHandle> = {};

  // Both nodes share one datastore (a standalone cluster's IPAM): blocks are claimed against each other.
  const spec = (name: string, addr: string, storeDir: string) => ({
    name, routerId: addr,
    nodeYaml: `  sourceAddress: ${addr}`,
    bgpYaml: `  listen: { address: ${addr}, port: 179 }
  holdTimeSec: 9
  connectRetrySec: 1
  nodeToNodeMesh:
    enabled: true
    members:
      - { address: 192.0.2.81, name: bgp-a }
      - { address: 192.0.2.82, name: bgp-b }`,
    ipamYaml: `  pools:
    - { name: duo, cidr: 10.128.0.0/29, blockSize: 30 }
  strictAffinity: false
  releaseCooldownSec: 0
  gcGraceSec: 0
  datastore: { type: local, directory: ${storeDir} }`,
  });

  before(async function () {
    if (!isRoot()) throw new Error('this test needs root (network namespaces); run it through .ci/run or as root');
    requireCommands(['ip']);
    await ensureBuilt();
    const sw = await topo.addNamespace('sw');
    await sw.ip(['link', 'add', 'br0', 'type', 'bridge']);
    await sw.ip(['link', 'set', 'br0', 'up']);
    for (const [name, addr] of [['bgp-a', '192.0.2.81'], ['bgp-b', '192.0.2.82']] as const) {
      const ns = await topo.addNamespace(name);
      const l = await topo.link(ns, sw, { aAddresses: [`${addr}/24`], aName: 'eth0', bName: `p-${name}` });
      await sw.ip(['link', 'set', l.b.ifname, 'master', 'br0']);
      agents[name] = await startAgent(topo, spec(name, addr, join(topo.tmpDir, 'shared-ipam')), ns);
    }
    await waitFor('the mesh session', async () => {
      const s = await agents['bgp-a'].client.get<{ sessions: { state: string }[] }>('/v1/bgp/sessions');
      return s.sessions.length === 1 && s.sessions[0].state === 'Established' ? true : undefined;
    }, { timeoutMs: 60_000, intervalMs: 200 });
  });

  after(async () => {
    await topo.destroy();
  });

  const a = () => agents['bgp-a'];
  const b = () => agents['bgp-b'];
  const add = async (h: AgentHandle, id: string) => {
    const r = await runPlugin({ command: 'ADD', containerId: id, conf: netConf(h.socket) });
    expect(r.code, r.stdout).to.equal(0);
    return resultAddresses(r)[0];
  };
  let blockB = '';
  let blockA = '';
  let borrowed = '';

  it('a claimed block is advertised, and blackholed on its own node', async () => {
    await add(b(), 'b0');
    const show = await b().client.get<IpamShowView>('/v1/ipam/show');
    blockB = show.blocks.find((x) => x.node === 'bgp-b')!.cidr;
    await waitFor(`a to learn ${blockB}`, async () => ((await ribHas(a(), blockB))?.best?.nextHops.includes('192.0.2.82') === true ? true : undefined), { timeoutMs: 20_000, intervalMs: 100 });
    await waitFor('the block in both FIBs', async () => ((await fib(b().ns))[blockB] === 'blackhole' && (await fib(a().ns))[blockB] === 'via 192.0.2.82' ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 });

    for (let i = 0; i < 4; i++) await add(a(), `a${i}`);
    blockA = (await a().client.get<IpamShowView>('/v1/ipam/show')).blocks.find((x) => x.node === 'bgp-a')!.cidr;
    expect(blockA).to.not.equal(blockB);
    await waitFor(`b to learn ${blockA}`, async () => ((await ribHas(b(), blockA))?.best?.nextHops.includes('192.0.2.81') === true ? true : undefined), { timeoutMs: 20_000, intervalMs: 100 });
  });

  it('with its block full and no free block, a node borrows from the other\'s block and advertises a /32 (no blackhole for it)', async () => {
    borrowed = await add(a(), 'a4');
    expect(borrowed.endsWith('/32')).to.equal(true);
    const show = await a().client.get<IpamShowView>('/v1/ipam/show');
    expect(show.borrowed.map((x) => `${x.address}/32 ${x.blockNode ?? ''}`)).to.deep.equal([`${borrowed} bgp-b`]);
    expect(show.originated).to.include(borrowed);
    await waitFor(`b to learn ${borrowed} from a`, async () => ((await ribHas(b(), borrowed))?.best?.nextHops.includes('192.0.2.81') === true ? true : undefined), { timeoutMs: 20_000, intervalMs: 100 });
    await waitFor(`b's FIB to route ${borrowed} to a`, async () => ((await fib(b().ns))[borrowed] === 'via 192.0.2.81' ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 });
    // a advertises it but installs nothing for it: no blackhole that would swallow the pod's traffic.
    expect((await fib(a().ns))[borrowed]).to.equal(undefined);
  });

  it('released: the /32 is withdrawn; the empty block is released and withdrawn', async () => {
    for (let i = 0; i < 5; i++) expect((await runPlugin({ command: 'DEL', containerId: `a${i}`, conf: netConf(a().socket) })).code).to.equal(0);
    await waitFor(`b to forget ${borrowed}`, async () => ((await ribHas(b(), borrowed)) === undefined ? true : undefined), { timeoutMs: 20_000, intervalMs: 100 });
    const gc = await a().client.post<IpamGcResponse>('/v1/ipam/gc', { validAttachments: [] });
    // With no cooldown, the agent's own upkeep may release the empty block before this GC: either way it is gone.
    expect(gc.releasedBlocks.filter((c) => c !== blockA)).to.deep.equal([]);
    expect((await a().client.get<IpamShowView>('/v1/ipam/show')).blocks.map((x) => x.cidr)).to.not.include(blockA);
    await waitFor(`b to forget ${blockA}`, async () => ((await ribHas(b(), blockA)) === undefined ? true : undefined), { timeoutMs: 20_000, intervalMs: 100 });
    await waitFor(`a's blackhole for ${blockA} to go`, async () => ((await fib(a().ns))[blockA] === undefined ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 });
    // b's block still holds b0: still advertised.
    expect((await ribHas(a(), blockB))?.best?.nextHops).to.deep.equal(['192.0.2.82']);
  });
});
