/**
 * A block claim runs on a fresh view of the store. Blocks of another size
 * have other keys, so the create's compare-and-swap cannot catch an overlap:
 * when a pool's block size was edited (or two pools overlap), a node whose
 * cache is older than the other node's claim must not claim an overlapping
 * block and hand out the same addresses twice.
 */
import { expect } from 'chai';
import { silentLogger } from '../lib/log.js';
import { MemoryDatastore } from './datastore/store-memory.js';
import { IpamService } from './service.js';

const pool = (blockSize: number) => ({ name: 'p', cidr: '10.96.0.0/26', blockSize, nodeSelector: 'all()', disabled: false });

function node(store: MemoryDatastore, name: string, blockSize: number): IpamService {
  return new IpamService({
    node: name, labels: {}, store, log: silentLogger, upkeepMs: 3_600_000, relistMs: 3_600_000,
    config: { pools: [pool(blockSize)], reservations: [], strictAffinity: true, releaseCooldownSec: 0, gcGraceSec: 0 },
  });
}

describe('ipam: block claims on a fresh view', () => {
  it('a node with an old cache does not claim a block overlapping one claimed since with another block size', async function () {
    this.timeout(10_000);
    const store = new MemoryDatastore();
    // The pool is one /26: a (block size 26) can only claim all of it; b (28) claims quarters of it.
    const a = node(store, 'node-a', 26);
    const b = node(store, 'node-b', 28);
    await a.start();
    try {
      await b.start();
      // b claims a /28 while a's cache (listed at its start) does not know it.
      const fromB = (await b.assign({ containerId: 'b0', ifname: 'eth0' })).ips.map((x) => x.address.split('/')[0]);
      await new Promise((r) => setTimeout(r, 1_100));
      let code: string | undefined;
      let fromA: string[] = [];
      try {
        fromA = (await a.assign({ containerId: 'a0', ifname: 'eth0' })).ips.map((x) => x.address.split('/')[0]);
      } catch (err) {
        code = (err as { code?: string }).code;
      }
      // Claiming the whole /26 over b's /28 would hand out b's addresses again.
      expect(fromA.filter((x) => fromB.includes(x))).to.deep.equal([]);
      expect(code).to.equal('ERR_IPAM_POOL_EXHAUSTED');
      const blocks = (await a.show(false)).blocks.map((x) => x.cidr);
      expect(blocks.some((c) => c.endsWith('/26'))).to.equal(false);
      await b.stop();
    } finally {
      await a.stop();
    }
  });
});
