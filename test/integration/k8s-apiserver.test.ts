/**
 * Smoke test of the test control plane (test/support/kube): a real etcd and
 * kube-apiserver on loopback, reached through @kubernetes/client-node.
 * Needs the binary from scripts/kube-apiserver.sh and Debian's etcd-server.
 */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ApiextensionsV1Api, AppsV1Api, CoreV1Api, CustomObjectsApi, ApiException, KubeConfig, type V1Namespace } from '@kubernetes/client-node';
import { expect } from 'chai';
import { CRD } from '../../agent/k8s/types.js';
import { createManifests, KubeCluster, readManifests } from '../support/kube/index.js';

const DEPLOY = resolve(import.meta.dirname, '../../deploy');

describe('k8s: loopback kube-apiserver (test/support/kube)', function () {
  this.timeout(120_000);
  let kube: KubeCluster | undefined;

  before(async () => {
    kube = await KubeCluster.start({ users: [{ name: 'nobody', groups: [] }] });
  });

  after(async () => {
    await kube?.stop();
  });

  it('lists the built-in namespaces through client-node', async () => {
    const core = kube!.kubeConfig().makeApiClient(CoreV1Api);
    const list = await core.listNamespace();
    const names = list.items.map((n: V1Namespace) => n.metadata?.name);
    expect(names).to.include.members(['default', 'kube-system']);
  });

  it('loads the kubeconfig file it wrote', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kube!.kubeconfigFile);
    const core = kc.makeApiClient(CoreV1Api);
    const ns = await core.readNamespace({ name: 'default' });
    expect(ns.metadata?.name).to.equal('default');
  });

  it('enforces RBAC for a user without bindings', async () => {
    const core = kube!.kubeConfig('nobody').makeApiClient(CoreV1Api);
    let status: number | undefined;
    try {
      await core.listNode();
    } catch (err) {
      status = err instanceof ApiException ? err.code : undefined;
    }
    expect(status).to.equal(403);
  });

  it('accepts every manifest in deploy/ (server-side validation): CRDs established and structural', async () => {
    // CRDs first (createManifests waits until they are Established), then the rest, the default IPPool included.
    await createManifests(kube!.kubeConfig(), readManifests(readdirSync(join(DEPLOY, 'crds')).map((f) => join(DEPLOY, 'crds', f))));
    await createManifests(kube!.kubeConfig(), readManifests(readdirSync(DEPLOY).filter((f) => f.endsWith('.yaml')).map((f) => join(DEPLOY, f))));
    const crds = await kube!.kubeConfig().makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition();
    const tortie = crds.items.filter((c) => c.spec.group === 'tortie.io');
    expect(tortie.map((c) => c.spec.names.kind).sort()).to.deep.equal(Object.values(CRD).map((c) => c.kind).sort());
    const pools = (await kube!.kubeConfig().makeApiClient(CustomObjectsApi).listClusterCustomObject({ group: 'tortie.io', version: 'v1alpha1', plural: 'ippools' })) as { items: { metadata: { name: string } }[] };
    expect(pools.items.map((p) => p.metadata.name)).to.deep.equal(['default-ipv4']);
    for (const c of tortie) {
      const bad = (c.status?.conditions ?? []).filter((x) => x.type === 'NonStructuralSchema' || (x.type === 'Established' && x.status !== 'True'));
      expect(bad.map((x) => `${x.type}: ${x.message}`), c.metadata?.name).to.deep.equal([]);
    }
    const ds = await kube!.kubeConfig().makeApiClient(AppsV1Api).readNamespacedDaemonSet({ name: 'tortie-agent', namespace: 'kube-system' });
    expect(ds.spec?.template.spec?.hostNetwork).to.equal(true);
  });

  it('restarts the apiserver on the same port with the same data', async () => {
    const core = kube!.kubeConfig().makeApiClient(CoreV1Api);
    const name = `tt-smoke-${process.pid}`;
    await core.createNamespace({ body: { metadata: { name } } });
    await kube!.stopApiserver();
    let failed = false;
    try {
      await core.readNamespace({ name });
    } catch {
      failed = true;
    }
    expect(failed, 'request while the apiserver is down').to.equal(true);
    await kube!.startApiserver();
    const ns = await core.readNamespace({ name });
    expect(ns.metadata?.name).to.equal(name);
  });
});
