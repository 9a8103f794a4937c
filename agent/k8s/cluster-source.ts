/**
 * ClusterSource: what the Kubernetes API adds to one node's peers. It keeps
 * Nodes, BGPPeers and BGPConfigurations in memory (list + watch, see
 * informer.ts), computes this node's ClusterPeers from them (node-mesh.ts,
 * bgp-peers.ts) and tells its listeners when they change. The agent merges
 * them with its file (merge-peers.ts) and applies the difference.
 *
 * When the API server cannot be reached, nothing changes: the cached
 * objects and the last ClusterPeers stay, and status() says stale. When it
 * comes back, the watches resume (or list again after a 410 Gone) and any
 * change made meanwhile arrives as one ordinary update.
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject, type V1Node } from '@kubernetes/client-node';
import type { Logger } from '../../lib/log.js';
import { selectBgpPeers } from './bgp-peers.js';
import { BurstDebounce } from './burst-debounce.js';
import { combinedHealth, Informer, type Backoff, type InformerStatus } from './informer.js';
import { clusterIpPools } from './ip-pools.js';
import type { ClusterPeers } from './merge-peers.js';
import { meshFromNodes, parseCidrs, type ClusterMeshMember } from './node-mesh.js';
import {
  BGP_CONFIGURATION_DEFAULT, CRD, crdPath, TORTIE_GROUP, TORTIE_VERSION, type BgpConfigurationObject, type BgpPeerObject, type CrdNames, type IpPoolObject,
} from './types.js';

export interface ClusterSourceOptions {
  readonly kubeConfig: KubeConfig;
  /** This node's name (the Node object's name). */
  readonly nodeName: string;
  /** The AS of nodes without a tortie.io/asn annotation when BGPConfiguration sets none: the file's node.asn. */
  readonly fallbackAsn: number;
  /** Prefixes a node's InternalIP must fall in to be its BGP address (e.g. the BGP interface's subnet). Empty: any. */
  readonly addressCidrs?: readonly string[];
  readonly log: Logger;
  /** Changes are applied once they pause this long. Default 50 ms. */
  readonly debounceMs?: number;
  /** ... or this long after the first change of a burst that does not pause. Default 500 ms. */
  readonly maxWaitMs?: number;
  readonly backoff?: Backoff;
}

export type ClusterState = 'starting' | 'synced' | 'stale' | 'stopped';

export interface ClusterStatus {
  /** synced: every resource listed and watched; stale: the API is unreachable (the last data stays in use). */
  readonly state: ClusterState;
  readonly stale: boolean;
  /** When the state last changed. */
  readonly since: string;
  readonly server: string;
  readonly node: string;
  /** This node's own mesh entry, as the other nodes see it. */
  readonly self?: ClusterMeshMember;
  readonly selfFound: boolean;
  readonly meshEnabled: boolean | undefined;
  readonly defaultAsn: number;
  readonly meshMembers: number;
  readonly bgpPeers: number;
  /** IPPool objects seen (those accepted are in the merged ipam.pools). */
  readonly ipPools: number;
  /** Nodes left out of the mesh for a bad annotation or a duplicate address; BGPPeers with a bad selector. */
  readonly problems: readonly string[];
  readonly nodesWithoutAddress: readonly string[];
  readonly lastChangeAt?: string;
  readonly changes: number;
  readonly resources: readonly InformerStatus[];
}

export type ClusterListener = (peers: ClusterPeers) => void;

type CustomObject = KubernetesObject & Record<string, unknown>;

function sameMembers(a: ClusterPeers, b: ClusterPeers): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class ClusterSource {
  private readonly nodes: Informer<V1Node>;
  private readonly bgpPeers: Informer<CustomObject>;
  private readonly bgpConfigs: Informer<CustomObject>;
  private readonly ipPools: Informer<CustomObject>;
  private readonly informers: readonly Informer<KubernetesObject>[];
  private readonly listeners = new Set<ClusterListener>();
  private readonly log: Logger;
  private peers: ClusterPeers = { meshEnabled: undefined, meshMembers: [], bgpPeers: [], ipPools: [] };
  private emitted = false;
  private state: ClusterState = 'stopped';
  private stateSince = new Date();
  /** Changes apply once they pause (debounceMs), or maxWaitMs into a burst that does not. */
  private readonly debounce: BurstDebounce;
  private lastChangeAt: Date | undefined;
  private changes = 0;
  /** start() has made its first attempt at every resource: only then can a resource not yet connected mean stale. */
  private attempted = false;
  private view: {
    self?: ClusterMeshMember; selfFound: boolean; selfLabels: Readonly<Record<string, string>>; defaultAsn: number; problems: readonly string[];
    withoutAddress: readonly string[];
  };

  constructor(private readonly opts: ClusterSourceOptions) {
    this.log = opts.log;
    parseCidrs(opts.addressCidrs ?? []); // a bad CIDR fails here, not on the first event
    this.view = { selfFound: false, selfLabels: {}, defaultAsn: opts.fallbackAsn, problems: [], withoutAddress: [] };
    this.debounce = new BurstDebounce(() => this.recompute(), opts.debounceMs ?? 50, opts.maxWaitMs ?? 500);
    const core = opts.kubeConfig.makeApiClient(CoreV1Api);
    const custom = opts.kubeConfig.makeApiClient(CustomObjectsApi);
    const common = {
      kubeConfig: opts.kubeConfig, log: opts.log, onChange: () => this.schedule(), onHealth: () => this.updateState(),
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
    };
    this.nodes = new Informer<V1Node>({ ...common, path: '/api/v1/nodes', resource: 'nodes', list: () => core.listNode() });
    const crd = (c: CrdNames): Informer<CustomObject> => new Informer<CustomObject>({
      ...common,
      path: crdPath(c),
      resource: `${c.plural}.${TORTIE_GROUP}`,
      list: async () => (await custom.listClusterCustomObject({ group: TORTIE_GROUP, version: TORTIE_VERSION, plural: c.plural })) as KubernetesListObject<CustomObject>,
    });
    this.bgpPeers = crd(CRD.BGPPeer);
    this.bgpConfigs = crd(CRD.BGPConfiguration);
    this.ipPools = crd(CRD.IPPool);
    this.informers = [this.nodes, this.bgpPeers, this.bgpConfigs, this.ipPools] as readonly Informer<KubernetesObject>[];
  }

  /**
   * Lists and watches every resource. Resolves after the first attempt at
   * each: check status().stale for whether it worked. The first onChange
   * comes once the Nodes have been listed.
   */
  async start(): Promise<void> {
    this.setState('starting');
    this.attempted = false;
    await Promise.all(this.informers.map((i) => i.start()));
    this.attempted = true;
    this.recompute();
    this.updateState();
  }

  async stop(): Promise<void> {
    this.debounce.cancel();
    await Promise.all(this.informers.map((i) => i.stop()));
    this.setState('stopped');
  }

  /** Calls `fn` with every new ClusterPeers; returns the unsubscribe function. */
  onChange(fn: ClusterListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The last ClusterPeers (empty until the Nodes were listed). */
  current(): ClusterPeers {
    return this.peers;
  }

  /**
   * The names of every Node object, or undefined until the Nodes were listed
   * (IPAM's GC of deleted nodes must not take "not listed yet" for "none").
   */
  nodeNames(): ReadonlySet<string> | undefined {
    if (!this.nodes.status().synced) return undefined;
    return new Set(this.nodes.list().map((n) => n.metadata?.name ?? '').filter((n) => n !== ''));
  }

  /** This node's Node labels (empty until found); IP pool node selectors match them. */
  selfLabels(): Readonly<Record<string, string>> {
    return this.view.selfLabels;
  }

  /** True once the Nodes have been listed, i.e. current() is real data. */
  get ready(): boolean {
    return this.emitted;
  }

  status(): ClusterStatus {
    const v = this.view;
    return {
      state: this.state,
      stale: this.state === 'stale',
      since: this.stateSince.toISOString(),
      server: this.opts.kubeConfig.getCurrentCluster()?.server ?? '',
      node: this.opts.nodeName,
      ...(v.self ? { self: v.self } : {}),
      selfFound: v.selfFound,
      meshEnabled: this.peers.meshEnabled,
      defaultAsn: v.defaultAsn,
      meshMembers: this.peers.meshMembers.length,
      bgpPeers: this.peers.bgpPeers.length,
      ipPools: this.peers.ipPools?.length ?? 0,
      problems: v.problems,
      nodesWithoutAddress: v.withoutAddress,
      ...(this.lastChangeAt ? { lastChangeAt: this.lastChangeAt.toISOString() } : {}),
      changes: this.changes,
      resources: this.informers.map((i) => i.status()),
    };
  }

  private setState(s: ClusterState): void {
    if (s === this.state) return;
    const prev = this.state;
    this.state = s;
    this.stateSince = new Date();
    if (s === 'stale') this.log.warn({ from: prev }, 'Kubernetes API unreachable: keeping the current peers and routes (stale)');
    else if (s === 'synced') this.log.info({ from: prev }, 'Kubernetes API in sync');
  }

  private updateState(): void {
    if (this.state === 'stopped') return;
    const st = this.informers.map((i) => i.status());
    // CRDs not installed are empty, not stale.
    const h = combinedHealth(st, { attempted: this.attempted, missingIsEmpty: true });
    if (h !== undefined) this.setState(h);
    if (this.state === 'synced' && st.some((s) => s.missing)) {
      this.log.debug({ missing: st.filter((s) => s.missing).map((s) => s.resource) }, 'resources not served (CRDs not installed?)');
    }
  }

  private schedule(): void {
    if (this.state === 'stopped') return;
    this.debounce.trigger();
  }

  /** Rebuilds ClusterPeers from the caches; tells the listeners when it differs. */
  private recompute(): void {
    this.updateState();
    if (!this.nodes.status().synced) return;
    const configs = this.bgpConfigs.list() as unknown as readonly BgpConfigurationObject[];
    const cfg = configs.find((c) => c.metadata.name === BGP_CONFIGURATION_DEFAULT)?.spec;
    const defaultAsn = typeof cfg?.asNumber === 'number' ? cfg.asNumber : this.opts.fallbackAsn;
    const mesh = meshFromNodes(this.nodes.list(), { selfName: this.opts.nodeName, cidrs: this.opts.addressCidrs ?? [], defaultAsn });
    const sel = selectBgpPeers(this.bgpPeers.list() as unknown as readonly BgpPeerObject[], this.opts.nodeName, mesh.selfLabels);
    const next: ClusterPeers = {
      meshEnabled: typeof cfg?.nodeToNodeMeshEnabled === 'boolean' ? cfg.nodeToNodeMeshEnabled : undefined,
      meshMembers: mesh.members,
      bgpPeers: sel.selected.map((s) => ({ name: s.name, spec: s.spec })),
      ipPools: clusterIpPools(this.ipPools.list() as unknown as readonly IpPoolObject[]),
    };
    const problems = [...mesh.problems, ...sel.problems];
    if (problems.join('\n') !== this.view.problems.join('\n')) {
      for (const p of problems.filter((x) => !this.view.problems.includes(x))) this.log.warn({}, p);
    }
    const labelsChanged = JSON.stringify(mesh.selfLabels) !== JSON.stringify(this.view.selfLabels);
    this.view = {
      ...(mesh.self ? { self: mesh.self } : {}), selfFound: mesh.selfFound, selfLabels: mesh.selfLabels, defaultAsn, problems, withoutAddress: mesh.withoutAddress,
    };
    if (this.emitted && sameMembers(next, this.peers) && !labelsChanged) return;
    const before = this.peers;
    this.peers = next;
    this.emitted = true;
    this.changes++;
    this.lastChangeAt = new Date();
    this.log.info({
      members: next.meshMembers.length, bgpPeers: next.bgpPeers.length, meshEnabled: next.meshEnabled,
      added: next.meshMembers.filter((m) => !before.meshMembers.some((b) => b.address === m.address)).map((m) => m.name),
      removed: before.meshMembers.filter((b) => !next.meshMembers.some((m) => m.address === b.address)).map((m) => m.name),
    }, 'cluster peers changed');
    for (const fn of this.listeners) {
      try {
        fn(next);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'cluster peers listener failed');
      }
    }
  }
}
