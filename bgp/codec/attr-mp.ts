/**
 * MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760), with the IPv6 next hop of
 * RFC 2545 (global, optionally followed by link-local) and the IPv6 next hop
 * for IPv4 NLRI of RFC 8950. Unknown families are kept undecoded.
 */
import { ipv4ToString, ipv4ToUint32, ipv6ToBytes, ipv6ToString } from './addr.js';
import { fault, type AttrCodec, type AttrFault } from './attr-common.js';
import { Afi, AttrType, ErrorAction, familyKey, Safi, UpdateSubcode } from './constants.js';
import { BgpEncodeError, BgpError } from './errors.js';
import { decodeIpv4Prefixes, decodeIpv6Prefixes, encodePrefix } from './nlri.js';
import type { MpReachAttr, MpUnreachAttr, Nlri, PathAttribute } from './types.js';
import { readU16 } from './writer.js';

function knownFamily(afi: number, safi: number): boolean {
  return (afi === Afi.Ipv4 || afi === Afi.Ipv6) && safi === Safi.Unicast;
}

/** Decodes MP NLRI; a syntax error disables the family (RFC 7606 §5.3). */
function decodeMpPrefixes(
  b: Uint8Array, s: number, e: number, afi: number, safi: number, addPath: boolean, what: string,
): Nlri[] | AttrFault {
  try {
    return afi === Afi.Ipv4 ? decodeIpv4Prefixes(b, s, e, addPath) : decodeIpv6Prefixes(b, s, e, addPath);
  } catch (err) {
    if (!(err instanceof BgpError)) throw err;
    const f = fault(UpdateSubcode.OptionalAttributeError, ErrorAction.AfiSafiDisable, `${what} afi ${afi} safi ${safi}: ${err.message}`);
    return f;
  }
}

export const mpReachCodec: AttrCodec = {
  name: 'MP_REACH_NLRI',
  expectFlags: 0x80,
  flagsAction: ErrorAction.SessionReset,
  decode(b, s, e, flags, opts): PathAttribute | AttrFault {
    // Anything that keeps us from finding the NLRI resets the session
    // (RFC 7606 §7.11); FRR uses Malformed Attribute List for these.
    if (e - s < 5) return fault(UpdateSubcode.MalformedAttributeList, ErrorAction.SessionReset, 'MP_REACH_NLRI shorter than its fixed part');
    const afi = readU16(b, s);
    const safi = b[s + 2];
    const nhLen = b[s + 3];
    const nhStart = s + 4;
    const nhEnd = nhStart + nhLen;
    if (nhEnd + 1 > e) {
      return fault(UpdateSubcode.MalformedAttributeList, ErrorAction.SessionReset, `MP_REACH_NLRI next hop length ${nhLen} overruns the attribute`);
    }
    const nlriStart = nhEnd + 1; // skip the reserved octet (RFC 4760 §3)
    if (!knownFamily(afi, safi)) {
      return {
        type: AttrType.MpReachNlri, flags, afi, safi, nextHops: [], nlri: [],
        rawNextHop: b.slice(nhStart, nhEnd), rawNlri: b.slice(nlriStart, e),
      };
    }
    const nextHops: string[] = [];
    if (afi === Afi.Ipv6 || nhLen === 16 || nhLen === 32) {
      if (nhLen !== 16 && nhLen !== 32) {
        return fault(UpdateSubcode.MalformedAttributeList, ErrorAction.SessionReset, `MP_REACH_NLRI IPv6 next hop length ${nhLen} (expected 16 or 32)`);
      }
      nextHops.push(ipv6ToString(b, nhStart));
      if (nhLen === 32) nextHops.push(ipv6ToString(b, nhStart + 16));
    } else if (nhLen === 4) {
      nextHops.push(ipv4ToString(b, nhStart));
    } else {
      return fault(UpdateSubcode.MalformedAttributeList, ErrorAction.SessionReset, `MP_REACH_NLRI IPv4 next hop length ${nhLen} (expected 4, 16 or 32)`);
    }
    const nlri = decodeMpPrefixes(b, nlriStart, e, afi, safi, opts.addPath.has(familyKey(afi, safi)), 'MP_REACH_NLRI');
    if ('fault' in nlri) return nlri;
    return { type: AttrType.MpReachNlri, flags, afi, safi, nextHops, nlri };
  },
  encode(w, a, opts) {
    const m = a as MpReachAttr;
    w.u16(m.afi);
    w.u8(m.safi);
    if (m.rawNextHop) {
      w.u8(m.rawNextHop.length);
      w.bytes(m.rawNextHop);
      w.u8(0);
      w.bytes(m.rawNlri ?? new Uint8Array(0));
      return;
    }
    const lenAt = w.reserve(1);
    const nhStart = w.pos;
    for (const nh of m.nextHops) {
      if (nh.includes(':')) w.bytes(ipv6ToBytes(nh));
      else w.u32(ipv4ToUint32(nh));
    }
    w.setU8(lenAt, w.pos - nhStart);
    if (m.nextHops.length === 0) throw new BgpEncodeError('MP_REACH_NLRI without a next hop');
    w.u8(0);
    const addPath = opts.addPath.has(familyKey(m.afi, m.safi));
    const v6 = m.afi === Afi.Ipv6;
    for (const n of m.nlri) encodePrefix(w, n, v6, addPath);
  },
};

export const mpUnreachCodec: AttrCodec = {
  name: 'MP_UNREACH_NLRI',
  expectFlags: 0x80,
  flagsAction: ErrorAction.SessionReset,
  decode(b, s, e, flags, opts): PathAttribute | AttrFault {
    if (e - s < 3) return fault(UpdateSubcode.MalformedAttributeList, ErrorAction.SessionReset, 'MP_UNREACH_NLRI shorter than its fixed part');
    const afi = readU16(b, s);
    const safi = b[s + 2];
    if (!knownFamily(afi, safi)) {
      return { type: AttrType.MpUnreachNlri, flags, afi, safi, withdrawn: [], rawWithdrawn: b.slice(s + 3, e) };
    }
    const withdrawn = decodeMpPrefixes(b, s + 3, e, afi, safi, opts.addPath.has(familyKey(afi, safi)), 'MP_UNREACH_NLRI');
    if ('fault' in withdrawn) return withdrawn;
    return { type: AttrType.MpUnreachNlri, flags, afi, safi, withdrawn };
  },
  encode(w, a, opts) {
    const m = a as MpUnreachAttr;
    w.u16(m.afi);
    w.u8(m.safi);
    if (m.rawWithdrawn) {
      w.bytes(m.rawWithdrawn);
      return;
    }
    const addPath = opts.addPath.has(familyKey(m.afi, m.safi));
    const v6 = m.afi === Afi.Ipv6;
    for (const n of m.withdrawn) encodePrefix(w, n, v6, addPath);
  },
};
