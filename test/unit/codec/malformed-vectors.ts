/**
 * Malformed vectors, each with the exact RFC 7606 / RFC 4271 outcome.
 * `frame: true` feeds the bytes through the stream framer instead of
 * decodeMessage (header faults are found there first).
 */
import { ErrorAction, IPV4_UNICAST, IPV6_UNICAST, type CodecOptions } from '../../../bgp/codec/index.js';
import { attr, cap, capParam, MARKER, msg, open, update } from './hex.js';

const SR = ErrorAction.SessionReset;
const TAW = ErrorAction.TreatAsWithdraw;
const AD = ErrorAction.AttributeDiscard;
const AFD = ErrorAction.AfiSafiDisable;

export interface MalformedVector {
  name: string;
  /** Section of the RFC the outcome comes from. */
  rfc: string;
  hex: string;
  opts?: Partial<CodecOptions>;
  frame?: boolean;
  code: number;
  subcode: number;
  action: ErrorAction;
  /** For non-reset outcomes: the attribute type the problem names. */
  attrType?: number;
  family?: number;
}

const ORIGIN = attr(0x40, 1, '00');
const ASPATH = attr(0x40, 2, '02 01 0000fde9');
const NH = attr(0x40, 3, 'c0000201');
const BASE = ORIGIN + ASPATH + NH;
const NLRI = '18 c63364'; // 198.51.100.0/24
const MP6 = (nlri: string): string => attr(0x80, 14, '0002 01 10 20010db8000000000000000000000001 00 ' + nlri);

export const MALFORMED_VECTORS: MalformedVector[] = [
  // ---- message header, RFC 4271 §6.1
  { name: 'marker not all ones', rfc: '4271 §6.1', frame: true, hex: 'ff'.repeat(15) + 'fe' + '0013 04', code: 1, subcode: 1, action: SR },
  { name: 'length below 19', rfc: '4271 §6.1', frame: true, hex: MARKER + '0012 04', code: 1, subcode: 2, action: SR },
  { name: 'length above 4096', rfc: '4271 §6.1', frame: true, hex: MARKER + '1001 02', code: 1, subcode: 2, action: SR },
  { name: 'length field disagrees with the frame', rfc: '4271 §6.1', hex: MARKER + '0014 04', code: 1, subcode: 2, action: SR },
  { name: 'unknown message type 9', rfc: '4271 §6.1', hex: msg(9, ''), code: 1, subcode: 3, action: SR },
  { name: 'KEEPALIVE with a body', rfc: '4271 §6.1', hex: msg(4, '00'), code: 1, subcode: 2, action: SR },
  { name: 'OPEN shorter than 29', rfc: '4271 §6.1', hex: msg(1, '04 fde9 005a c0000201'), code: 1, subcode: 2, action: SR },
  { name: 'UPDATE shorter than 23', rfc: '4271 §6.1', hex: msg(2, '0000'), code: 1, subcode: 2, action: SR },
  { name: 'NOTIFICATION shorter than 21', rfc: '4271 §6.1', hex: msg(3, '06'), code: 1, subcode: 2, action: SR },
  { name: 'OPEN over 4096 even with extended message', rfc: '8654 §4', opts: { extendedMessage: true }, frame: true,
    hex: MARKER + '1100 01' + '00'.repeat(0x1100 - 19), code: 1, subcode: 2, action: SR },
  { name: 'UPDATE over 4096 without extended message', rfc: '8654 §4', frame: true,
    hex: MARKER + '1100 02' + '00'.repeat(0x1100 - 19), code: 1, subcode: 2, action: SR },
  // ---- ROUTE-REFRESH, RFC 7313 §5
  { name: 'ROUTE-REFRESH of the wrong length', rfc: '7313 §5', hex: msg(5, '0001 00 01 00'), code: 7, subcode: 1, action: SR },
  // ---- OPEN, RFC 4271 §6.2 and RFC 5492
  { name: 'OPEN version 3', rfc: '4271 §6.2', hex: msg(1, '03 fde9 005a c0000201 00'), code: 2, subcode: 1, action: SR },
  { name: 'OPEN optional parameters length too long', rfc: '4271 §6.2', hex: msg(1, '04 fde9 005a c0000201 08 0204 01040001'), code: 2, subcode: 0, action: SR },
  { name: 'OPEN capability overruns its parameter', rfc: '5492 §3', hex: open(65001, 90, 'c0000201', '02 04 01 08 0001'), code: 2, subcode: 0, action: SR },
  { name: 'OPEN multiprotocol capability of length 3', rfc: '4760 §8', hex: open(65001, 90, 'c0000201', capParam(cap(1, '000100'))), code: 2, subcode: 0, action: SR },
  { name: 'OPEN 4-octet AS capability of length 2', rfc: '6793 §3', hex: open(65001, 90, 'c0000201', capParam(cap(65, 'fde9'))), code: 2, subcode: 0, action: SR },
  { name: 'OPEN graceful restart capability with a partial family', rfc: '4724 §3', hex: open(65001, 90, 'c0000201', capParam(cap(64, '0078 0001 01'))), code: 2, subcode: 0, action: SR },
  { name: 'OPEN parameter header truncated', rfc: '4271 §6.2', hex: open(65001, 90, 'c0000201', '02'), code: 2, subcode: 0, action: SR },
  // ---- UPDATE: cannot be parsed at all, RFC 7606 §3.a
  { name: 'withdrawn routes length overruns the message', rfc: '7606 §3.a', hex: msg(2, '0010 0000'), code: 3, subcode: 1, action: SR },
  { name: 'total path attribute length overruns the message', rfc: '7606 §3.a', hex: msg(2, '0000 0020 400101 00'), code: 3, subcode: 1, action: SR },
  // ---- NLRI syntax, RFC 7606 §5.3
  { name: 'IPv4 NLRI prefix length 33', rfc: '7606 §5.3', hex: update('', BASE, '21 c6336401 00'), code: 3, subcode: 10, action: SR },
  { name: 'IPv4 NLRI prefix overruns the message', rfc: '7606 §5.3', hex: update('', BASE, '18 c633'), code: 3, subcode: 10, action: SR },
  { name: 'IPv4 withdrawn prefix length 40', rfc: '7606 §5.3', hex: update('28 c000020000', ''), code: 3, subcode: 10, action: SR },
  { name: 'IPv6 MP_REACH prefix length 129', rfc: '7606 §5.3', hex: update('', MP6('81 ' + '20'.repeat(17)) + ORIGIN + ASPATH),
    code: 3, subcode: 9, action: AFD, attrType: 14, family: IPV6_UNICAST },
  { name: 'IPv6 MP_UNREACH prefix truncated', rfc: '7606 §7.11', hex: update('', attr(0x80, 15, '0002 01 40 20010db8')),
    code: 3, subcode: 9, action: AFD, attrType: 15, family: IPV6_UNICAST },
  { name: 'IPv4 MP_REACH prefix overruns the attribute', rfc: '7606 §5.3', hex: update('', attr(0x80, 14, '0001 01 04 c0000201 00 18 c0') + ORIGIN + ASPATH),
    code: 3, subcode: 9, action: AFD, attrType: 14, family: IPV4_UNICAST },
  // ---- attributes that make NLRI unlocatable, RFC 7606 §3.g, §4, §7.11
  { name: 'unrecognised well-known attribute', rfc: '4271 §6.3', hex: update('', BASE + attr(0x40, 99, '00'), NLRI), code: 3, subcode: 2, action: SR },
  { name: 'MP_REACH_NLRI twice', rfc: '7606 §3.g', hex: update('', MP6('40 20010db800000001') + MP6('40 20010db800000002') + ORIGIN + ASPATH), code: 3, subcode: 1, action: SR },
  { name: 'MP_REACH_NLRI IPv6 next hop of 9 octets', rfc: '7606 §7.11', hex: update('', attr(0x80, 14, '0002 01 09 20010db80000000000 00 40 20010db800000001') + ORIGIN + ASPATH), code: 3, subcode: 1, action: SR },
  { name: 'MP_REACH_NLRI next hop overruns the attribute', rfc: '7606 §7.11', hex: update('', attr(0x80, 14, '0002 01 40 20010db8000000000000000000000001 00') + ORIGIN + ASPATH), code: 3, subcode: 1, action: SR },
  { name: 'MP_REACH_NLRI with well-known flags', rfc: '7606 §3.c', hex: update('', attr(0x40, 14, '0002 01 10 20010db8000000000000000000000001 00 40 20010db800000001') + ORIGIN + ASPATH), code: 3, subcode: 4, action: SR },
  { name: 'attribute length overruns with no NLRI to withdraw', rfc: '7606 §4', hex: msg(2, '0000 0004 400105 00'), code: 3, subcode: 5, action: SR },
  // ---- treat-as-withdraw, RFC 7606 §3 and §7
  { name: 'ORIGIN of length 2', rfc: '7606 §7.1', hex: update('', attr(0x40, 1, '0000') + ASPATH + NH, NLRI), code: 3, subcode: 5, action: TAW, attrType: 1 },
  { name: 'ORIGIN value 3', rfc: '7606 §7.1', hex: update('', attr(0x40, 1, '03') + ASPATH + NH, NLRI), code: 3, subcode: 6, action: TAW, attrType: 1 },
  { name: 'ORIGIN with the optional bit', rfc: '7606 §3.c', hex: update('', attr(0xc0, 1, '00') + ASPATH + NH, NLRI), code: 3, subcode: 4, action: TAW, attrType: 1 },
  { name: 'AS_PATH segment type 5', rfc: '7606 §7.2', hex: update('', ORIGIN + attr(0x40, 2, '05 01 0000fde9') + NH, NLRI), code: 3, subcode: 11, action: TAW, attrType: 2 },
  { name: 'AS_PATH segment overruns the attribute', rfc: '7606 §7.2', hex: update('', ORIGIN + attr(0x40, 2, '02 02 0000fde9') + NH, NLRI), code: 3, subcode: 11, action: TAW, attrType: 2 },
  { name: 'AS_PATH segment of length zero', rfc: '7606 §7.2', hex: update('', ORIGIN + attr(0x40, 2, '02 00') + NH, NLRI), code: 3, subcode: 11, action: TAW, attrType: 2 },
  { name: 'AS_PATH with 2-octet ASNs on a 4-octet session (odd remainder)', rfc: '7606 §7.2', hex: update('', ORIGIN + attr(0x40, 2, '02 01 fde9') + NH, NLRI), code: 3, subcode: 11, action: TAW, attrType: 2 },
  { name: 'NEXT_HOP of length 5', rfc: '7606 §7.3', hex: update('', ORIGIN + ASPATH + attr(0x40, 3, 'c000020100'), NLRI), code: 3, subcode: 5, action: TAW, attrType: 3 },
  { name: 'NEXT_HOP 0.0.0.0', rfc: '7606 §7.3', hex: update('', ORIGIN + ASPATH + attr(0x40, 3, '00000000'), NLRI), code: 3, subcode: 8, action: TAW, attrType: 3 },
  { name: 'NEXT_HOP multicast 224.0.0.1', rfc: '7606 §7.3', hex: update('', ORIGIN + ASPATH + attr(0x40, 3, 'e0000001'), NLRI), code: 3, subcode: 8, action: TAW, attrType: 3 },
  { name: 'MULTI_EXIT_DISC of length 3', rfc: '7606 §7.4', hex: update('', BASE + attr(0x80, 4, '000001'), NLRI), code: 3, subcode: 5, action: TAW, attrType: 4 },
  { name: 'MULTI_EXIT_DISC marked transitive', rfc: '7606 §3.c', hex: update('', BASE + attr(0xc0, 4, '00000001'), NLRI), code: 3, subcode: 4, action: TAW, attrType: 4 },
  { name: 'LOCAL_PREF of length 2 from an internal peer', rfc: '7606 §7.5', hex: update('', BASE + attr(0x40, 5, '0064'), NLRI), code: 3, subcode: 5, action: TAW, attrType: 5 },
  { name: 'COMMUNITIES of length 5', rfc: '7606 §7.8', hex: update('', BASE + attr(0xc0, 8, 'fde9006400'), NLRI), code: 3, subcode: 5, action: TAW, attrType: 8 },
  { name: 'COMMUNITIES of length 0', rfc: '7606 §7.8', hex: update('', BASE + attr(0xc0, 8, ''), NLRI), code: 3, subcode: 5, action: TAW, attrType: 8 },
  { name: 'ORIGINATOR_ID of length 3', rfc: '7606 §7.9', hex: update('', BASE + attr(0x80, 9, '0a0000'), NLRI), code: 3, subcode: 5, action: TAW, attrType: 9 },
  { name: 'CLUSTER_LIST of length 6', rfc: '7606 §7.10', hex: update('', BASE + attr(0x80, 10, '0a0000010a00'), NLRI), code: 3, subcode: 5, action: TAW, attrType: 10 },
  { name: 'EXTENDED_COMMUNITIES of length 12', rfc: '7606 §7.14', hex: update('', BASE + attr(0xc0, 16, '0002fde900000064 00000000'), NLRI), code: 3, subcode: 5, action: TAW, attrType: 16 },
  { name: 'LARGE_COMMUNITY of length 13', rfc: '8092 §5', hex: update('', BASE + attr(0xc0, 32, 'fa56ea01 00000001 00000002 00'), NLRI), code: 3, subcode: 5, action: TAW, attrType: 32 },
  { name: 'missing ORIGIN', rfc: '7606 §3.d', hex: update('', ASPATH + NH, NLRI), code: 3, subcode: 3, action: TAW, attrType: 1 },
  { name: 'missing AS_PATH', rfc: '7606 §3.d', hex: update('', ORIGIN + NH, NLRI), code: 3, subcode: 3, action: TAW, attrType: 2 },
  { name: 'missing NEXT_HOP with IPv4 NLRI', rfc: '7606 §3.d', hex: update('', ORIGIN + ASPATH, NLRI), code: 3, subcode: 3, action: TAW, attrType: 3 },
  { name: 'missing ORIGIN with only MP_REACH_NLRI', rfc: '7606 §3.d', hex: update('', MP6('40 20010db800000001') + ASPATH), code: 3, subcode: 3, action: TAW, attrType: 1 },
  { name: 'attribute length overruns, IPv4 NLRI present', rfc: '7606 §4', hex: msg(2, '0000 0009 ' + ORIGIN + '400206 0201' + ' 18c63364'), code: 3, subcode: 5, action: TAW },
  // ---- attribute discard
  { name: 'ATOMIC_AGGREGATE of length 1', rfc: '7606 §7.6', hex: update('', BASE + attr(0x40, 6, '00'), NLRI), code: 3, subcode: 5, action: AD, attrType: 6 },
  { name: 'AGGREGATOR of length 7 on a 4-octet session', rfc: '7606 §7.7', hex: update('', BASE + attr(0xc0, 7, '0000fde9c00002'), NLRI), code: 3, subcode: 5, action: AD, attrType: 7 },
  { name: 'AGGREGATOR of length 8 on a 2-octet session', rfc: '7606 §7.7', opts: { fourOctetAs: false },
    hex: update('', ORIGIN + attr(0x40, 2, '02 01 fde9') + NH + attr(0xc0, 7, '0000fde9c0000201'), NLRI), code: 3, subcode: 5, action: AD, attrType: 7 },
  { name: 'AS4_AGGREGATOR of length 6', rfc: '6793 §6', opts: { fourOctetAs: false },
    hex: update('', ORIGIN + attr(0x40, 2, '02 01 fde9') + NH + attr(0xc0, 18, 'fde9c0000201'), NLRI), code: 3, subcode: 5, action: AD, attrType: 18 },
  { name: 'AS4_PATH with a segment overrun', rfc: '6793 §6', opts: { fourOctetAs: false },
    hex: update('', ORIGIN + attr(0x40, 2, '02 01 5ba0') + NH + attr(0xc0, 17, '02 02 fa56ea01'), NLRI), code: 3, subcode: 9, action: AD, attrType: 17 },
  { name: 'AS4_PATH between 4-octet speakers', rfc: '6793 §6', hex: update('', BASE + attr(0xc0, 17, '02 01 fa56ea01'), NLRI), code: 3, subcode: 9, action: AD, attrType: 17 },
  { name: 'AS4_PATH with a confederation segment', rfc: '6793 §6', opts: { fourOctetAs: false },
    hex: update('', ORIGIN + attr(0x40, 2, '02 01 5ba0') + NH + attr(0xc0, 17, '03 01 fa56ea01'), NLRI), code: 3, subcode: 9, action: AD, attrType: 17 },
  { name: 'LOCAL_PREF from an external peer', rfc: '7606 §7.5', opts: { external: true }, hex: update('', BASE + attr(0x40, 5, '00000064'), NLRI), code: 3, subcode: 9, action: AD, attrType: 5 },
  { name: 'COMMUNITIES twice', rfc: '7606 §3.g', hex: update('', BASE + attr(0xc0, 8, 'fde90064') + attr(0xc0, 8, 'fde90065'), NLRI), code: 3, subcode: 1, action: AD, attrType: 8 },
  { name: 'AGGREGATOR marked non-transitive', rfc: '7606 §7.7', hex: update('', BASE + attr(0x80, 7, '0000fde9c0000201'), NLRI), code: 3, subcode: 4, action: AD, attrType: 7 },
];

