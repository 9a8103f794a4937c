/**
 * The kubernetes IPAM datastore (agent/k8s/store-k8s.ts) against a real
 * kube-apiserver, as the agent's ServiceAccount with deploy/'s CRDs and RBAC:
 * the Datastore contract of ipam/core/datastore.ts (the same cases the
 * memory and local stores pass), compare-and-swap between two clients, and
 * an audit-log check that the store makes exactly its rows of access.ts.
 */
import { CustomObjectsApi, type KubernetesObject } from '@kubernetes/client-node';
import { expect } from 'chai';
import { accessGrants } from '../../agent/k8s/access.js';
import { KubernetesDatastore } from '../../agent/k8s/store-k8s.js';
import { ACCEPT_METADATA_LIST, rawLister } from '../../agent/k8s/raw-list.js';
import { CRD, crdPath, TORTIE_GROUP, TORTIE_VERSION } from '../../agent/k8s/types.js';
import { hasCode } from '../../lib/errors.js';
import { AGENT_USER, type KubeCluster, startAgentCluster } from '../support/kube/index.js';


async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe('k8s: the kubernetes IPAM datastore against a real API server', function () {
  this.timeout(120_000);
  let kube: KubeCluster | undefined;
  let store: KubernetesDatastore;
  let other: KubernetesDatastore;
  let n = 0;
  let auditFrom = 0;
  /** A fresh key per test: the cluster is shared. */
  const key = (kind = 'blocks'): string => `${kind}/t${process.pid}-${++n}`;

  before(async () => {
    ({ kube, auditFrom } = await startAgentCluster({ probe: (kc) => new KubernetesDatastore(kc).list('blocks/') }));
    store = new KubernetesDatastore(kube.kubeConfig(AGENT_USER));
    other = new KubernetesDatastore(kube.kubeConfig(AGENT_USER));
  });

  after(async () => {
    await kube?.stop();
  });

  it('create, get, update, delete with revisions; values round-trip exactly', async () => {
    const k = key();
    expect(await store.get(k)).to.equal(undefined);
    const doc = { n: 1, list: [1, 'x', null], nested: { t: true, affinity: null, ms: 1790000000123, f: 0.5 } };
    const v1 = await store.create(k, doc);
    expect(v1.value).to.deep.equal(doc);
    expect(await store.get(k)).to.deep.equal(v1);
    const v2 = await store.update(k, { n: 2 }, v1.revision);
    expect(v2.revision).to.not.equal(v1.revision);
    expect((await other.get(k))?.value).to.deep.equal({ n: 2 });
    await store.delete(k, v2.revision);
    expect(await store.get(k)).to.equal(undefined);
    const v3 = await store.create(k, { n: 3 });
    expect([v1.revision, v2.revision]).to.not.include(v3.revision);
  });

  for (const kind of ['blocks', 'nodes']) {
    it(`the full cycle on ${kind}/ keys`, async () => {
      const k = key(kind);
      const v1 = await store.create(k, { kind });
      expect((await other.get(k))?.revision).to.equal(v1.revision);
      const v2 = await other.update(k, { kind, n: 2 }, v1.revision);
      expect((await store.list(`${kind}/`)).find((e) => e.key === k)?.value).to.deep.equal({ kind, n: 2 });
      await store.delete(k, v2.revision);
      expect(await other.get(k)).to.equal(undefined);
    });
  }

  it('stores scalars and arrays too', async () => {
    for (const value of [2, 'n', true, [1, { a: null }], { empty: {} }]) {
      const k = key('nodes');
      expect((await store.create(k, value)).value, JSON.stringify(value)).to.deep.equal(value);
      expect((await other.get(k))?.value, JSON.stringify(value)).to.deep.equal(value);
    }
  });

  it('compare-and-swap refuses stale writers with ERR_DATASTORE_CONFLICT', async () => {
    const k = key();
    const v1 = await store.create(k, { n: 1 });
    expect(await codeOf(other.create(k, { n: 9 }))).to.equal('ERR_DATASTORE_CONFLICT');
    const v2 = await other.update(k, { n: 2 }, v1.revision);
    expect(await codeOf(store.update(k, { n: 9 }, v1.revision))).to.equal('ERR_DATASTORE_CONFLICT');
    expect(await codeOf(store.delete(k, v1.revision))).to.equal('ERR_DATASTORE_CONFLICT');
    expect(await codeOf(store.update(k, { n: 9 }, ''))).to.equal('ERR_DATASTORE_CONFLICT');
    expect((await store.get(k))?.value).to.deep.equal({ n: 2 });
    await store.delete(k, v2.revision);
    expect(await codeOf(store.update(k, { n: 9 }, v2.revision))).to.equal('ERR_DATASTORE_CONFLICT');
    expect(await codeOf(store.delete(k, v2.revision))).to.equal('ERR_DATASTORE_CONFLICT');
  });

  it('of many concurrent updates from one revision, by two clients, exactly one wins', async () => {
    const k = key();
    const v1 = await store.create(k, { n: 0 });
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => (i % 2 ? store : other).update(k, { n: i + 1 }, v1.revision)));
    const won = results.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<KubernetesDatastore['update']>>> => r.status === 'fulfilled');
    expect(won).to.have.length(1);
    for (const r of results) if (r.status === 'rejected') expect(hasCode(r.reason, 'ERR_DATASTORE_CONFLICT'), String(r.reason)).to.equal(true);
    expect((await store.get(k))?.value).to.deep.equal(won[0].value.value);
  });

  it('lists by prefix, sorted, without deleted keys, across kinds', async () => {
    const p = `t${process.pid}-list-`;
    await store.create(`blocks/${p}b`, 2);
    await store.create(`blocks/${p}a`, 1);
    const c = await store.create(`blocks/${p}c`, 3);
    await store.create(`nodes/${p}n1`, { node: 'n1' });
    await store.delete(`blocks/${p}c`, c.revision);
    expect((await store.list(`blocks/${p}`)).map((e) => [e.key, e.value])).to.deep.equal([[`blocks/${p}a`, 1], [`blocks/${p}b`, 2]]);
    expect((await store.list(`nodes/${p}`)).map((e) => e.key)).to.deep.equal([`nodes/${p}n1`]);
    const all = (await store.list('')).map((e) => e.key);
    expect(all).to.include.members([`nodes/${p}n1`, `blocks/${p}a`]);
    expect(all).to.deep.equal([...all].sort());
    expect(await store.list('none/')).to.deep.equal([]);
  });

  it('revisions: each live key with the revision get returns, from a metadata-only list, sorted', async () => {
    const p = `t${process.pid}-rev-`;
    await store.create(`blocks/${p}b`, { n: 2 });
    const a = await store.create(`blocks/${p}a`, { n: 1 });
    const c = await store.create(`blocks/${p}c`, { n: 3 });
    const a2 = await store.update(`blocks/${p}a`, { n: 11 }, a.revision);
    await store.delete(`blocks/${p}c`, c.revision);
    const listed = (await store.revisions(`blocks/${p}`)).map((e) => [e.key, e.revision]);
    expect(listed).to.deep.equal([[`blocks/${p}a`, a2.revision], [`blocks/${p}b`, (await store.get(`blocks/${p}b`))!.revision]]);
    expect(a2.revision).to.not.equal(a.revision);
    expect(await store.revisions('none/')).to.deep.equal([]);
    // What the server sends for it is metadata only, not the blocks.
    const meta = await rawLister<KubernetesObject & { spec?: unknown }>(kube!.kubeConfig(AGENT_USER), crdPath(CRD.IPAMBlock), undefined, ACCEPT_METADATA_LIST)({});
    expect(meta.items.length).to.be.greaterThan(1);
    expect(meta.items.every((i) => i.kind === 'PartialObjectMetadata' && i.spec === undefined && i.metadata?.resourceVersion !== undefined)).to.equal(true);
  });

  it('refuses keys it cannot hold', async () => {
    for (const k of ['', '../x', 'a//b', '/abs', 'a/./b', 'a b', 'pools/x', 'affinities/x', 'blocks/UPPER', 'blocks/under_score', 'blocks/-x']) {
      expect(await codeOf(store.create(k, 1)), k).to.equal('ERR_DATASTORE_BAD_KEY');
    }
  });

  it('is readable with kubectl-style tools: the object carries the key and the value', async () => {
    const k = key();
    await store.create(k, { cidr: '10.244.0.64/26', affinity: 'node-a', pool: 'default' });
    const obj = (await kube!.kubeConfig().makeApiClient(CustomObjectsApi).getClusterCustomObject({
      group: TORTIE_GROUP, version: TORTIE_VERSION, plural: 'ipamblocks', name: k.slice('blocks/'.length),
    })) as { kind: string; spec: { key: string; value: { cidr: string } } };
    expect(obj.kind).to.equal('IPAMBlock');
    expect(obj.spec.key).to.equal(k);
    expect(obj.spec.value.cidr).to.equal('10.244.0.64/26');
  });

  it('an unreachable API server is ERR_DATASTORE_UNAVAILABLE', async () => {
    const k = key();
    const v = await store.create(k, { n: 1 });
    await kube!.stopApiserver(true);
    try {
      expect(await codeOf(store.get(k))).to.equal('ERR_DATASTORE_UNAVAILABLE');
      expect(await codeOf(store.update(k, { n: 2 }, v.revision))).to.equal('ERR_DATASTORE_UNAVAILABLE');
      expect(await codeOf(store.list('blocks/'))).to.equal('ERR_DATASTORE_UNAVAILABLE');
    } finally {
      await kube!.startApiserver();
    }
    expect((await store.get(k))?.value).to.deep.equal({ n: 1 });
  });

  it('its requests are exactly its rows of agent/k8s/access.ts (audit log)', () => {
    const events = kube!.auditEvents(AGENT_USER).slice(auditFrom).filter((e) => e.stage === 'ResponseComplete');
    const allowed = new Set(accessGrants('ipam-store'));
    const used = new Set(events.filter((e) => e.objectRef?.resource !== undefined)
      .map((e) => `${e.objectRef!.apiGroup ?? ''}/${e.objectRef!.resource}${e.objectRef!.subresource ? `/${e.objectRef!.subresource}` : ''}:${e.verb}`));
    expect([...used].filter((u) => !allowed.has(u)), 'requests outside access.ts').to.deep.equal([]);
    expect([...allowed].filter((a) => !used.has(a)), 'access.ts rows never used').to.deep.equal([]);
    // A restarting apiserver serves before its RBAC cache is filled; outside those moments nothing may be refused.
    const forbidden = events.filter((e) => e.responseStatus?.code === 403 && !kube!.duringStart(e.stageTimestamp)).map((e) => `${e.verb} ${e.requestURI}`);
    expect(forbidden, 'requests RBAC refused').to.deep.equal([]);
  });
});
