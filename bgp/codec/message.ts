/**
 * The message header (RFC 4271 §4.1) and dispatch to each message codec.
 */
import {
  BGP_HEADER_LEN, BGP_MARKER_LEN, BGP_MAX_EXTENDED_MESSAGE_LEN, BGP_MAX_MESSAGE_LEN, HeaderSubcode,
  MessageType, MIN_MESSAGE_LEN, NotifCode, RouteRefreshSubcode,
} from './constants.js';
import { BgpEncodeError, BgpError } from './errors.js';
import { decodeNotification, encodeNotificationBody } from './notification.js';
import { decodeOpen, encodeOpenBody } from './open.js';
import { decodeRouteRefresh, encodeRouteRefreshBody } from './route-refresh.js';
import type { BgpMessage, CodecOptions } from './types.js';
import { decodeUpdate, encodeUpdateBody } from './update.js';
import { readU16, Writer } from './writer.js';

export function maxMessageLen(type: number, opts: Pick<CodecOptions, 'extendedMessage'>): number {
  // RFC 8654 §4: OPEN and KEEPALIVE stay within 4096 octets regardless.
  if (!opts.extendedMessage || type === MessageType.Open || type === MessageType.Keepalive) return BGP_MAX_MESSAGE_LEN;
  return BGP_MAX_EXTENDED_MESSAGE_LEN;
}

function badLength(len: number): BgpError {
  return new BgpError(NotifCode.MessageHeaderError, HeaderSubcode.BadMessageLength,
    `bad message length ${len}`, Uint8Array.of((len >>> 8) & 0xff, len & 0xff));
}

/** Checks the marker and length field of a header at `b[at]`. Returns the length. */
export function checkHeader(b: Uint8Array, at: number, maxLen: number): number {
  for (let k = 0; k < BGP_MARKER_LEN; k++) {
    if (b[at + k] !== 0xff) {
      throw new BgpError(NotifCode.MessageHeaderError, HeaderSubcode.ConnectionNotSynchronized, 'marker is not all ones');
    }
  }
  const len = readU16(b, at + BGP_MARKER_LEN);
  if (len < BGP_HEADER_LEN || len > maxLen) throw badLength(len);
  return len;
}

/** Decodes one whole message (header included). Throws BgpError. */
export function decodeMessage(frame: Uint8Array, opts: CodecOptions): BgpMessage {
  if (frame.length < BGP_HEADER_LEN) throw badLength(frame.length);
  const len = checkHeader(frame, 0, opts.extendedMessage ? BGP_MAX_EXTENDED_MESSAGE_LEN : BGP_MAX_MESSAGE_LEN);
  if (len !== frame.length) throw badLength(len);
  const type = frame[18];
  const min = MIN_MESSAGE_LEN[type as MessageType] as number | undefined;
  if (min === undefined) {
    throw new BgpError(NotifCode.MessageHeaderError, HeaderSubcode.BadMessageType, `bad message type ${type}`, Uint8Array.of(type));
  }
  if (len > maxMessageLen(type, opts)) throw badLength(len);
  if (type === MessageType.RouteRefresh && len !== min) {
    // RFC 7313 §5: a ROUTE-REFRESH of the wrong length.
    throw new BgpError(NotifCode.RouteRefreshMessageError, RouteRefreshSubcode.InvalidMessageLength,
      `ROUTE-REFRESH length ${len}`, frame.slice());
  }
  if (len < min || (type === MessageType.Keepalive && len !== min)) throw badLength(len);
  const s = BGP_HEADER_LEN;
  switch (type as MessageType) {
    case MessageType.Open: return decodeOpen(frame, s, len);
    case MessageType.Update: return decodeUpdate(frame, s, len, opts);
    case MessageType.Notification: return decodeNotification(frame, s, len);
    case MessageType.Keepalive: return { type: MessageType.Keepalive };
    case MessageType.RouteRefresh: return decodeRouteRefresh(frame, s);
  }
}

/** Writes a header with a placeholder length; returns where the message starts. */
export function beginMessage(w: Writer, type: MessageType): number {
  const start = w.pos;
  w.ensure(BGP_HEADER_LEN);
  w.buf.fill(0xff, w.pos, w.pos + BGP_MARKER_LEN);
  w.pos += BGP_MARKER_LEN;
  w.u16(0);
  w.u8(type);
  return start;
}

/** Fills in the length of the message begun at `start`, checking the limit. */
export function endMessage(w: Writer, start: number, type: MessageType, opts: Pick<CodecOptions, 'extendedMessage'>): void {
  const len = w.pos - start;
  const max = maxMessageLen(type, opts);
  if (len > max) throw new BgpEncodeError(`${MessageType[type]} of ${len} octets exceeds ${max}`);
  w.setU16(start + BGP_MARKER_LEN, len);
}

export function encodeMessageInto(w: Writer, m: BgpMessage, opts: CodecOptions): void {
  const start = beginMessage(w, m.type);
  switch (m.type) {
    case MessageType.Open: encodeOpenBody(w, m); break;
    case MessageType.Update: encodeUpdateBody(w, m, opts); break;
    case MessageType.Notification: encodeNotificationBody(w, m); break;
    case MessageType.Keepalive: break;
    case MessageType.RouteRefresh: encodeRouteRefreshBody(w, m); break;
  }
  endMessage(w, start, m.type, opts);
}

let shared: Writer | undefined;

/** Encodes one whole message (header included). */
export function encodeMessage(m: BgpMessage, opts: CodecOptions): Uint8Array {
  // One scratch writer is reused: encoding is synchronous, so no two calls overlap.
  const w = (shared ??= new Writer(BGP_MAX_MESSAGE_LEN));
  w.pos = 0;
  encodeMessageInto(w, m, opts);
  return w.finish();
}

const KEEPALIVE = Uint8Array.from([...new Array<number>(16).fill(0xff), 0, 19, MessageType.Keepalive]);

/** A fresh copy of the 19-octet KEEPALIVE. */
export function keepaliveBytes(): Uint8Array {
  return KEEPALIVE.slice();
}
