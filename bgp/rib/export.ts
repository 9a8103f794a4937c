/**
 * The per-session rules of what may enter and leave the RIB, as pure
 * functions of the path, the session and this speaker:
 *
 * Import (checkImport): drop paths that loop back to us — our AS in the
 * AS_PATH (RFC 4271 §9.1.2), our router ID as ORIGINATOR_ID or our cluster
 * ID in the CLUSTER_LIST (RFC 4456 §8).
 *
 * Export (exportSkipReason + exportAttrs):
 * - never back to the peer the path came from;
 * - RFC 1997 NO_ADVERTISE (nobody) and NO_EXPORT / NO_EXPORT_SUBCONFED
 *   (no eBGP peer);
 * - no iBGP-learned path to an iBGP peer (RFC 4271 §9.2), except route
 *   reflection (RFC 4456 §6): a path from a client goes to every iBGP
 *   peer, a path from a non-client to clients only. A reflected path gets
 *   ORIGINATOR_ID (if absent) and our cluster ID prepended to CLUSTER_LIST,
 *   and keeps its next hop (RFC 4456 §10);
 * - toward eBGP: our AS prepended, next hop = our address, no LOCAL_PREF,
 *   MED only when it is our own (locally originated; export policy may set
 *   one too), no ORIGINATOR_ID or CLUSTER_LIST;
 * - toward iBGP: LOCAL_PREF always present (default 100), MED kept, next
 *   hop kept unless `nextHopSelf` (or the path is ours and has none).
 *
 * PathExporter adds caching and the export policy for one session.
 */
import { asPathContains, prependAs } from './as-path.js';
import type { AttrsInterner } from './attrs-interner.js';
import { WellKnownCommunity } from './communities.js';
import { DEFAULT_LOCAL_PREF, withAttrs, type Path, type PathAttrs, type PeerInfo } from './path.js';
import type { RibChange } from './loc-rib.js';
import type { CompiledPolicy } from './policy.js';

/** This speaker, as the rules need it. */
export interface LocalSpeaker {
  readonly asn: number;
  /** Dotted quad. */
  readonly routerId: string;
  /** RFC 4456 cluster ID when reflecting; default: routerId. */
  readonly clusterId?: string;
  /** LOCAL_PREF sent to iBGP peers for paths that have none. Default 100. */
  readonly defaultLocalPref?: number;
}

/** One session (and family) that paths are exported to. */
export interface ExportTarget {
  readonly peerId: string;
  readonly peerAs: number;
  /** The AS we present on this session (prepended toward eBGP). */
  readonly localAs: number;
  readonly ibgp: boolean;
  /** The peer is our route-reflector client. */
  readonly rrClient: boolean;
  /** Toward iBGP: put our own address as next hop. (Always done toward eBGP.) */
  readonly nextHopSelf: boolean;
  /** Our next hop(s) on this session for the family: IPv4 one address; IPv6 global then link-local. */
  readonly selfNextHops: readonly string[];
}

export enum ImportRejection {
  AsLoop = 'as-loop',
  OriginatorIsSelf = 'originator-is-self',
  ClusterLoop = 'cluster-loop',
}

export enum ExportSkip {
  SplitHorizon = 'learned-from-peer',
  NoAdvertise = 'no-advertise',
  NoExport = 'no-export',
  IbgpToIbgp = 'ibgp-to-ibgp',
  NoNextHop = 'no-next-hop',
}

function clusterIdOf(local: LocalSpeaker): string {
  return local.clusterId ?? local.routerId;
}

/** Why a received path must be dropped, or undefined when it may be imported. */
export function checkImport(attrs: PathAttrs, source: PeerInfo, local: LocalSpeaker): ImportRejection | undefined {
  if (asPathContains(attrs.asPath, source.localAs)) return ImportRejection.AsLoop;
  if (source.ibgp) {
    if (attrs.originatorId === local.routerId) return ImportRejection.OriginatorIsSelf;
    if (attrs.clusterList.includes(clusterIdOf(local))) return ImportRejection.ClusterLoop;
  }
  return undefined;
}

/**
 * Attributes of an eBGP-learned path cleaned of what only has meaning
 * inside an AS: LOCAL_PREF (RFC 4271 §5.1.5), ORIGINATOR_ID and
 * CLUSTER_LIST (RFC 4456 §8). Returns `attrs` itself when nothing changes.
 */
export function sanitizeImport(attrs: PathAttrs, source: PeerInfo, interner?: AttrsInterner): PathAttrs {
  if (source.ibgp || source.isLocal) return attrs;
  if (attrs.localPref === undefined && attrs.originatorId === undefined && attrs.clusterList.length === 0) return attrs;
  const out = withAttrs(attrs, { localPref: undefined, originatorId: undefined, clusterList: [] });
  return interner ? interner.intern(out) : out;
}

/** True when exporting `path` to `target` is route reflection. */
function isReflection(path: Path, target: ExportTarget): boolean {
  return target.ibgp && path.source.ibgp && !path.source.isLocal;
}

/** Why `path` must not go to `target`, or undefined when it may. */
export function exportSkipReason(path: Path, target: ExportTarget): ExportSkip | undefined {
  const src = path.source;
  if (!src.isLocal && src.peerId === target.peerId) return ExportSkip.SplitHorizon;
  const comms = path.attrs.communities;
  if (comms.length > 0) {
    if (comms.includes(WellKnownCommunity.NoAdvertise)) return ExportSkip.NoAdvertise;
    if (!target.ibgp && (comms.includes(WellKnownCommunity.NoExport) || comms.includes(WellKnownCommunity.NoExportSubconfed))) {
      return ExportSkip.NoExport;
    }
  }
  if (isReflection(path, target) && !src.rrClient && !target.rrClient) return ExportSkip.IbgpToIbgp;
  const needSelf = !target.ibgp || (target.nextHopSelf && !isReflection(path, target)) || path.attrs.nextHops.length === 0;
  if (needSelf && target.selfNextHops.length === 0) return ExportSkip.NoNextHop;
  return undefined;
}

/** The attributes to advertise for `path` to `target`; call only when exportSkipReason() is undefined. */
export function exportAttrs(path: Path, target: ExportTarget, local: LocalSpeaker): PathAttrs {
  const a = path.attrs;
  if (!target.ibgp) {
    return withAttrs(a, {
      asPath: prependAs(a.asPath, target.localAs),
      nextHops: target.selfNextHops,
      localPref: undefined,
      med: path.source.isLocal ? a.med : undefined,
      originatorId: undefined,
      clusterList: [],
    });
  }
  const reflect = isReflection(path, target);
  const nextHops = a.nextHops.length === 0 || (target.nextHopSelf && !reflect) ? target.selfNextHops : a.nextHops;
  return withAttrs(a, {
    nextHops,
    localPref: a.localPref ?? local.defaultLocalPref ?? DEFAULT_LOCAL_PREF,
    originatorId: reflect ? (a.originatorId ?? path.source.routerId) : a.originatorId,
    clusterList: reflect ? [clusterIdOf(local), ...a.clusterList] : a.clusterList,
  });
}

/** The attributes to advertise, or undefined when `path` must not go to `target`. */
export function exportPath(path: Path, target: ExportTarget, local: LocalSpeaker, interner?: AttrsInterner): PathAttrs | undefined {
  if (exportSkipReason(path, target) !== undefined) return undefined;
  const out = exportAttrs(path, target, local);
  return interner ? interner.intern(out) : out;
}

/**
 * Export for one session: rules, then export policy, then (toward eBGP)
 * removal of any LOCAL_PREF the policy set. The rule result is cached per
 * Path object, and policy results per attribute set (see policy.ts), so a
 * full table costs a few map lookups per prefix.
 *
 * Policy runs after the rules so that it sees what the peer will see
 * (prepended AS, our next hop) and so that a MED it sets toward eBGP is
 * "our own" MED and is kept.
 */
export class PathExporter {
  private readonly byPath = new WeakMap<Path, PathAttrs | null>();
  /** Consecutive prefixes of one UPDATE share their Path: skip even the WeakMap then. */
  private lastPath: Path | undefined;
  private lastRuled: PathAttrs | null = null;
  private readonly noLocalPref = new WeakMap<PathAttrs, PathAttrs>();
  private readonly interner: AttrsInterner | undefined;
  private readonly policy: CompiledPolicy | undefined;

  constructor(
    readonly target: ExportTarget,
    readonly local: LocalSpeaker,
    opts: { interner?: AttrsInterner; policy?: CompiledPolicy } = {},
  ) {
    this.interner = opts.interner;
    this.policy = opts.policy;
  }

  /** Attributes to advertise for `prefix` via `path`, or undefined to advertise nothing. */
  export(prefix: string, path: Path): PathAttrs | undefined {
    let ruled: PathAttrs | null | undefined;
    if (path === this.lastPath) {
      ruled = this.lastRuled;
    } else {
      ruled = this.byPath.get(path);
      if (ruled === undefined) {
        ruled = exportPath(path, this.target, this.local, this.interner) ?? null;
        this.byPath.set(path, ruled);
      }
      this.lastPath = path;
      this.lastRuled = ruled;
    }
    if (ruled === null) return undefined;
    if (this.policy === undefined) return ruled;
    const out = this.policy.evaluate(prefix, ruled);
    if (out === undefined || this.target.ibgp || out.localPref === undefined) return out;
    let stripped = this.noLocalPref.get(out);
    if (stripped === undefined) {
      stripped = withAttrs(out, { localPref: undefined });
      if (this.interner) stripped = this.interner.intern(stripped);
      this.noLocalPref.set(out, stripped);
    }
    return stripped;
  }
}

/**
 * What a Loc-RIB change means for one peer, without an Adj-RIB-Out: the
 * attributes to advertise, `null` to withdraw, or `undefined` when nothing
 * needs sending (the peer's view did not change).
 *
 * This is exact as long as `ex` is the exporter whose results the peer was
 * last sent (export is deterministic and cached per Path). When the export
 * policy or session parameters change, walk the Loc-RIB and compare the old
 * exporter with the new one instead. It saves the Adj-RIB-Out's full-table
 * map (see rib.bench.ts for the cost); keep an AdjRibOut where the exact
 * record of what was sent is wanted.
 */
export function exportDelta(ex: PathExporter, change: RibChange): PathAttrs | null | undefined {
  if (change.best === change.previous) return undefined;
  const now = change.best !== undefined ? ex.export(change.prefix, change.best) : undefined;
  const before = change.previous !== undefined ? ex.export(change.prefix, change.previous) : undefined;
  if (now === before || (now !== undefined && before !== undefined && now.key === before.key)) return undefined;
  return now ?? null;
}
