/**
 * Writes refused by the store (another writer on the same block) are
 * retried after a jittered, growing pause, not at once: a burst of
 * contention is spread out and maxAttempts covers it.
 */
import { expect } from 'chai';
import { silentLogger } from '../lib/log.js';
import { MemoryDatastore, type StoreOp } from './datastore/store-memory.js';
import { IpamService } from './service.js';

function service(store: MemoryDatastore): IpamService {
  return new IpamService({
    node: 'node-a', labels: {}, store, log: silentLogger, upkeepMs: 3_600_000, relistMs: 3_600_000,
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
