/**
 * Four agents (four namespaces, four processes) share one local datastore
 * directory. They assign at the same time, each claiming blocks of small
 * (/29) size from one pool, so block claims race constantly. No address is
 * given out twice, every block has one node, every address sits in its own
 * node's block (strict affinity), and releasing everything leaves zero
 * allocations. Needs root.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import type { IpamAssignResponse, IpamShowView } from '../../ipam/api-types.js';
import {
  duplicates, ensureBuilt, netConf, pool, readAllocations, resultAddresses, runPlugin, startAgent, type AgentHandle,
} from '../../ipam/testing/harness.js';
import { isRoot, requireCommands, Topology } from '../support/netns.js';

const NODES = ['shared-a', 'shared-b', 'shared-c', 'shared-d'];
const PER_AGENT_API = 40;
const PER_AGENT_PLUGIN = 6;

describe('ipam: four agents sharing one local datastore', function () {
  this.timeout(240_000);
  const topo = new Topology();
  const agents: AgentHandle[] = [];
  let storeDir: string;

  before(async function () {
    if (!isRoot()) throw new Error('this test needs root (network namespaces); run it through .ci/run or as root');
    requireCommands(['ip']);
    await ensureBuilt();
    storeDir = join(topo.tmpDir, 'shared-ipam');
    for (const [i, name] of NODES.entries()) {
      agents.push(await startAgent(topo, {
        name, routerId: `192.0.2.${61 + i}`,
        ipamYaml: `  pools:
    - { name: shared, cidr: 10.125.0.0/22, blockSize: 29 }
    - { name: shared6, cidr: "fd00:125::/116", blockSize: 125 }
    - { name: race, cidr: 10.126.0.0/27, blockSize: 29 }
  releaseCooldownSec: 0
  gcGraceSec: 0
  datastore: { type: local, directory: ${storeDir} }`,
      }));
    }
  });

  after(async () => {
    await topo.destroy();
  });

  it('assigning on all four at once: zero duplicates, each block one node, each address in its node\'s block', async () => {
    const api = agents.flatMap((a) => Array.from({ length: PER_AGENT_API }, (_, i) => ({ a, id: `${a.spec.name}-api-${i}` })));
    const plugin = agents.flatMap((a) => Array.from({ length: PER_AGENT_PLUGIN }, (_, i) => ({ a, id: `${a.spec.name.replace('-', '')}plug${i}` })));
    const [viaApi, viaPlugin] = await Promise.all([
      pool(api, 64, ({ a, id }) => a.client.post<IpamAssignResponse>('/v1/ipam/assign', { containerId: id, ifname: 'eth0', pools: ['shared', 'shared6'] })),
      Promise.all(plugin.map(({ a, id }) => runPlugin({ command: 'ADD', containerId: id, conf: netConf(a.socket, {}, { pools: ['shared', 'shared6'] }) }))),
    ]);
    for (const r of viaPlugin) expect(r.code, r.stdout + r.stderr).to.equal(0);
    const returned = [...viaApi.flatMap((r) => r.ips.map((x) => x.address)), ...viaPlugin.flatMap(resultAddresses).map((x) => x.replace(/\/\d+$/, ''))];
    const total = NODES.length * (PER_AGENT_API + PER_AGENT_PLUGIN) * 2;
    expect(returned).to.have.length(total);
    expect(duplicates(returned)).to.deep.equal([]);

    const { allocations, blocks } = await readAllocations(storeDir);
    expect(allocations).to.have.length(total);
    expect(duplicates(allocations.map((x) => x.address))).to.deep.equal([]);
    expect(allocations.filter((x) => x.handle === '')).to.deep.equal([]);
    for (const x of allocations) expect(x.blockNode, `${x.address} (${x.handle}) on ${x.node} lies in ${x.block} of ${x.blockNode ?? 'nobody'}`).to.equal(x.node);
    for (const name of NODES) {
      const mine = blocks.filter((b) => b.node === name);
      expect(mine.length, `${name} claimed blocks`).to.be.at.least(2);
    }
    // Every agent sees the same store.
    const views = await Promise.all(agents.map((a) => a.client.get<IpamShowView>('/v1/ipam/show')));
    for (const v of views) {
      expect(v.nodes.map((n) => n.name)).to.deep.equal(NODES);
      expect(v.blocks.length).to.equal(blocks.length);
    }
    const conflicts = views.reduce((n, v) => n + v.stats.conflicts, 0);
    console.log(`      ${blocks.length} blocks claimed by 4 agents; ${conflicts} compare-and-swap conflicts resolved; ${views.reduce((n, v) => n + v.stats.writes, 0)} block writes`);
  });

  it('four agents racing for the four blocks of one pool get one block each; a fifth request is exhausted', async () => {
    const got = await Promise.all(agents.map((a) => a.client.post<IpamAssignResponse>('/v1/ipam/assign', { containerId: `${a.spec.name}-race`, ifname: 'eth0', pools: ['race'] })));
    const blocksTaken = got.map((r) => r.ips[0].block);
    expect(new Set(blocksTaken).size, `blocks: ${blocksTaken.join(', ')}`).to.equal(4);
    const { blocks } = await readAllocations(storeDir);
    const race = blocks.filter((b) => b.cidr.startsWith('10.126.0.'));
    expect(race.map((b) => b.node).sort()).to.deep.equal([...NODES].sort());
    // Each block has 8 addresses; fill shared-a's and ask for one more: no free block, no borrowing.
    const a = agents[0];
    for (let i = 0; i < 7; i++) await a.client.post('/v1/ipam/assign', { containerId: `race-more-${i}`, ifname: 'eth0', pools: ['race'] });
    const err = await a.client.post('/v1/ipam/assign', { containerId: 'race-last', ifname: 'eth0', pools: ['race'] }).then(() => undefined, (e: unknown) => e as Error & { code: string });
    expect(err?.code).to.equal('ERR_IPAM_POOL_EXHAUSTED');
    expect(err?.message).to.include('pool race (10.126.0.0/27, /29 blocks): no free block (all 4 blocks are claimed (1 by shared-a, 3 by other nodes))');
  });

  it('releasing everything (DEL through the plugin, release through the API) leaves zero allocations', async () => {
    const { allocations } = await readAllocations(storeDir);
    const handles = [...new Set(allocations.map((a) => a.handle))];
    const byNode = new Map(agents.map((a) => [a.spec.name, a]));
    const owner = new Map(allocations.map((a) => [a.handle, byNode.get(a.node)!]));
    await pool(handles, 32, async (h) => {
      const a = owner.get(h)!;
      if (h.includes('plug')) {
        const r = await runPlugin({ command: 'DEL', containerId: h.replace(/\/eth0$/, ''), conf: netConf(a.socket) });
        expect(r.code, r.stdout).to.equal(0);
      } else {
        await a.client.post('/v1/ipam/release', { handle: h });
      }
    });
    expect((await readAllocations(storeDir)).allocations).to.deep.equal([]);
  });
});
