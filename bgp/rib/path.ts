/**
 * The normalized path: attributes as the RIB sees them (4-octet AS path,
 * next hops of the family, no NLRI) and the peer a path came from.
 *
 * Memory model. One `PathAttrs` is shared by every prefix that carries it:
 * it is built once per received UPDATE (pathAttrsFromUpdate), and an
 * `AttrsInterner` makes equal sets one object across UPDATEs and peers. A
 * `Path` (attributes + source + add-path id) is likewise shared by all
 * prefixes of one peer with the same attributes (AdjRibIn.pathFor). Per
 * prefix the RIBs then hold a map entry and nothing else.
 *
 * Treat both as immutable. The one exception is `Path.stale`, which only
 * AdjRibIn.markAllStale sets (every path object of that peer goes stale at
 * once, so sharing is safe).
 */
import type { Origin } from '../codec/constants.js';
import type { AsPathSegment, ExtendedCommunity, LargeCommunity, UnknownAttr } from '../codec/types.js';
import { asPathLength, formatAsPath, neighborAsOf } from './as-path.js';

export { mergeAs4Path, asPathLength, asPathContains, neighborAsOf, prependAs, formatAsPath } from './as-path.js';
export { pathAttrsFromUpdate, toWireAttributes, type FromUpdateOptions, type ToWireOptions } from './wire-attrs.js';
export { AttrsInterner } from './attrs-interner.js';

/** The RFC 4271 §5.1.5 default LOCAL_PREF when none is set. */
export const DEFAULT_LOCAL_PREF = 100;

export interface Aggregator {
  readonly asn: number;
  readonly address: string;
}

/** The fields a caller provides. Arrays default to empty. */
export interface PathAttrsInit {
  origin: Origin;
  /** 4-octet segments, after any RFC 6793 AS4_PATH merge. */
  asPath?: readonly AsPathSegment[];
  /**
   * Next hops for the path's family. IPv4: one address. IPv6: global, then
   * optionally link-local. Empty for a locally originated path means
   * "ourselves" (export puts the session's own address there).
   */
  nextHops?: readonly string[];
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: Aggregator;
  /** RFC 1997, each `asn << 16 | value` as an unsigned 32-bit number. */
  communities?: readonly number[];
  extCommunities?: readonly ExtendedCommunity[];
  largeCommunities?: readonly LargeCommunity[];
  originatorId?: string;
  clusterList?: readonly string[];
  /**
   * Unrecognized optional transitive attributes, to be passed on. Their
   * Partial bit is already set (RFC 4271 §5). Sorted by type.
   */
  unknown?: readonly UnknownAttr[];
}

/** Built only by makePathAttrs, which fills the derived fields. */
export interface PathAttrs {
  readonly origin: Origin;
  readonly asPath: readonly AsPathSegment[];
  readonly nextHops: readonly string[];
  readonly med: number | undefined;
  readonly localPref: number | undefined;
  readonly atomicAggregate: boolean;
  readonly aggregator: Aggregator | undefined;
  readonly communities: readonly number[];
  readonly extCommunities: readonly ExtendedCommunity[];
  readonly largeCommunities: readonly LargeCommunity[];
  readonly originatorId: string | undefined;
  readonly clusterList: readonly string[];
  readonly unknown: readonly UnknownAttr[];
  /** Derived: asPathLength(asPath). */
  readonly asPathLen: number;
  /** Derived: neighborAsOf(asPath). */
  readonly neighborAs: number | undefined;
  /** Derived: canonical text of every field; equal keys mean equal sets. */
  readonly key: string;
}

const EMPTY: readonly never[] = Object.freeze([]);

export function makePathAttrs(init: PathAttrsInit): PathAttrs {
  const asPath = init.asPath ?? EMPTY;
  const a = {
    origin: init.origin,
    asPath,
    nextHops: init.nextHops ?? EMPTY,
    med: init.med,
    localPref: init.localPref,
    atomicAggregate: init.atomicAggregate ?? false,
    aggregator: init.aggregator,
    communities: init.communities ?? EMPTY,
    extCommunities: init.extCommunities ?? EMPTY,
    largeCommunities: init.largeCommunities ?? EMPTY,
    originatorId: init.originatorId,
    clusterList: init.clusterList ?? EMPTY,
    unknown: init.unknown ?? EMPTY,
    asPathLen: asPathLength(asPath),
    neighborAs: neighborAsOf(asPath),
    key: '',
  };
  a.key = attrsKey(a);
  return a;
}

/** A copy with some fields replaced; `undefined` values clear optional fields. */
export function withAttrs(base: PathAttrs, changes: Partial<PathAttrsInit>): PathAttrs {
  return makePathAttrs({ ...initOf(base), ...changes });
}

export function initOf(a: PathAttrs): PathAttrsInit {
  return {
    origin: a.origin,
    asPath: a.asPath,
    nextHops: a.nextHops,
    med: a.med,
    localPref: a.localPref,
    atomicAggregate: a.atomicAggregate,
    aggregator: a.aggregator,
    communities: a.communities,
    extCommunities: a.extCommunities,
    largeCommunities: a.largeCommunities,
    originatorId: a.originatorId,
    clusterList: a.clusterList,
    unknown: a.unknown,
  };
}

function hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
  return s;
}

function attrsKey(a: Omit<PathAttrs, 'key'>): string {
  let k = a.origin + '|' + formatAsPath(a.asPath) + '|' + a.nextHops.join(',') + '|';
  k += (a.med ?? '') + '|' + (a.localPref ?? '') + '|' + (a.atomicAggregate ? 'A' : '') + '|';
  k += (a.aggregator ? a.aggregator.asn + ' ' + a.aggregator.address : '') + '|';
  k += a.communities.join(',') + '|';
  for (const e of a.extCommunities) k += e.type + '.' + e.subtype + '.' + hex(e.value) + ',';
  k += '|';
  for (const l of a.largeCommunities) k += l.global + ':' + l.local1 + ':' + l.local2 + ',';
  k += '|' + (a.originatorId ?? '') + '|' + a.clusterList.join(',') + '|';
  for (const u of a.unknown) k += u.code + '.' + u.flags + '.' + hex(u.data) + ',';
  return k;
}

// ---------------------------------------------------------------- sources

/** Who a path came from, as the decision process and export rules need it. */
export interface PeerInfo {
  /** Stable id of the session (configuration name or address). */
  readonly peerId: string;
  /** The peer's address ('' for locally originated paths). */
  readonly address: string;
  /** The peer's BGP Identifier (ours for locally originated paths). */
  readonly routerId: string;
  readonly peerAs: number;
  /** The AS we present on this session. */
  readonly localAs: number;
  /** peerAs === localAs. */
  readonly ibgp: boolean;
  /** Originated by this speaker (own blocks), not learned. */
  readonly isLocal: boolean;
  /** The peer is a route-reflector client of ours (RFC 4456). */
  readonly rrClient: boolean;
}

export const LOCAL_PEER_ID = 'local';

/** The source of paths this speaker originates itself. */
export function localSource(asn: number, routerId: string): PeerInfo {
  return {
    peerId: LOCAL_PEER_ID,
    address: '',
    routerId,
    peerAs: asn,
    localAs: asn,
    ibgp: false,
    isLocal: true,
    rrClient: false,
  };
}

export interface Path {
  readonly attrs: PathAttrs;
  readonly source: PeerInfo;
  /** RFC 7911 path identifier; undefined without add-path. */
  readonly pathId: number | undefined;
  /** RFC 4724: kept across the peer's restart, not yet refreshed. */
  stale: boolean;
}

/** Every Path has the same shape (same hidden class), whatever is set. */
export function makePath(attrs: PathAttrs, source: PeerInfo, pathId?: number): Path {
  return { attrs, source, pathId, stale: false };
}
