/**
 * AS_PATH (RFC 4271 §4.3, RFC 5065 confederation segments) and AS4_PATH
 * (RFC 6793). Segment ASNs are 2 or 4 octets depending on the session.
 */
import { AS_TRANS, AsPathSegmentType, AttrType, ErrorAction, UpdateSubcode } from './constants.js';
import { fault, type AttrCodec, type AttrFault } from './attr-common.js';
import type { AsPathSegment, PathAttribute } from './types.js';
import { readU16, readU32, type Writer } from './writer.js';

/** Parses segments; returns a reason string when malformed (RFC 7606 §7.2). */
export function decodeSegments(b: Uint8Array, start: number, end: number, asnSize: 2 | 4): AsPathSegment[] | string {
  const segments: AsPathSegment[] = [];
  let i = start;
  while (i < end) {
    if (i + 2 > end) return 'truncated segment header';
    const type = b[i];
    const count = b[i + 1];
    if (type < AsPathSegmentType.AsSet || type > AsPathSegmentType.AsConfedSet) return `unknown segment type ${type}`;
    if (count === 0) return 'segment of length zero';
    i += 2;
    if (i + count * asnSize > end) return `segment of ${count} ASNs overruns the attribute`;
    const asns = new Array<number>(count);
    if (asnSize === 4) {
      for (let k = 0; k < count; k++, i += 4) asns[k] = readU32(b, i);
    } else {
      for (let k = 0; k < count; k++, i += 2) asns[k] = readU16(b, i);
    }
    segments.push({ type, asns });
  }
  return segments;
}

export function encodeSegments(w: Writer, segments: AsPathSegment[], asnSize: 2 | 4): void {
  for (const seg of segments) {
    // A segment holds 1 to 255 ASNs: longer ones are split, empty ones dropped.
    for (let from = 0; from < seg.asns.length; from += 255) {
      const part = seg.asns.slice(from, from + 255);
      w.u8(seg.type);
      w.u8(part.length);
      for (const asn of part) {
        if (asnSize === 4) w.u32(asn);
        else w.u16(asn > 0xffff ? AS_TRANS : asn);
      }
    }
  }
}

export const asPathCodec: AttrCodec = {
  name: 'AS_PATH',
  expectFlags: 0x40,
  flagsAction: ErrorAction.TreatAsWithdraw,
  decode(b, s, e, flags, opts): PathAttribute | AttrFault {
    const segs = decodeSegments(b, s, e, opts.fourOctetAs ? 4 : 2);
    if (typeof segs === 'string') return fault(UpdateSubcode.MalformedAsPath, ErrorAction.TreatAsWithdraw, `AS_PATH: ${segs}`);
    return { type: AttrType.AsPath, flags, segments: segs };
  },
  encode(w, a, opts) {
    encodeSegments(w, (a as Extract<PathAttribute, { type: AttrType.AsPath }>).segments, opts.fourOctetAs ? 4 : 2);
  },
};

export const as4PathCodec: AttrCodec = {
  name: 'AS4_PATH',
  expectFlags: 0xc0,
  flagsAction: ErrorAction.AttributeDiscard,
  decode(b, s, e, flags, opts): PathAttribute | AttrFault {
    // RFC 6793 §6: between two 4-octet speakers AS4_PATH must not appear,
    // and a malformed one is discarded, never a reason to withdraw.
    if (opts.fourOctetAs) {
      return fault(UpdateSubcode.OptionalAttributeError, ErrorAction.AttributeDiscard, 'AS4_PATH on a 4-octet AS session');
    }
    const segs = decodeSegments(b, s, e, 4);
    if (typeof segs === 'string') return fault(UpdateSubcode.OptionalAttributeError, ErrorAction.AttributeDiscard, `AS4_PATH: ${segs}`);
    if (segs.some((x) => x.type === AsPathSegmentType.AsConfedSequence || x.type === AsPathSegmentType.AsConfedSet)) {
      return fault(UpdateSubcode.OptionalAttributeError, ErrorAction.AttributeDiscard, 'AS4_PATH carries confederation segments');
    }
    return { type: AttrType.As4Path, flags, segments: segs };
  },
  encode(w, a) {
    encodeSegments(w, (a as Extract<PathAttribute, { type: AttrType.As4Path }>).segments, 4);
  },
};
