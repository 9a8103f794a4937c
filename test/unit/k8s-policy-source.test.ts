/**
 * KubePolicySource (agent/k8s/policy-source.ts) over the in-process fake API
 * server, through the real @kubernetes/client-node: the first snapshot after
 * all three lists, add/update/delete of each kind, re-list after 410 Gone,
 * an outage keeping the cache (stale), paged lists, coalesced bursts, and
 * the same YAML giving the same model through the manifest parser and
 * through the API.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { KubePolicySource, type KubePolicySourceOptions } from '../../agent/k8s/policy-source.js';
import { ANNOTATION_IP_ADDRS } from '../../agent/k8s/types.js';
import { silentLogger } from '../../lib/log.js';
import type { ClusterState } from '../../policy/compile/model.js';
import { parseManifests } from '../../policy/manifest-parse.js';
import type { PolicySnapshot } from '../../policy/source.js';
import { FakeApiServer } from '../support/kube/fake-apiserver.js';
import { waitUntil } from '../support/wait.js';

const NAMESPACES = '/api/v1/namespaces';
const PODS = '/api/v1/pods';
const POLICIES = '/apis/networking.k8s.io/v1/networkpolicies';
const PATH_OF: Record<string, string> = { Namespace: NAMESPACES, Pod: PODS, NetworkPolicy: POLICIES };
const BACKOFF = { initialMs: 50, maxMs: 200 };

type Obj = { metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [k: string]: unknown };

const ns = (name: string, labels: Record<string, string> = {}): Obj => ({ metadata: { name, labels } });
const pod = (namespace: string, name: string, ip: string, labels: Record<string, string> = {}, extra: Partial<Obj> = {}): Obj => ({
  metadata: { namespace, name, labels },
  spec: { containers: [{ name: 'c', image: 'busybox', ports: [{ name: 'http', containerPort: 8080 }] }] },
  status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
  ...extra,
});
const policy = (namespace: string, name: string, spec: Record<string, unknown>): Obj => ({ metadata: { namespace, name }, spec });

/** The model in a canonical order, for comparing two sources. */
function sorted(s: ClusterState): ClusterState {
  const k = (o: { namespace?: string; name: string }): string => `${o.namespace ?? ''}/${o.name}`;
  const by = <T extends { namespace?: string; name: string }>(a: readonly T[]): T[] => [...a].sort((x, y) => (k(x) < k(y) ? -1 : 1));
  return { namespaces: by(s.namespaces), pods: by(s.pods), policies: by(s.policies) };
}

describe('k8s: KubePolicySource over a fake API server', function () {
  this.timeout(20_000);
  let fake: FakeApiServer;
  let kc: KubeConfig;
  const stoppers: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    fake = new FakeApiServer({
      [NAMESPACES]: { kind: 'Namespace', apiVersion: 'v1' },
      [PODS]: { kind: 'Pod', apiVersion: 'v1' },
      [POLICIES]: { kind: 'NetworkPolicy', apiVersion: 'networking.k8s.io/v1' },
    });
    await fake.up();
    kc = new KubeConfig();
    kc.loadFromOptions(fake.kubeConfigOptions());
  });

  afterEach(async () => {
    for (const s of stoppers.splice(0)) await s();
    await fake.down();
  });

  function source(over: Partial<KubePolicySourceOptions> = {}): { src: KubePolicySource; snaps: PolicySnapshot[] } {
    const src = new KubePolicySource({ kubeConfig: kc, log: silentLogger, backoff: BACKOFF, debounceMs: 20, ...over });
    const snaps: PolicySnapshot[] = [];
    src.onChange((s) => snaps.push(s));
    stoppers.push(() => src.stop());
    return { src, snaps };
  }

  const podNames = (s: PolicySnapshot): string[] => s.pods.map((p) => `${p.namespace}/${p.name}`);
  const lists = (path: string): { limit?: string; continue?: string }[] => fake.requests.filter((r) => r.path === path && r.query.watch !== 'true').map((r) => r.query);

  it('the first snapshot comes after all three lists, with every kind converted', async () => {
    fake.create(NAMESPACES, ns('x', { team: 'red' }));
    fake.create(PODS, pod('x', 'a', '10.0.0.1', { app: 'a' }));
    fake.create(POLICIES, policy('x', 'deny', { podSelector: { matchLabels: { app: 'a' } } }));
    const { src, snaps } = source();
    expect(src.ready).to.equal(false);
    await src.start();
    expect(snaps).to.have.length(1);
    expect(src.ready).to.equal(true);
    expect(src.snapshot).to.equal(snaps[0]);
    expect(snaps[0]).to.deep.equal({
      namespaces: [{ name: 'x', labels: { team: 'red' } }],
      pods: [{ namespace: 'x', name: 'a', labels: { app: 'a' }, ports: [{ name: 'http', containerPort: 8080 }], ips: ['10.0.0.1'] }],
      policies: [{ namespace: 'x', name: 'deny', podSelector: { matchLabels: { app: 'a' } }, ingress: [], egress: [] }],
      issues: [],
    });
    expect(src.status()).to.deep.include({ state: 'synced', synced: true, stale: false, pods: 1, policies: 1, namespaces: 1, snapshots: 1 });
  });

  it('no snapshot while one of the three has not been listed; it comes with the retry', async () => {
    fake.create(NAMESPACES, ns('x'));
    fake.failLists(1);
    const { src, snaps } = source();
    await src.start();
    expect(snaps, 'one list failed: nothing emitted').to.have.length(0);
    expect(src.ready).to.equal(false);
    expect(src.status()).to.deep.include({ synced: false, stale: true });
    expect(src.status().lastError).to.match(/HTTP 500/);
    await waitUntil(() => snaps.length === 1, 3000, 'the first snapshot after the retry');
    expect(snaps[0].namespaces.map((n) => n.name)).to.deep.equal(['x']);
    expect(src.status().state).to.equal('synced');
  });

  it('adds, updates and deletes of each kind arrive; a status-only pod update emits nothing', async () => {
    const { src, snaps } = source();
    await src.start();
    expect(snaps).to.have.length(1);
    const last = (): PolicySnapshot => snaps[snaps.length - 1];

    fake.create(NAMESPACES, ns('x'));
    fake.create(PODS, pod('x', 'a', '10.0.0.1', { app: 'a' }));
    fake.create(PODS, pod('y', 'a', '10.0.0.2', { app: 'a' })); // same name, other namespace
    fake.create(POLICIES, policy('x', 'p', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'b' } } }] }] }));
    await waitUntil(() => last().policies.length === 1 && last().pods.length === 2 && last().namespaces.length === 1, 2000, 'adds');
    expect(podNames(last())).to.deep.equal(['x/a', 'y/a']);

    fake.update(NAMESPACES, ns('x', { env: 'prod' }));
    fake.update(PODS, pod('x', 'a', '10.0.0.1', { app: 'a2' }));
    fake.update(POLICIES, policy('x', 'p', { podSelector: {}, ingress: [] }));
    await waitUntil(() => last().namespaces[0]?.labels?.env === 'prod' && last().pods[0]?.labels?.app === 'a2' && last().policies[0]?.ingress?.length === 0, 2000, 'updates');

    const count = snaps.length;
    const kept = last().pods[0];
    fake.update(PODS, pod('x', 'a', '10.0.0.1', { app: 'a2' }, { status: { phase: 'Running', podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }], conditions: [{ type: 'Ready', status: 'True' }] } }));
    await waitUntil(() => src.status().resources.find((r) => r.resource === 'pods')?.resourceVersion === String(fake.resourceVersion), 2000, 'the status update seen');
    await new Promise((r) => setTimeout(r, 80));
    expect(snaps.length, 'a pod status heartbeat is no change').to.equal(count);
    expect(last().pods[0]).to.equal(kept);

    fake.delete(PODS, 'y/a');
    fake.delete(POLICIES, 'x/p');
    fake.delete(NAMESPACES, 'x');
    await waitUntil(() => last().policies.length === 0 && last().namespaces.length === 0 && last().pods.length === 1, 2000, 'deletes');
    expect(podNames(last())).to.deep.equal(['x/a']);
  });

  it('a pod that finished keeps no addresses; a host-network pod is marked as such', async () => {
    fake.create(PODS, pod('x', 'done', '10.0.0.9', {}, { status: { phase: 'Succeeded', podIP: '10.0.0.9', podIPs: [{ ip: '10.0.0.9' }] } }));
    fake.create(PODS, pod('x', 'host', '192.0.2.1', {}, { spec: { hostNetwork: true, containers: [] } }));
    const { src } = source();
    await src.start();
    expect(src.snapshot.pods).to.deep.equal([
      { namespace: 'x', name: 'done', labels: {}, ports: [{ name: 'http', containerPort: 8080 }] },
      { namespace: 'x', name: 'host', labels: {}, ports: [], ips: ['192.0.2.1'], hostNetwork: true },
    ]);
  });

  it('pod(): only the allow-listed annotations, undefined for an unknown pod', async () => {
    fake.create(PODS, { ...pod('x', 'a', '10.0.0.1'), metadata: { namespace: 'x', name: 'a', annotations: { [ANNOTATION_IP_ADDRS]: '["10.9.0.5"]', 'kubectl.kubernetes.io/last-applied-configuration': '{"huge":true}' } } });
    fake.create(PODS, pod('x', 'b', '10.0.0.2'));
    const { src } = source();
    await src.start();
    expect(src.pod('x', 'a')).to.deep.equal({ [ANNOTATION_IP_ADDRS]: '["10.9.0.5"]' });
    expect(src.pod('x', 'b')).to.deep.equal({});
    expect(src.pod('y', 'a')).to.equal(undefined);
    fake.update(PODS, { ...pod('x', 'b', '10.0.0.2'), metadata: { namespace: 'x', name: 'b', annotations: { [ANNOTATION_IP_ADDRS]: '["10.9.0.6"]' } } });
    await waitUntil(() => src.pod('x', 'b')?.[ANNOTATION_IP_ADDRS] === '["10.9.0.6"]', 2000, 'annotation update');
  });

  it('podAnnotations(): waits briefly for a pod the watch has not delivered yet; refuses to answer before the sync', async () => {
    const { src } = source();
    const early = await src.podAnnotations('x', 'a', 50).then(() => 'answered', (e: { code?: string }) => e.code);
    expect(early).to.equal('ERR_K8S_POLICY_SOURCE_NOT_SYNCED');
    await src.start();
    expect(await src.podAnnotations('x', 'ghost', 50)).to.equal(undefined);
    setTimeout(() => fake.create(PODS, { ...pod('x', 'late', '10.0.0.7'), metadata: { namespace: 'x', name: 'late', annotations: { [ANNOTATION_IP_ADDRS]: '["10.9.0.7"]' } } }), 50);
    expect(await src.podAnnotations('x', 'late', 2000)).to.deep.equal({ [ANNOTATION_IP_ADDRS]: '["10.9.0.7"]' });
  });

  it('lists in pages (limit + continue) of one snapshot', async () => {
    for (let i = 0; i < 7; i++) fake.create(PODS, pod(`n${i % 2}`, `p${i}`, `10.0.1.${i + 1}`));
    const { src } = source({ pageSize: 3 });
    await src.start();
    expect(src.snapshot.pods).to.have.length(7);
    const pages = lists(PODS);
    expect(pages.map((p) => p.limit)).to.deep.equal(['3', '3', '3']);
    expect(pages.map((p) => p.continue !== undefined)).to.deep.equal([false, true, true]);
  });

  it('a burst of 100 pods is a few snapshots, not 100', async () => {
    const { src, snaps } = source({ debounceMs: 50 });
    await src.start();
    for (let i = 0; i < 100; i++) fake.create(PODS, pod('x', `b${i}`, `10.0.2.${i + 1}`));
    await waitUntil(() => src.snapshot.pods.length === 100, 3000, '100 pods');
    await new Promise((r) => setTimeout(r, 100));
    expect(snaps.length).to.be.at.most(4);
  });

  it('an outage keeps the cache and turns stale; emits nothing; on return the watch resumes', async () => {
    fake.create(NAMESPACES, ns('x'));
    fake.create(PODS, pod('x', 'a', '10.0.0.1'));
    fake.create(POLICIES, policy('x', 'deny', { podSelector: {} }));
    const { src, snaps } = source();
    await src.start();
    const before = src.snapshot;
    await fake.down();
    await waitUntil(() => src.status().stale, 3000, 'stale');
    expect(src.status()).to.deep.include({ state: 'stale', synced: true });
    expect(src.status().lastError).to.be.a('string');
    await new Promise((r) => setTimeout(r, 300));
    expect(src.snapshot, 'the cache stays').to.equal(before);
    expect(snaps).to.have.length(1);
    expect(src.pod('x', 'a')).to.deep.equal({});
    await fake.up();
    await waitUntil(() => src.status().state === 'synced', 5000, 'synced again');
    expect(snaps, 'coming back by itself changes nothing').to.have.length(1);
    fake.create(PODS, pod('x', 'b', '10.0.0.2'));
    await waitUntil(() => src.snapshot.pods.length === 2, 5000, 'a pod after the outage');
    expect(lists(PODS)).to.have.length(1);
  });

  it('re-lists after 410 Gone: what was deleted meanwhile goes, what was created comes', async () => {
    fake.create(NAMESPACES, ns('x'));
    fake.create(PODS, pod('x', 'a', '10.0.0.1'));
    fake.create(PODS, pod('x', 'b', '10.0.0.2'));
    fake.create(POLICIES, policy('x', 'old', { podSelector: {} }));
    const { src } = source();
    await src.start();
    await fake.down();
    await waitUntil(() => src.status().stale, 3000, 'stale');
    await fake.up();
    fake.delete(PODS, 'x/b');
    fake.create(PODS, pod('x', 'c', '10.0.0.3'));
    fake.delete(POLICIES, 'x/old');
    fake.create(POLICIES, policy('x', 'new', { podSelector: {} }));
    fake.compact();
    await waitUntil(() => podNames(src.snapshot).join() === 'x/a,x/c' && src.snapshot.policies.map((p) => p.name).join() === 'new', 5000, 're-listed');
    expect(lists(PODS)).to.have.length(2);
    expect(lists(POLICIES)).to.have.length(2);
  });

  it('the same YAML gives the same model through the manifest parser and through the API', async () => {
    const text = `
apiVersion: v1
kind: Namespace
metadata: {name: x, labels: {team: red}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: x, labels: {app: web, tier: "1"}}
spec:
  containers:
    - name: c1
      ports: [{name: http, containerPort: 80}, {containerPort: 9090, protocol: TCP}]
    - name: c2
      ports: [{name: dns, containerPort: 53, protocol: UDP}]
status: {phase: Running, podIP: 10.0.0.1, podIPs: [{ip: 10.0.0.1}, {ip: "fd00::1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: node-agent, namespace: x}
spec: {hostNetwork: true, containers: [{name: c}]}
status: {podIP: 192.0.2.10}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: x}
spec:
  podSelector:
    matchLabels: {app: web}
    matchExpressions: [{key: tier, operator: NotIn, values: ["2", "3"]}, {key: canary, operator: DoesNotExist}]
  ingress:
    - from:
        - namespaceSelector: {matchLabels: {team: red}}
          podSelector: {matchExpressions: [{key: app, operator: In, values: [api]}]}
        - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.2.0.0/16]}
      ports: [{port: http}, {protocol: UDP, port: 53}, {protocol: TCP, port: 30000, endPort: 32767}]
    - {}
  egress:
    - to: [{ipBlock: {cidr: "::/0"}}]
      ports: [{port: dns, protocol: UDP}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-only, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress: []
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: broken, namespace: x}
spec:
  podSelector: {}
  ingress:
    - from: notalist
`;
    const parsed = parseManifests('m.yaml', text);
    for (const doc of parseAllDocuments(text)) {
      const o = doc.toJS() as Obj & { kind: string };
      fake.create(PATH_OF[o.kind], o);
    }
    const { src } = source();
    await src.start();
    const api = src.snapshot;
    expect(sorted(api)).to.deep.equal(sorted(parsed));
    expect(api.policies.find((p) => p.name === 'web')?.ingress?.[0].ports).to.deep.include({ protocol: 'TCP', port: 30000, endPort: 32767 });
    expect(api.pods.find((p) => p.name === 'node-agent')?.hostNetwork).to.equal(true);
    // The refused rule: the same issue (without a file position), and the policy kept fail-closed.
    expect(api.issues.map((i) => ({ object: i.object, path: i.path, message: i.message })))
      .to.deep.equal(parsed.issues.map((i) => ({ object: i.object, path: i.path, message: i.message })));
    expect(api.issues).to.have.length(1);
    expect(api.issues[0]).to.include({ object: 'NetworkPolicy x/broken', path: 'spec.ingress[0].from' });
    expect(api.policies.find((p) => p.name === 'broken')).to.deep.equal({ namespace: 'x', name: 'broken', podSelector: {}, policyTypes: ['Ingress'], ingress: [], egress: [] });
  });
});
