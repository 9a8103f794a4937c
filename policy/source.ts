/**
 * What the agent's PolicyHost (agent/policy-host.ts) reads its input from:
 * a source of ClusterState snapshots. Two implement it: the manifest
 * directory (manifest-source.ts) and the Kubernetes API
 * (agent/k8s/policy-source.ts).
 */
import type { ClusterState } from './compile/model.js';

/**
 * A problem with one input object. A manifest's has a file and a position;
 * an API object's has none (`object` names it, e.g. `NetworkPolicy x/p`).
 */
export interface SourceIssue {
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  readonly object?: string;
  /** The field, e.g. `spec.ingress[0].from`; '' for the whole object. */
  readonly path: string;
  readonly message: string;
}

export interface PolicySnapshot extends ClusterState {
  readonly issues: readonly SourceIssue[];
}

export type SnapshotListener = (s: PolicySnapshot) => void;

export interface PolicySource {
  /** The latest snapshot (empty until the first; see `ready`). */
  readonly snapshot: PolicySnapshot;
  /**
   * False until the snapshot is real data (for the Kubernetes source: every
   * resource listed once). A host must not program from a snapshot that is
   * not ready: empty input would remove the rules of running pods.
   * Absent means always ready after start().
   */
  readonly ready?: boolean;
  /** Calls `fn` with every new snapshot; returns the unsubscribe function. */
  onChange(fn: SnapshotListener): () => void;
  /** Starts reading; resolves after the first attempt. Calling it again while started does nothing. */
  start(): Promise<unknown>;
  stop(): void | Promise<void>;
}

/** `file:line:col: object: path: message`, leaving out what the issue does not have. */
export function formatSourceIssue(i: SourceIssue): string {
  const at = i.file !== undefined ? `${i.file}${i.line !== undefined ? `:${i.line}:${i.column ?? 1}` : ''}: ` : '';
  return `${at}${i.object ? `${i.object}: ` : ''}${i.path ? `${i.path}: ` : ''}${i.message}`;
}
