/**
 * The messages of the tshark independent check (tshark-check.test.ts): every
 * message type, capability and path attribute the codec supports, written as
 * typed values. The check encodes them with the codec and compares tshark's
 * reading with these values.
 *
 * tshark heuristics this corpus respects (they are tshark's, not ours):
 *  - Add-path NLRI are detected by shape: a path identifier whose first
 *    octet is 0 reads as a /0 prefix, so small path IDs are recognised.
 *  - Without add-path, an NLRI field holding 0.0.0.0/0 plus other prefixes
 *    can be mistaken for add-path, so the default route travels alone.
 *  - FQDN capabilities inside NOTIFICATION data are dissected, so the
 *    "unsupported capability" example carries a well-formed capability.
 */
import {
  AsPathSegmentType,
  AttrType,
  CeaseSubcode,
  DEFAULT_CODEC_OPTIONS,
  IPV4_UNICAST,
  IPV6_UNICAST,
  MessageType,
  NotifCode,
  OpenSubcode,
  Origin,
  RouteRefreshSubtype,
  UpdateSubcode,
  defaultFlags,
  encodeEndOfRib,
  encodeMessage,
  makeShutdownNotification,
  type BgpMessage,
  type Capability,
  type CodecOptions,
  type ExtendedCommunity,
  type Nlri,
  type PathAttribute,
  type UnknownAttr,
  type UpdateMessage,
} from '../../bgp/codec/index.js';
import type { Side } from '../support/pcap.js';

const FOUR: CodecOptions = DEFAULT_CODEC_OPTIONS;
const TWO: CodecOptions = { ...DEFAULT_CODEC_OPTIONS, fourOctetAs: false, external: true };
const ADD_PATH: CodecOptions = { ...DEFAULT_CODEC_OPTIONS, addPath: new Set([IPV4_UNICAST, IPV6_UNICAST]) };

export interface Entry {
  name: string;
  from: Side;
  /** What was encoded (or, for helpers that return bytes, what the bytes mean). */
  msg: BgpMessage;
  opts: CodecOptions;
  /** Bytes from a helper other than encodeMessage (End-of-RIB). */
  bytes?: Uint8Array;
}

const BIG_AS = 4200000001;
const AS_TRANS = 23456;

type KnownAttribute = Exclude<PathAttribute, UnknownAttr>;
type AttrInput = KnownAttribute extends infer A ? (A extends KnownAttribute ? Omit<A, 'flags'> & { flags?: number } : never) : never;
/** An attribute with the flags a fresh speaker gives it (unless `flags` says otherwise). */
function attr(a: AttrInput): PathAttribute {
  return { flags: defaultFlags(a.type), ...a };
}
function nlri(...prefixes: string[]): Nlri[] {
  return prefixes.map((prefix) => ({ prefix }));
}
function update(parts: Partial<Omit<UpdateMessage, 'type'>>): UpdateMessage {
  return { type: MessageType.Update, withdrawn: [], attributes: [], nlri: [], ...parts };
}
function ext(type: number, subtype: number, value: number[]): ExtendedCommunity {
  return { type, subtype, value: Uint8Array.from(value) };
}
function community(asn: number, value: number): number {
  return ((asn << 16) | value) >>> 0;
}

const openCaps: Capability[] = [
  { code: 1, afi: 1, safi: 1 },
  { code: 1, afi: 2, safi: 1 },
  { code: 2 },
  { code: 70 },
  { code: 65, asn: BIG_AS },
  {
    code: 64, restarting: false, notification: true, restartTimeSec: 120,
    families: [{ afi: 1, safi: 1, forwardingPreserved: true }, { afi: 2, safi: 1, forwardingPreserved: false }],
  },
  {
    code: 71,
    families: [
      { afi: 1, safi: 1, forwardingPreserved: true, staleTimeSec: 86400 },
      { afi: 2, safi: 1, forwardingPreserved: false, staleTimeSec: 3600 },
    ],
  },
  { code: 69, entries: [{ afi: 1, safi: 1, mode: 3 }, { afi: 2, safi: 1, mode: 1 }] },
  { code: 6 },
  { code: 73, hostname: 'node-a', domain: 'cluster.example' },
  { code: 5, entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
  { code: 'unknown', capCode: 0xf0, raw: Uint8Array.of(1, 2, 3) },
];

/** /24s packed the way a real speaker packs a table: many NLRI behind one attribute set. */
const manyV4 = Array.from({ length: 420 }, (_, i) => `10.${(i >> 8) + 1}.${i & 0xff}.0/24`);

const richV4Attributes: PathAttribute[] = [
  attr({ type: AttrType.Origin, origin: Origin.Igp }),
  attr({
    type: AttrType.AsPath,
    segments: [
      { type: AsPathSegmentType.AsSequence, asns: [65001, BIG_AS, 64512] },
      { type: AsPathSegmentType.AsSet, asns: [64513, 64514, 4200000002] },
    ],
  }),
  attr({ type: AttrType.NextHop, nextHop: '192.0.2.1' }),
  attr({ type: AttrType.MultiExitDisc, med: 50 }),
  attr({ type: AttrType.LocalPref, localPref: 200 }),
  attr({ type: AttrType.AtomicAggregate }),
  attr({ type: AttrType.Aggregator, asn: BIG_AS, address: '192.0.2.7' }),
  attr({
    type: AttrType.Communities,
    communities: [community(65001, 100), 0xffffff01, community(65001, 200), 0xffffff02, community(0xffff, 0), community(65535, 666)],
  }),
  attr({ type: AttrType.OriginatorId, originatorId: '192.0.2.9' }),
  attr({ type: AttrType.ClusterList, clusterIds: ['192.0.2.1', '198.51.100.254'] }),
  attr({
    type: AttrType.ExtendedCommunities,
    communities: [
      ext(0x00, 0x02, [0xfd, 0xe9, 0, 0, 0, 100]), // RT 65001:100
      ext(0x01, 0x03, [192, 0, 2, 1, 0, 7]), // RO 192.0.2.1:7
      ext(0x02, 0x02, [0xfa, 0x56, 0xea, 0x01, 0, 5]), // RT 4200000001:5
    ],
  }),
  attr({
    type: AttrType.LargeCommunity,
    communities: [{ global: BIG_AS, local1: 1, local2: 2 }, { global: 65001, local1: 0, local2: 0xffffffff }],
  }),
  // An attribute we do not know, passed on with the Partial bit set.
  { type: 'unknown', code: 250, flags: 0xe0, data: Uint8Array.of(0xde, 0xad, 0xbe, 0xef) },
];

export const fourOctetCorpus: Entry[] = [
  {
    name: 'OPEN with every capability in one parameter', from: 'active', opts: FOUR,
    msg: { type: MessageType.Open, version: 4, myAs: AS_TRANS, holdTimeSec: 90, bgpId: '192.0.2.1', params: [{ type: 2, capabilities: openCaps }] },
  },
  {
    name: 'OPEN with one capability per parameter', from: 'passive', opts: FOUR,
    msg: {
      type: MessageType.Open, version: 4, myAs: 65002, holdTimeSec: 180, bgpId: '192.0.2.2',
      params: [
        { type: 2, capabilities: [{ code: 1, afi: 1, safi: 1 }] },
        { type: 2, capabilities: [{ code: 2 }] },
        { type: 2, capabilities: [{ code: 65, asn: 65002 }] },
        { type: 2, capabilities: [{ code: 64, restarting: true, notification: false, restartTimeSec: 4095, families: [] }] },
      ],
    },
  },
  { name: 'KEEPALIVE (active)', from: 'active', opts: FOUR, msg: { type: MessageType.Keepalive } },
  { name: 'KEEPALIVE (passive)', from: 'passive', opts: FOUR, msg: { type: MessageType.Keepalive } },
  {
    name: 'UPDATE IPv4 with withdrawals, every attribute and many NLRI', from: 'active', opts: FOUR,
    msg: update({
      withdrawn: nlri('10.9.0.0/16', '10.9.1.128/25', '192.168.255.255/32'),
      attributes: richV4Attributes,
      nlri: nlri('172.16.0.0/12', '192.168.128.0/17', '198.51.100.7/32', '203.0.113.64/26', '100.64.0.0/10', '10.128.0.0/9', '1.0.0.0/8', ...manyV4.slice(0, 40)),
    }),
  },
  {
    name: 'UPDATE IPv4 packed with 420 NLRI (larger than one TCP segment)', from: 'active', opts: FOUR,
    msg: update({
      attributes: [
        attr({ type: AttrType.Origin, origin: Origin.Egp }),
        attr({ type: AttrType.AsPath, segments: [{ type: AsPathSegmentType.AsSequence, asns: [65001] }] }),
        attr({ type: AttrType.NextHop, nextHop: '192.0.2.1' }),
        attr({ type: AttrType.LocalPref, localPref: 100 }),
      ],
      nlri: nlri(...manyV4),
    }),
  },
  {
    name: 'UPDATE with extended-length COMMUNITIES and confederation segments', from: 'active', opts: FOUR,
    msg: update({
      attributes: [
        attr({ type: AttrType.Origin, origin: Origin.Incomplete }),
        attr({
          type: AttrType.AsPath,
          segments: [
            { type: AsPathSegmentType.AsConfedSequence, asns: [64600, 64601] },
            { type: AsPathSegmentType.AsConfedSet, asns: [64602] },
            { type: AsPathSegmentType.AsSequence, asns: [65001, 65003] },
          ],
        }),
        attr({ type: AttrType.NextHop, nextHop: '198.51.100.1' }),
        attr({ type: AttrType.Communities, communities: Array.from({ length: 80 }, (_, i) => community(65001, i + 1)) }),
      ],
      nlri: nlri('203.0.113.0/24'),
    }),
  },
  {
    name: 'UPDATE default route alone', from: 'active', opts: FOUR,
    msg: update({
      attributes: [
        attr({ type: AttrType.Origin, origin: Origin.Igp }),
        attr({ type: AttrType.AsPath, segments: [] }),
        attr({ type: AttrType.NextHop, nextHop: '192.0.2.1' }),
      ],
      nlri: nlri('0.0.0.0/0'),
    }),
  },
  {
    name: 'UPDATE IPv6 MP_REACH with global and link-local next hop', from: 'active', opts: FOUR,
    msg: update({
      attributes: [
        attr({
          type: AttrType.MpReachNlri, afi: 2, safi: 1, nextHops: ['2001:db8::1', 'fe80::1:2ff:fe00:1'],
          nlri: nlri('2001:db8:1::/48', '2001:db8:2::/48', '2001:db8:abcd:12::/64', '2001:db8::1/128', '2001:db8:ff00::/40', '2001:db8:8000::/33'),
        }),
        attr({ type: AttrType.Origin, origin: Origin.Igp }),
        attr({ type: AttrType.AsPath, segments: [{ type: AsPathSegmentType.AsSequence, asns: [65001, BIG_AS] }] }),
        attr({ type: AttrType.MultiExitDisc, med: 0 }),
        attr({ type: AttrType.LocalPref, localPref: 4294967295 }),
        attr({ type: AttrType.Communities, communities: [community(65001, 6)] }),
        attr({ type: AttrType.LargeCommunity, communities: [{ global: 65001, local1: 6, local2: 6 }] }),
      ],
    }),
  },
  {
    name: 'UPDATE IPv6 MP_REACH with a global next hop only, extended length requested', from: 'active', opts: FOUR,
    msg: update({
      attributes: [
        attr({ type: AttrType.MpReachNlri, flags: 0x90, afi: 2, safi: 1, nextHops: ['2001:db8:0:1::a'], nlri: nlri('2001:db8:100::/40') }),
        attr({ type: AttrType.Origin, origin: Origin.Igp }),
        attr({ type: AttrType.AsPath, segments: [{ type: AsPathSegmentType.AsSequence, asns: [65001] }] }),
      ],
    }),
  },
  {
    name: 'UPDATE IPv6 MP_UNREACH', from: 'active', opts: FOUR,
    msg: update({
      attributes: [attr({ type: AttrType.MpUnreachNlri, afi: 2, safi: 1, withdrawn: nlri('2001:db8:1::/48', '2001:db8:dead::/48', '2001:db8::1/128') })],
    }),
  },
  {
    name: 'UPDATE IPv4 withdrawals only', from: 'active', opts: FOUR,
    msg: update({ withdrawn: nlri('10.1.0.0/24', '10.1.1.0/24', '172.16.0.0/12', '198.51.100.7/32') }),
  },
  {
    name: 'UPDATE add-path IPv4 and IPv6', from: 'active', opts: ADD_PATH,
    msg: update({
      withdrawn: [{ prefix: '10.7.0.0/24', pathId: 9 }],
      attributes: [
        attr({ type: AttrType.Origin, origin: Origin.Igp }),
        attr({ type: AttrType.AsPath, segments: [{ type: AsPathSegmentType.AsSequence, asns: [65001] }] }),
        attr({ type: AttrType.NextHop, nextHop: '192.0.2.1' }),
        attr({
          type: AttrType.MpReachNlri, afi: 2, safi: 1, nextHops: ['2001:db8::1'],
          nlri: [{ prefix: '2001:db8:1::/48', pathId: 1 }, { prefix: '2001:db8:1::/48', pathId: 2 }],
        }),
      ],
      nlri: [{ prefix: '10.7.1.0/24', pathId: 1 }, { prefix: '10.7.1.0/24', pathId: 2 }, { prefix: '10.7.2.0/24', pathId: 77 }],
    }),
  },
  { name: 'End-of-RIB IPv4', from: 'active', opts: FOUR, msg: update({}), bytes: encodeEndOfRib(IPV4_UNICAST, FOUR) },
  {
    name: 'End-of-RIB IPv6', from: 'active', opts: FOUR,
    msg: update({ attributes: [attr({ type: AttrType.MpUnreachNlri, afi: 2, safi: 1, withdrawn: [] })] }),
    bytes: encodeEndOfRib(IPV6_UNICAST, FOUR),
  },
  { name: 'ROUTE-REFRESH', from: 'passive', opts: FOUR, msg: { type: MessageType.RouteRefresh, afi: 1, subtype: RouteRefreshSubtype.Normal, safi: 1 } },
  { name: 'ROUTE-REFRESH BoRR', from: 'active', opts: FOUR, msg: { type: MessageType.RouteRefresh, afi: 2, subtype: RouteRefreshSubtype.BeginningOfRouteRefresh, safi: 1 } },
  { name: 'ROUTE-REFRESH EoRR', from: 'active', opts: FOUR, msg: { type: MessageType.RouteRefresh, afi: 2, subtype: RouteRefreshSubtype.EndOfRouteRefresh, safi: 1 } },
  {
    name: 'NOTIFICATION UPDATE error / malformed AS_PATH', from: 'passive', opts: FOUR,
    msg: { type: MessageType.Notification, code: NotifCode.UpdateMessageError, subcode: UpdateSubcode.MalformedAsPath, data: new Uint8Array(0) },
  },
  {
    name: 'NOTIFICATION OPEN error / unsupported capability', from: 'passive', opts: FOUR,
    msg: { type: MessageType.Notification, code: NotifCode.OpenMessageError, subcode: OpenSubcode.UnsupportedCapability, data: Uint8Array.of(5, 6, 0, 1, 0, 1, 0, 2) },
  },
  {
    name: 'NOTIFICATION Cease / administrative shutdown with RFC 9003 communication', from: 'active', opts: FOUR,
    msg: makeShutdownNotification(CeaseSubcode.AdministrativeShutdown, 'maintenance: node drained — back in 10 min'),
  },
];

export const twoOctetCorpus: Entry[] = [
  {
    name: 'OPEN from a 2-octet AS speaker', from: 'passive', opts: TWO,
    msg: {
      type: MessageType.Open, version: 4, myAs: 65010, holdTimeSec: 90, bgpId: '198.51.100.10',
      params: [{ type: 2, capabilities: [{ code: 1, afi: 1, safi: 1 }, { code: 2 }] }],
    },
  },
  { name: 'KEEPALIVE', from: 'passive', opts: TWO, msg: { type: MessageType.Keepalive } },
  {
    name: 'UPDATE with AS_TRANS, AS4_PATH and AS4_AGGREGATOR', from: 'passive', opts: TWO,
    msg: update({
      attributes: [
        attr({ type: AttrType.Origin, origin: Origin.Igp }),
        attr({
          type: AttrType.AsPath,
          segments: [
            { type: AsPathSegmentType.AsSequence, asns: [65010, AS_TRANS, 100] },
            { type: AsPathSegmentType.AsSet, asns: [200, AS_TRANS] },
          ],
        }),
        attr({ type: AttrType.NextHop, nextHop: '198.51.100.10' }),
        attr({ type: AttrType.MultiExitDisc, med: 7 }),
        attr({ type: AttrType.AtomicAggregate }),
        attr({ type: AttrType.Aggregator, asn: AS_TRANS, address: '198.51.100.10' }),
        attr({ type: AttrType.Communities, communities: [community(65010, 1)] }),
        attr({
          type: AttrType.As4Path,
          segments: [
            { type: AsPathSegmentType.AsSequence, asns: [BIG_AS, 100] },
            { type: AsPathSegmentType.AsSet, asns: [200, 4200000002] },
          ],
        }),
        attr({ type: AttrType.As4Aggregator, asn: BIG_AS, address: '198.51.100.10' }),
      ],
      nlri: nlri('192.0.2.0/24', '198.51.100.0/25'),
    }),
  },
  { name: 'End-of-RIB IPv4', from: 'passive', opts: TWO, msg: update({}), bytes: encodeEndOfRib(IPV4_UNICAST, TWO) },
];

export function bytesOf(e: Entry): Uint8Array {
  return e.bytes ?? encodeMessage(e.msg, e.opts);
}

/**
 * Index of an entry by name (so the segment plan reads by meaning, and a
 * reordered corpus fails loudly instead of silently changing the plan).
 */
export function at(corpus: Entry[], name: string): number {
  const i = corpus.findIndex((e) => e.name === name);
  if (i < 0) throw new Error(`no corpus entry named ${name}`);
  return i;
}
