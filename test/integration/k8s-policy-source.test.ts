/**
 * KubePolicySource against a real kube-apiserver (test/support/kube),
 * running as the agent's ServiceAccount with deploy/rbac.yaml applied:
 *
 *   - Namespaces, Pods (IPs set through the status subresource, as a
 *     kubelet would; this apiserver has no scheduler or kubelet) and a
 *     NetworkPolicy appear in the snapshot, converted; changes and
 *     deletions follow;
 *   - lists are paged (limit + continue) against the real server;
 *   - pod() gives the tortie.io/ip-addrs annotation and nothing else;
 *   - an API outage keeps the snapshot (stale), and the watches resume;
 *   - the source's requests are exactly the 'policy' rows of
 *     agent/k8s/access.ts (audit log).
 */
import { CoreV1Api, NetworkingV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { expect } from 'chai';
import { accessGrants } from '../../agent/k8s/access.js';
import { KubePolicySource } from '../../agent/k8s/policy-source.js';
import { ANNOTATION_IP_ADDRS } from '../../agent/k8s/types.js';
import { silentLogger } from '../../lib/log.js';
import { AGENT_USER, type KubeCluster, startAgentCluster } from '../support/kube/index.js';
import { waitFor } from '../support/netns.js';


describe('k8s: KubePolicySource against a real API server', function () {
  this.timeout(120_000);
  let kube: KubeCluster | undefined;
  let admin: KubeConfig;
  let core: CoreV1Api;
  let net: NetworkingV1Api;
  let auditFrom = 0;
  const sources: KubePolicySource[] = [];

  function source(podsOfNode?: string): KubePolicySource {
    const s = new KubePolicySource({
      kubeConfig: kube!.kubeConfig(AGENT_USER), log: silentLogger, debounceMs: 20, pageSize: 2, backoff: { initialMs: 100, maxMs: 1000 },
      ...(podsOfNode !== undefined ? { podsOfNode } : {}),
    });
    sources.push(s);
    return s;
  }

  async function until(what: string, cond: () => boolean, s?: KubePolicySource): Promise<void> {
    await waitFor(what, () => Promise.resolve(cond() ? true : undefined), {
      timeoutMs: 30_000, intervalMs: 20,
      describe: () => (s ? JSON.stringify({ status: { ...s.status(), resources: undefined }, snapshot: s.snapshot }, null, 1).slice(0, 3000) : ''),
    });
  }

  /** A pod as the API holds it once a kubelet has started it: phase Running, its IPs in status. */
  async function createPod(namespace: string, name: string, ips: string[], labels: Record<string, string>, annotations: Record<string, string> = {}, nodeName?: string): Promise<void> {
    const body: V1Pod = {
      metadata: { namespace, name, labels, annotations },
      spec: { ...(nodeName !== undefined ? { nodeName } : {}), containers: [{ name: 'c', image: 'busybox', ports: [{ name: 'http', containerPort: 8080 }, { name: 'dns', containerPort: 53, protocol: 'UDP' }] }] },
    };
    const created = await core.createNamespacedPod({ namespace, body });
    created.status = { phase: 'Running', podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) };
    await core.replaceNamespacedPodStatus({ namespace, name, body: created });
  }

  before(async () => {
    ({ kube, auditFrom } = await startAgentCluster({ crds: false, probe: (kc) => kc.makeApiClient(CoreV1Api).listPodForAllNamespaces({ limit: 1 }) }));
    admin = kube.kubeConfig();
    core = admin.makeApiClient(CoreV1Api);
    net = admin.makeApiClient(NetworkingV1Api);
  });

  afterEach(async () => {
    await Promise.all(sources.splice(0).map((s) => s.stop()));
  });

  after(async () => {
    await kube?.stop();
  });

  it('namespaces, pods and a NetworkPolicy appear converted, follow changes, and go', async () => {
    await core.createNamespace({ body: { metadata: { name: 'pol-a', labels: { team: 'red' } } } });
    await core.createNamespace({ body: { metadata: { name: 'pol-b' } } });
    await createPod('pol-a', 'web', ['10.20.0.1', 'fd00:20::1'], { app: 'web' }, { [ANNOTATION_IP_ADDRS]: '["10.20.0.1"]', other: 'dropped' });
    await createPod('pol-a', 'api', ['10.20.0.2'], { app: 'api' });
    await createPod('pol-b', 'web', ['10.20.1.1'], { app: 'web' });
    await net.createNamespacedNetworkPolicy({
      namespace: 'pol-a',
      body: {
        metadata: { name: 'web' },
        spec: {
          podSelector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'canary', operator: 'DoesNotExist' }] },
          ingress: [{
            _from: [{ podSelector: { matchLabels: { app: 'api' } } }, { namespaceSelector: { matchLabels: { team: 'red' } } }, { ipBlock: { cidr: '10.0.0.0/8', except: ['10.9.0.0/16'] } }],
            ports: [{ port: 'http' }, { protocol: 'UDP', port: 53 }],
          }],
        },
      },
    });

    const s = source();
    const snaps: number[] = [];
    s.onChange(() => snaps.push(Date.now()));
    await s.start();
    expect(s.ready).to.equal(true);
    expect(s.status()).to.deep.include({ state: 'synced', synced: true, stale: false });
    const pod = (ns: string, name: string) => s.snapshot.pods.find((p) => p.namespace === ns && p.name === name);
    await until('our objects', () => pod('pol-b', 'web') !== undefined && s.snapshot.policies.some((p) => p.name === 'web'), s);

    expect(s.snapshot.namespaces.find((n) => n.name === 'pol-a')?.labels).to.include({ team: 'red' });
    expect(pod('pol-a', 'web')).to.deep.equal({
      namespace: 'pol-a', name: 'web', labels: { app: 'web' },
      ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { name: 'dns', containerPort: 53, protocol: 'UDP' }],
      ips: ['10.20.0.1', 'fd00:20::1'],
    });
    // The API server defaults policyTypes and each port's protocol; the rest is as written.
    expect(s.snapshot.policies.find((p) => p.namespace === 'pol-a' && p.name === 'web')).to.deep.equal({
      namespace: 'pol-a', name: 'web',
      podSelector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'canary', operator: 'DoesNotExist' }] },
      policyTypes: ['Ingress'],
      ingress: [{
        from: [{ podSelector: { matchLabels: { app: 'api' } } }, { namespaceSelector: { matchLabels: { team: 'red' } } }, { ipBlock: { cidr: '10.0.0.0/8', except: ['10.9.0.0/16'] } }],
        ports: [{ protocol: 'TCP', port: 'http' }, { protocol: 'UDP', port: 53 }],
      }],
      egress: [],
    });
    expect(s.snapshot.issues).to.deep.equal([]);
    expect(s.pod('pol-a', 'web')).to.deep.equal({ [ANNOTATION_IP_ADDRS]: '["10.20.0.1"]' });
    expect(s.pod('pol-a', 'api')).to.deep.equal({});
    expect(s.pod('pol-a', 'nobody')).to.equal(undefined);

    // A relabel is a change; the snapshot follows.
    const p = await core.readNamespacedPod({ namespace: 'pol-a', name: 'api' });
    p.metadata!.labels = { app: 'api', version: 'v2' };
    await core.replaceNamespacedPod({ namespace: 'pol-a', name: 'api', body: p });
    await until('relabelled pod', () => pod('pol-a', 'api')?.labels?.version === 'v2', s);

    // Deletions: the pod (unscheduled pods go at once), the policy, a namespace (finalized by hand: no controller-manager here).
    await core.deleteNamespacedPod({ namespace: 'pol-b', name: 'web', gracePeriodSeconds: 0 });
    await net.deleteNamespacedNetworkPolicy({ namespace: 'pol-a', name: 'web' });
    await core.deleteNamespace({ name: 'pol-b' });
    const ns = await core.readNamespace({ name: 'pol-b' });
    ns.spec = { finalizers: [] };
    await core.replaceNamespaceFinalize({ name: 'pol-b', body: ns });
    await until('deletions', () => pod('pol-b', 'web') === undefined && !s.snapshot.policies.some((x) => x.name === 'web')
      && !s.snapshot.namespaces.some((n) => n.name === 'pol-b'), s);
    expect(pod('pol-a', 'web')).to.not.equal(undefined);
    expect(snaps.length, 'bursts coalesced').to.be.at.most(6);
  });

  it('an API outage keeps the snapshot (stale); the watches resume and later changes arrive', async () => {
    await core.createNamespace({ body: { metadata: { name: 'pol-out' } } });
    await createPod('pol-out', 'a', ['10.21.0.1'], { app: 'a' });
    const s = source();
    await s.start();
    await until('pod a', () => s.snapshot.pods.some((p) => p.namespace === 'pol-out' && p.name === 'a'), s);
    const before = s.snapshot;
    await kube!.stopApiserver(true);
    await until('stale', () => s.status().stale, s);
    expect(s.snapshot).to.equal(before);
    expect(s.status().lastError).to.be.a('string');
    await kube!.startApiserver();
    await until('synced again', () => s.status().state === 'synced', s);
    await createPod('pol-out', 'b', ['10.21.0.2'], { app: 'b' });
    await until('pod b after the outage', () => s.snapshot.pods.some((p) => p.namespace === 'pol-out' && p.name === 'b' && p.ips?.[0] === '10.21.0.2'), s);
  });

  it('with podsOfNode it keeps only that node\'s pods, asks only for them, and lists no namespaces or policies', async () => {
    await core.createNamespace({ body: { metadata: { name: 'pol-node' } } });
    const ann = { [ANNOTATION_IP_ADDRS]: '["10.22.0.9"]' };
    await createPod('pol-node', 'mine', ['10.22.0.9'], { app: 'a' }, ann, 'node-x');
    await createPod('pol-node', 'theirs', ['10.22.0.10'], { app: 'a' }, ann, 'node-y');
    await createPod('pol-node', 'unscheduled', [], { app: 'a' }, ann);
    const from = kube!.auditEvents(AGENT_USER).length;
    const s = source('node-x');
    await s.start();
    expect(s.status()).to.deep.include({ state: 'synced', synced: true, namespaces: 0, policies: 0 });
    expect(s.status().resources.map((r) => r.resource)).to.deep.equal(['pods']);
    expect(s.pod('pol-node', 'mine')).to.deep.equal(ann);
    expect(s.pod('pol-node', 'theirs')).to.equal(undefined);
    expect(s.pod('pol-node', 'unscheduled')).to.equal(undefined);
    expect(s.snapshot.pods.map((p) => `${p.namespace}/${p.name}`)).to.deep.equal(['pol-node/mine']);
    // A pod bound to this node later arrives through the (selected) watch; others do not.
    await createPod('pol-node', 'later', ['10.22.0.11'], { app: 'a' }, {}, 'node-x');
    await createPod('pol-node', 'elsewhere', ['10.22.0.12'], { app: 'a' }, {}, 'node-y');
    expect(await s.podAnnotations('pol-node', 'later')).to.deep.equal({});
    expect(await s.podAnnotations('pol-node', 'elsewhere', 300)).to.equal(undefined);
    const reqs = kube!.auditEvents(AGENT_USER).slice(from).filter((e) => e.stage === 'ResponseComplete' || e.stage === 'ResponseStarted');
    expect(reqs.map((e) => e.objectRef?.resource)).to.satisfy((r: (string | undefined)[]) => r.length > 0 && r.every((x) => x === 'pods'));
    for (const e of reqs) expect(decodeURIComponent(e.requestURI), e.requestURI).to.include('fieldSelector=spec.nodeName=node-x');
  });

  it('its requests are exactly the policy rows of agent/k8s/access.ts (audit log)', () => {
    const events = kube!.auditEvents(AGENT_USER).slice(auditFrom).filter((e) => e.stage === 'ResponseComplete' || e.stage === 'ResponseStarted');
    expect(events.length).to.be.greaterThan(0);
    const allowed = new Set(accessGrants('policy'));
    const used = new Set(events.filter((e) => e.objectRef?.resource !== undefined)
      .map((e) => `${e.objectRef!.apiGroup ?? ''}/${e.objectRef!.resource}${e.objectRef!.subresource ? `/${e.objectRef!.subresource}` : ''}:${e.verb}`));
    expect([...used].filter((u) => !allowed.has(u)), 'requests outside access.ts').to.deep.equal([]);
    expect([...allowed].filter((a) => !used.has(a)), 'access.ts rows never used').to.deep.equal([]);
    expect(events.some((e) => e.requestURI.includes('continue=')), 'paged lists').to.equal(true);
    const forbidden = events.filter((e) => e.responseStatus?.code === 403 && !kube!.duringStart(e.stageTimestamp)).map((e) => `${e.verb} ${e.requestURI}`);
    expect(forbidden, 'requests RBAC refused').to.deep.equal([]);
  });
});
