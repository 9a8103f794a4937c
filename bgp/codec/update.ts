/**
 * UPDATE (RFC 4271 §4.3) with RFC 7606 error handling. Faults that do not
 * reset the session come back as data in `update.errors`; the rest throw.
 */
import { ATTRS, attrName, encodeAttribute } from './attributes.js';
import type { AttrFault } from './attr-common.js';
import {
  AttrType, ErrorAction, familyKey, IPV4_UNICAST, MessageType, NotifCode, UpdateSubcode, type FamilyKey,
} from './constants.js';
import { BgpError } from './errors.js';
import { decodeIpv4Prefixes, encodePrefix } from './nlri.js';
import type { CodecOptions, PathAttribute, UpdateMessage, UpdateProblem } from './types.js';
import { readU16, type Writer } from './writer.js';

function malformedList(reason: string): BgpError {
  return new BgpError(NotifCode.UpdateMessageError, UpdateSubcode.MalformedAttributeList, reason);
}

/** Decodes the body `b[start, end)` of an UPDATE. */
export function decodeUpdate(b: Uint8Array, start: number, end: number, opts: CodecOptions): UpdateMessage {
  // RFC 4271 §6.3 / RFC 7606 §3: unparseable lengths reset the session.
  if (start + 2 > end) throw malformedList('UPDATE too short for the withdrawn routes length');
  const wdLen = readU16(b, start);
  const wdStart = start + 2;
  const wdEnd = wdStart + wdLen;
  if (wdEnd + 2 > end) throw malformedList(`withdrawn routes length ${wdLen} overruns the message`);
  const attrLen = readU16(b, wdEnd);
  const attrStart = wdEnd + 2;
  const attrEnd = attrStart + attrLen;
  if (attrEnd > end) throw malformedList(`total path attribute length ${attrLen} overruns the message`);

  const v4AddPath = opts.addPath.has(IPV4_UNICAST);
  const withdrawn = wdLen === 0 ? [] : decodeIpv4Prefixes(b, wdStart, wdEnd, v4AddPath);
  const nlri = attrEnd === end ? [] : decodeIpv4Prefixes(b, attrEnd, end, v4AddPath);

  const attributes: PathAttribute[] = [];
  let problems: UpdateProblem[] | undefined;
  const report = (p: UpdateProblem): void => {
    (problems ??= []).push(p);
  };
  // Attribute types seen so far: a bit mask for 0..31, a set above.
  let seenLow = 0;
  let seenHigh: Set<number> | undefined;
  let sawMp = false;

  let i = attrStart;
  while (i < attrEnd) {
    // RFC 7606 §4: an attribute header or length that overruns the attribute
    // field. Treat-as-withdraw is only safe if no MP NLRI can hide beyond.
    const flags = b[i];
    const headLen = flags & 0x10 ? 4 : 3;
    const type = i + 1 < attrEnd ? b[i + 1] : -1;
    const len = i + headLen <= attrEnd ? (flags & 0x10 ? readU16(b, i + 2) : b[i + 2]) : -1;
    if (len < 0 || i + headLen + len > attrEnd) {
      const reason = len < 0 ? 'truncated attribute header' : `${attrName(type)} length ${len} overruns the attribute field`;
      if (nlri.length > 0 || withdrawn.length > 0 || sawMp) {
        report({ code: NotifCode.UpdateMessageError, subcode: UpdateSubcode.AttributeLengthError, action: ErrorAction.TreatAsWithdraw, attrType: type, reason });
        break;
      }
      throw new BgpError(NotifCode.UpdateMessageError, UpdateSubcode.AttributeLengthError, reason, b.slice(i, attrEnd));
    }
    const vs = i + headLen;
    const ve = vs + len;
    i = ve;

    // RFC 7606 §3.g: MP_REACH/MP_UNREACH twice resets; other repeats are dropped.
    const repeated = type < 32 ? (seenLow & (1 << type)) !== 0 : seenHigh?.has(type) === true;
    if (repeated) {
      if (type === AttrType.MpReachNlri || type === AttrType.MpUnreachNlri) {
        throw malformedList(`${attrName(type)} appears more than once`);
      }
      report({ code: NotifCode.UpdateMessageError, subcode: UpdateSubcode.MalformedAttributeList, action: ErrorAction.AttributeDiscard, attrType: type, reason: `repeated ${attrName(type)} discarded` });
      continue;
    }
    if (type < 32) seenLow |= 1 << type;
    else (seenHigh ??= new Set()).add(type);

    const row = ATTRS[type];
    if (!row) {
      if ((flags & 0x80) === 0) {
        // RFC 4271 §6.3: an unrecognised well-known attribute.
        throw new BgpError(NotifCode.UpdateMessageError, UpdateSubcode.UnrecognizedWellKnownAttribute,
          `unrecognised well-known attribute ${type}`, b.slice(vs - headLen, ve));
      }
      attributes.push({ type: 'unknown', code: type, flags, data: b.slice(vs, ve) });
      continue;
    }
    if (type === AttrType.MpReachNlri || type === AttrType.MpUnreachNlri) sawMp = true;
    // RFC 7606 §3.c: Optional/Transitive bits that conflict with the type.
    if ((flags & 0xc0) !== row.expectFlags) {
      const f: AttrFault = {
        fault: true, subcode: UpdateSubcode.AttributeFlagsError, action: row.flagsAction,
        reason: `${row.name} flags 0x${flags.toString(16)} (expected 0x${row.expectFlags.toString(16)})`,
      };
      handleFault(f, type, b.slice(vs - headLen, ve), report);
      continue;
    }
    const attr = row.decode(b, vs, ve, flags, opts);
    if ('fault' in attr) {
      handleFault(attr, type, b.slice(vs - headLen, ve), report, mpFamily(b, vs, ve, type));
      continue;
    }
    attributes.push(attr);
  }

  checkMandatory(attributes, nlri.length > 0, report);

  const update: UpdateMessage = { type: MessageType.Update, withdrawn, attributes, nlri };
  if (problems) {
    let action = ErrorAction.None;
    for (const p of problems) if (p.action > action) action = p.action;
    update.errors = { action, problems };
  }
  return update;
}

function mpFamily(b: Uint8Array, vs: number, ve: number, type: number): FamilyKey | undefined {
  if ((type === AttrType.MpReachNlri || type === AttrType.MpUnreachNlri) && ve - vs >= 3) {
    return familyKey(readU16(b, vs), b[vs + 2]);
  }
  return undefined;
}

function handleFault(f: AttrFault, type: number, raw: Uint8Array, report: (p: UpdateProblem) => void, family?: FamilyKey): void {
  if (f.action === ErrorAction.SessionReset) {
    throw new BgpError(NotifCode.UpdateMessageError, f.subcode, f.reason, raw);
  }
  const p: UpdateProblem = { code: NotifCode.UpdateMessageError, subcode: f.subcode, action: f.action, attrType: type, reason: f.reason };
  if (family !== undefined) p.family = family;
  report(p);
}

/** RFC 7606 §3.d: missing well-known mandatory attributes mean treat-as-withdraw. */
function checkMandatory(attrs: PathAttribute[], hasV4Nlri: boolean, report: (p: UpdateProblem) => void): void {
  let hasReach = false;
  let origin = false;
  let asPath = false;
  let nextHop: string | undefined;
  for (const a of attrs) {
    if (a.type === AttrType.MpReachNlri) hasReach = a.nlri.length > 0 || a.rawNlri !== undefined;
    else if (a.type === AttrType.Origin) origin = true;
    else if (a.type === AttrType.AsPath) asPath = true;
    else if (a.type === AttrType.NextHop) nextHop = a.nextHop;
  }
  if (!hasV4Nlri && !hasReach) return;
  const missing = (type: AttrType): void =>
    report({
      code: NotifCode.UpdateMessageError, subcode: UpdateSubcode.MissingWellKnownAttribute,
      action: ErrorAction.TreatAsWithdraw, attrType: type, reason: `missing ${attrName(type)}`,
    });
  if (!origin) missing(AttrType.Origin);
  if (!asPath) missing(AttrType.AsPath);
  // NEXT_HOP is mandatory only for the IPv4 NLRI field (RFC 4760 §3).
  if (hasV4Nlri && nextHop === undefined) missing(AttrType.NextHop);
  // RFC 4271 §6.3 / RFC 7606 §7.3: a next hop that can never be valid.
  if (hasV4Nlri && nextHop !== undefined && isMartianNextHop(nextHop)) {
    report({
      code: NotifCode.UpdateMessageError, subcode: UpdateSubcode.InvalidNextHopAttribute,
      action: ErrorAction.TreatAsWithdraw, attrType: AttrType.NextHop, reason: `NEXT_HOP ${nextHop} is not a unicast address`,
    });
  }
}

/**
 * 0.0.0.0/8 and class D and E (multicast, reserved, broadcast): never a
 * next hop. Loopback (127/8) is left to next-hop resolution, which is where
 * FRR-style martian checks belong, and lets speakers peer over 127.0.0.x.
 */
function isMartianNextHop(nh: string): boolean {
  const first = Number(nh.slice(0, nh.indexOf('.')));
  return first === 0 || first >= 224;
}

export function encodeUpdateBody(w: Writer, u: UpdateMessage, opts: CodecOptions): void {
  const v4AddPath = opts.addPath.has(IPV4_UNICAST);
  const wdAt = w.reserve(2);
  const wdStart = w.pos;
  for (const n of u.withdrawn) encodePrefix(w, n, false, v4AddPath);
  w.setU16(wdAt, w.pos - wdStart);
  const attrAt = w.reserve(2);
  const attrStart = w.pos;
  for (const a of u.attributes) encodeAttribute(w, a, opts);
  w.setU16(attrAt, w.pos - attrStart);
  for (const n of u.nlri) encodePrefix(w, n, false, v4AddPath);
}

/** The family an End-of-RIB marker (RFC 4724 §2) stands for, if this is one. */
export function endOfRibFamily(u: UpdateMessage): FamilyKey | undefined {
  if (u.nlri.length > 0 || u.withdrawn.length > 0) return undefined;
  if (u.attributes.length === 0) return IPV4_UNICAST;
  if (u.attributes.length === 1) {
    const a = u.attributes[0];
    if (a.type === AttrType.MpUnreachNlri && a.withdrawn.length === 0 && (a.rawWithdrawn === undefined || a.rawWithdrawn.length === 0)) {
      return familyKey(a.afi, a.safi);
    }
  }
  return undefined;
}
