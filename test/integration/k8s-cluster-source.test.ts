/**
 * ClusterSource against a real kube-apiserver (test/support/kube), running
 * as the agent's ServiceAccount with deploy/'s CRDs and RBAC applied:
 *
 *   - Node objects appearing and disappearing become mesh changes, and each
 *     join or leave is exactly one session added or removed on the others;
 *   - BGPPeer node selectors apply to the right nodes;
 *   - BGPConfiguration supplies the default AS and the mesh switch;
 *   - when the API server dies, peers stay and status turns stale; when it
 *     returns, the watches resume and later changes arrive;
 *   - the agent's requests stay within agent/k8s/access.ts (audit log).
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { expect } from 'chai';
import { accessGrants } from '../../agent/k8s/access.js';
import { ClusterSource, type ClusterSourceOptions } from '../../agent/k8s/cluster-source.js';
import { applyClusterPeers, formatOrigin, type ClusterPeers } from '../../agent/k8s/merge-peers.js';
import { ANNOTATION_ASN, ANNOTATION_BGP_ADDRESS, TORTIE_GROUP, TORTIE_VERSION } from '../../agent/k8s/types.js';
import { diffConfig, effectivePeers, type AgentConfig } from '../../agent/config/index.js';
import { parseOk, yaml } from '../../agent/config/test-fixtures.js';
import { silentLogger } from '../../lib/log.js';
import { AGENT_USER, type KubeCluster, startAgentCluster } from '../support/kube/index.js';
import { waitFor } from '../support/netns.js';

const FAST = { backoff: { initialMs: 100, maxMs: 1000 }, debounceMs: 20 };

function fileFor(name: string, address: string): AgentConfig {
  return parseOk(yaml`
    node: { name: ${name}, asn: 65001, routerId: ${address}, sourceAddress: ${address} }
    bgp: { holdTimeSec: 30 }
  `);
}

describe('k8s: ClusterSource against a real API server', function () {
  this.timeout(180_000);
  let kube: KubeCluster | undefined;
  let admin: KubeConfig;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  const sources: ClusterSource[] = [];
  let auditFrom = 0;

  function source(nodeName: string, over: Partial<ClusterSourceOptions> = {}): ClusterSource {
    const s = new ClusterSource({
      kubeConfig: kube!.kubeConfig(AGENT_USER), nodeName, fallbackAsn: 65001, log: silentLogger, ...FAST, ...over,
    });
    sources.push(s);
    return s;
  }

  async function createNode(name: string, ip: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}): Promise<void> {
    const body: V1Node = {
      metadata: { name, labels, annotations },
      status: { addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }] },
    };
    await core.createNode({ body });
  }

  async function bgpPeer(name: string, spec: Record<string, unknown>): Promise<void> {
    await custom.createClusterCustomObject({
      group: TORTIE_GROUP, version: TORTIE_VERSION, plural: 'bgppeers',
      body: { apiVersion: `${TORTIE_GROUP}/${TORTIE_VERSION}`, kind: 'BGPPeer', metadata: { name }, spec },
    });
  }

  function members(s: ClusterSource): string[] {
    return s.current().meshMembers.map((m) => `${m.name}=${m.address}/${m.asn}`);
  }

  async function until(what: string, cond: () => boolean, s?: ClusterSource): Promise<void> {
    await waitFor(what, () => Promise.resolve(cond() ? true : undefined), {
      timeoutMs: 30_000, intervalMs: 20,
      describe: () => (s ? JSON.stringify({
        members: s.current().meshMembers.length, bgpPeers: s.current().bgpPeers.map((p) => p.name), status: { ...s.status(), nodesWithoutAddress: s.status().nodesWithoutAddress.length },
      }, null, 1).slice(0, 3000) : ''),
    });
  }

  before(async () => {
    ({ kube, auditFrom } = await startAgentCluster());
    admin = kube.kubeConfig();
    core = admin.makeApiClient(CoreV1Api);
    custom = admin.makeApiClient(CustomObjectsApi);
  });

  afterEach(async () => {
    await Promise.all(sources.splice(0).map((s) => s.stop()));
  });

  after(async () => {
    await kube?.stop();
  });

  it('Node objects appearing and disappearing are mesh members coming and going', async () => {
    await createNode('mesh-a', '10.1.0.1');
    await createNode('mesh-b', '10.1.0.2');
    const a = source('mesh-a', { addressCidrs: ['10.1.0.0/16'] });
    const seen: ClusterPeers[] = [];
    a.onChange((p) => seen.push(p));
    await a.start();
    expect(a.status().state).to.equal('synced');
    await until('mesh-b as a member', () => members(a).join() === 'mesh-b=10.1.0.2/65001', a);
    expect(a.status().self).to.deep.include({ name: 'mesh-a', address: '10.1.0.1' });

    const file = fileFor('mesh-a', '10.1.0.1');
    const before = applyClusterPeers(file, a.current()).config;
    await createNode('mesh-c', '10.1.0.3', {}, { [ANNOTATION_ASN]: '65003' });
    await until('mesh-c joins', () => members(a).includes('mesh-c=10.1.0.3/65003'), a);
    const joined = applyClusterPeers(file, a.current());
    const join1 = diffConfig(before, joined.config);
    expect(join1.peersAdded.map((p) => p.key)).to.deep.equal(['10.1.0.3']);
    expect(join1.peersRemoved.length + join1.peersChanged.length).to.equal(0);
    expect(effectivePeers(joined.config).peers.map((p) => `${p.address}:${formatOrigin(joined.origins.get(p.address)!)}`))
      .to.deep.equal(['10.1.0.2:node/mesh-b', '10.1.0.3:node/mesh-c']);

    await core.deleteNode({ name: 'mesh-c' });
    await until('mesh-c leaves', () => !members(a).some((m) => m.startsWith('mesh-c=')), a);
    const leave = diffConfig(joined.config, applyClusterPeers(file, a.current()).config);
    expect(leave.peersRemoved.map((p) => p.key)).to.deep.equal(['10.1.0.3']);
    expect(leave.peersAdded.length + leave.peersChanged.length).to.equal(0);

    // A status-only update of a Node (a kubelet heartbeat) is not a mesh change.
    const changes = a.status().changes;
    const n = await core.readNode({ name: 'mesh-b' });
    n.metadata!.labels = { ...(n.metadata!.labels ?? {}), heartbeat: String(Date.now()) };
    await core.replaceNode({ name: 'mesh-b', body: n });
    await new Promise((r) => setTimeout(r, 300));
    expect(a.status().changes).to.equal(changes);
    expect(seen.length).to.equal(changes);

    // The annotation wins over the InternalIP.
    const m = await core.readNode({ name: 'mesh-b' });
    m.metadata!.annotations = { ...(m.metadata!.annotations ?? {}), [ANNOTATION_BGP_ADDRESS]: '10.1.9.2' };
    await core.replaceNode({ name: 'mesh-b', body: m });
    await until('mesh-b moves to its annotated address', () => members(a).join() === 'mesh-b=10.1.9.2/65001', a);
    await core.deleteNode({ name: 'mesh-a' });
    await core.deleteNode({ name: 'mesh-b' });
  });

  it('BGPPeer node selectors apply to the right nodes', async () => {
    await createNode('sel-a', '10.2.0.1', { rack: 'r1' });
    await createNode('sel-b', '10.2.0.2', { rack: 'r2' });
    await bgpPeer('tor-r1', { address: '192.0.2.101', asn: 65101, nodeSelector: 'rack == "r1"' });
    await bgpPeer('tor-r2', { address: '192.0.2.102', asn: 65102, nodeSelector: 'rack == "r2"' });
    await bgpPeer('route-server', { address: '192.0.2.200', asn: 65200 });
    await bgpPeer('only-b', { address: '192.0.2.222', asn: 65222, node: 'sel-b' });
    const a = source('sel-a');
    const b = source('sel-b');
    await Promise.all([a.start(), b.start()]);
    const names = (s: ClusterSource): string[] => s.current().bgpPeers.map((p) => p.name);
    await until('sel-a peers', () => names(a).join() === 'route-server,tor-r1', a);
    await until('sel-b peers', () => names(b).join() === 'only-b,route-server,tor-r2', b);

    const merged = applyClusterPeers(fileFor('sel-a', '10.2.0.1'), a.current());
    expect(merged.problems).to.deep.equal([]);
    expect(merged.config.bgp.peers.map((p) => `${p.address}/${p.asn}:${formatOrigin(merged.origins.get(p.address)!)}`))
      .to.deep.equal(['192.0.2.200/65200:bgppeer/route-server', '192.0.2.101/65101:bgppeer/tor-r1']);

    // Relabelling a node moves it to the other rack's peer.
    const n = await core.readNode({ name: 'sel-a' });
    n.metadata!.labels = { rack: 'r2' };
    await core.replaceNode({ name: 'sel-a', body: n });
    await until('sel-a follows its new label', () => names(a).join() === 'route-server,tor-r2', a);
    expect(names(b).join()).to.equal('only-b,route-server,tor-r2');
    for (const p of ['tor-r1', 'tor-r2', 'route-server', 'only-b']) {
      await custom.deleteClusterCustomObject({ group: TORTIE_GROUP, version: TORTIE_VERSION, plural: 'bgppeers', name: p });
    }
    await until('BGPPeers gone', () => names(a).length === 0, a);
    await core.deleteNode({ name: 'sel-a' });
    await core.deleteNode({ name: 'sel-b' });
  });

  it('BGPConfiguration default: the default AS and the mesh switch', async () => {
    await createNode('cfg-a', '10.3.0.1');
    await createNode('cfg-b', '10.3.0.2');
    const a = source('cfg-a');
    await a.start();
    await until('cfg-b with the fallback AS', () => members(a).join() === 'cfg-b=10.3.0.2/65001', a);
    await custom.createClusterCustomObject({
      group: TORTIE_GROUP, version: TORTIE_VERSION, plural: 'bgpconfigurations',
      body: { apiVersion: `${TORTIE_GROUP}/${TORTIE_VERSION}`, kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { asNumber: 64999, nodeToNodeMeshEnabled: false } },
    });
    await until('the cluster default AS', () => members(a).join() === 'cfg-b=10.3.0.2/64999' && a.current().meshEnabled === false, a);
    const merged = applyClusterPeers(fileFor('cfg-a', '10.3.0.1'), a.current());
    expect(effectivePeers(merged.config).peers).to.deep.equal([]);
    await custom.deleteClusterCustomObject({ group: TORTIE_GROUP, version: TORTIE_VERSION, plural: 'bgpconfigurations', name: 'default' });
    await until('back to the fallback', () => members(a).join() === 'cfg-b=10.3.0.2/65001' && a.current().meshEnabled === undefined, a);
    await core.deleteNode({ name: 'cfg-a' });
    await core.deleteNode({ name: 'cfg-b' });
  });

  it('API server death: peers stay, status turns stale; on return the watches resume', async () => {
    await createNode('dead-a', '10.4.0.1');
    await createNode('dead-b', '10.4.0.2');
    const a = source('dead-a');
    const seen: ClusterPeers[] = [];
    a.onChange((p) => seen.push(p));
    await a.start();
    await until('dead-b', () => members(a).join() === 'dead-b=10.4.0.2/65001', a);
    const changesBefore = seen.length;

    await kube!.stopApiserver(true);
    await until('stale', () => a.status().stale, a);
    expect(members(a).join(), 'peers kept while the API is down').to.equal('dead-b=10.4.0.2/65001');
    expect(seen.length, 'no change emitted while the API is down').to.equal(changesBefore);
    const down = a.status();
    expect(down.resources.every((r) => r.lastError !== undefined)).to.equal(true);
    await new Promise((r) => setTimeout(r, 1500)); // a few failed retries
    expect(members(a).join()).to.equal('dead-b=10.4.0.2/65001');

    await kube!.startApiserver();
    await until('synced again', () => a.status().state === 'synced', a);
    expect(a.status().resources.every((r) => r.restarts > 0)).to.equal(true);
    expect(seen.length, 'returning by itself changes nothing').to.equal(changesBefore);
    await createNode('dead-c', '10.4.0.3');
    await until('a node created after the outage', () => members(a).join() === 'dead-b=10.4.0.2/65001,dead-c=10.4.0.3/65001', a);
    for (const n of ['dead-a', 'dead-b', 'dead-c']) await core.deleteNode({ name: n });
  });

  it('starts stale when the API server is unreachable, and syncs when it appears', async () => {
    await createNode('late-b', '10.5.0.2');
    await kube!.stopApiserver();
    const a = source('late-a');
    await a.start();
    expect(a.status().state).to.equal('stale');
    expect(a.ready).to.equal(false);
    await kube!.startApiserver();
    await until('synced', () => a.status().state === 'synced' && a.ready, a);
    expect(members(a)).to.include('late-b=10.5.0.2/65001');
    await core.deleteNode({ name: 'late-b' });
  });

  it('500 Nodes created at once: the mesh converges within 5 s of the last write', async () => {
    const a = source('big-0000');
    await a.start();
    const count = 500;
    const names = Array.from({ length: count }, (_, k) => `big-${String(k).padStart(4, '0')}`);
    const t0 = Date.now();
    for (let k = 0; k < count; k += 25) {
      await Promise.all(names.slice(k, k + 25).map((n, j) => createNode(n, `10.6.${(k + j) >> 7}.${((k + j) & 0x7f) + 1}`)));
    }
    const written = Date.now();
    await until('499 members', () => a.current().meshMembers.length === count - 1, a);
    const convergedMs = Date.now() - written;
    console.log(`      ${count} nodes written in ${written - t0} ms; mesh converged ${convergedMs} ms after the last write (${a.status().changes} changes)`);
    expect(convergedMs).to.be.below(5000);
    for (let k = 0; k < count; k += 50) await Promise.all(names.slice(k, k + 50).map((name) => core.deleteNode({ name })));
    await until('all gone', () => a.current().meshMembers.length === 0, a);
  });

  it('ClusterSource\'s requests are exactly its rows of agent/k8s/access.ts (audit log)', () => {
    const events = kube!.auditEvents(AGENT_USER).slice(auditFrom).filter((e) => e.stage === 'ResponseComplete' || e.stage === 'ResponseStarted');
    expect(events.length).to.be.greaterThan(0);
    const allowed = new Set(accessGrants('cluster-source'));
    const used = new Set(events.filter((e) => e.objectRef?.resource !== undefined)
      .map((e) => `${e.objectRef!.apiGroup ?? ''}/${e.objectRef!.resource}${e.objectRef!.subresource ? `/${e.objectRef!.subresource}` : ''}:${e.verb}`));
    expect([...used].filter((u) => !allowed.has(u)), 'requests outside access.ts').to.deep.equal([]);
    expect([...allowed].filter((a) => !used.has(a)), 'access.ts rows never used').to.deep.equal([]);
    // A restarting apiserver serves before its RBAC cache is filled; outside those moments nothing may be refused.
    const forbidden = events.filter((e) => e.responseStatus?.code === 403 && !kube!.duringStart(e.stageTimestamp)).map((e) => `${e.verb} ${e.requestURI}`);
    expect(forbidden, 'requests RBAC refused').to.deep.equal([]);
  });
});
