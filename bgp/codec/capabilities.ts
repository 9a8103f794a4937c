/**
 * OPEN capabilities (RFC 5492), one table row per capability code.
 * Unknown codes are kept as raw bytes so they can be logged and re-encoded.
 */
import { CapabilityCode, NotifCode, OpenSubcode } from './constants.js';
import { BgpEncodeError, BgpError } from './errors.js';
import type { Capability, UnknownCap } from './types.js';
import { utf8Decode, utf8Encode } from './utf8.js';
import { readU16, readU24, readU32, type Writer } from './writer.js';

interface CapCodec {
  /** Decode the value in `b[start, end)`; return undefined when its length is invalid. */
  decode(b: Uint8Array, start: number, end: number): Capability | undefined;
  encode(w: Writer, cap: Capability): void;
}

const empty = (code: 2 | 6 | 70): CapCodec => ({
  decode: (_b, s, e) => (e === s ? { code } : undefined),
  encode: () => undefined,
});

/** Rows of `per` octets each; undefined when the length does not divide. */
function rows<T>(s: number, e: number, per: number, row: (at: number) => T): T[] | undefined {
  if ((e - s) % per !== 0) return undefined;
  const out: T[] = [];
  for (let i = s; i < e; i += per) out.push(row(i));
  return out;
}

const CAPS: Partial<Record<number, CapCodec>> = {
  [CapabilityCode.Multiprotocol]: {
    decode: (b, s, e) => (e - s === 4 ? { code: 1, afi: readU16(b, s), safi: b[s + 3] } : undefined),
    encode: (w, c) => {
      const cap = c as Extract<Capability, { code: 1 }>;
      w.u16(cap.afi);
      w.u8(0);
      w.u8(cap.safi);
    },
  },
  [CapabilityCode.RouteRefresh]: empty(2),
  [CapabilityCode.ExtendedMessage]: empty(6),
  [CapabilityCode.EnhancedRouteRefresh]: empty(70),
  [CapabilityCode.ExtendedNextHop]: {
    decode: (b, s, e) => {
      const entries = rows(s, e, 6, (i) => ({ afi: readU16(b, i), safi: readU16(b, i + 2), nextHopAfi: readU16(b, i + 4) }));
      return entries ? { code: 5, entries } : undefined;
    },
    encode: (w, c) => {
      for (const x of (c as Extract<Capability, { code: 5 }>).entries) {
        w.u16(x.afi);
        w.u16(x.safi);
        w.u16(x.nextHopAfi);
      }
    },
  },
  [CapabilityCode.GracefulRestart]: {
    decode: (b, s, e) => {
      if (e - s < 2) return undefined;
      const head = readU16(b, s);
      const families = rows(s + 2, e, 4, (i) => ({
        afi: readU16(b, i),
        safi: b[i + 2],
        forwardingPreserved: (b[i + 3] & 0x80) !== 0,
      }));
      if (!families) return undefined;
      return {
        code: 64,
        restarting: (head & 0x8000) !== 0,
        notification: (head & 0x4000) !== 0,
        restartTimeSec: head & 0x0fff,
        families,
      };
    },
    encode: (w, c) => {
      const cap = c as Extract<Capability, { code: 64 }>;
      if (cap.restartTimeSec < 0 || cap.restartTimeSec > 4095) {
        throw new BgpEncodeError(`graceful restart time ${cap.restartTimeSec} s does not fit 12 bits`);
      }
      w.u16((cap.restarting ? 0x8000 : 0) | (cap.notification ? 0x4000 : 0) | cap.restartTimeSec);
      for (const f of cap.families) {
        w.u16(f.afi);
        w.u8(f.safi);
        w.u8(f.forwardingPreserved ? 0x80 : 0);
      }
    },
  },
  [CapabilityCode.FourOctetAs]: {
    decode: (b, s, e) => (e - s === 4 ? { code: 65, asn: readU32(b, s) } : undefined),
    encode: (w, c) => w.u32((c as Extract<Capability, { code: 65 }>).asn),
  },
  [CapabilityCode.AddPath]: {
    decode: (b, s, e) => {
      const entries = rows(s, e, 4, (i) => ({ afi: readU16(b, i), safi: b[i + 2], mode: b[i + 3] }));
      return entries ? { code: 69, entries } : undefined;
    },
    encode: (w, c) => {
      for (const x of (c as Extract<Capability, { code: 69 }>).entries) {
        w.u16(x.afi);
        w.u8(x.safi);
        w.u8(x.mode);
      }
    },
  },
  [CapabilityCode.LongLivedGracefulRestart]: {
    decode: (b, s, e) => {
      const families = rows(s, e, 7, (i) => ({
        afi: readU16(b, i),
        safi: b[i + 2],
        forwardingPreserved: (b[i + 3] & 0x80) !== 0,
        staleTimeSec: readU24(b, i + 4),
      }));
      return families ? { code: 71, families } : undefined;
    },
    encode: (w, c) => {
      for (const f of (c as Extract<Capability, { code: 71 }>).families) {
        w.u16(f.afi);
        w.u8(f.safi);
        w.u8(f.forwardingPreserved ? 0x80 : 0);
        w.u24(f.staleTimeSec);
      }
    },
  },
  [CapabilityCode.Fqdn]: {
    decode: (b, s, e) => {
      if (e - s < 2) return undefined;
      const hl = b[s];
      if (s + 1 + hl + 1 > e) return undefined;
      const dl = b[s + 1 + hl];
      if (s + 2 + hl + dl !== e) return undefined;
      return { code: 73, hostname: utf8Decode(b, s + 1, s + 1 + hl), domain: utf8Decode(b, s + 2 + hl, e) };
    },
    encode: (w, c) => {
      const cap = c as Extract<Capability, { code: 73 }>;
      const h = utf8Encode(cap.hostname);
      const d = utf8Encode(cap.domain);
      if (h.length > 255 || d.length > 255) throw new BgpEncodeError('FQDN capability field longer than 255 octets');
      w.u8(h.length);
      w.bytes(h);
      w.u8(d.length);
      w.bytes(d);
    },
  },
};

/** Decodes the capabilities inside one Capabilities optional parameter. */
export function decodeCapabilities(b: Uint8Array, start: number, end: number): Capability[] {
  const out: Capability[] = [];
  let i = start;
  while (i < end) {
    if (i + 2 > end) throw malformedCapability('truncated capability header', b.subarray(i, end));
    const code = b[i];
    const len = b[i + 1];
    const vs = i + 2;
    const ve = vs + len;
    if (ve > end) throw malformedCapability(`capability ${code} length ${len} overruns the parameter`, b.subarray(i, end));
    const row = CAPS[code];
    if (row) {
      const cap = row.decode(b, vs, ve);
      if (!cap) throw malformedCapability(`capability ${code} has invalid length ${len}`, b.subarray(i, ve));
      out.push(cap);
    } else {
      out.push({ code: 'unknown', capCode: code, raw: b.slice(vs, ve) } satisfies UnknownCap);
    }
    i = ve;
  }
  return out;
}

export function encodeCapability(w: Writer, cap: Capability): void {
  const code = cap.code === 'unknown' ? cap.capCode : cap.code;
  w.u8(code);
  const lenAt = w.reserve(1);
  const start = w.pos;
  if (cap.code === 'unknown') {
    w.bytes(cap.raw);
  } else {
    const row = CAPS[cap.code];
    if (!row) throw new BgpEncodeError(`no encoder for capability ${cap.code}`);
    row.encode(w, cap);
  }
  const len = w.pos - start;
  if (len > 255) throw new BgpEncodeError(`capability ${code} value is ${len} octets (max 255)`);
  w.setU8(lenAt, len);
}

function malformedCapability(reason: string, data: Uint8Array): BgpError {
  return new BgpError(NotifCode.OpenMessageError, OpenSubcode.Unspecific, reason, data.slice());
}
