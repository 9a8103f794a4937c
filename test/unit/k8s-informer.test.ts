/**
 * Informer (agent/k8s/informer.ts) and ClusterSource over the in-process
 * fake API server (test/support/kube/fake-apiserver.ts), through the real
 * @kubernetes/client-node: list then watch from the list's version, resume
 * from the last version after an outage, re-list after 410 Gone, keep the
 * cache and report stale while the server is away.
 */
import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import { expect } from 'chai';
import { ClusterSource } from '../../agent/k8s/cluster-source.js';
import { Informer } from '../../agent/k8s/informer.js';
import { crdPath, CRD, TORTIE_API_VERSION } from '../../agent/k8s/types.js';
import { silentLogger } from '../../lib/log.js';
import { FakeApiServer } from '../support/kube/fake-apiserver.js';
import { waitUntil } from '../support/wait.js';

const NODES = '/api/v1/nodes';
const BACKOFF = { initialMs: 50, maxMs: 200 };

function node(name: string, ip: string): { metadata: { name: string }; status: { addresses: { type: string; address: string }[] } } {
  return { metadata: { name }, status: { addresses: [{ type: 'InternalIP', address: ip }] } };
}

describe('k8s informer over a fake API server', function () {
  this.timeout(20_000);
  let fake: FakeApiServer;
  let kc: KubeConfig;
  const stoppers: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    fake = new FakeApiServer({
      [crdPath(CRD.BGPPeer)]: { kind: 'BGPPeer', apiVersion: TORTIE_API_VERSION },
      [crdPath(CRD.BGPConfiguration)]: { kind: 'BGPConfiguration', apiVersion: TORTIE_API_VERSION },
    });
    await fake.up();
    kc = new KubeConfig();
    kc.loadFromOptions(fake.kubeConfigOptions());
  });

  afterEach(async () => {
    for (const s of stoppers.splice(0)) await s();
    await fake.down();
  });

  function informer(onChange: () => void = () => undefined): Informer<V1Node> {
    const core = kc.makeApiClient(CoreV1Api);
    const i = new Informer<V1Node>({ kubeConfig: kc, path: NODES, list: () => core.listNode(), resource: 'nodes', log: silentLogger, onChange, backoff: BACKOFF });
    stoppers.push(() => i.stop());
    return i;
  }

  const names = (i: Informer<V1Node>): string[] => i.list().map((n) => n.metadata!.name!).sort();
  const lists = (): number => fake.requests.filter((r) => r.path === NODES && r.query.watch !== 'true').length;
  const watches = (): { resourceVersion?: string }[] => fake.requests.filter((r) => r.path === NODES && r.query.watch === 'true').map((r) => r.query);

  it('lists, then watches from the list\'s resourceVersion and follows events', async () => {
    fake.create(NODES, node('a', '10.0.0.1'));
    const i = informer();
    await i.start();
    expect(names(i)).to.deep.equal(['a']);
    const listRv = String(fake.resourceVersion);
    await waitUntil(() => watches().length === 1, 2000, 'a watch');
    expect(watches()[0].resourceVersion).to.equal(listRv);
    fake.create(NODES, node('b', '10.0.0.2'));
    fake.delete(NODES, 'a');
    await waitUntil(() => names(i).join() === 'b', 2000, 'events applied');
    expect(i.status()).to.deep.include({ synced: true, connected: true, lists: 1, restarts: 0, resourceVersion: String(fake.resourceVersion) });
  });

  it('after an outage resumes the watch from its last resourceVersion, without a new list', async () => {
    fake.create(NODES, node('a', '10.0.0.1'));
    const i = informer();
    await i.start();
    await waitUntil(() => watches().length === 1, 2000, 'a watch');
    fake.create(NODES, node('b', '10.0.0.2'));
    await waitUntil(() => names(i).length === 2, 2000, 'b');
    const lastRv = i.status().resourceVersion;
    await fake.down();
    await waitUntil(() => !i.status().connected, 3000, 'disconnected');
    expect(names(i), 'cache kept').to.deep.equal(['a', 'b']);
    expect(i.status().lastError).to.be.a('string');
    await fake.up();
    fake.create(NODES, node('c', '10.0.0.3'));
    await waitUntil(() => names(i).length === 3, 5000, 'c after the outage');
    expect(watches().at(-1)?.resourceVersion).to.equal(lastRv);
    expect(lists()).to.equal(1);
    expect(i.status().connected).to.equal(true);
    expect(i.status().restarts).to.be.greaterThan(0);
  });

  it('re-lists after 410 Gone, and objects deleted meanwhile leave the cache', async () => {
    fake.create(NODES, node('a', '10.0.0.1'));
    fake.create(NODES, node('b', '10.0.0.2'));
    const i = informer();
    await i.start();
    await waitUntil(() => watches().length === 1, 2000, 'a watch');
    await fake.down();
    await waitUntil(() => !i.status().connected, 3000, 'disconnected');
    // While we are away: b goes, c comes, history is compacted.
    await fake.up();
    fake.delete(NODES, 'b');
    fake.create(NODES, node('c', '10.0.0.3'));
    fake.compact();
    await waitUntil(() => names(i).join() === 'a,c', 5000, 're-listed cache');
    expect(lists()).to.equal(2);
  });

  it('a failing list is retried with backoff; the first success syncs', async () => {
    fake.create(NODES, node('a', '10.0.0.1'));
    fake.failLists(2);
    const i = informer();
    await i.start();
    expect(i.status()).to.deep.include({ synced: false, connected: false });
    await waitUntil(() => i.status().synced, 3000, 'synced after retries');
    expect(names(i)).to.deep.equal(['a']);
    expect(lists()).to.equal(3);
  });

  it('ClusterSource: stale while the server is away, peers kept, one change per burst', async () => {
    fake.create(NODES, node('self', '10.0.0.1'));
    fake.create(NODES, node('b', '10.0.0.2'));
    const s = new ClusterSource({ kubeConfig: kc, nodeName: 'self', fallbackAsn: 65000, log: silentLogger, backoff: BACKOFF, debounceMs: 30 });
    stoppers.push(() => s.stop());
    let changes = 0;
    s.onChange(() => changes++);
    await s.start();
    await waitUntil(() => changes === 1, 2000, 'first change');
    expect(s.status().state).to.equal('synced');
    for (let k = 0; k < 20; k++) fake.create(NODES, node(`n${k}`, `10.0.1.${k + 1}`));
    await waitUntil(() => s.current().meshMembers.length === 21, 2000, '21 members');
    await new Promise((r) => setTimeout(r, 100));
    expect(changes, 'a burst of 20 nodes is applied in few changes').to.be.at.most(3);
    await fake.down();
    await waitUntil(() => s.status().stale, 3000, 'stale');
    expect(s.current().meshMembers).to.have.length(21);
    await fake.up();
    await waitUntil(() => s.status().state === 'synced', 5000, 'synced again');
    expect(s.current().meshMembers).to.have.length(21);
  });

  it('ClusterSource: CRDs that are not served count as empty, not stale', async () => {
    const bare = new FakeApiServer();
    await bare.up();
    stoppers.push(() => bare.down());
    bare.create(NODES, node('self', '10.0.0.1'));
    bare.create(NODES, node('b', '10.0.0.2'));
    const k = new KubeConfig();
    k.loadFromOptions(bare.kubeConfigOptions());
    const s = new ClusterSource({ kubeConfig: k, nodeName: 'self', fallbackAsn: 65000, log: silentLogger, backoff: BACKOFF });
    stoppers.push(() => s.stop());
    await s.start();
    expect(s.status().state).to.equal('synced');
    expect(s.status().resources.filter((r) => r.missing).map((r) => r.resource)).to.deep.equal(['bgppeers.tortie.io', 'bgpconfigurations.tortie.io', 'ippools.tortie.io']);
    expect(s.current().meshMembers.map((m) => m.name)).to.deep.equal(['b']);
  });
});
