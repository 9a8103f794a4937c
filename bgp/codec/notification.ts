/**
 * NOTIFICATION (RFC 4271 §4.5) and the shutdown communication carried by
 * Cease / Administrative Shutdown and Administrative Reset (RFC 9003).
 */
import { CeaseSubcode, MessageType, NotifCode } from './constants.js';
import { BgpEncodeError } from './errors.js';
import type { NotificationMessage } from './types.js';
import { utf8Decode, utf8Encode } from './utf8.js';
import type { Writer } from './writer.js';

export function decodeNotification(b: Uint8Array, start: number, end: number): NotificationMessage {
  return { type: MessageType.Notification, code: b[start], subcode: b[start + 1], data: b.slice(start + 2, end) };
}

export function encodeNotificationBody(w: Writer, m: NotificationMessage): void {
  w.u8(m.code);
  w.u8(m.subcode);
  w.bytes(m.data);
}

/** RFC 9003: at most 255 octets of UTF-8. */
export const SHUTDOWN_COMMUNICATION_MAX = 255;

export function carriesShutdownCommunication(code: number, subcode: number): boolean {
  return code === NotifCode.Cease &&
    (subcode === CeaseSubcode.AdministrativeShutdown || subcode === CeaseSubcode.AdministrativeReset);
}

/** A Cease with an optional shutdown communication (RFC 9003 §2). */
export function makeShutdownNotification(subcode: CeaseSubcode.AdministrativeShutdown | CeaseSubcode.AdministrativeReset, text: string): NotificationMessage {
  if (text === '') return { type: MessageType.Notification, code: NotifCode.Cease, subcode, data: new Uint8Array(0) };
  let bytes = utf8Encode(text);
  if (bytes.length > SHUTDOWN_COMMUNICATION_MAX) {
    // Cut at a character boundary rather than send broken UTF-8.
    let cut = SHUTDOWN_COMMUNICATION_MAX;
    while (cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut--;
    bytes = bytes.slice(0, cut);
  }
  const data = new Uint8Array(1 + bytes.length);
  data[0] = bytes.length;
  data.set(bytes, 1);
  return { type: MessageType.Notification, code: NotifCode.Cease, subcode, data };
}

/**
 * The shutdown communication of a received NOTIFICATION, if it has one.
 * A length that does not match the data is reported, not thrown: the
 * session is going down anyway.
 */
export function shutdownCommunication(m: NotificationMessage): { text: string } | { malformed: string } | undefined {
  if (!carriesShutdownCommunication(m.code, m.subcode) || m.data.length === 0) return undefined;
  const len = m.data[0];
  if (len + 1 > m.data.length) return { malformed: `shutdown communication length ${len} exceeds the ${m.data.length - 1} octets present` };
  return { text: utf8Decode(m.data, 1, 1 + len) };
}

export function checkNotificationData(data: Uint8Array): void {
  if (data.length > 4096 - 21) throw new BgpEncodeError(`NOTIFICATION data of ${data.length} octets does not fit`);
}
