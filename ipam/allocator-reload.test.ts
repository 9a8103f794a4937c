/**
 * A full re-read of the store (a claim's fresh view, `show`, the periodic
 * re-list) reads only the blocks whose revision changed, where the store
 * can list revisions alone, and still sees every change another node made:
 * a new block, a changed block, a deleted block.
 */
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../lib/log.js';
import type { Datastore, KeyRevision, StoredValue } from './core/datastore.js';
import { blockKey } from './core/keys.js';
import { openLocalDatastore } from './datastore/store-local.js';
import { MemoryDatastore } from './datastore/store-memory.js';
import { IpamService } from './service.js';

/** Passes every call through, counting the block reads (`get` of a blocks/ key). */
class CountingStore implements Datastore {
  blockGets = 0;
  readonly kind: string;
  readonly location: string;
  readonly revisions?: (prefix: string) => Promise<KeyRevision[]>;

  constructor(private readonly inner: Datastore) {
    this.kind = inner.kind;
    this.location = inner.location;
    if (inner.revisions !== undefined) this.revisions = (prefix) => inner.revisions!(prefix);
  }

  get(key: string): Promise<StoredValue | undefined> {
    if (key.startsWith('blocks/')) this.blockGets++;
    return this.inner.get(key);
  }

  list(prefix: string): Promise<StoredValue[]> {
    return this.inner.list(prefix);
  }

  create(key: string, value: unknown): Promise<StoredValue> {
    return this.inner.create(key, value);
  }

  update(key: string, value: unknown, revision: string): Promise<StoredValue> {
    return this.inner.update(key, value, revision);
  }

  delete(key: string, revision: string): Promise<void> {
    return this.inner.delete(key, revision);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

function node(store: Datastore, name: string): IpamService {
  return new IpamService({
    node: name, labels: {}, store, log: silentLogger, upkeepMs: 3_600_000, relistMs: 3_600_000,
    config: {
      pools: [{ name: 'p', cidr: '10.97.0.0/24', blockSize: 28, nodeSelector: 'all()', disabled: false }],
      reservations: [], strictAffinity: true, releaseCooldownSec: 0, gcGraceSec: 0,
    },
  });
}

const STORES: { name: string; open: () => Promise<{ store: Datastore; done: () => Promise<void> }> }[] = [
  { name: 'memory', open: () => Promise.resolve({ store: new MemoryDatastore(), done: () => Promise.resolve() }) },
  {
    name: 'local',
    open: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'tortie-reload-'));
      return { store: await openLocalDatastore(join(dir, 'ipam')), done: () => rm(dir, { recursive: true, force: true }) };
    },
  },
];

for (const impl of STORES) {
  describe(`ipam: re-reading the store reads only changed blocks (${impl.name} store)`, () => {
    it('sees new, changed and deleted blocks of another node, reading each change once', async () => {
      const { store, done } = await impl.open();
      const counted = new CountingStore(store);
      const a = node(counted, 'node-a');
      const b = node(store, 'node-b');
      try {
        await a.start();
        await b.start();
        for (let i = 0; i < 3; i++) await a.assign({ containerId: `a${i}`, ifname: 'eth0' });
        const usedBy = async (n: string): Promise<Record<string, number>> =>
          Object.fromEntries((await a.show(false)).blocks.filter((x) => x.node === n).map((x) => [x.cidr, x.used]));

        // Nothing changed: nothing is read.
        counted.blockGets = 0;
        expect(Object.values(await usedBy('node-a'))).to.deep.equal([3]);
        expect(counted.blockGets).to.equal(0);

        // b claims a block: only that one is read.
        const first = (await b.assign({ containerId: 'b0', ifname: 'eth0' })).ips[0];
        counted.blockGets = 0;
        expect(await usedBy('node-b')).to.deep.equal({ [first.block]: 1 });
        expect(counted.blockGets).to.equal(1);

        // b's block changes: read again, once.
        await b.assign({ containerId: 'b1', ifname: 'eth0' });
        counted.blockGets = 0;
        expect(await usedBy('node-b')).to.deep.equal({ [first.block]: 2 });
        expect(counted.blockGets).to.equal(1);
        expect(Object.values(await usedBy('node-a'))).to.deep.equal([3]);

        // b's block is deleted behind a's back: gone from a's view; a deleted key is read at most once.
        const cur = (await store.get(blockKey(first.block)))!;
        await store.delete(blockKey(first.block), cur.revision);
        counted.blockGets = 0;
        expect(await usedBy('node-b')).to.deep.equal({});
        expect(counted.blockGets).to.be.at.most(1);
        counted.blockGets = 0;
        expect(await usedBy('node-b')).to.deep.equal({});
        expect(counted.blockGets).to.equal(0);
      } finally {
        await b.stop();
        await a.stop();
        await done();
      }
    });
  });
}
