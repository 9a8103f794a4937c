/**
 * The decoded shapes of BGP messages. Every decoded value can be encoded
 * back; for well-formed input the bytes come out identical, which is why
 * attributes keep their received flags and order, and OPEN keeps its
 * optional-parameter grouping.
 */
import type {
  AsPathSegmentType,
  AttrType,
  ErrorAction,
  FamilyKey,
  MessageType,
  NotifCode,
  Origin,
  RouteRefreshSubtype,
} from './constants.js';

/**
 * Per-session (and per-direction) facts the codec needs. Always passed in
 * explicitly: there is no global codec state.
 */
export interface CodecOptions {
  /** RFC 6793: AS numbers in AS_PATH and AGGREGATOR are 4 octets. */
  fourOctetAs: boolean;
  /** RFC 8654: messages may be up to 65535 octets. */
  extendedMessage: boolean;
  /** RFC 7911: families whose NLRI carry a 4-octet path identifier in this direction. */
  addPath: ReadonlySet<FamilyKey>;
  /** The peer is eBGP (RFC 7606 §7.5: LOCAL_PREF from it is discarded). */
  external: boolean;
}

export const DEFAULT_CODEC_OPTIONS: CodecOptions = Object.freeze({
  fourOctetAs: true,
  extendedMessage: false,
  addPath: new Set<FamilyKey>(),
  external: false,
});

/**
 * One NLRI entry. `prefix` is canonical text ("10.0.0.0/24",
 * "2001:db8::/32", host bits cleared). `pathId` is present only on add-path
 * families.
 */
export interface Nlri {
  prefix: string;
  pathId?: number;
}

// ---------------------------------------------------------------- capabilities

export interface MultiprotocolCap { code: 1; afi: number; safi: number }
export interface RouteRefreshCap { code: 2 }
export interface ExtendedNextHopCap { code: 5; entries: { afi: number; safi: number; nextHopAfi: number }[] }
export interface ExtendedMessageCap { code: 6 }
export interface GracefulRestartCap {
  code: 64;
  /** R bit: the sender has restarted. */
  restarting: boolean;
  /** N bit (RFC 8538): the sender supports notification handling. */
  notification: boolean;
  restartTimeSec: number;
  families: { afi: number; safi: number; forwardingPreserved: boolean }[];
}
export interface FourOctetAsCap { code: 65; asn: number }
export interface AddPathCap {
  code: 69;
  /** mode: 1 receive, 2 send, 3 both (RFC 7911 §4). */
  entries: { afi: number; safi: number; mode: number }[];
}
export interface EnhancedRouteRefreshCap { code: 70 }
export interface LongLivedGracefulRestartCap {
  code: 71;
  families: { afi: number; safi: number; forwardingPreserved: boolean; staleTimeSec: number }[];
}
export interface FqdnCap { code: 73; hostname: string; domain: string }
/** Any capability we do not interpret, kept as raw bytes. */
export interface UnknownCap { code: 'unknown'; /** The capability code on the wire. */ capCode: number; raw: Uint8Array }

export type Capability =
  | MultiprotocolCap
  | RouteRefreshCap
  | ExtendedNextHopCap
  | ExtendedMessageCap
  | GracefulRestartCap
  | FourOctetAsCap
  | AddPathCap
  | EnhancedRouteRefreshCap
  | LongLivedGracefulRestartCap
  | FqdnCap
  | UnknownCap;

// ---------------------------------------------------------------- OPEN

export type OptionalParam =
  | { type: 2; capabilities: Capability[] }
  | { type: number; raw: Uint8Array };

export interface OpenMessage {
  type: MessageType.Open;
  version: number;
  /** The 2-octet My Autonomous System field (AS_TRANS for large ASNs). */
  myAs: number;
  holdTimeSec: number;
  /** Dotted quad. */
  bgpId: string;
  params: OptionalParam[];
  /** RFC 9072 extended optional parameter length encoding was (or must be) used. */
  extendedParams?: boolean;
}

// ---------------------------------------------------------------- attributes

interface AttrBase {
  /** Flags as received (or as to be sent). The encoder forces ExtendedLength when needed. */
  flags: number;
}

export interface AsPathSegment {
  type: AsPathSegmentType;
  asns: number[];
}

export interface OriginAttr extends AttrBase { type: AttrType.Origin; origin: Origin }
export interface AsPathAttr extends AttrBase { type: AttrType.AsPath; segments: AsPathSegment[] }
export interface NextHopAttr extends AttrBase { type: AttrType.NextHop; nextHop: string }
export interface MedAttr extends AttrBase { type: AttrType.MultiExitDisc; med: number }
export interface LocalPrefAttr extends AttrBase { type: AttrType.LocalPref; localPref: number }
export interface AtomicAggregateAttr extends AttrBase { type: AttrType.AtomicAggregate }
export interface AggregatorAttr extends AttrBase { type: AttrType.Aggregator; asn: number; address: string }
/** Each community is a uint32 (ASN << 16 | value). */
export interface CommunitiesAttr extends AttrBase { type: AttrType.Communities; communities: number[] }
export interface OriginatorIdAttr extends AttrBase { type: AttrType.OriginatorId; originatorId: string }
export interface ClusterListAttr extends AttrBase { type: AttrType.ClusterList; clusterIds: string[] }
export interface MpReachAttr extends AttrBase {
  type: AttrType.MpReachNlri;
  afi: number;
  safi: number;
  /** Known families: one or two addresses (IPv6 global, then link-local). */
  nextHops: string[];
  nlri: Nlri[];
  /** Unknown families: next hop and NLRI are kept undecoded. */
  rawNextHop?: Uint8Array;
  rawNlri?: Uint8Array;
}
export interface MpUnreachAttr extends AttrBase {
  type: AttrType.MpUnreachNlri;
  afi: number;
  safi: number;
  withdrawn: Nlri[];
  rawWithdrawn?: Uint8Array;
}
/** RFC 4360: type, subtype and six value octets. */
export interface ExtendedCommunity { type: number; subtype: number; value: Uint8Array }
export interface ExtendedCommunitiesAttr extends AttrBase { type: AttrType.ExtendedCommunities; communities: ExtendedCommunity[] }
export interface As4PathAttr extends AttrBase { type: AttrType.As4Path; segments: AsPathSegment[] }
export interface As4AggregatorAttr extends AttrBase { type: AttrType.As4Aggregator; asn: number; address: string }
/** RFC 8092 large community. */
export interface LargeCommunity { global: number; local1: number; local2: number }
export interface LargeCommunityAttr extends AttrBase { type: AttrType.LargeCommunity; communities: LargeCommunity[] }
/** An attribute we do not interpret: passed through as bytes. */
export interface UnknownAttr extends AttrBase { type: 'unknown'; /** The type code on the wire. */ code: number; data: Uint8Array }

export type PathAttribute =
  | OriginAttr
  | AsPathAttr
  | NextHopAttr
  | MedAttr
  | LocalPrefAttr
  | AtomicAggregateAttr
  | AggregatorAttr
  | CommunitiesAttr
  | OriginatorIdAttr
  | ClusterListAttr
  | MpReachAttr
  | MpUnreachAttr
  | ExtendedCommunitiesAttr
  | As4PathAttr
  | As4AggregatorAttr
  | LargeCommunityAttr
  | UnknownAttr;

// ---------------------------------------------------------------- UPDATE

/** One RFC 7606 finding in an UPDATE that did not reset the session. */
export interface UpdateProblem {
  code: NotifCode;
  subcode: number;
  action: ErrorAction;
  /** The attribute type concerned, when there is one. */
  attrType?: number;
  /** The family concerned, for AfiSafiDisable. */
  family?: FamilyKey;
  reason: string;
}

export interface UpdateMessage {
  type: MessageType.Update;
  /** IPv4 unicast withdrawn routes field. */
  withdrawn: Nlri[];
  /** In wire order. Discarded attributes (RFC 7606) are absent. */
  attributes: PathAttribute[];
  /** IPv4 unicast NLRI field. */
  nlri: Nlri[];
  /**
   * Present only when the decoder found RFC 7606 problems it handled
   * without a session reset. `action` is the most severe of them.
   */
  errors?: { action: ErrorAction; problems: UpdateProblem[] };
}

// ---------------------------------------------------------------- others

export interface NotificationMessage {
  type: MessageType.Notification;
  code: NotifCode | number;
  subcode: number;
  data: Uint8Array;
}

export interface KeepaliveMessage {
  type: MessageType.Keepalive;
}

export interface RouteRefreshMessage {
  type: MessageType.RouteRefresh;
  afi: number;
  /** RFC 7313 subtype (0 for a plain RFC 2918 request). */
  subtype: RouteRefreshSubtype | number;
  safi: number;
}

export type BgpMessage =
  | OpenMessage
  | UpdateMessage
  | NotificationMessage
  | KeepaliveMessage
  | RouteRefreshMessage;
