/**
 * Adj-RIB-In for one peer: what the peer announced, per prefix (and per
 * add-path id), after import policy.
 *
 * The accepted paths live in the Loc-RIB's table as this peer's candidates
 * (see loc-rib.ts for why there is one table); this class is the peer's
 * view of it and the single way in: accept(), reject() and withdraw()
 * update the Loc-RIB and return its RibChange. It adds what is per peer:
 * the shared Path objects (pathFor), the received/accepted/stale counters,
 * the prefixes import policy rejected (for the received count), and
 * graceful restart.
 *
 * Graceful restart (RFC 4724 §4.2): when the session of a restarting peer
 * drops, markAllStale() keeps its paths but flags them; each path the peer
 * sends again replaces its stale one; sweepStale() removes what is left
 * once End-of-RIB arrives or the restart timer fires.
 *
 * The per-peer walks (markAllStale, sweepStale, clear, accepted) visit the
 * whole Loc-RIB; they run on session events, not per UPDATE.
 */
import type { LocRib, RibChange } from './loc-rib.js';
import { makePath, type Path, type PathAttrs, type PeerInfo } from './path.js';

function rejectKey(prefix: string, pathId: number): string {
  return pathId === 0 ? prefix : `${prefix}#${pathId}`;
}

export class AdjRibIn {
  private pathCache = new WeakMap<PathAttrs, Path>();
  private pathCacheById = new WeakMap<PathAttrs, Map<number, Path>>();
  /** Announced but rejected by import policy ("prefix" or "prefix#pathId"). */
  private readonly rejected = new Set<string>();
  private acceptedN = 0;
  private staleN = 0;

  constructor(
    readonly peer: PeerInfo,
    readonly locRib: LocRib,
  ) {}

  /** Prefixes (and path ids) the peer currently announces, accepted or not. */
  get receivedCount(): number {
    return this.acceptedN + this.rejected.size;
  }

  /** Of those, the ones import policy accepted. */
  get acceptedCount(): number {
    return this.acceptedN;
  }

  /** Accepted paths still waiting to be refreshed after a restart. */
  get staleCount(): number {
    return this.staleN;
  }

  /**
   * The Path object for these attributes from this peer. Every prefix with
   * the same (interned) attributes and path id gets the same object, so the
   * per-prefix cost in the RIB is one map slot.
   */
  pathFor(attrs: PathAttrs, pathId?: number): Path {
    if (pathId === undefined) {
      let p = this.pathCache.get(attrs);
      if (p === undefined) {
        p = makePath(attrs, this.peer);
        this.pathCache.set(attrs, p);
      }
      return p;
    }
    let byId = this.pathCacheById.get(attrs);
    if (byId === undefined) {
      byId = new Map();
      this.pathCacheById.set(attrs, byId);
    }
    let p = byId.get(pathId);
    if (p === undefined) {
      p = makePath(attrs, this.peer, pathId);
      byId.set(pathId, p);
    }
    return p;
  }

  /** The peer announced `prefix` with `path` and import policy accepted it. */
  accept(prefix: string, path: Path): RibChange | undefined {
    const pathId = path.pathId ?? 0;
    if (this.rejected.size > 0) this.rejected.delete(rejectKey(prefix, pathId));
    const change = this.locRib.update(prefix, this.peer.peerId, path, pathId);
    const prev = this.locRib.lastPrevious;
    if (prev === undefined) this.acceptedN++;
    else if (prev.stale) this.staleN--;
    if (path.stale) this.staleN++;
    return change;
  }

  /** The peer announced `prefix` but import policy rejected it. */
  reject(prefix: string, pathId = 0): RibChange | undefined {
    this.rejected.add(rejectKey(prefix, pathId));
    return this.remove(prefix, pathId);
  }

  /** The peer withdrew `prefix`. */
  withdraw(prefix: string, pathId = 0): RibChange | undefined {
    if (this.rejected.size > 0) this.rejected.delete(rejectKey(prefix, pathId));
    return this.remove(prefix, pathId);
  }

  /** The accepted path for `prefix` (and path id), if any. */
  get(prefix: string, pathId = 0): Path | undefined {
    return this.locRib.candidateOf(prefix, this.peer.peerId, pathId);
  }

  /** True when the peer announces `prefix` (accepted or rejected). */
  has(prefix: string, pathId = 0): boolean {
    return this.rejected.has(rejectKey(prefix, pathId)) || this.get(prefix, pathId) !== undefined;
  }

  /** [prefix, path] for every accepted path (walks the Loc-RIB). */
  accepted(): IterableIterator<[string, Path]> {
    return this.locRib.candidatesOf(this.peer.peerId);
  }

  /**
   * The session went down and the peer is restarting: flag every accepted
   * path stale. Rejected entries are forgotten (they route nothing; the peer
   * will announce them again). Returns the number of stale paths.
   */
  markAllStale(): number {
    for (const [, path] of this.accepted()) path.stale = true;
    this.rejected.clear();
    // Paths sent again after the restart must be new, fresh objects.
    this.pathCache = new WeakMap();
    this.pathCacheById = new WeakMap();
    this.staleN = this.acceptedN;
    return this.staleN;
  }

  /**
   * The peer begins re-sending one family (RFC 7313 Beginning-of-Route-
   * Refresh): flag the accepted paths whose prefix `inFamily` accepts as
   * stale, until they come again or sweepStaleWhere() removes them.
   * Returns how many paths became stale.
   */
  markStaleWhere(inFamily: (prefix: string) => boolean): number {
    // Path objects are shared by the prefixes that arrived with the same
    // attributes (and the attributes carry the family's next hop, so one
    // object does not span families). Count prefixes, not objects.
    let n = 0;
    const flagged = new Set<Path>();
    for (const [prefix, path] of this.accepted()) {
      if (!inFamily(prefix)) continue;
      if (!path.stale) {
        path.stale = true;
        flagged.add(path);
      }
      if (flagged.has(path)) n++;
    }
    // As in markAllStale(): paths sent again must be new objects, not the stale ones.
    this.pathCache = new WeakMap();
    this.pathCacheById = new WeakMap();
    this.staleN += n;
    return n;
  }

  /** Removes the stale paths whose prefix `inFamily` accepts (End-of-Route-Refresh). */
  sweepStaleWhere(inFamily: (prefix: string) => boolean): RibChange[] {
    if (this.staleN === 0) return [];
    const doomed: [string, Path][] = [];
    for (const entry of this.accepted()) if (entry[1].stale && inFamily(entry[0])) doomed.push(entry);
    const changes: RibChange[] = [];
    for (const [prefix, path] of doomed) {
      const c = this.remove(prefix, path.pathId ?? 0);
      if (c !== undefined) changes.push(c);
    }
    return changes;
  }

  /**
   * Removes every path still stale (End-of-RIB received, or the restart
   * time ran out). Returns the Loc-RIB changes, to export and install.
   */
  sweepStale(): RibChange[] {
    if (this.staleN === 0) return [];
    return this.removeAll(true);
  }

  /** Removes everything (session down without graceful restart). Returns the Loc-RIB changes. */
  clear(): RibChange[] {
    this.rejected.clear();
    return this.removeAll(false);
  }

  private removeAll(onlyStale: boolean): RibChange[] {
    const doomed: [string, Path][] = [];
    for (const entry of this.accepted()) if (!onlyStale || entry[1].stale) doomed.push(entry);
    const changes: RibChange[] = [];
    for (const [prefix, path] of doomed) {
      const c = this.remove(prefix, path.pathId ?? 0);
      if (c !== undefined) changes.push(c);
    }
    return changes;
  }

  private remove(prefix: string, pathId: number): RibChange | undefined {
    const change = this.locRib.update(prefix, this.peer.peerId, undefined, pathId);
    const prev = this.locRib.lastPrevious;
    if (prev !== undefined) {
      this.acceptedN--;
      if (prev.stale) this.staleN--;
    }
    return change;
  }
}
