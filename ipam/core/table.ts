/**
 * Blocks in memory: the cache of what the datastore last confirmed
 * (BlockCache, with indexes by affinity, by handle and by holder), and a
 * working set over it (WorkingSet) where a batch of operations makes its
 * changes before they are written. The cache changes only when a write has
 * succeeded; a failed batch throws its working set away.
 *
 * Pure.
 */
import { BlockView, type BlockDoc } from './block.js';

/** What planning code reads and writes. */
export interface BlockTable {
  get(cidr: string): BlockView | undefined;
  put(doc: BlockDoc): void;
  remove(cidr: string): void;
  all(): BlockView[];
  affineTo(node: string): BlockView[];
  withHandle(handle: string): BlockView[];
  /** Blocks holding at least one allocation whose attrs.node is `node`. */
  heldBy(node: string): BlockView[];
}

export interface CachedBlock {
  readonly view: BlockView;
  readonly revision: string;
}

function addTo(index: Map<string, Set<string>>, k: string, cidr: string): void {
  let s = index.get(k);
  if (s === undefined) index.set(k, (s = new Set()));
  s.add(cidr);
}

function removeFrom(index: Map<string, Set<string>>, k: string, cidr: string): void {
  const s = index.get(k);
  if (s === undefined) return;
  s.delete(cidr);
  if (s.size === 0) index.delete(k);
}

/** Moves `cidr` in `index` from the keys of `before` to those of `after`. */
function reindex(index: Map<string, Set<string>>, cidr: string, before: readonly string[], after: readonly string[]): void {
  const keep = new Set(after);
  for (const k of new Set(before)) if (!keep.delete(k)) removeFrom(index, k, cidr);
  for (const k of keep) addTo(index, k, cidr);
}

function byBase(a: BlockView, b: BlockView): number {
  if (a.cidr.family !== b.cidr.family) return a.cidr.family - b.cidr.family;
  return a.cidr.base < b.cidr.base ? -1 : a.cidr.base > b.cidr.base ? 1 : a.cidr.len - b.cidr.len;
}

export class BlockCache {
  private readonly blocks = new Map<string, CachedBlock>();
  private readonly byAffinity = new Map<string, Set<string>>();
  private readonly byHandle = new Map<string, Set<string>>();
  private readonly byHolder = new Map<string, Set<string>>();

  get size(): number {
    return this.blocks.size;
  }

  entry(cidr: string): CachedBlock | undefined {
    return this.blocks.get(cidr);
  }

  set(doc: BlockDoc, revision: string): void {
    const before = this.blocks.get(doc.cidr)?.view.doc;
    this.blocks.set(doc.cidr, { view: new BlockView(doc), revision });
    // Only the differences touch the indexes: a write usually adds or drops one allocation of 64.
    if (before?.affinity !== doc.affinity) {
      if (before !== undefined && before.affinity !== null) removeFrom(this.byAffinity, before.affinity, doc.cidr);
      if (doc.affinity !== null) addTo(this.byAffinity, doc.affinity, doc.cidr);
    }
    reindex(this.byHandle, doc.cidr, before?.allocations.map((a) => a.handle) ?? [], doc.allocations.map((a) => a.handle));
    reindex(this.byHolder, doc.cidr, before?.allocations.map((a) => a.attrs.node) ?? [], doc.allocations.map((a) => a.attrs.node));
  }

  delete(cidr: string): void {
    const old = this.blocks.get(cidr);
    if (old === undefined) return;
    this.blocks.delete(cidr);
    const doc = old.view.doc;
    if (doc.affinity !== null) removeFrom(this.byAffinity, doc.affinity, cidr);
    for (const a of doc.allocations) {
      removeFrom(this.byHandle, a.handle, cidr);
      removeFrom(this.byHolder, a.attrs.node, cidr);
    }
  }

  /** Replaces everything with a fresh listing. */
  replaceAll(entries: Iterable<{ doc: BlockDoc; revision: string }>): void {
    for (const cidr of [...this.blocks.keys()]) this.delete(cidr);
    for (const e of entries) this.set(e.doc, e.revision);
  }

  cidrs(): IterableIterator<string> {
    return this.blocks.keys();
  }

  views(): BlockView[] {
    return [...this.blocks.values()].map((e) => e.view).sort(byBase);
  }

  indexed(index: 'affinity' | 'handle' | 'holder', k: string): ReadonlySet<string> {
    const m = index === 'affinity' ? this.byAffinity : index === 'handle' ? this.byHandle : this.byHolder;
    return m.get(k) ?? new Set();
  }
}

/**
 * Changes on top of a cache. `checkpoint()`/`rollback()` let one operation
 * of a batch fail without undoing the others.
 */
export class WorkingSet implements BlockTable {
  private dirty = new Map<string, BlockView | null>();

  constructor(private readonly base: BlockCache) {}

  get(cidr: string): BlockView | undefined {
    const d = this.dirty.get(cidr);
    if (d !== undefined) return d ?? undefined;
    return this.base.entry(cidr)?.view;
  }

  put(doc: BlockDoc): void {
    this.dirty.set(doc.cidr, new BlockView(doc));
  }

  remove(cidr: string): void {
    this.dirty.set(cidr, null);
  }

  all(): BlockView[] {
    const out: BlockView[] = [];
    for (const cidr of this.base.cidrs()) {
      const v = this.get(cidr);
      if (v !== undefined) out.push(v);
    }
    for (const [cidr, v] of this.dirty) if (v !== null && this.base.entry(cidr) === undefined) out.push(v);
    return out.sort(byBase);
  }

  private lookup(index: 'affinity' | 'handle' | 'holder', k: string, keep: (v: BlockView) => boolean): BlockView[] {
    const out: BlockView[] = [];
    const seen = new Set<string>();
    for (const cidr of [...this.base.indexed(index, k), ...this.dirty.keys()]) {
      if (seen.has(cidr)) continue;
      seen.add(cidr);
      const v = this.get(cidr);
      if (v !== undefined && keep(v)) out.push(v);
    }
    return out.sort(byBase);
  }

  affineTo(node: string): BlockView[] {
    return this.lookup('affinity', node, (v) => v.doc.affinity === node);
  }

  withHandle(handle: string): BlockView[] {
    return this.lookup('handle', handle, (v) => v.doc.allocations.some((a) => a.handle === handle));
  }

  heldBy(node: string): BlockView[] {
    return this.lookup('holder', node, (v) => v.doc.allocations.some((a) => a.attrs.node === node));
  }

  checkpoint(): Map<string, BlockView | null> {
    return new Map(this.dirty);
  }

  rollback(cp: Map<string, BlockView | null>): void {
    this.dirty = new Map(cp);
  }

  /** The changed blocks: a doc to write, or null to delete. */
  changes(): [string, BlockDoc | null][] {
    return [...this.dirty].map(([cidr, v]) => [cidr, v === null ? null : v.doc]);
  }
}
