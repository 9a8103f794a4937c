/**
 * Path attributes (RFC 4271 §4.3 and later), dispatched from one table row
 * per type code: expected flags, the RFC 7606 action for a flags conflict,
 * decode and encode. Each RFC 7606 rule sits in the row it belongs to.
 */
import { ipv4ToString, ipv4ToUint32 } from './addr.js';
import { as4PathCodec, asPathCodec } from './attr-as-path.js';
import { fault, type AttrCodec, type AttrFault } from './attr-common.js';
import { mpReachCodec, mpUnreachCodec } from './attr-mp.js';
import { AttrType, ErrorAction, Origin, UpdateSubcode } from './constants.js';
import { BgpEncodeError } from './errors.js';
import type { CodecOptions, PathAttribute } from './types.js';
import { readU32, type Writer } from './writer.js';

type A<T extends AttrType> = Extract<PathAttribute, { type: T }>;

const lengthFault = (name: string, len: number, want: string, action: ErrorAction): AttrFault =>
  fault(UpdateSubcode.AttributeLengthError, action, `${name} length ${len}, expected ${want}`);

/** A row for a 4-octet number attribute (MED, LOCAL_PREF). */
function u32Row<T extends AttrType.MultiExitDisc | AttrType.LocalPref>(
  type: T, name: string, expectFlags: number, key: 'med' | 'localPref',
  extraCheck?: (opts: CodecOptions) => AttrFault | undefined,
): AttrCodec {
  return {
    name,
    expectFlags,
    flagsAction: ErrorAction.TreatAsWithdraw,
    decode(b, s, e, flags, opts) {
      const extra = extraCheck?.(opts);
      if (extra) return extra;
      if (e - s !== 4) return lengthFault(name, e - s, '4', ErrorAction.TreatAsWithdraw);
      return { type, flags, [key]: readU32(b, s) } as unknown as PathAttribute;
    },
    encode(w, a) {
      w.u32((a as unknown as Record<string, number>)[key]);
    },
  };
}

/** A row for a list of fixed-size items (communities and their kin). */
function listRow(
  type: AttrType, name: string, itemSize: number,
  decodeItem: (b: Uint8Array, at: number) => unknown,
  encodeItem: (w: Writer, item: never) => void,
  key: string,
): AttrCodec {
  return {
    name,
    expectFlags: 0xc0,
    flagsAction: ErrorAction.TreatAsWithdraw,
    decode(b, s, e, flags) {
      const len = e - s;
      if (len === 0 || len % itemSize !== 0) {
        return lengthFault(name, len, `a non-zero multiple of ${itemSize}`, ErrorAction.TreatAsWithdraw);
      }
      const items: unknown[] = [];
      for (let i = s; i < e; i += itemSize) items.push(decodeItem(b, i));
      return { type, flags, [key]: items } as unknown as PathAttribute;
    },
    encode(w, a) {
      for (const item of (a as unknown as Record<string, never[]>)[key]) encodeItem(w, item);
    },
  };
}

export const ATTRS: Partial<Record<number, AttrCodec>> = {
  [AttrType.Origin]: {
    name: 'ORIGIN',
    expectFlags: 0x40,
    flagsAction: ErrorAction.TreatAsWithdraw,
    decode(b, s, e, flags) {
      if (e - s !== 1) return lengthFault('ORIGIN', e - s, '1', ErrorAction.TreatAsWithdraw);
      const origin = b[s];
      if (origin > Origin.Incomplete) return fault(UpdateSubcode.InvalidOriginAttribute, ErrorAction.TreatAsWithdraw, `ORIGIN value ${origin}`);
      return { type: AttrType.Origin, flags, origin };
    },
    encode(w, a) {
      w.u8((a as A<AttrType.Origin>).origin);
    },
  },
  [AttrType.AsPath]: asPathCodec,
  [AttrType.NextHop]: {
    name: 'NEXT_HOP',
    expectFlags: 0x40,
    flagsAction: ErrorAction.TreatAsWithdraw,
    decode(b, s, e, flags) {
      if (e - s !== 4) return lengthFault('NEXT_HOP', e - s, '4', ErrorAction.TreatAsWithdraw);
      return { type: AttrType.NextHop, flags, nextHop: ipv4ToString(b, s) };
    },
    encode(w, a) {
      w.u32(ipv4ToUint32((a as A<AttrType.NextHop>).nextHop));
    },
  },
  [AttrType.MultiExitDisc]: u32Row(AttrType.MultiExitDisc, 'MULTI_EXIT_DISC', 0x80, 'med'),
  // RFC 7606 §7.5: LOCAL_PREF from an external peer is discarded, whatever its length.
  [AttrType.LocalPref]: u32Row(AttrType.LocalPref, 'LOCAL_PREF', 0x40, 'localPref', (opts) =>
    opts.external ? fault(UpdateSubcode.OptionalAttributeError, ErrorAction.AttributeDiscard, 'LOCAL_PREF from an external peer') : undefined),
  [AttrType.AtomicAggregate]: {
    name: 'ATOMIC_AGGREGATE',
    expectFlags: 0x40,
    flagsAction: ErrorAction.AttributeDiscard,
    decode(_b, s, e, flags) {
      // RFC 7606 §7.6: wrong length means attribute discard.
      if (e !== s) return lengthFault('ATOMIC_AGGREGATE', e - s, '0', ErrorAction.AttributeDiscard);
      return { type: AttrType.AtomicAggregate, flags };
    },
    encode() {
      /* no value */
    },
  },
  [AttrType.Aggregator]: {
    name: 'AGGREGATOR',
    expectFlags: 0xc0,
    flagsAction: ErrorAction.AttributeDiscard,
    decode(b, s, e, flags, opts) {
      // RFC 7606 §7.7: 6 octets on 2-octet sessions, 8 on 4-octet ones; else discard.
      const want = opts.fourOctetAs ? 8 : 6;
      if (e - s !== want) return lengthFault('AGGREGATOR', e - s, String(want), ErrorAction.AttributeDiscard);
      const asn = opts.fourOctetAs ? readU32(b, s) : (b[s] << 8) | b[s + 1];
      return { type: AttrType.Aggregator, flags, asn, address: ipv4ToString(b, s + want - 4) };
    },
    encode(w, a, opts) {
      const agg = a as A<AttrType.Aggregator>;
      if (opts.fourOctetAs) w.u32(agg.asn);
      else w.u16(agg.asn > 0xffff ? 23456 : agg.asn);
      w.u32(ipv4ToUint32(agg.address));
    },
  },
  // RFC 7606 §7.8.
  [AttrType.Communities]: listRow(AttrType.Communities, 'COMMUNITIES', 4, (b, i) => readU32(b, i),
    (w, c: number) => w.u32(c), 'communities'),
  [AttrType.OriginatorId]: {
    name: 'ORIGINATOR_ID',
    expectFlags: 0x80,
    flagsAction: ErrorAction.TreatAsWithdraw,
    decode(b, s, e, flags) {
      // RFC 7606 §7.9.
      if (e - s !== 4) return lengthFault('ORIGINATOR_ID', e - s, '4', ErrorAction.TreatAsWithdraw);
      return { type: AttrType.OriginatorId, flags, originatorId: ipv4ToString(b, s) };
    },
    encode(w, a) {
      w.u32(ipv4ToUint32((a as A<AttrType.OriginatorId>).originatorId));
    },
  },
  // RFC 7606 §7.10.
  [AttrType.ClusterList]: {
    ...listRow(AttrType.ClusterList, 'CLUSTER_LIST', 4, (b, i) => ipv4ToString(b, i),
      (w, id: string) => w.u32(ipv4ToUint32(id)), 'clusterIds'),
    expectFlags: 0x80,
  },
  [AttrType.MpReachNlri]: mpReachCodec,
  [AttrType.MpUnreachNlri]: mpUnreachCodec,
  // RFC 7606 §7.14.
  [AttrType.ExtendedCommunities]: listRow(AttrType.ExtendedCommunities, 'EXTENDED_COMMUNITIES', 8,
    (b, i) => ({ type: b[i], subtype: b[i + 1], value: b.slice(i + 2, i + 8) }),
    (w, c: { type: number; subtype: number; value: Uint8Array }) => {
      if (c.value.length !== 6) throw new BgpEncodeError('extended community value must be 6 octets');
      w.u8(c.type);
      w.u8(c.subtype);
      w.bytes(c.value);
    }, 'communities'),
  [AttrType.As4Path]: as4PathCodec,
  [AttrType.As4Aggregator]: {
    name: 'AS4_AGGREGATOR',
    expectFlags: 0xc0,
    flagsAction: ErrorAction.AttributeDiscard,
    decode(b, s, e, flags, opts) {
      // RFC 6793 §6: ignored between 4-octet speakers; wrong length is discarded.
      if (opts.fourOctetAs) {
        return fault(UpdateSubcode.OptionalAttributeError, ErrorAction.AttributeDiscard, 'AS4_AGGREGATOR on a 4-octet AS session');
      }
      if (e - s !== 8) return lengthFault('AS4_AGGREGATOR', e - s, '8', ErrorAction.AttributeDiscard);
      return { type: AttrType.As4Aggregator, flags, asn: readU32(b, s), address: ipv4ToString(b, s + 4) };
    },
    encode(w, a) {
      const agg = a as A<AttrType.As4Aggregator>;
      w.u32(agg.asn);
      w.u32(ipv4ToUint32(agg.address));
    },
  },
  // RFC 8092 §5.
  [AttrType.LargeCommunity]: listRow(AttrType.LargeCommunity, 'LARGE_COMMUNITY', 12,
    (b, i) => ({ global: readU32(b, i), local1: readU32(b, i + 4), local2: readU32(b, i + 8) }),
    (w, c: { global: number; local1: number; local2: number }) => {
      w.u32(c.global);
      w.u32(c.local1);
      w.u32(c.local2);
    }, 'communities'),
};

export function attrName(type: number): string {
  return ATTRS[type]?.name ?? `attribute ${type}`;
}

/** Writes one attribute with header. Sets ExtendedLength when the value needs it. */
export function encodeAttribute(w: Writer, attr: PathAttribute, opts: CodecOptions): void {
  const code = attr.type === 'unknown' ? attr.code : attr.type;
  const row = attr.type === 'unknown' ? undefined : ATTRS[attr.type];
  let flags = attr.flags & 0xf0;
  w.ensure(4);
  const flagsAt = w.pos;
  w.u8(flags);
  w.u8(code);
  // Reserve two length octets; shrink to one afterwards when allowed.
  const lenAt = w.reserve(2);
  const vs = w.pos;
  if (row) row.encode(w, attr, opts);
  else w.bytes((attr as Extract<PathAttribute, { type: 'unknown' }>).data);
  const len = w.pos - vs;
  if (len > 0xffff) throw new BgpEncodeError(`${attrName(code)} value is ${len} octets`);
  if (len > 255) flags |= 0x10;
  if (flags & 0x10) {
    w.setU16(lenAt, len);
  } else {
    w.buf.copyWithin(lenAt + 1, vs, w.pos);
    w.pos -= 1;
    w.setU8(lenAt, len);
  }
  w.setU8(flagsAt, flags);
}
