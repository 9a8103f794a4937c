/**
 * The Datastore contract (ipam/core/datastore.ts), run against every
 * implementation: the memory store and the local (files) store. The
 * Kubernetes store (issue 7) must pass the same table.
 */
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCode } from '../../lib/errors.js';
import type { Datastore } from '../core/datastore.js';
import { openLocalDatastore } from './store-local.js';
import { MemoryDatastore } from './store-memory.js';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

const IMPLEMENTATIONS: { name: string; open: () => Promise<{ store: Datastore; done: () => Promise<void> }> }[] = [
  { name: 'memory', open: () => Promise.resolve({ store: new MemoryDatastore(), done: () => Promise.resolve() }) },
  {
    name: 'local',
    open: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'tortie-ds-'));
      return { store: await openLocalDatastore(join(dir, 'ipam')), done: () => rm(dir, { recursive: true, force: true }) };
    },
  },
];

for (const impl of IMPLEMENTATIONS) {
  describe(`ipam/datastore contract: ${impl.name}`, () => {
    let store: Datastore;
    let done: () => Promise<void>;
    beforeEach(async () => {
      ({ store, done } = await impl.open());
    });
    afterEach(async () => {
      await store.close();
      await done();
    });

    it('create, get, update, delete with revisions', async () => {
      expect(await store.get('blocks/a')).to.equal(undefined);
      const v1 = await store.create('blocks/a', { n: 1, list: [1, 'x', null], nested: { t: true } });
      expect(v1.value).to.deep.equal({ n: 1, list: [1, 'x', null], nested: { t: true } });
      const got = await store.get('blocks/a');
      expect(got).to.deep.equal(v1);
      const v2 = await store.update('blocks/a', { n: 2 }, v1.revision);
      expect(v2.revision).to.not.equal(v1.revision);
      expect((await store.get('blocks/a'))?.value).to.deep.equal({ n: 2 });
      await store.delete('blocks/a', v2.revision);
      expect(await store.get('blocks/a')).to.equal(undefined);
      // A key can be created again after a delete, with a revision never seen before.
      const v3 = await store.create('blocks/a', { n: 3 });
      expect([v1.revision, v2.revision]).to.not.include(v3.revision);
    });

    it('compare-and-swap refuses stale writers with ERR_DATASTORE_CONFLICT', async () => {
      const v1 = await store.create('blocks/a', { n: 1 });
      expect(await codeOf(store.create('blocks/a', { n: 9 }))).to.equal('ERR_DATASTORE_CONFLICT');
      const v2 = await store.update('blocks/a', { n: 2 }, v1.revision);
      expect(await codeOf(store.update('blocks/a', { n: 9 }, v1.revision))).to.equal('ERR_DATASTORE_CONFLICT');
      expect(await codeOf(store.delete('blocks/a', v1.revision))).to.equal('ERR_DATASTORE_CONFLICT');
      expect((await store.get('blocks/a'))?.value).to.deep.equal({ n: 2 });
      await store.delete('blocks/a', v2.revision);
      expect(await codeOf(store.update('blocks/a', { n: 9 }, v2.revision))).to.equal('ERR_DATASTORE_CONFLICT');
      expect(await codeOf(store.delete('blocks/a', v2.revision))).to.equal('ERR_DATASTORE_CONFLICT');
    });

    it('a writer far behind (its revision\'s successors already cleaned up) still loses', async () => {
      let v = await store.create('blocks/a', { n: 0 });
      const stale = v.revision;
      for (let i = 1; i <= 5; i++) v = await store.update('blocks/a', { n: i }, v.revision);
      const code = await codeOf(store.update('blocks/a', { n: 99 }, stale));
      expect(code).to.equal('ERR_DATASTORE_CONFLICT');
      expect((await store.get('blocks/a'))?.value).to.deep.equal({ n: 5 });
    });

    it('of many concurrent updates from one revision exactly one wins', async () => {
      const v1 = await store.create('blocks/a', { n: 0 });
      const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.update('blocks/a', { n: i + 1 }, v1.revision)));
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).to.have.length(1);
      for (const r of results) if (r.status === 'rejected') expect(hasCode(r.reason, 'ERR_DATASTORE_CONFLICT') || hasCode(r.reason, 'ERR_DATASTORE_UNAVAILABLE')).to.equal(true);
      expect((await store.get('blocks/a'))?.value).to.deep.equal((won[0] as PromiseFulfilledResult<{ value: unknown }>).value.value);
    });

    it('lists by prefix, sorted, without deleted keys', async () => {
      await store.create('blocks/b', 2);
      await store.create('blocks/a', 1);
      const c = await store.create('blocks/c', 3);
      await store.create('nodes/n1', 'n');
      await store.delete('blocks/c', c.revision);
      expect((await store.list('blocks/')).map((e) => [e.key, e.value])).to.deep.equal([['blocks/a', 1], ['blocks/b', 2]]);
      expect((await store.list('nodes/')).map((e) => e.key)).to.deep.equal(['nodes/n1']);
      expect(await store.list('none/')).to.deep.equal([]);
    });

    it('revisions: each live key with the revision get returns, a deleted key at most with a new revision, sorted', async () => {
      // Optional in the interface, but both stores here implement it (the allocator's cheap re-read relies on it).
      if (store.revisions === undefined) expect.fail(`${impl.name}: no revisions()`);
      await store.create('blocks/b', 2);
      const a = await store.create('blocks/a', 1);
      const c = await store.create('blocks/c', 3);
      await store.create('nodes/n1', 'n');
      await store.delete('blocks/c', c.revision);
      const a2 = await store.update('blocks/a', 11, a.revision);
      const listed = await store.revisions('blocks/');
      const live = new Map((await store.list('blocks/')).map((e) => [e.key, e.revision]));
      expect(listed.map((e) => e.key)).to.deep.equal([...listed.map((e) => e.key)].sort());
      for (const [key, revision] of live) expect(listed.find((e) => e.key === key)?.revision, key).to.equal(revision);
      expect(listed.find((e) => e.key === 'blocks/a')?.revision).to.equal(a2.revision);
      const gone = listed.find((e) => e.key === 'blocks/c');
      if (gone !== undefined) expect([c.revision]).to.not.include(gone.revision);
      expect(listed.every((e) => e.key.startsWith('blocks/'))).to.equal(true);
      expect(await store.revisions('none/')).to.deep.equal([]);
    });

    it('refuses keys no implementation can hold', async () => {
      for (const key of ['', '../x', 'a//b', '/abs', 'a/./b', 'a b']) expect(await codeOf(store.create(key, 1)), key).to.equal('ERR_DATASTORE_BAD_KEY');
    });
  });
}
