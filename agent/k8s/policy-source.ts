/**
 * KubePolicySource: NetworkPolicy input from the Kubernetes API. It keeps
 * Pods (all namespaces), Namespaces and networking.k8s.io/v1
 * NetworkPolicies in memory by list + watch (informer.ts) and gives the
 * PolicyHost ClusterState snapshots, converted by policy/object-convert.ts
 * exactly as the manifest directory source converts the same objects.
 *
 *  - Memory: each object is converted as it arrives (list page or watch
 *    event) and only the converted model object is cached, with the pod
 *    annotations in an allow-list (`tortie.io/ip-addrs`) for pod(); the raw
 *    API object is dropped at once. Lists are paged (100 a page).
 *  - Snapshots are coalesced: the first once all three resources have been
 *    listed, then at most one per `debounceMs` (100 ms) burst, and only when
 *    the converted input changed (a pod's status heartbeat is not a change:
 *    an unchanged conversion keeps its object, so the next snapshot is
 *    recognised as the same).
 *  - Errors never clear the cache: while the API is unreachable nothing is
 *    emitted and status().stale is true; the rules built from the last
 *    snapshot stay (an outage must neither open nor close the network).
 *  - An object the converter refuses (or keeps fail-closed) is an issue in
 *    the snapshot, shaped like a manifest issue without a file.
 *  - With `podsOfNode` it keeps only that node's pods (a field selector on
 *    spec.nodeName) and no Namespaces or NetworkPolicies: what a node whose
 *    NetworkPolicy does not read the API needs for the IPAM annotation.
 */
import { isDeepStrictEqual } from 'node:util';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { TortieError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { NamespaceInfo, NetworkPolicyInfo, PodInfo } from '../../policy/compile/model.js';
import { convertObject, type ConvertIssue, type PolicyKind } from '../../policy/object-convert.js';
import type { PolicySnapshot, PolicySource, SnapshotListener, SourceIssue } from '../../policy/source.js';
import { combinedHealth, Informer, type Backoff, type InformerStatus } from './informer.js';
import { rawLister } from './raw-list.js';
import { ANNOTATION_IP_ADDRS } from './types.js';

export interface KubePolicySourceOptions {
  readonly kubeConfig: KubeConfig;
  readonly log: Logger;
  /** Changes within this window make one snapshot. Default 100 ms. */
  readonly debounceMs?: number;
  readonly backoff?: Backoff;
  /** Objects per list request. Default 100 (smaller pages: a lower RSS peak during a full list). */
  readonly pageSize?: number;
  /** The pod annotations kept for pod(). Default: tortie.io/ip-addrs. */
  readonly podAnnotations?: readonly string[];
  /**
   * Only this node's pods, and no Namespaces or NetworkPolicies: for a node
   * whose NetworkPolicy is off (or fed from a directory), which needs pods
   * only for pod() (the IPAM annotation). The list and watch carry the
   * field selector spec.nodeName=<node>, so the cache holds a node's worth.
   */
  readonly podsOfNode?: string;
}

export type PolicySourceState = 'stopped' | 'starting' | 'synced' | 'stale';

export interface PolicySourceStatus {
  readonly state: PolicySourceState;
  /** Every resource has been listed: the snapshot is real data (it stays so through outages). */
  readonly synced: boolean;
  /** The API server is unreachable now: the last snapshot stays in use. */
  readonly stale: boolean;
  /** When the state last changed. */
  readonly since: string;
  readonly server: string;
  /** The latest error of any resource. */
  readonly lastError?: string;
  readonly lastErrorAt?: string;
  readonly namespaces: number;
  readonly pods: number;
  readonly policies: number;
  readonly issues: number;
  readonly snapshots: number;
  readonly lastSnapshotAt?: string;
  readonly resources: readonly InformerStatus[];
}

/** What the cache holds per object: the converted model object only. */
interface Kept<I> extends KubernetesObject {
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly resourceVersion?: string };
  readonly info?: I;
  readonly issue?: ConvertIssue;
  /** Pods: the allow-listed annotations (absent when it has none of them). */
  readonly annotations?: Readonly<Record<string, string>>;
}

interface RawObject extends KubernetesObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; annotations?: Record<string, string> };
}

const EMPTY: PolicySnapshot = Object.freeze({ namespaces: [], pods: [], policies: [], issues: [] });

function byKey(a: { namespace?: string; name: string }, b: { namespace?: string; name: string }): number {
  const x = `${a.namespace ?? ''}/${a.name}`;
  const y = `${b.namespace ?? ''}/${b.name}`;
  return x < y ? -1 : x > y ? 1 : 0;
}

function sameElements<X>(a: readonly X[], b: readonly X[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export class KubePolicySource implements PolicySource {
  /** Absent with podsOfNode. */
  private readonly namespaces: Informer<Kept<NamespaceInfo>, RawObject> | undefined;
  private readonly pods: Informer<Kept<PodInfo>, RawObject>;
  /** Absent with podsOfNode. */
  private readonly policies: Informer<Kept<NetworkPolicyInfo>, RawObject> | undefined;
  private readonly informers: readonly Informer<KubernetesObject, RawObject>[];
  private readonly listeners = new Set<SnapshotListener>();
  private readonly log: Logger;
  private readonly keepAnnotations: ReadonlySet<string>;
  private current: PolicySnapshot = EMPTY;
  private emitted = false;
  private state: PolicySourceState = 'stopped';
  private stateSince = new Date();
  private timer: NodeJS.Timeout | undefined;
  private starting: Promise<void> | undefined;
  /** start() has made its first attempt at every resource. */
  private attempted = false;
  private snapshots = 0;
  private lastSnapshotAt: Date | undefined;
  private loggedIssues = new Set<string>();

  constructor(private readonly opts: KubePolicySourceOptions) {
    this.log = opts.log;
    this.keepAnnotations = new Set(opts.podAnnotations ?? [ANNOTATION_IP_ADDRS]);
    // Lists are read as raw JSON (raw-list.ts), as watch events arrive, so both convert alike.
    const make = <I>(kind: PolicyKind, path: string, resource: string, pick: (c: ReturnType<typeof convertObject>) => I | undefined, fieldSelector?: string): Informer<Kept<I>, RawObject> => {
      const inf: Informer<Kept<I>, RawObject> = new Informer<Kept<I>, RawObject>({
        kubeConfig: opts.kubeConfig, path, resource, list: rawLister<RawObject>(opts.kubeConfig, path, fieldSelector), log: opts.log, pageSize: opts.pageSize ?? 100,
        ...(fieldSelector !== undefined ? { fieldSelector } : {}),
        onChange: () => this.schedule(), onHealth: () => this.updateState(),
        transform: (raw) => this.keep(kind, raw, pick, inf),
        ...(opts.backoff ? { backoff: opts.backoff } : {}),
      });
      return inf;
    };
    const node = opts.podsOfNode;
    this.pods = make('Pod', '/api/v1/pods', 'pods', (c) => c.pod, node !== undefined ? `spec.nodeName=${node}` : undefined);
    if (node === undefined) {
      this.namespaces = make('Namespace', '/api/v1/namespaces', 'namespaces', (c) => c.namespace);
      this.policies = make('NetworkPolicy', '/apis/networking.k8s.io/v1/networkpolicies', 'networkpolicies.networking.k8s.io', (c) => c.policy);
      this.informers = [this.namespaces, this.pods, this.policies];
    } else {
      this.informers = [this.pods];
    }
  }

  /** Converts one API object into what the cache keeps; an unchanged conversion keeps the cached objects. */
  private keep<I>(kind: PolicyKind, raw: RawObject, pick: (c: ReturnType<typeof convertObject>) => I | undefined, inf: Informer<Kept<I>, RawObject>): Kept<I> {
    const m = raw.metadata ?? {};
    const name = m.name ?? '';
    const namespace = m.namespace !== undefined && m.namespace !== '' ? m.namespace : undefined;
    let info: I | undefined;
    let issue: ConvertIssue | undefined;
    try {
      const c = convertObject(raw, kind);
      info = pick(c);
      issue = c.issue;
    } catch (err) {
      issue = { path: '', message: `cannot convert: ${err instanceof Error ? err.message : String(err)}; ${kind} ignored`, object: `${kind} ${namespace ? `${namespace}/` : ''}${name}` };
    }
    let annotations: Record<string, string> | undefined;
    if (kind === 'Pod' && m.annotations) {
      for (const k of this.keepAnnotations) {
        const v = m.annotations[k];
        if (typeof v === 'string') (annotations ??= {})[k] = v;
      }
    }
    const prev = inf.get(name, namespace);
    if (prev) {
      if (isDeepStrictEqual(prev.info, info)) info = prev.info;
      if (isDeepStrictEqual(prev.issue, issue)) issue = prev.issue;
      if (isDeepStrictEqual(prev.annotations, annotations)) annotations = prev.annotations;
    }
    return {
      metadata: { name, ...(namespace !== undefined ? { namespace } : {}), ...(m.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}) },
      ...(info !== undefined ? { info } : {}),
      ...(issue !== undefined ? { issue } : {}),
      ...(annotations !== undefined ? { annotations } : {}),
    };
  }

  /**
   * Lists and watches the three resources. Resolves after the first attempt
   * at each (never throws for an unreachable API: see status()). When all
   * three were listed, the first snapshot has been emitted by then.
   */
  start(): Promise<void> {
    this.starting ??= (async () => {
      this.setState('starting');
      this.attempted = false;
      await Promise.all(this.informers.map((i) => i.start()));
      this.attempted = true;
      this.recompute();
      this.updateState();
    })();
    return this.starting;
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.setState('stopped');
    await Promise.all(this.informers.map((i) => i.stop()));
    this.starting = undefined;
  }

  onChange(fn: SnapshotListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The latest snapshot; empty until every resource has been listed (see ready). */
  get snapshot(): PolicySnapshot {
    return this.current;
  }

  /** True once the first snapshot was emitted (all three resources listed). */
  get ready(): boolean {
    return this.emitted;
  }

  /**
   * A pod's annotations in the allow-list (tortie.io/ip-addrs by default):
   * `{}` when it has none of them, undefined when the pod is not known.
   */
  pod(namespace: string, name: string): Readonly<Record<string, string>> | undefined {
    const p = this.pods.get(name, namespace);
    if (!p) return undefined;
    return p.annotations ?? {};
  }

  /**
   * pod(), for a CNI ADD that may race the watch: a pod not in the cache yet
   * is waited for up to `timeoutMs` (the kubelet calls the plugin moments
   * after the pod was created). Before the first sync, or when the pod is
   * still unknown while the API is unreachable, it throws
   * ERR_K8S_POLICY_SOURCE_NOT_SYNCED (the caller fails the ADD, to be
   * retried) rather than answer "no annotations". Undefined: the pod is
   * unknown to an API server in sync.
   */
  async podAnnotations(namespace: string, name: string, timeoutMs = 2000): Promise<Readonly<Record<string, string>> | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const a = this.pod(namespace, name);
      if (a !== undefined) return a;
      if (Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    if (!this.emitted || this.state === 'stale' || this.state === 'stopped') {
      const why = this.state === 'stopped' ? 'stopped (the agent is stopping)' : this.emitted ? 'stale (API unreachable)' : 'not synced yet';
      throw new TortieError('ERR_K8S_POLICY_SOURCE_NOT_SYNCED', `pod ${namespace}/${name} is not known and the Pod cache is ${why}`);
    }
    return undefined;
  }

  status(): PolicySourceStatus {
    const resources = this.informers.map((i) => i.status());
    const last = resources.filter((r) => r.lastErrorAt !== undefined).sort((a, b) => (a.lastErrorAt! < b.lastErrorAt! ? 1 : -1))[0];
    const s = this.current;
    return {
      state: this.state,
      synced: this.emitted,
      stale: this.state === 'stale',
      since: this.stateSince.toISOString(),
      server: this.opts.kubeConfig.getCurrentCluster()?.server ?? '',
      ...(last ? { lastError: `${last.resource}: ${last.lastError}`, lastErrorAt: last.lastErrorAt } : {}),
      namespaces: s.namespaces.length,
      pods: s.pods.length,
      policies: s.policies.length,
      issues: s.issues.length,
      snapshots: this.snapshots,
      ...(this.lastSnapshotAt ? { lastSnapshotAt: this.lastSnapshotAt.toISOString() } : {}),
      resources,
    };
  }

  private setState(s: PolicySourceState): void {
    if (s === this.state) return;
    const prev = this.state;
    this.state = s;
    this.stateSince = new Date();
    if (s === 'stale') this.log.warn({ from: prev }, 'Kubernetes API unreachable: keeping the last NetworkPolicy input (stale)');
    else if (s === 'synced') this.log.info({ from: prev }, 'NetworkPolicy input in sync with the Kubernetes API');
  }

  private updateState(): void {
    if (this.state === 'stopped') return;
    const h = combinedHealth(this.informers.map((i) => i.status()), { attempted: this.attempted, missingIsEmpty: false });
    if (h !== undefined) this.setState(h);
  }

  private schedule(): void {
    if (this.timer || this.state === 'stopped') return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.recompute();
    }, this.opts.debounceMs ?? 100);
    this.timer.unref();
  }

  /** Builds the snapshot from the caches; emits it when it differs from the last one. */
  private recompute(): void {
    this.updateState();
    if (this.state === 'stopped' || !this.informers.every((i) => i.status().synced)) return;
    const issues: SourceIssue[] = [];
    const collect = <I>(inf: Informer<Kept<I>, RawObject> | undefined): I[] => {
      if (inf === undefined) return [];
      const out: Kept<I>[] = [...inf.list()].sort((a, b) => byKey(a.metadata, b.metadata));
      for (const k of out) if (k.issue) issues.push(k.issue);
      return out.flatMap((k) => (k.info !== undefined ? [k.info] : []));
    };
    const next: PolicySnapshot = { namespaces: collect(this.namespaces), pods: collect(this.pods), policies: collect(this.policies), issues };
    const prev = this.current;
    if (this.emitted && sameElements(next.namespaces, prev.namespaces) && sameElements(next.pods, prev.pods)
      && sameElements(next.policies, prev.policies) && sameElements(next.issues, prev.issues)) return;
    this.current = next;
    this.emitted = true;
    this.snapshots++;
    this.lastSnapshotAt = new Date();
    this.log.info({ namespaces: next.namespaces.length, pods: next.pods.length, policies: next.policies.length, issues: next.issues.length }, 'NetworkPolicy input from the Kubernetes API');
    const seen = new Set<string>();
    for (const i of next.issues) {
      const text = `${i.object ?? ''}: ${i.path}: ${i.message}`;
      seen.add(text);
      if (!this.loggedIssues.has(text)) this.log.warn({ object: i.object, path: i.path }, i.message);
    }
    this.loggedIssues = seen;
    for (const fn of this.listeners) {
      try {
        fn(next);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'NetworkPolicy snapshot listener failed');
      }
    }
  }
}
