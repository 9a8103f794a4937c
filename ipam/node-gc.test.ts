/**
 * releaseNodesNotIn: the blocks and node records of nodes that are gone,
 * against the memory store shared by several nodes' services, with
 * injected compare-and-swap conflicts. And `check` judging "node gone" by
 * the cluster's node list (the liveNodes hook).
 */
import { expect } from 'chai';
import { TortieError } from '../lib/errors.js';
import { silentLogger } from '../lib/log.js';
import { blockKey, nodeKey } from './core/keys.js';
import { MemoryDatastore, type FaultHook } from './datastore/store-memory.js';
import { IpamService, type IpamServiceOptions } from './service.js';

const POOL = { name: 'p', cidr: '10.95.0.0/24', blockSize: 28, nodeSelector: 'all()', disabled: false };

function node(store: MemoryDatastore, name: string, extra: Partial<IpamServiceOptions> = {}): IpamService {
  return new IpamService({
    node: name, labels: {}, store, log: silentLogger, now: () => 1_700_000_000_000, upkeepMs: 3_600_000,
    config: { pools: [POOL], reservations: [], strictAffinity: true, releaseCooldownSec: 0, gcGraceSec: 0 },
    ...extra,
  });
}

/**
 * node-a (this node), node-b (live), node-c (gone, its block empty),
 * node-d (gone, its block still holds two addresses).
 */
async function cluster(store: MemoryDatastore, extra: Partial<IpamServiceOptions> = {}): Promise<{ a: IpamService; blocks: Record<string, string> }> {
  const blocks: Record<string, string> = {};
  for (const n of ['node-b', 'node-c', 'node-d']) {
    const s = node(store, n);
    await s.start();
    const r = await s.assign({ containerId: `${n}-1`, ifname: 'eth0', namespace: 'ns', pod: `${n}-pod` });
    await s.assign({ containerId: `${n}-2`, ifname: 'eth0' });
    blocks[n] = r.ips[0].block;
    if (n === 'node-c') {
      await s.release({ containerId: `${n}-1`, ifname: 'eth0' });
      await s.release({ containerId: `${n}-2`, ifname: 'eth0' });
    }
    await s.stop();
  }
  const a = node(store, 'node-a', extra);
  await a.start();
  await a.assign({ containerId: 'a-1', ifname: 'eth0' });
  return { a, blocks };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return err instanceof TortieError ? err.code : 'not a TortieError';
  }
}

describe('ipam/node-gc: releaseNodesNotIn', () => {
  it('removes the empty blocks and node records of gone nodes; keeps and reports blocks that still hold addresses', async () => {
    const store = new MemoryDatastore();
    const { a, blocks } = await cluster(store);
    try {
      const r = await a.releaseNodesNotIn(new Set(['node-b']));
      expect(r.dryRun).to.equal(false);
      expect(r.goneNodes).to.deep.equal(['node-c', 'node-d']);
      expect(r.releasedBlocks).to.deep.equal([{ cidr: blocks['node-c'], node: 'node-c' }]);
      expect(r.keptBlocks).to.deep.equal([{ cidr: blocks['node-d'], node: 'node-d', used: 2 }]);
      expect(r.strandedAllocations.map((x) => `${x.handle} ${x.node} ${x.pod ?? '-'}`)).to.deep.equal(['node-d-1/eth0 node-d node-d-pod', 'node-d-2/eth0 node-d -']);
      expect(r.removedNodeRecords).to.deep.equal(['node-c', 'node-d']);
      // In the store: node-c's block is gone, node-d's is untouched (affinity and addresses), node-b's and ours too.
      expect(await store.get(blockKey(blocks['node-c']))).to.equal(undefined);
      const d = (await store.get(blockKey(blocks['node-d'])))?.value as { affinity: string; allocations: unknown[] };
      expect(d.affinity).to.equal('node-d');
      expect(d.allocations).to.have.length(2);
      expect(await store.get(blockKey(blocks['node-b']))).to.not.equal(undefined);
      expect(await store.get(nodeKey('node-c'))).to.equal(undefined);
      expect(await store.get(nodeKey('node-b'))).to.not.equal(undefined);
      expect(await store.get(nodeKey('node-a'))).to.not.equal(undefined);
      // Idempotent: a second run removes nothing more and reports the same kept block.
      const again = await a.releaseNodesNotIn(new Set(['node-b']));
      expect(again.releasedBlocks).to.deep.equal([]);
      expect(again.removedNodeRecords).to.deep.equal([]);
      expect(again.keptBlocks).to.deep.equal(r.keptBlocks);
      // The freed block can be claimed again: node-a's view has it as free.
      const show = await a.show(false);
      expect(show.blocks.map((b) => b.cidr)).to.not.include(blocks['node-c']);
    } finally {
      await a.stop();
    }
  });

  it('a dry run reports the same and changes nothing', async () => {
    const store = new MemoryDatastore();
    const { a, blocks } = await cluster(store);
    try {
      const writes = store.stats.writes;
      const r = await a.releaseNodesNotIn(new Set(['node-b']), { dryRun: true });
      expect(r.dryRun).to.equal(true);
      expect(r.releasedBlocks).to.deep.equal([{ cidr: blocks['node-c'], node: 'node-c' }]);
      expect(r.removedNodeRecords).to.deep.equal(['node-c', 'node-d']);
      expect(store.stats.writes).to.equal(writes);
      expect(await store.get(blockKey(blocks['node-c']))).to.not.equal(undefined);
    } finally {
      await a.stop();
    }
  });

  it('with `only`, releases just those nodes; every other node counts as live', async () => {
    const store = new MemoryDatastore();
    const { a, blocks } = await cluster(store);
    try {
      const r = await a.releaseNodesNotIn(new Set(['node-b']), { only: new Set(['node-d']) });
      expect(r.releasedBlocks).to.deep.equal([]);
      expect(r.keptBlocks).to.deep.equal([{ cidr: blocks['node-d'], node: 'node-d', used: 2 }]);
      expect(r.removedNodeRecords).to.deep.equal(['node-d']);
      // node-c is not in the list either, but was not asked for: its empty block and record stay.
      expect(await store.get(blockKey(blocks['node-c']))).to.not.equal(undefined);
      expect(await store.get(nodeKey('node-c'))).to.not.equal(undefined);
      const c = await a.releaseNodesNotIn(new Set(['node-b']), { only: new Set(['node-c']) });
      expect(c.releasedBlocks).to.deep.equal([{ cidr: blocks['node-c'], node: 'node-c' }]);
    } finally {
      await a.stop();
    }
  });

  it('never touches this node, even when the list lacks it; refuses an empty list', async () => {
    const store = new MemoryDatastore();
    const { a, blocks } = await cluster(store);
    try {
      await a.release({ containerId: 'a-1', ifname: 'eth0' }); // our block is now empty too
      const r = await a.releaseNodesNotIn(new Set(['node-b', 'node-c', 'node-d']));
      expect(r.goneNodes).to.deep.equal([]);
      expect(r.releasedBlocks).to.deep.equal([]);
      expect(r.removedNodeRecords).to.deep.equal([]);
      expect(await codeOf(a.releaseNodesNotIn(new Set()))).to.equal('ERR_IPAM_BAD_REQUEST');
      expect(await store.get(blockKey(blocks['node-c']))).to.not.equal(undefined);
    } finally {
      await a.stop();
    }
  });

  it('a block delete that loses its compare-and-swap is read again and retried; reported once', async () => {
    const store = new MemoryDatastore();
    const { a, blocks } = await cluster(store);
    try {
      let conflicts = 0;
      const hook: FaultHook = (op, key) => {
        if (op === 'delete' && key === blockKey(blocks['node-c']) && conflicts < 2) {
          conflicts++;
          return 'conflict';
        }
        return undefined;
      };
      store.setFaults(hook);
      const r = await a.releaseNodesNotIn(new Set(['node-b']));
      expect(conflicts).to.equal(2);
      expect(r.releasedBlocks).to.deep.equal([{ cidr: blocks['node-c'], node: 'node-c' }]);
      expect(r.keptBlocks).to.deep.equal([{ cidr: blocks['node-d'], node: 'node-d', used: 2 }]);
      expect(await store.get(blockKey(blocks['node-c']))).to.equal(undefined);
      expect(a.stats.conflicts).to.be.at.least(2);
    } finally {
      await a.stop();
    }
  });

  it('a node record rewritten meanwhile (its agent runs) is left alone', async () => {
    const store = new MemoryDatastore();
    const { a } = await cluster(store);
    try {
      store.setFaults((op, key) => (op === 'delete' && key === nodeKey('node-c') ? 'conflict' : undefined));
      const r = await a.releaseNodesNotIn(new Set(['node-b']));
      expect(r.removedNodeRecords).to.deep.equal(['node-d']);
      expect(await store.get(nodeKey('node-c'))).to.not.equal(undefined);
    } finally {
      await a.stop();
    }
  });

  it('a datastore that fails leaves the cache as the store has it (nothing claimed released)', async () => {
    const store = new MemoryDatastore();
    const { a, blocks } = await cluster(store);
    try {
      store.setFaults((op) => (op === 'delete' ? 'unavailable' : undefined));
      expect(await codeOf(a.releaseNodesNotIn(new Set(['node-b'])))).to.equal('ERR_IPAM_RETRIES_EXHAUSTED');
      store.setFaults(() => undefined);
      expect(await store.get(blockKey(blocks['node-c']))).to.not.equal(undefined);
      expect((await a.show(false)).blocks.map((b) => b.cidr)).to.include(blocks['node-c']);
    } finally {
      await a.stop();
    }
  });
});

describe('ipam/service: check with the cluster\'s node list (liveNodes hook)', () => {
  const cases: { name: string; live: string[] | undefined; basis: string; orphans: string[] }[] = [
    // Node records are fresh (same clock), so by heartbeat nobody is gone.
    { name: 'without the hook, node records decide', live: undefined, basis: 'records', orphans: [] },
    { name: 'with the node list, nodes not in it are gone (node-c\'s and node-d\'s blocks)', live: ['node-b'], basis: 'cluster', orphans: ['node-c', 'node-d'] },
    { name: 'with every node listed, nothing is gone', live: ['node-b', 'node-c', 'node-d'], basis: 'cluster', orphans: [] },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const store = new MemoryDatastore();
      const { a, blocks } = await cluster(store, c.live === undefined ? {} : { liveNodes: () => new Set(c.live) });
      try {
        const v = await a.check({ attachments: [{ containerId: 'a-1', ifname: 'eth0' }] });
        expect(v.nodeBasis).to.equal(c.basis);
        expect(v.orphanedBlocks.map((b) => b.node)).to.deep.equal(c.orphans);
        for (const o of v.orphanedBlocks) expect(o.reason).to.equal(`its node ${o.node ?? ''} is not in the cluster's node list`);
        expect(v.orphanedBlocks.map((b) => b.cidr)).to.deep.equal(c.orphans.map((n) => blocks[n]));
      } finally {
        await a.stop();
      }
    });
  }
});
