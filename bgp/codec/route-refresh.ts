/** ROUTE-REFRESH (RFC 2918) with the RFC 7313 subtypes. */
import { MessageType } from './constants.js';
import type { RouteRefreshMessage } from './types.js';
import { readU16, type Writer } from './writer.js';

export function decodeRouteRefresh(b: Uint8Array, start: number): RouteRefreshMessage {
  return { type: MessageType.RouteRefresh, afi: readU16(b, start), subtype: b[start + 2], safi: b[start + 3] };
}

export function encodeRouteRefreshBody(w: Writer, m: RouteRefreshMessage): void {
  w.u16(m.afi);
  w.u8(m.subtype);
  w.u8(m.safi);
}
