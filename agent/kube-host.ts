/**
 * The agent's Kubernetes side: one KubeConfig, the ClusterSource that turns
 * Nodes, BGPPeers and the BGPConfiguration into peers, and the merge of
 * those with the file (the file wins). The agent loads this module only
 * when `kubernetes.enabled`, so a standalone node never loads the client.
 *
 * Nothing here tears anything down when the API is unreachable: the last
 * merged peers stay until the API says otherwise (ClusterSource is stale).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../lib/log.js';
import type { KubernetesStatusView } from './api-types.js';
import type { AgentConfig } from './config/index.js';
import { ClusterSource } from './k8s/cluster-source.js';
import { loadKubeConfig } from './k8s/kube-config.js';
import { applyClusterPeers, type MergedConfig } from './k8s/merge-peers.js';
import { KubePolicySource } from './k8s/policy-source.js';
import { KubernetesDatastore } from './k8s/store-k8s.js';

export interface KubeHostOptions {
  readonly config: AgentConfig;
  readonly log: Logger;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export class KubeHost {
  readonly kubeConfig: KubeConfig;
  readonly cluster: ClusterSource;
  /**
   * Pods, Namespaces and NetworkPolicies: NetworkPolicy's input, and pods'
   * IPAM annotations. When NetworkPolicy does not read the API (off, or a
   * manifest directory), only this node's pods, for the annotations.
   */
  readonly pods: KubePolicySource;
  private readonly log: Logger;
  private problems = new Set<string>();

  constructor(opts: KubeHostOptions) {
    this.log = opts.log;
    const k = opts.config.kubernetes;
    this.kubeConfig = loadKubeConfig({ ...(k.kubeconfig !== undefined ? { kubeconfig: k.kubeconfig } : {}), ...(opts.env ? { env: opts.env } : {}) });
    this.cluster = new ClusterSource({
      kubeConfig: this.kubeConfig, nodeName: opts.config.node.name, fallbackAsn: opts.config.node.asn,
      addressCidrs: k.nodeAddressCidrs, log: opts.log,
    });
    const policyFromApi = opts.config.policy.enabled && opts.config.policy.manifestDir === undefined;
    this.pods = new KubePolicySource({
      kubeConfig: this.kubeConfig, log: opts.log.child({ source: 'pods' }),
      ...(policyFromApi ? {} : { podsOfNode: opts.config.node.name }),
    });
  }

  /** Lists and watches; never throws for an unreachable API (status says stale, the file's peers run alone). */
  async start(): Promise<void> {
    await Promise.all([this.cluster.start(), this.pods.start()]);
    const s = this.cluster.status();
    this.log.info({ server: s.server, state: s.state, meshMembers: s.meshMembers, bgpPeers: s.bgpPeers, selfFound: s.selfFound }, 'Kubernetes API source started');
    if (s.stale) this.log.warn({ server: s.server }, 'Kubernetes API not reachable at start: running with the file\'s peers until it is');
  }

  async stop(): Promise<void> {
    await Promise.all([this.cluster.stop(), this.pods.stop()]);
  }

  /** The file merged with what the cluster contributes now; new problems are logged once. */
  merge(fileCfg: AgentConfig): MergedConfig {
    const m = applyClusterPeers(fileCfg, this.cluster.current());
    const now = new Set(m.problems);
    for (const p of now) if (!this.problems.has(p)) this.log.warn({}, `cluster peer left out: ${p}`);
    this.problems = now;
    return m;
  }

  datastore(): KubernetesDatastore {
    return new KubernetesDatastore(this.kubeConfig);
  }

  status(): KubernetesStatusView {
    const s = this.cluster.status();
    const p = this.pods.status();
    return {
      state: s.state === 'synced' && p.stale ? 'stale' : s.state, stale: s.stale || p.stale, since: s.since, server: s.server, selfFound: s.selfFound, meshMembers: s.meshMembers, bgpPeers: s.bgpPeers, ipPools: s.ipPools,
      problems: [...s.problems, ...this.problems], nodesWithoutAddress: [...s.nodesWithoutAddress], ...(s.lastChangeAt ? { lastChangeAt: s.lastChangeAt } : {}),
      changes: s.changes,
      cache: { state: p.state, namespaces: p.namespaces, pods: p.pods, networkPolicies: p.policies },
      resources: [...s.resources, ...p.resources].map((r) => ({
        resource: r.resource, synced: r.synced, connected: r.connected, objects: r.objects, ...(r.lastError !== undefined ? { lastError: r.lastError } : {}),
      })),
    };
  }
}
