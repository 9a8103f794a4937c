/**
 * A selection: the pods one peer (or one named-port candidate list)
 * picks, kept up to date by deltas. A pod add, change or removal costs one
 * predicate call per selection; only a new selection, or a namespace label
 * change for selections that use a namespaceSelector, scans all pods.
 * `version` changes whenever the membership or a member changes, so the
 * sets built from a selection know when to rebuild.
 */
import type { LabelSelector, Labels } from './model.js';
import type { NormPod, PodIp } from './pods.js';
import { cmp, type PodSelectionSpec } from './rules.js';
import { matchesSelector } from './selector.js';

export class Selection {
  readonly members = new Map<string, NormPod>();
  version = 0;
  private sorted: NormPod[] | undefined;

  constructor(
    readonly key: string,
    readonly describe: string,
    readonly match: (pod: NormPod) => boolean,
    /** True when membership depends on namespace labels. */
    readonly usesNamespaceLabels: boolean,
    /** Limits a full scan to one namespace. */
    readonly namespace: string | undefined,
    /** Only these addresses of a member count (pods inside an ipBlock). */
    readonly ipFilter?: (ip: PodIp) => boolean,
  ) {}

  /** Rebuilds membership from scratch. */
  scan(all: readonly NormPod[], byNs: ReadonlyMap<string, readonly NormPod[]>, version: number): void {
    this.members.clear();
    const pods = this.namespace !== undefined ? (byNs.get(this.namespace) ?? []) : all;
    for (const p of pods) if (this.match(p)) this.members.set(p.key, p);
    this.version = version;
    this.sorted = undefined;
  }

  /** Applies changed (added or modified) and removed pods; returns true when anything changed. */
  update(changed: readonly NormPod[], removed: readonly string[], version: number): boolean {
    let dirty = false;
    for (const key of removed) if (this.members.delete(key)) dirty = true;
    for (const p of changed) {
      const had = this.members.has(p.key);
      if (this.match(p)) {
        this.members.set(p.key, p);
        dirty = true;
      } else if (had) {
        this.members.delete(p.key);
        dirty = true;
      }
    }
    if (dirty) {
      this.version = version;
      this.sorted = undefined;
    }
    return dirty;
  }

  /** Members in key order. */
  pods(): readonly NormPod[] {
    this.sorted ??= [...this.members.values()].sort((a, b) => cmp(a.key, b.key));
    return this.sorted;
  }
}

/** The predicate of a pod peer: namespace (by name or by labels) and pod labels. */
export function podPeerPredicate(spec: PodSelectionSpec, nsLabels: ReadonlyMap<string, Labels>): (pod: NormPod) => boolean {
  const podSel: LabelSelector | undefined = spec.podSelector;
  const nsSel = spec.namespaceSelector;
  if (nsSel === undefined) {
    const ns = spec.namespace;
    return (pod) => pod.namespace === ns && (podSel === undefined || matchesSelector(podSel, pod.labels));
  }
  return (pod) => {
    const labels = nsLabels.get(pod.namespace);
    return labels !== undefined && matchesSelector(nsSel, labels) && (podSel === undefined || matchesSelector(podSel, pod.labels));
  };
}
