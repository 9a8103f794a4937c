/**
 * Small builders for RIB tests: peers, attribute sets and paths with
 * readable defaults. Test-only; pure.
 */
import { AsPathSegmentType, Origin } from '../codec/constants.js';
import type { AsPathSegment } from '../codec/types.js';
import { makePath, makePathAttrs, type Path, type PathAttrs, type PathAttrsInit, type PeerInfo } from './path.js';

export const LOCAL_AS = 65000;
export const LOCAL_ROUTER_ID = '10.255.0.1';

export function seq(...asns: number[]): AsPathSegment {
  return { type: AsPathSegmentType.AsSequence, asns };
}
export function set(...asns: number[]): AsPathSegment {
  return { type: AsPathSegmentType.AsSet, asns };
}
export function confedSeq(...asns: number[]): AsPathSegment {
  return { type: AsPathSegmentType.AsConfedSequence, asns };
}

/** A peer; eBGP AS 65001 by default, iBGP when peerAs is LOCAL_AS. */
export function peer(id: string, o: Partial<PeerInfo> = {}): PeerInfo {
  const peerAs = o.peerAs ?? 65001;
  const localAs = o.localAs ?? LOCAL_AS;
  return {
    peerId: id,
    address: o.address ?? '192.0.2.' + (id.charCodeAt(id.length - 1) % 200),
    routerId: o.routerId ?? '10.0.0.' + (id.charCodeAt(id.length - 1) % 200),
    peerAs,
    localAs,
    ibgp: o.ibgp ?? peerAs === localAs,
    isLocal: o.isLocal ?? false,
    rrClient: o.rrClient ?? false,
  };
}

export function ibgpPeer(id: string, o: Partial<PeerInfo> = {}): PeerInfo {
  return peer(id, { peerAs: LOCAL_AS, ...o });
}

/** Attributes with IGP origin, AS_PATH [65001] and next hop 192.0.2.1 unless overridden. */
export function attrs(o: Partial<PathAttrsInit> = {}): PathAttrs {
  return makePathAttrs({ origin: Origin.Igp, asPath: [seq(65001)], nextHops: ['192.0.2.1'], ...o });
}

export function path(source: PeerInfo, o: Partial<PathAttrsInit> = {}, pathId?: number): Path {
  return makePath(attrs(o), source, pathId);
}
