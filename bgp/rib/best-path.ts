/**
 * The BGP decision process, RFC 4271 §9.1.2, with RFC 4456 (route
 * reflection) and the usual extensions, as a chain of small comparators.
 *
 * Each comparator returns < 0 when `a` is preferred, > 0 when `b` is, and 0
 * when the step cannot tell them apart. bestPath() applies the steps in
 * order by elimination, as RFC 4271 §9.1.2.2 describes: at each step every
 * candidate that some other candidate beats is removed. For total orders
 * that keeps the maxima; for MED, which only compares paths from the same
 * neighbouring AS, it is the only order-independent reading (comparing
 * pairwise would make the winner depend on arrival order).
 *
 * The reason reported is the step that removed the last competitor.
 *
 * Order of steps:
 *   0. locally originated before learned (BIRD's preference for its own
 *      routes; FRR does this after LOCAL_PREF — we put it first so a
 *      node always keeps its own blocks whatever a peer sets);
 *   1. highest LOCAL_PREF (absent: the default, 100);
 *   2. shortest AS_PATH (AS_SET counts 1, confederation segments 0);
 *   3. lowest ORIGIN (IGP < EGP < INCOMPLETE);
 *   4. lowest MED among paths from the same neighbouring AS (absent MED is
 *      0, RFC 4271 §9.1.2.2 c); all paths when `alwaysCompareMed`);
 *   5. eBGP over iBGP;
 *   6. lowest IGP cost to the next hop: a no-op, tortie has no IGP; next
 *      hops are either resolvable (eligible) or not;
 *   -- paths still equal here form the multipath (ECMP) candidates --
 *   7. lowest BGP Identifier, using ORIGINATOR_ID when present (RFC 4456 §9);
 *   8. shortest CLUSTER_LIST (RFC 4456 §9);
 *   9. lowest peer address;
 *  10. lowest add-path path identifier (deterministic final tie-break).
 *
 * Before the steps, ineligible paths are dropped: an AS_PATH holding the
 * AS of the session it came in on (loop, RFC 4271 §9.1.2), and paths whose
 * next hop the caller's predicate calls unresolvable.
 */
import { asPathContains } from './as-path.js';
import { compareAddresses } from './address.js';
import { DEFAULT_LOCAL_PREF, type Path } from './path.js';

export enum BestPathReason {
  NoEligiblePath = 'no-eligible-path',
  OnlyPath = 'only-path',
  LocalOrigin = 'local-origin',
  LocalPref = 'local-pref',
  AsPathLength = 'as-path-length',
  Origin = 'origin',
  Med = 'med',
  EbgpOverIbgp = 'ebgp-over-ibgp',
  IgpCost = 'igp-cost',
  RouterId = 'router-id',
  ClusterListLength = 'cluster-list-length',
  PeerAddress = 'peer-address',
  PathId = 'path-id',
}

export enum Ineligibility {
  AsLoop = 'as-loop',
  NextHopUnresolvable = 'next-hop-unresolvable',
}

export interface BestPathOptions {
  /** LOCAL_PREF assumed when a path has none. Default 100. */
  defaultLocalPref?: number;
  /** Compare MED between paths from different neighbouring ASes too. */
  alwaysCompareMed?: boolean;
  /** Largest ECMP set when the best path is eBGP (or local). Default 1: no multipath. */
  maxPaths?: number;
  /** Largest ECMP set when the best path is iBGP. Default: maxPaths. */
  maxPathsIbgp?: number;
  /** eBGP multipath across different neighbouring ASes (paths of equal AS_PATH length). */
  multipathRelax?: boolean;
  /** False marks a path ineligible (its next hop cannot be reached). Default: all resolvable. */
  isNextHopResolvable?: (path: Path) => boolean;
}

export interface BestPathResult {
  best: Path | undefined;
  reason: BestPathReason;
  /** The ECMP set, best first; [best] without multipath; [] when there is no best. */
  multipath: Path[];
}

export type Comparator = (a: Path, b: Path, opts: BestPathOptions) => number;

// ---------------------------------------------------------------- comparators

export function compareByLocalOrigin(a: Path, b: Path): number {
  return (b.source.isLocal ? 1 : 0) - (a.source.isLocal ? 1 : 0);
}

export function compareByLocalPref(a: Path, b: Path, opts: BestPathOptions): number {
  const dflt = opts.defaultLocalPref ?? DEFAULT_LOCAL_PREF;
  return (b.attrs.localPref ?? dflt) - (a.attrs.localPref ?? dflt);
}

export function compareByAsPathLength(a: Path, b: Path): number {
  return a.attrs.asPathLen - b.attrs.asPathLen;
}

export function compareByOrigin(a: Path, b: Path): number {
  return a.attrs.origin - b.attrs.origin;
}

/** The neighbouring AS for MED: leftmost AS, or our own AS for paths from inside it. */
export function neighborAs(p: Path): number {
  return p.attrs.neighborAs ?? p.source.localAs;
}

export function compareByMed(a: Path, b: Path, opts: BestPathOptions): number {
  if (!opts.alwaysCompareMed && neighborAs(a) !== neighborAs(b)) return 0;
  return (a.attrs.med ?? 0) - (b.attrs.med ?? 0);
}

export function compareByEbgpOverIbgp(a: Path, b: Path): number {
  return (a.source.ibgp ? 1 : 0) - (b.source.ibgp ? 1 : 0);
}

/** RFC 4271 §9.1.2.2 e). tortie runs no IGP, so every next hop costs the same. */
export function compareByIgpCost(): number {
  return 0;
}

export function compareByRouterId(a: Path, b: Path): number {
  return compareAddresses(a.attrs.originatorId ?? a.source.routerId, b.attrs.originatorId ?? b.source.routerId);
}

export function compareByClusterListLength(a: Path, b: Path): number {
  return a.attrs.clusterList.length - b.attrs.clusterList.length;
}

export function compareByPeerAddress(a: Path, b: Path): number {
  return compareAddresses(a.source.address, b.source.address);
}

export function compareByPathId(a: Path, b: Path): number {
  return (a.pathId ?? 0) - (b.pathId ?? 0);
}

interface DecisionStep {
  reason: BestPathReason;
  compare: Comparator;
  /** A total preorder: keeping the minima needs one pass. */
  total: boolean;
}

export const DECISION_STEPS: readonly DecisionStep[] = [
  { reason: BestPathReason.LocalOrigin, compare: compareByLocalOrigin, total: true },
  { reason: BestPathReason.LocalPref, compare: compareByLocalPref, total: true },
  { reason: BestPathReason.AsPathLength, compare: compareByAsPathLength, total: true },
  { reason: BestPathReason.Origin, compare: compareByOrigin, total: true },
  { reason: BestPathReason.Med, compare: compareByMed, total: false },
  { reason: BestPathReason.EbgpOverIbgp, compare: compareByEbgpOverIbgp, total: true },
  { reason: BestPathReason.IgpCost, compare: compareByIgpCost, total: true },
  { reason: BestPathReason.RouterId, compare: compareByRouterId, total: true },
  { reason: BestPathReason.ClusterListLength, compare: compareByClusterListLength, total: true },
  { reason: BestPathReason.PeerAddress, compare: compareByPeerAddress, total: true },
  { reason: BestPathReason.PathId, compare: compareByPathId, total: true },
];

/** Steps [0, MULTIPATH_STEPS) decide whether two paths are equal for ECMP. */
const MULTIPATH_STEPS = DECISION_STEPS.findIndex((s) => s.reason === BestPathReason.IgpCost) + 1;

// ---------------------------------------------------------------- eligibility

/** Why a path may not be chosen, or undefined when it may. */
export function ineligibility(p: Path, opts: BestPathOptions): Ineligibility | undefined {
  if (!p.source.isLocal && asPathContains(p.attrs.asPath, p.source.localAs)) return Ineligibility.AsLoop;
  if (opts.isNextHopResolvable !== undefined && !p.source.isLocal && !opts.isNextHopResolvable(p)) {
    return Ineligibility.NextHopUnresolvable;
  }
  return undefined;
}

export function isEligible(p: Path, opts: BestPathOptions): boolean {
  return ineligibility(p, opts) === undefined;
}

// ---------------------------------------------------------------- selection

function eliminate(paths: Path[], step: DecisionStep, opts: BestPathOptions): Path[] {
  const cmp = step.compare;
  if (step.total) {
    let winner = paths[0];
    for (let i = 1; i < paths.length; i++) if (cmp(paths[i], winner, opts) < 0) winner = paths[i];
    return paths.filter((p) => p === winner || cmp(p, winner, opts) === 0);
  }
  return paths.filter((p) => !paths.some((q) => q !== p && cmp(q, p, opts) < 0));
}

/** Orders paths by the steps after the multipath boundary (for the ECMP set). */
function compareTieBreaks(a: Path, b: Path, opts: BestPathOptions): number {
  for (let i = MULTIPATH_STEPS; i < DECISION_STEPS.length; i++) {
    const c = DECISION_STEPS[i].compare(a, b, opts);
    if (c !== 0) return c;
  }
  return 0;
}

/**
 * Chooses the best path among `paths` (the candidates for one prefix) and
 * the ECMP set that goes with it.
 *
 * Multipath rules (as FRR and BIRD): candidates still equal after the IGP
 * cost step, of the same kind as the best (eBGP or iBGP); for eBGP they
 * also need the best's neighbouring AS unless `multipathRelax`. Paths with
 * a next hop already in the set add nothing and are left out. The set is
 * capped at maxPaths (maxPathsIbgp for iBGP) and ordered by the remaining
 * tie-breaks. A locally originated best path is never multipathed.
 */
export function bestPath(paths: readonly Path[], opts: BestPathOptions = {}): BestPathResult {
  if (paths.length === 2) return fromTwo(paths[0], paths[1], opts);
  let candidates = paths.filter((p) => isEligible(p, opts));
  if (candidates.length === 0) return { best: undefined, reason: BestPathReason.NoEligiblePath, multipath: [] };
  if (candidates.length === 1) return { best: candidates[0], reason: BestPathReason.OnlyPath, multipath: [candidates[0]] };

  let reason = BestPathReason.PathId;
  let equalForEcmp: Path[] = candidates;
  for (let i = 0; i < DECISION_STEPS.length && candidates.length > 1; i++) {
    candidates = eliminate(candidates, DECISION_STEPS[i], opts);
    if (candidates.length === 1) reason = DECISION_STEPS[i].reason;
    if (i < MULTIPATH_STEPS) equalForEcmp = candidates;
  }
  const best = candidates[0];
  return { best, reason, multipath: multipathSet(best, equalForEcmp, opts) };
}

/** The decision between exactly two paths. `ecmp`: both form the multipath set. */
export interface TwoPathResult {
  best: Path | undefined;
  reason: BestPathReason;
  ecmp: boolean;
}

/**
 * bestPath() for exactly two paths (two ToRs, two route reflectors: the
 * common case), without intermediate arrays; the Loc-RIB calls it directly.
 * With two paths, elimination and a pairwise walk through the steps give
 * the same answer.
 */
export function bestOfTwo(a: Path, b: Path, opts: BestPathOptions): TwoPathResult {
  const aOk = isEligible(a, opts);
  const bOk = isEligible(b, opts);
  if (!aOk || !bOk) {
    if (aOk) return { best: a, reason: BestPathReason.OnlyPath, ecmp: false };
    if (bOk) return { best: b, reason: BestPathReason.OnlyPath, ecmp: false };
    return { best: undefined, reason: BestPathReason.NoEligiblePath, ecmp: false };
  }
  let best = a;
  let reason = BestPathReason.PathId;
  let step = DECISION_STEPS.length;
  for (let i = 0; i < DECISION_STEPS.length; i++) {
    const c = DECISION_STEPS[i].compare(a, b, opts);
    if (c === 0) continue;
    best = c < 0 ? a : b;
    reason = DECISION_STEPS[i].reason;
    step = i;
    break;
  }
  const ecmp = step >= MULTIPATH_STEPS && multipathSet(best, [a, b], opts).length === 2;
  return { best, reason, ecmp };
}

function fromTwo(a: Path, b: Path, opts: BestPathOptions): BestPathResult {
  const r = bestOfTwo(a, b, opts);
  if (r.best === undefined) return { best: undefined, reason: r.reason, multipath: [] };
  return { best: r.best, reason: r.reason, multipath: r.ecmp ? [r.best, r.best === a ? b : a] : [r.best] };
}

function multipathSet(best: Path, equal: Path[], opts: BestPathOptions): Path[] {
  const max = best.source.ibgp ? (opts.maxPathsIbgp ?? opts.maxPaths ?? 1) : (opts.maxPaths ?? 1);
  if (max <= 1 || equal.length <= 1 || best.source.isLocal) return [best];
  const bestNas = neighborAs(best);
  const others = equal.filter(
    (p) =>
      p !== best &&
      !p.source.isLocal &&
      p.source.ibgp === best.source.ibgp &&
      (best.source.ibgp || opts.multipathRelax === true || neighborAs(p) === bestNas),
  );
  others.sort((a, b) => compareTieBreaks(a, b, opts));
  const set = [best];
  const hops = new Set<string>([best.attrs.nextHops[0] ?? '']);
  for (const p of others) {
    if (set.length >= max) break;
    const hop = p.attrs.nextHops[0] ?? '';
    if (hops.has(hop)) continue;
    hops.add(hop);
    set.push(p);
  }
  return set;
}
