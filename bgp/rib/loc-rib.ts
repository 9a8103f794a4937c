/**
 * The Loc-RIB: for every prefix, the candidate paths from all peers (and
 * our own originations), the best one and the ECMP set.
 *
 * This is the one prefix-keyed table of the speaker. The candidates of a
 * prefix are exactly what the peers' Adj-RIBs-In hold after import policy,
 * so AdjRibIn (adj-rib-in.ts) is a per-peer view onto this table instead of
 * a second full-table map: at a million prefixes each extra table costs
 * tens of MB and a few hundred ns per prefix, which the convergence target
 * cannot afford. BIRD makes the same choice. The table is a PrefixTable
 * (prefix-table.ts), not a Map<string>, for the same reason.
 *
 * Storage is shaped for full tables. A prefix with exactly one candidate,
 * which is eligible, maps straight to that `Path` (shared by every prefix of
 * the same UPDATE, so the entry costs the table slot only). Two candidates
 * (a dual-homed rack) take a small `Duo` object and no arrays. Only three
 * or more candidates, or one ineligible candidate, get a `MultiEntry`.
 *
 * update() reports what changed for the prefix so that the speaker exports
 * and installs changes only. Iteration order is unspecified; do not update
 * while iterating (copy first, as recomputeAll does).
 */
import { TortieError } from '../../lib/errors.js';
import { bestOfTwo, bestPath, BestPathReason, isEligible, type BestPathOptions, type BestPathResult } from './best-path.js';
import type { Path } from './path.js';
import { PrefixTable } from './prefix-table.js';

export enum RibChangeKind {
  /** The prefix had no best path and now has one. */
  Added = 'added',
  /** The best path is a different path object (other peer or new attributes). */
  Changed = 'changed',
  /** The prefix had a best path and now has none. */
  Withdrawn = 'withdrawn',
  /** The best path is the same, the ECMP set is not. */
  Multipath = 'multipath',
}

export interface RibChange {
  prefix: string;
  kind: RibChangeKind;
  best: Path | undefined;
  previous: Path | undefined;
  /** Why `best` won (NoEligiblePath when there is none). */
  reason: BestPathReason;
  /** The ECMP set differs from before (always true when the best changed to or from nothing). */
  multipathChanged: boolean;
}

/** A prefix's full decision state, as lookup() returns it. */
export interface LocRibEntry extends BestPathResult {
  candidates: readonly Path[];
}

/** Exactly two candidates (dual-homed ToRs, two reflectors): no arrays. */
class Duo {
  constructor(
    public a: Path,
    public b: Path,
    public best: Path | undefined,
    /** Both paths form the ECMP set. */
    public ecmp: boolean,
  ) {}
}

/** Three or more candidates, or one that is not eligible. */
class MultiEntry {
  constructor(
    public candidates: Path[],
    public best: Path | undefined,
    /** Undefined stands for [best] (or [] without a best): no array for the common case. */
    public multipath: Path[] | undefined,
  ) {}
}

type Slot = Path | Duo | MultiEntry;

const NONE: readonly Path[] = Object.freeze([]);

function sameCandidate(p: Path, peerId: string, pathId: number): boolean {
  return p.source.peerId === peerId && (p.pathId ?? 0) === pathId;
}

function sameSet(a: readonly Path[], b: readonly Path[]): boolean {
  if (a.length !== b.length) return false;
  for (const p of a) if (!b.includes(p)) return false;
  return true;
}

function mpOf(e: Duo | MultiEntry): readonly Path[] {
  if (e instanceof Duo) {
    if (e.best === undefined) return NONE;
    if (!e.ecmp) return [e.best];
    return e.best === e.a ? [e.a, e.b] : [e.b, e.a];
  }
  if (e.multipath !== undefined) return e.multipath;
  return e.best !== undefined ? [e.best] : NONE;
}

function candidatesIn(e: Duo | MultiEntry): Path[] {
  return e instanceof Duo ? [e.a, e.b] : e.candidates;
}

function isSingle(slot: Slot): slot is Path {
  return !(slot instanceof MultiEntry) && !(slot instanceof Duo);
}

export class LocRib {
  private readonly table = new PrefixTable<Slot>();

  /**
   * The candidate that the last update() replaced or removed (the same
   * peer and path id), or undefined when there was none. AdjRibIn keeps its
   * counters with it; it saves a second lookup per prefix.
   */
  lastPrevious: Path | undefined;

  constructor(readonly options: BestPathOptions = {}) {}

  /** Number of prefixes with at least one candidate. */
  get size(): number {
    return this.table.size;
  }

  /**
   * Sets (path given) or removes (undefined) the candidate of `peerId` with
   * add-path id `pathId` for `prefix`, reruns the decision process and says
   * what changed, or undefined when the best path and ECMP set did not.
   */
  update(prefix: string, peerId: string, path: Path | undefined, pathId = path?.pathId ?? 0): RibChange | undefined {
    if (path !== undefined && path.source.peerId !== peerId) {
      throw new TortieError('ERR_RIB_PEER_MISMATCH', `path from ${path.source.peerId} offered as ${peerId}`);
    }
    this.lastPrevious = undefined;
    const slot = this.table.get(prefix);

    if (slot === undefined) {
      if (path === undefined) return undefined;
      if (isEligible(path, this.options)) {
        this.table.set(prefix, path);
        return change(prefix, RibChangeKind.Added, path, undefined, BestPathReason.OnlyPath, true);
      }
      this.table.set(prefix, new MultiEntry([path], undefined, undefined));
      return undefined;
    }

    if (isSingle(slot)) {
      // One eligible candidate, which is the best.
      if (sameCandidate(slot, peerId, pathId)) {
        this.lastPrevious = slot;
        if (path === undefined) {
          this.table.delete(prefix);
          return change(prefix, RibChangeKind.Withdrawn, undefined, slot, BestPathReason.NoEligiblePath, true);
        }
        if (path === slot) return undefined;
        if (isEligible(path, this.options)) {
          this.table.set(prefix, path);
          return change(prefix, RibChangeKind.Changed, path, slot, BestPathReason.OnlyPath, true);
        }
        this.table.set(prefix, new MultiEntry([path], undefined, undefined));
        return change(prefix, RibChangeKind.Withdrawn, undefined, slot, BestPathReason.NoEligiblePath, true);
      }
      if (path === undefined) return undefined;
      return this.decide(prefix, [slot, path], slot, [slot]);
    }

    const cands = candidatesIn(slot);
    const i = cands.findIndex((p) => sameCandidate(p, peerId, pathId));
    let next: Path[];
    if (i < 0) {
      if (path === undefined) return undefined;
      next = cands.concat(path);
    } else {
      this.lastPrevious = cands[i];
      if (path === undefined) {
        next = cands.filter((_, k) => k !== i);
      } else {
        if (cands[i] === path) return undefined;
        next = slot instanceof Duo ? cands : cands.slice();
        next[i] = path;
      }
    }
    return this.decide(prefix, next, slot.best, mpOf(slot));
  }

  /**
   * Reruns the decision for `prefix` with the same candidates, for when
   * something outside the paths changed (next-hop reachability, options).
   */
  recompute(prefix: string): RibChange | undefined {
    const slot = this.table.get(prefix);
    if (slot === undefined) return undefined;
    if (isSingle(slot)) return this.decide(prefix, [slot], slot, [slot]);
    return this.decide(prefix, candidatesIn(slot), slot.best, mpOf(slot));
  }

  /** recompute() for every prefix; returns the changes. */
  recomputeAll(): RibChange[] {
    const out: RibChange[] = [];
    for (const prefix of [...this.table.keys()]) {
      const c = this.recompute(prefix);
      if (c !== undefined) out.push(c);
    }
    return out;
  }

  private decide(prefix: string, candidates: Path[], oldBest: Path | undefined, oldMp: readonly Path[]): RibChange | undefined {
    if (candidates.length === 2) return this.decideTwo(prefix, candidates[0], candidates[1], oldBest, oldMp);
    let best: Path | undefined;
    let reason: BestPathReason;
    let mp: readonly Path[];
    if (candidates.length === 0) {
      this.table.delete(prefix);
      best = undefined;
      reason = BestPathReason.NoEligiblePath;
      mp = NONE;
    } else {
      const r = bestPath(candidates, this.options);
      best = r.best;
      reason = r.reason;
      mp = r.multipath;
      if (candidates.length === 1 && best !== undefined) {
        this.table.set(prefix, best);
      } else {
        this.table.set(prefix, new MultiEntry(candidates, best, mp.length > 1 ? r.multipath : undefined));
      }
    }
    const mpChanged = !sameSet(oldMp, mp);
    if (best === oldBest) {
      return mpChanged ? change(prefix, RibChangeKind.Multipath, best, oldBest, reason, true) : undefined;
    }
    const kind = oldBest === undefined ? RibChangeKind.Added : best === undefined ? RibChangeKind.Withdrawn : RibChangeKind.Changed;
    return change(prefix, kind, best, oldBest, reason, mpChanged);
  }

  /** decide() for two candidates, stored as a Duo, with no intermediate arrays. */
  private decideTwo(prefix: string, a: Path, b: Path, oldBest: Path | undefined, oldMp: readonly Path[]): RibChange | undefined {
    const r = bestOfTwo(a, b, this.options);
    const best = r.best;
    this.table.set(prefix, new Duo(a, b, best, r.ecmp));
    const newMpSize = best === undefined ? 0 : r.ecmp ? 2 : 1;
    const mpChanged =
      oldMp.length !== newMpSize ||
      (best !== undefined && !oldMp.includes(best)) ||
      (r.ecmp && !oldMp.includes(best === a ? b : a));
    if (best === oldBest) {
      return mpChanged ? change(prefix, RibChangeKind.Multipath, best, oldBest, r.reason, true) : undefined;
    }
    const kind = oldBest === undefined ? RibChangeKind.Added : best === undefined ? RibChangeKind.Withdrawn : RibChangeKind.Changed;
    return change(prefix, kind, best, oldBest, r.reason, mpChanged);
  }

  /** The best path for `prefix`, if any. */
  best(prefix: string): Path | undefined {
    const slot = this.table.get(prefix);
    if (slot === undefined) return undefined;
    return isSingle(slot) ? slot : slot.best;
  }

  /** The ECMP set for `prefix`, best first ([] when there is no best). */
  multipath(prefix: string): readonly Path[] {
    const slot = this.table.get(prefix);
    if (slot === undefined) return NONE;
    return isSingle(slot) ? [slot] : mpOf(slot);
  }

  /** Every candidate for `prefix`, eligible or not. */
  candidates(prefix: string): readonly Path[] {
    const slot = this.table.get(prefix);
    if (slot === undefined) return NONE;
    return isSingle(slot) ? [slot] : candidatesIn(slot);
  }

  /** The candidate of one peer (and add-path id) for `prefix`. */
  candidateOf(prefix: string, peerId: string, pathId = 0): Path | undefined {
    const slot = this.table.get(prefix);
    if (slot === undefined) return undefined;
    if (isSingle(slot)) return sameCandidate(slot, peerId, pathId) ? slot : undefined;
    return candidatesIn(slot).find((p) => sameCandidate(p, peerId, pathId));
  }

  /** Candidates, best and ECMP set of `prefix`, with the reason (recomputed: it is not stored). */
  lookup(prefix: string): LocRibEntry | undefined {
    const slot = this.table.get(prefix);
    if (slot === undefined) return undefined;
    if (isSingle(slot)) {
      return { best: slot, reason: BestPathReason.OnlyPath, multipath: [slot], candidates: [slot] };
    }
    const candidates = candidatesIn(slot);
    const r = bestPath(candidates, this.options);
    return { best: slot.best, reason: r.reason, multipath: mpOf(slot).slice(), candidates: candidates.slice() };
  }

  /** [prefix, best] for every prefix that has a best path. */
  *bestPaths(): IterableIterator<[string, Path]> {
    for (const [prefix, slot] of this.table) {
      if (isSingle(slot)) yield [prefix, slot];
      else if (slot.best !== undefined) yield [prefix, slot.best];
    }
  }

  /**
   * [prefix, path] for every candidate from `peerId`. Walks the whole
   * table: for per-peer operations that are rare (session down, graceful
   * restart, show commands), never for per-UPDATE work.
   */
  *candidatesOf(peerId: string): IterableIterator<[string, Path]> {
    for (const [prefix, slot] of this.table) {
      if (isSingle(slot)) {
        if (slot.source.peerId === peerId) yield [prefix, slot];
      } else if (slot instanceof Duo) {
        if (slot.a.source.peerId === peerId) yield [prefix, slot.a];
        if (slot.b.source.peerId === peerId) yield [prefix, slot.b];
      } else {
        for (const p of slot.candidates) if (p.source.peerId === peerId) yield [prefix, p];
      }
    }
  }

  /** Every prefix with at least one candidate. */
  prefixes(): IterableIterator<string> {
    return this.table.keys();
  }
}

function change(
  prefix: string,
  kind: RibChangeKind,
  best: Path | undefined,
  previous: Path | undefined,
  reason: BestPathReason,
  multipathChanged: boolean,
): RibChange {
  return { prefix, kind, best, previous, reason, multipathChanged };
}
