/**
 * Hash-consing of attribute sets: equal `PathAttrs` (same `key`) become one
 * object. Peers that announce the same attributes, UPDATEs that repeat a
 * set, and export or policy results that come out equal all share memory,
 * and "did the attributes change?" becomes an identity test.
 *
 * Entries are held weakly, so a set no route uses any more can be
 * collected; dead entries are swept whenever the table has doubled since
 * the last sweep. Which object comes back is never observable other than
 * through identity, so the interner does not make its callers impure.
 */
import type { PathAttrs } from './path.js';

export class AttrsInterner {
  private readonly table = new Map<string, WeakRef<PathAttrs>>();
  private sweepAt = 1024;

  /** The canonical object equal to `attrs` (possibly `attrs` itself). */
  intern(attrs: PathAttrs): PathAttrs {
    const ref = this.table.get(attrs.key);
    if (ref !== undefined) {
      const found = ref.deref();
      if (found !== undefined) return found;
    }
    this.table.set(attrs.key, new WeakRef(attrs));
    if (this.table.size >= this.sweepAt) this.sweep();
    return attrs;
  }

  /** Entries held, live or not yet swept. */
  get size(): number {
    return this.table.size;
  }

  /** Drops entries whose attribute set has been collected. */
  sweep(): void {
    for (const [key, ref] of this.table) if (ref.deref() === undefined) this.table.delete(key);
    this.sweepAt = Math.max(1024, this.table.size * 2);
  }
}
