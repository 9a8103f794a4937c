/**
 * Adj-RIB-Out for one peer: the attributes last advertised for each prefix.
 * The speaker asks it before sending, so a change that leaves the exported
 * attributes as they were sends nothing, and a withdrawal of something never
 * advertised sends nothing. Route refresh re-sends its contents.
 *
 * Attributes are compared by identity first (interned sets are one object)
 * and by `key` otherwise.
 *
 * Cost: one PrefixTable of the peer's advertised prefixes (about 26 MB and
 * a few hundred ns per change at a million). exportDelta() in export.ts
 * decides what to send without it.
 */
import type { PathAttrs } from './path.js';
import { PrefixTable } from './prefix-table.js';

export class AdjRibOut {
  private readonly table = new PrefixTable<PathAttrs>();

  constructor(readonly peerId: string) {}

  /** Prefixes currently advertised. */
  get size(): number {
    return this.table.size;
  }

  /**
   * Records `attrs` as advertised for `prefix`. Returns true when the peer
   * must be sent an UPDATE (new prefix or different attributes), false for
   * a duplicate.
   */
  advertise(prefix: string, attrs: PathAttrs): boolean {
    const prev = this.table.get(prefix);
    if (prev === attrs) return false;
    this.table.set(prefix, attrs);
    return prev === undefined || prev.key !== attrs.key;
  }

  /** Forgets `prefix`. Returns true when it had been advertised (a withdrawal must be sent). */
  withdraw(prefix: string): boolean {
    return this.table.delete(prefix);
  }

  get(prefix: string): PathAttrs | undefined {
    return this.table.get(prefix);
  }

  entries(): IterableIterator<[string, PathAttrs]> {
    return this.table.entries();
  }

  /** Advertised prefixes grouped by attribute set, ready to pack into UPDATEs (route refresh). */
  groupByAttrs(): Map<PathAttrs, string[]> {
    const groups = new Map<PathAttrs, string[]>();
    for (const [prefix, attrs] of this.table) {
      let g = groups.get(attrs);
      if (g === undefined) groups.set(attrs, (g = []));
      g.push(prefix);
    }
    return groups;
  }

  /** Forgets everything (session down). */
  clear(): void {
    this.table.clear();
  }
}
