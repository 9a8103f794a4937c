/**
 * The datastore contract: keys, JSON values, and a revision per key that
 * changes on every write, with compare-and-swap on that revision. Nothing
 * else: no transactions across keys, no locks visible to callers. The
 * allocator builds everything it needs from these five calls and bounded
 * retries (ipam/allocator.ts).
 *
 * Implementations:
 *   - memory (ipam/datastore/store-memory.ts): tests, with injectable conflicts and failures
 *   - local (ipam/datastore/store-local.ts): files under the state directory, safe across processes
 *   - kubernetes (issue 7): one custom resource per key; `revision` is its resourceVersion
 *
 * Rules every implementation keeps:
 *   - A value read back is deep-equal to the value written (JSON round trip).
 *   - `revision` is opaque text; callers only hand it back. Two different
 *     writes of one key never return the same revision.
 *   - `create` fails with ERR_DATASTORE_CONFLICT when the key exists;
 *     `update` and `delete` fail with it when the key's revision is no longer
 *     the one given (including when the key is gone).
 *   - A write that returns has reached stable storage. A write that throws
 *     anything other than ERR_DATASTORE_CONFLICT may or may not have taken
 *     effect: the caller must read again before it decides anything.
 *   - `list(prefix)` returns every key that starts with `prefix`, sorted by key.
 */

export interface StoredValue {
  readonly key: string;
  readonly value: unknown;
  readonly revision: string;
}

/** A key and its current revision, without the value (Datastore.revisions). */
export interface KeyRevision {
  readonly key: string;
  readonly revision: string;
}

export interface Datastore {
  /** "memory", "local", "kubernetes": shown by tortiectl and in logs. */
  readonly kind: string;
  /** Where it lives, for messages (a directory, a cluster URL). */
  readonly location: string;
  get(key: string): Promise<StoredValue | undefined>;
  list(prefix: string): Promise<StoredValue[]>;
  /**
   * Optional, for callers that keep copies: the current revision of every
   * key that starts with `prefix`, sorted by key, without reading the
   * values, so that only what changed need be read (with `get`). It may
   * also list a deleted key (with the revision of its deletion), for which
   * `get` answers undefined. Costs a fraction of `list` where values are
   * large (the local store reads only directory entries).
   */
  revisions?(prefix: string): Promise<KeyRevision[]>;
  create(key: string, value: unknown): Promise<StoredValue>;
  update(key: string, value: unknown, revision: string): Promise<StoredValue>;
  delete(key: string, revision: string): Promise<void>;
  close(): Promise<void>;
}

export const DatastoreErrorCode = {
  /** Compare-and-swap lost: the key exists (create) or its revision moved on (update, delete). */
  Conflict: 'ERR_DATASTORE_CONFLICT',
  /** The store could not be reached or written; the outcome of a write is unknown. */
  Unavailable: 'ERR_DATASTORE_UNAVAILABLE',
  /** A stored value cannot be read back (not JSON, truncated). */
  Corrupt: 'ERR_DATASTORE_CORRUPT',
  /** A key that no implementation can store (empty, "..", absolute). */
  BadKey: 'ERR_DATASTORE_BAD_KEY',
} as const;

/** Keys are "kind/name" segments of [A-Za-z0-9._-], no "." or ".." segments. */
export function isValidKey(key: string): boolean {
  if (key === '' || key.length > 250) return false;
  return key.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..' && /^[A-Za-z0-9._-]+$/.test(seg));
}
