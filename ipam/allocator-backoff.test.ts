/**
 * Writes refused by the store (another writer on the same block) are
 * retried after a jittered, growing pause, not at once: a burst of
 * contention is spread out and maxAttempts covers it. And an assign that
 * writes nothing (the handle already holds its addresses) answers from a
 * fresh view, not from a cache another node's write made stale.
 */
import { expect } from 'chai';
import { silentLogger } from '../lib/log.js';
import { MemoryDatastore, type StoreOp } from './datastore/store-memory.js';
import { IpamService } from './service.js';

function service(store: MemoryDatastore, node = 'node-a'): IpamService {
  return new IpamService({
    node, labels: {}, store, log: silentLogger, upkeepMs: 3_600_000, relistMs: 3_600_000,
    config: { pools: [{ name: 'p', cidr: '10.97.0.0/24', blockSize: 26, nodeSelector: 'all()', disabled: false }], reservations: [], strictAffinity: true, releaseCooldownSec: 0, gcGraceSec: 0 },
  });
}

const writes = new Set<StoreOp>(['create', 'update', 'delete']);

describe('ipam: allocator backoff after refused writes', () => {
  it('five refused writes in a row: the assign succeeds, after pauses of at least 0.5 x (1+2+4+8+16) ms', async () => {
    let refuse = 0;
    const store = new MemoryDatastore((op) => (writes.has(op) && refuse-- > 0 ? 'conflict' : undefined));
    const s = service(store);
    await s.start();
    try {
      await s.assign({ containerId: 'warm', ifname: 'eth0' }); // claims the block
      refuse = 5;
      const t0 = performance.now();
      const r = await s.assign({ containerId: 'c1', ifname: 'eth0' });
      const ms = performance.now() - t0;
      expect(r.ips).to.have.length(1);
      expect(refuse, 'all five refusals were used').to.be.at.most(0);
      expect(ms).to.be.at.least(15.5);
    } finally {
      await s.stop();
    }
  });

  it('without refusals there is no pause', async () => {
    const store = new MemoryDatastore();
    const s = service(store);
    await s.start();
    try {
      await s.assign({ containerId: 'warm', ifname: 'eth0' });
      const t0 = performance.now();
      for (let i = 0; i < 10; i++) await s.assign({ containerId: `c${i}`, ifname: 'eth0' });
      expect(performance.now() - t0, '10 assigns').to.be.below(200);
    } finally {
      await s.stop();
    }
  });
});

describe('ipam: an assign answered without a write comes from a fresh view', () => {
  it('another node released the address by IP: a repeated ADD does not get it back as still held', async () => {
    const store = new MemoryDatastore();
    const a = service(store);
    const b = service(store, 'node-b');
    await a.start();
    await b.start();
    try {
      const first = (await b.assign({ containerId: 'c1', ifname: 'eth0' })).ips[0].address.split('/')[0];
      // Node a releases it (tortiectl ipam release --ip there); b's cache does not know yet.
      await a.release({ ip: first });
      const again = (await b.assign({ containerId: 'c1', ifname: 'eth0' })).ips.map((x) => x.address.split('/')[0]);
      // Whatever b answers must be what the store holds for c1 (from a stale cache it answered [first], held by nobody).
      // The truth, from a service started now (b's own lookup would read the same stale cache).
      const c = service(store, 'node-c');
      await c.start();
      const held = (await c.allocations('c1/eth0')).map((x) => x.address.split('/')[0]);
      await c.stop();
      expect(held).to.have.length(1);
      expect(again).to.deep.equal(held);
    } finally {
      await b.stop();
      await a.stop();
    }
  });
});
