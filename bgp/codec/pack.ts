/**
 * Packing many prefixes that share one attribute set into as few UPDATEs as
 * the message size allows, the way real speakers send tables. Withdrawals
 * are packed the same way.
 */
import { encodeAttribute } from './attributes.js';
import { Afi, AttrType, familyAfi, familySafi, IPV4_UNICAST, MessageType, type FamilyKey } from './constants.js';
import { BgpEncodeError } from './errors.js';
import { beginMessage, endMessage, maxMessageLen } from './message.js';
import { encodePrefix } from './nlri.js';
import { ipv4ToUint32, ipv6ToBytes } from './addr.js';
import type { CodecOptions, Nlri, PathAttribute } from './types.js';
import { Writer } from './writer.js';

/** Worst-case octets of one prefix: path id, length octet, 16 address octets. */
const MAX_PREFIX_OCTETS = 4 + 1 + 16;

const packWriter = new Writer(65536);

/**
 * UPDATEs advertising `nlri` of `family` with `attributes`. For IPv4
 * unicast the prefixes go in the NLRI field and `attributes` must carry
 * NEXT_HOP; for other families an MP_REACH_NLRI with `nextHops` is built
 * per message (first, as RFC 7606 §5.1 asks) and `attributes` must not
 * contain one.
 */
export function packUpdates(
  family: FamilyKey, attributes: PathAttribute[], nlri: Nlri[], opts: CodecOptions, nextHops: string[] = [],
): Uint8Array[] {
  const out: Uint8Array[] = [];
  const max = maxMessageLen(MessageType.Update, opts);
  const addPath = opts.addPath.has(family);
  const w = packWriter;
  // Attributes common to every message, encoded once.
  w.pos = 0;
  for (const a of attributes) {
    if (a.type === AttrType.MpReachNlri || a.type === AttrType.MpUnreachNlri) {
      throw new BgpEncodeError('packUpdates builds MP attributes itself');
    }
    encodeAttribute(w, a, opts);
  }
  const common = w.buf.slice(0, w.pos);
  const v6 = familyAfi(family) === Afi.Ipv6;
  let i = 0;
  while (i < nlri.length) {
    w.pos = 0;
    const start = beginMessage(w, MessageType.Update);
    w.u16(0); // no withdrawn routes
    const attrLenAt = w.reserve(2);
    const attrStart = w.pos;
    if (family === IPV4_UNICAST) {
      w.bytes(common);
      w.setU16(attrLenAt, w.pos - attrStart);
      while (i < nlri.length && w.pos + MAX_PREFIX_OCTETS <= max) encodePrefix(w, nlri[i++], false, addPath);
    } else {
      // MP_REACH_NLRI first: optional, extended length.
      w.u8(0x90);
      w.u8(AttrType.MpReachNlri);
      const mpLenAt = w.reserve(2);
      const mpStart = w.pos;
      w.u16(familyAfi(family));
      w.u8(familySafi(family));
      const nhLenAt = w.reserve(1);
      const nhStart = w.pos;
      for (const nh of nextHops) {
        if (nh.includes(':')) w.bytes(ipv6ToBytes(nh));
        else w.u32(ipv4ToUint32(nh));
      }
      w.setU8(nhLenAt, w.pos - nhStart);
      w.u8(0);
      const room = max - common.length;
      const first = i;
      while (i < nlri.length && w.pos + MAX_PREFIX_OCTETS <= room) encodePrefix(w, nlri[i++], v6, addPath);
      if (i === first) throw new BgpEncodeError('attributes leave no room for NLRI');
      w.setU16(mpLenAt, w.pos - mpStart);
      w.bytes(common);
      w.setU16(attrLenAt, w.pos - attrStart);
    }
    endMessage(w, start, MessageType.Update, opts);
    out.push(w.buf.slice(0, w.pos));
  }
  return out;
}

/** UPDATEs withdrawing `nlri` of `family`, packed. */
export function packWithdrawals(family: FamilyKey, nlri: Nlri[], opts: CodecOptions): Uint8Array[] {
  const out: Uint8Array[] = [];
  const max = maxMessageLen(MessageType.Update, opts);
  const addPath = opts.addPath.has(family);
  const v6 = familyAfi(family) === Afi.Ipv6;
  const w = packWriter;
  let i = 0;
  while (i < nlri.length) {
    w.pos = 0;
    const start = beginMessage(w, MessageType.Update);
    if (family === IPV4_UNICAST) {
      const wdAt = w.reserve(2);
      const wdStart = w.pos;
      while (i < nlri.length && w.pos + MAX_PREFIX_OCTETS + 2 <= max) encodePrefix(w, nlri[i++], false, addPath);
      w.setU16(wdAt, w.pos - wdStart);
      w.u16(0);
    } else {
      w.u16(0);
      const attrLenAt = w.reserve(2);
      const attrStart = w.pos;
      w.u8(0x90);
      w.u8(AttrType.MpUnreachNlri);
      const mpLenAt = w.reserve(2);
      const mpStart = w.pos;
      w.u16(familyAfi(family));
      w.u8(familySafi(family));
      while (i < nlri.length && w.pos + MAX_PREFIX_OCTETS <= max) encodePrefix(w, nlri[i++], v6, addPath);
      w.setU16(mpLenAt, w.pos - mpStart);
      w.setU16(attrLenAt, w.pos - attrStart);
    }
    endMessage(w, start, MessageType.Update, opts);
    out.push(w.buf.slice(0, w.pos));
  }
  return out;
}

/** The End-of-RIB marker of RFC 4724 §2 for `family`. */
export function encodeEndOfRib(family: FamilyKey, opts: CodecOptions): Uint8Array {
  const w = new Writer(32);
  const start = beginMessage(w, MessageType.Update);
  w.u16(0);
  if (family === IPV4_UNICAST) {
    w.u16(0);
  } else {
    w.u16(6);
    w.u8(0x80);
    w.u8(AttrType.MpUnreachNlri);
    w.u8(3);
    w.u16(familyAfi(family));
    w.u8(familySafi(family));
  }
  endMessage(w, start, MessageType.Update, opts);
  return w.finish();
}
