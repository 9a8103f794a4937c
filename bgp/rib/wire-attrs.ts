/**
 * Between the codec's attribute list (bgp/codec/types.ts) and the RIB's
 * normalized `PathAttrs`: pathAttrsFromUpdate on receive, toWireAttributes
 * on send. Both run once per attribute set, never per prefix.
 */
import { TortieError } from '../../lib/errors.js';
import {
  AS_TRANS,
  AsPathSegmentType,
  AttrFlag,
  AttrType,
  familyAfi,
  familyKey,
  familySafi,
  IPV4_UNICAST,
  type FamilyKey,
  type Origin,
} from '../codec/constants.js';
import type {
  AggregatorAttr,
  As4AggregatorAttr,
  AsPathSegment,
  ExtendedCommunity,
  LargeCommunity,
  PathAttribute,
  UnknownAttr,
} from '../codec/types.js';
import { isTwoOctetPath, mergeAs4Path } from './as-path.js';
import type { AttrsInterner } from './attrs-interner.js';
import { makePathAttrs, type PathAttrs } from './path.js';

export interface FromUpdateOptions {
  /**
   * The session negotiated 4-octet AS (RFC 6793). When true, AS4_PATH and
   * AS4_AGGREGATOR are ignored (§4.1); when false they are merged (§4.2.3).
   * Default true.
   */
  fourOctetAs?: boolean;
  /** Returns the shared object for an attribute set seen before. */
  interner?: AttrsInterner;
}

const WELL_KNOWN = AttrFlag.Transitive;
const OPTIONAL = AttrFlag.Optional;
const OPTIONAL_TRANSITIVE = AttrFlag.Optional | AttrFlag.Transitive;

/**
 * The normalized attributes of one UPDATE for one family.
 *
 * Next hop: for IPv4 unicast the NEXT_HOP attribute, else (RFC 8950) the
 * next hops of an IPv4 unicast MP_REACH_NLRI; for every other family the
 * next hops of the MP_REACH_NLRI of that family.
 *
 * Throws TortieError ERR_RIB_MISSING_ATTRIBUTE (no ORIGIN or AS_PATH) or
 * ERR_RIB_NO_NEXT_HOP. The codec treats such UPDATEs as withdrawals
 * (RFC 7606), so these mean a caller bug.
 */
export function pathAttrsFromUpdate(
  attrs: readonly PathAttribute[],
  family: FamilyKey,
  opts: FromUpdateOptions = {},
): PathAttrs {
  const fourOctetAs = opts.fourOctetAs ?? true;
  let origin: Origin | undefined;
  let asPath: AsPathSegment[] | undefined;
  let as4Path: AsPathSegment[] | undefined;
  let nextHop: string | undefined;
  let mpNextHops: string[] | undefined;
  let med: number | undefined;
  let localPref: number | undefined;
  let atomicAggregate = false;
  let aggregator: AggregatorAttr | undefined;
  let as4Aggregator: As4AggregatorAttr | undefined;
  let communities: number[] | undefined;
  let extCommunities: ExtendedCommunity[] | undefined;
  let largeCommunities: LargeCommunity[] | undefined;
  let originatorId: string | undefined;
  let clusterList: string[] | undefined;
  let unknown: UnknownAttr[] | undefined;

  for (const a of attrs) {
    switch (a.type) {
      case 'unknown':
        // RFC 4271 §5: unrecognized optional transitive attributes are passed
        // on with Partial set; unrecognized non-transitive ones are dropped.
        if ((a.flags & OPTIONAL_TRANSITIVE) === OPTIONAL_TRANSITIVE) {
          (unknown ??= []).push({ type: 'unknown', code: a.code, flags: a.flags | AttrFlag.Partial, data: a.data });
        }
        break;
      case AttrType.Origin: origin = a.origin; break;
      case AttrType.AsPath: asPath = a.segments; break;
      case AttrType.NextHop: nextHop = a.nextHop; break;
      case AttrType.MultiExitDisc: med = a.med; break;
      case AttrType.LocalPref: localPref = a.localPref; break;
      case AttrType.AtomicAggregate: atomicAggregate = true; break;
      case AttrType.Aggregator: aggregator = a; break;
      case AttrType.Communities: communities = a.communities; break;
      case AttrType.OriginatorId: originatorId = a.originatorId; break;
      case AttrType.ClusterList: clusterList = a.clusterIds; break;
      case AttrType.MpReachNlri:
        if (familyKey(a.afi, a.safi) === family) mpNextHops = a.nextHops;
        break;
      case AttrType.MpUnreachNlri: break;
      case AttrType.ExtendedCommunities: extCommunities = a.communities; break;
      case AttrType.As4Path: as4Path = a.segments; break;
      case AttrType.As4Aggregator: as4Aggregator = a; break;
      case AttrType.LargeCommunity: largeCommunities = a.communities; break;
    }
  }

  if (origin === undefined) throw new TortieError('ERR_RIB_MISSING_ATTRIBUTE', 'UPDATE has no ORIGIN');
  if (asPath === undefined) throw new TortieError('ERR_RIB_MISSING_ATTRIBUTE', 'UPDATE has no AS_PATH');
  const nextHops = family === IPV4_UNICAST && nextHop !== undefined ? [nextHop] : mpNextHops;
  if (nextHops === undefined || nextHops.length === 0) {
    throw new TortieError('ERR_RIB_NO_NEXT_HOP', `UPDATE has no next hop for afi ${familyAfi(family)} safi ${familySafi(family)}`);
  }

  let agg = aggregator !== undefined ? { asn: aggregator.asn, address: aggregator.address } : undefined;
  if (!fourOctetAs) {
    // RFC 6793 §4.2.3: an AGGREGATOR that is not AS_TRANS means the path was
    // aggregated by an OLD speaker after AS4_PATH was made; both AS4_
    // attributes are then stale and ignored.
    const as4Stale = aggregator !== undefined && as4Aggregator !== undefined && aggregator.asn !== AS_TRANS;
    if (!as4Stale) {
      if (aggregator !== undefined && as4Aggregator !== undefined) {
        agg = { asn: as4Aggregator.asn, address: as4Aggregator.address };
      }
      if (as4Path !== undefined) asPath = mergeAs4Path(asPath, as4Path);
    }
  }

  const out = makePathAttrs({
    origin,
    asPath,
    nextHops,
    med,
    localPref,
    atomicAggregate,
    aggregator: agg,
    communities,
    extCommunities,
    largeCommunities,
    originatorId,
    clusterList,
    unknown: unknown?.sort((x, y) => x.code - y.code),
  });
  return opts.interner ? opts.interner.intern(out) : out;
}

// ---------------------------------------------------------------- export

export interface ToWireOptions {
  family: FamilyKey;
  /** The session negotiated 4-octet AS; when false AS4_PATH/AS4_AGGREGATOR are added as needed. */
  fourOctetAs: boolean;
}

function wireType(a: PathAttribute): number {
  return a.type === 'unknown' ? a.code : a.type;
}

/**
 * The attribute list to send, in ascending type order (RFC 4271 §5), for
 * the codec's packUpdates(family, attributes, nlri, opts, attrs.nextHops).
 * As packUpdates wants, there is no MP_REACH_NLRI: for families other than
 * IPv4 unicast the next hops travel in its `nextHops` argument; for IPv4
 * unicast the NEXT_HOP attribute is included.
 *
 * The attributes must already be export-ready (see export.ts): next hop set,
 * LOCAL_PREF only for iBGP, and so on. Throws ERR_RIB_NO_NEXT_HOP when
 * there is no usable next hop.
 */
export function toWireAttributes(attrs: PathAttrs, opts: ToWireOptions): PathAttribute[] {
  const nh = attrs.nextHops[0];
  const v4 = opts.family === IPV4_UNICAST;
  if (nh === undefined || (v4 && nh.includes(':'))) {
    throw new TortieError('ERR_RIB_NO_NEXT_HOP', `no usable next hop to send (${attrs.nextHops.join(',') || 'none'})`);
  }
  const out: PathAttribute[] = [];
  out.push({ type: AttrType.Origin, flags: WELL_KNOWN, origin: attrs.origin });
  out.push({ type: AttrType.AsPath, flags: WELL_KNOWN, segments: attrs.asPath.map((s) => ({ type: s.type, asns: s.asns.slice() })) });
  if (v4) out.push({ type: AttrType.NextHop, flags: WELL_KNOWN, nextHop: nh });
  if (attrs.med !== undefined) out.push({ type: AttrType.MultiExitDisc, flags: OPTIONAL, med: attrs.med });
  if (attrs.localPref !== undefined) out.push({ type: AttrType.LocalPref, flags: WELL_KNOWN, localPref: attrs.localPref });
  if (attrs.atomicAggregate) out.push({ type: AttrType.AtomicAggregate, flags: WELL_KNOWN });
  const agg = attrs.aggregator;
  const agg4 = agg !== undefined && !opts.fourOctetAs && agg.asn > 0xffff;
  if (agg !== undefined) {
    out.push({ type: AttrType.Aggregator, flags: OPTIONAL_TRANSITIVE, asn: agg4 ? AS_TRANS : agg.asn, address: agg.address });
  }
  if (attrs.communities.length > 0) {
    out.push({ type: AttrType.Communities, flags: OPTIONAL_TRANSITIVE, communities: attrs.communities.slice() });
  }
  if (attrs.originatorId !== undefined) out.push({ type: AttrType.OriginatorId, flags: OPTIONAL, originatorId: attrs.originatorId });
  if (attrs.clusterList.length > 0) out.push({ type: AttrType.ClusterList, flags: OPTIONAL, clusterIds: attrs.clusterList.slice() });
  if (attrs.extCommunities.length > 0) {
    out.push({ type: AttrType.ExtendedCommunities, flags: OPTIONAL_TRANSITIVE, communities: attrs.extCommunities.slice() });
  }
  // RFC 6793 §4.2.2: toward an OLD speaker, AS4_PATH carries the real path
  // (without confederation segments) unless every ASN fits in 2 octets.
  if (!opts.fourOctetAs && !isTwoOctetPath(attrs.asPath)) {
    const segments = attrs.asPath
      .filter((s) => s.type === AsPathSegmentType.AsSequence || s.type === AsPathSegmentType.AsSet)
      .map((s) => ({ type: s.type, asns: s.asns.slice() }));
    out.push({ type: AttrType.As4Path, flags: OPTIONAL_TRANSITIVE, segments });
  }
  if (agg4) out.push({ type: AttrType.As4Aggregator, flags: OPTIONAL_TRANSITIVE, asn: agg.asn, address: agg.address });
  if (attrs.largeCommunities.length > 0) {
    out.push({ type: AttrType.LargeCommunity, flags: OPTIONAL_TRANSITIVE, communities: attrs.largeCommunities.slice() });
  }
  if (attrs.unknown.length === 0) return out;
  for (const u of attrs.unknown) out.push({ type: 'unknown', code: u.code, flags: u.flags, data: u.data });
  return out.sort((x, y) => wireType(x) - wireType(y));
}
