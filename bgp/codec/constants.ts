/**
 * IANA-registered numbers used on the BGP wire. Names follow the IANA
 * registries so that a grep for an RFC term finds the constant.
 */

export const BGP_MARKER_LEN = 16;
export const BGP_HEADER_LEN = 19;
/** RFC 4271 §4.1 maximum message size. */
export const BGP_MAX_MESSAGE_LEN = 4096;
/** RFC 8654 maximum message size once Extended Message is negotiated. */
export const BGP_MAX_EXTENDED_MESSAGE_LEN = 65535;
export const BGP_VERSION = 4;
/** RFC 6793 AS_TRANS, sent in 2-octet fields when the real ASN does not fit. */
export const AS_TRANS = 23456;

export enum MessageType {
  Open = 1,
  Update = 2,
  Notification = 3,
  Keepalive = 4,
  RouteRefresh = 5,
}

/** Minimum total length (header included) of each message type, RFC 4271 §4. */
export const MIN_MESSAGE_LEN: Readonly<Record<MessageType, number>> = {
  [MessageType.Open]: 29,
  [MessageType.Update]: 23,
  [MessageType.Notification]: 21,
  [MessageType.Keepalive]: 19,
  [MessageType.RouteRefresh]: 23,
};

export enum Afi {
  Ipv4 = 1,
  Ipv6 = 2,
}

export enum Safi {
  Unicast = 1,
  Multicast = 2,
}

/** A family as one number: `afi << 8 | safi`. Cheap to compare and to use as a Set member. */
export type FamilyKey = number;
export function familyKey(afi: number, safi: number): FamilyKey {
  return ((afi & 0xffff) << 8) | (safi & 0xff);
}
export function familyAfi(key: FamilyKey): number {
  return key >>> 8;
}
export function familySafi(key: FamilyKey): number {
  return key & 0xff;
}
export const IPV4_UNICAST: FamilyKey = familyKey(Afi.Ipv4, Safi.Unicast);
export const IPV6_UNICAST: FamilyKey = familyKey(Afi.Ipv6, Safi.Unicast);

export function familyName(key: FamilyKey): string {
  if (key === IPV4_UNICAST) return 'ipv4-unicast';
  if (key === IPV6_UNICAST) return 'ipv6-unicast';
  return `afi${familyAfi(key)}-safi${familySafi(key)}`;
}

/** OPEN optional parameter types (RFC 4271 §4.2, RFC 5492, RFC 9072). */
export enum OptParamType {
  Capabilities = 2,
  /** RFC 9072: marks the extended optional parameters length encoding. */
  ExtendedLength = 255,
}

/** Capability codes, IANA "Capability Codes" registry. */
export enum CapabilityCode {
  Multiprotocol = 1,
  RouteRefresh = 2,
  ExtendedNextHop = 5,
  ExtendedMessage = 6,
  GracefulRestart = 64,
  FourOctetAs = 65,
  AddPath = 69,
  EnhancedRouteRefresh = 70,
  LongLivedGracefulRestart = 71,
  Fqdn = 73,
}

/** Path attribute type codes, IANA "BGP Path Attributes" registry. */
export enum AttrType {
  Origin = 1,
  AsPath = 2,
  NextHop = 3,
  MultiExitDisc = 4,
  LocalPref = 5,
  AtomicAggregate = 6,
  Aggregator = 7,
  Communities = 8,
  OriginatorId = 9,
  ClusterList = 10,
  MpReachNlri = 14,
  MpUnreachNlri = 15,
  ExtendedCommunities = 16,
  As4Path = 17,
  As4Aggregator = 18,
  LargeCommunity = 32,
}

/** Path attribute flag bits, RFC 4271 §4.3. */
export enum AttrFlag {
  Optional = 0x80,
  Transitive = 0x40,
  Partial = 0x20,
  ExtendedLength = 0x10,
}

export enum Origin {
  Igp = 0,
  Egp = 1,
  Incomplete = 2,
}

/** AS_PATH segment types: RFC 4271 §4.3 and RFC 5065 (confederations). */
export enum AsPathSegmentType {
  AsSet = 1,
  AsSequence = 2,
  AsConfedSequence = 3,
  AsConfedSet = 4,
}

/** NOTIFICATION error codes, RFC 4271 §4.5 and later RFCs. */
export enum NotifCode {
  MessageHeaderError = 1,
  OpenMessageError = 2,
  UpdateMessageError = 3,
  HoldTimerExpired = 4,
  FsmError = 5,
  Cease = 6,
  RouteRefreshMessageError = 7,
}

export enum HeaderSubcode {
  Unspecific = 0,
  ConnectionNotSynchronized = 1,
  BadMessageLength = 2,
  BadMessageType = 3,
}

export enum OpenSubcode {
  Unspecific = 0,
  UnsupportedVersionNumber = 1,
  BadPeerAs = 2,
  BadBgpIdentifier = 3,
  UnsupportedOptionalParameter = 4,
  /** 5 is deprecated (Authentication Failure). */
  UnacceptableHoldTime = 6,
  UnsupportedCapability = 7,
  RoleMismatch = 11,
}

export enum UpdateSubcode {
  Unspecific = 0,
  MalformedAttributeList = 1,
  UnrecognizedWellKnownAttribute = 2,
  MissingWellKnownAttribute = 3,
  AttributeFlagsError = 4,
  AttributeLengthError = 5,
  InvalidOriginAttribute = 6,
  /** 7 is deprecated (AS Routing Loop). */
  InvalidNextHopAttribute = 8,
  OptionalAttributeError = 9,
  InvalidNetworkField = 10,
  MalformedAsPath = 11,
}

/** RFC 6608 FSM error subcodes. */
export enum FsmSubcode {
  Unspecified = 0,
  UnexpectedMessageInOpenSent = 1,
  UnexpectedMessageInOpenConfirm = 2,
  UnexpectedMessageInEstablished = 3,
}

/** RFC 4486 (and RFC 8538, RFC 9384) Cease subcodes. */
export enum CeaseSubcode {
  Unspecific = 0,
  MaximumPrefixesReached = 1,
  AdministrativeShutdown = 2,
  PeerDeconfigured = 3,
  AdministrativeReset = 4,
  ConnectionRejected = 5,
  OtherConfigurationChange = 6,
  ConnectionCollisionResolution = 7,
  OutOfResources = 8,
  HardReset = 9,
  BfdDown = 10,
}

/** RFC 7313 ROUTE-REFRESH message error subcodes. */
export enum RouteRefreshSubcode {
  Reserved = 0,
  InvalidMessageLength = 1,
}

/** RFC 7313 ROUTE-REFRESH message subtypes (the former Reserved octet). */
export enum RouteRefreshSubtype {
  Normal = 0,
  BeginningOfRouteRefresh = 1,
  EndOfRouteRefresh = 2,
}

/**
 * RFC 7606 outcomes, ordered by severity so that `Math.max` picks the one
 * to act on. SessionReset is never returned as data: it is thrown as a
 * BgpError carrying the NOTIFICATION to send.
 */
export enum ErrorAction {
  None = 0,
  AttributeDiscard = 1,
  TreatAsWithdraw = 2,
  AfiSafiDisable = 3,
  SessionReset = 4,
}

export function errorActionName(action: ErrorAction): string {
  switch (action) {
    case ErrorAction.None: return 'none';
    case ErrorAction.AttributeDiscard: return 'attribute-discard';
    case ErrorAction.TreatAsWithdraw: return 'treat-as-withdraw';
    case ErrorAction.AfiSafiDisable: return 'afi-safi-disable';
    case ErrorAction.SessionReset: return 'session-reset';
  }
}
