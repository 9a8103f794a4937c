/**
 * OPEN (RFC 4271 §4.2) with capabilities (RFC 5492) and the extended
 * optional parameters length (RFC 9072).
 */
import { ipv4ToString, ipv4ToUint32 } from './addr.js';
import { decodeCapabilities, encodeCapability } from './capabilities.js';
import { BGP_VERSION, MessageType, NotifCode, OpenSubcode, OptParamType } from './constants.js';
import { BgpEncodeError, BgpError } from './errors.js';
import type { Capability, OpenMessage, OptionalParam } from './types.js';
import { readU16, type Writer } from './writer.js';

/** Decodes the body `b[start, end)` of an OPEN. */
export function decodeOpen(b: Uint8Array, start: number, end: number): OpenMessage {
  const version = b[start];
  if (version !== BGP_VERSION) {
    throw new BgpError(
      NotifCode.OpenMessageError,
      OpenSubcode.UnsupportedVersionNumber,
      `unsupported BGP version ${version}`,
      Uint8Array.of(0, BGP_VERSION),
    );
  }
  const myAs = readU16(b, start + 1);
  const holdTimeSec = readU16(b, start + 3);
  const bgpId = ipv4ToString(b, start + 5);
  let optLen = b[start + 9];
  let i = start + 10;
  let extended = false;
  // RFC 9072 §2: a Non-Ext OP Len of 255 followed by a type of 255 announces
  // a 2-octet parameters length and 2-octet lengths on each parameter.
  if (optLen === 255 && i < end && b[i] === OptParamType.ExtendedLength) {
    if (i + 3 > end) throw openError('truncated extended optional parameters length');
    extended = true;
    optLen = readU16(b, i + 1);
    i += 3;
  }
  if (i + optLen !== end) {
    throw openError(`optional parameters length ${optLen} does not match the message (${end - i} octets left)`);
  }
  const params: OptionalParam[] = [];
  while (i < end) {
    const head = extended ? 3 : 2;
    if (i + head > end) throw openError('truncated optional parameter header');
    const type = b[i];
    const len = extended ? readU16(b, i + 1) : b[i + 1];
    const vs = i + head;
    const ve = vs + len;
    if (ve > end) throw openError(`optional parameter ${type} length ${len} overruns the message`);
    if (type === OptParamType.Capabilities) {
      params.push({ type: 2, capabilities: decodeCapabilities(b, vs, ve) });
    } else {
      params.push({ type, raw: b.slice(vs, ve) });
    }
    i = ve;
  }
  const msg: OpenMessage = { type: MessageType.Open, version, myAs, holdTimeSec, bgpId, params };
  if (extended) msg.extendedParams = true;
  return msg;
}

export function encodeOpenBody(w: Writer, m: OpenMessage): void {
  if (m.myAs < 0 || m.myAs > 0xffff) throw new BgpEncodeError(`OPEN My AS ${m.myAs} does not fit 2 octets (use AS_TRANS)`);
  if (m.holdTimeSec < 0 || m.holdTimeSec > 0xffff) throw new BgpEncodeError(`hold time ${m.holdTimeSec} out of range`);
  w.u8(m.version);
  w.u16(m.myAs);
  w.u16(m.holdTimeSec);
  w.u32(ipv4ToUint32(m.bgpId));
  // Encode the parameters first with 2-octet lengths into a side writer,
  // then decide whether the classic 1-octet form fits.
  const lenAt = w.reserve(1);
  const paramsStart = w.pos;
  let extended = m.extendedParams === true;
  const overflow = writeParams(w, m.params, extended);
  if (!extended && (w.pos - paramsStart > 255 || overflow)) {
    w.pos = paramsStart;
    extended = true;
    writeParams(w, m.params, true);
  }
  if (extended) {
    const body = w.buf.slice(paramsStart, w.pos);
    w.pos = paramsStart;
    w.u8(OptParamType.ExtendedLength);
    w.u16(body.length);
    w.bytes(body);
    w.setU8(lenAt, 255);
  } else {
    w.setU8(lenAt, w.pos - paramsStart);
  }
}

/** Writes the parameters; returns true when one did not fit a 1-octet length. */
function writeParams(w: Writer, params: OptionalParam[], extended: boolean): boolean {
  let overflow = false;
  for (const p of params) {
    w.u8(p.type);
    const lenAt = w.reserve(extended ? 2 : 1);
    const vs = w.pos;
    if ('capabilities' in p) {
      for (const c of p.capabilities) encodeCapability(w, c);
    } else {
      w.bytes(p.raw);
    }
    const len = w.pos - vs;
    if (extended) {
      if (len > 0xffff) throw new BgpEncodeError(`optional parameter of ${len} octets`);
      w.setU16(lenAt, len);
    } else {
      if (len > 255) overflow = true;
      w.setU8(lenAt, len & 0xff);
    }
  }
  return overflow;
}

/** All capabilities of an OPEN, across however many parameters carry them. */
export function capabilitiesOf(open: OpenMessage): Capability[] {
  const out: Capability[] = [];
  for (const p of open.params) if ('capabilities' in p) out.push(...p.capabilities);
  return out;
}

/** An OPEN with all capabilities in one parameter, as BIRD and FRR send it. */
export function makeOpen(args: { myAs: number; holdTimeSec: number; bgpId: string; capabilities: Capability[] }): OpenMessage {
  return {
    type: MessageType.Open,
    version: BGP_VERSION,
    myAs: args.myAs,
    holdTimeSec: args.holdTimeSec,
    bgpId: args.bgpId,
    params: args.capabilities.length > 0 ? [{ type: 2, capabilities: args.capabilities }] : [],
  };
}

function openError(reason: string): BgpError {
  return new BgpError(NotifCode.OpenMessageError, OpenSubcode.Unspecific, reason);
}
