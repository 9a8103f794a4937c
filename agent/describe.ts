/** Plain-word descriptions of session failures, for the CLI and logs. */
import { NotifCode } from '../bgp/codec/index.js';

const HEADER: Record<number, string> = { 1: 'connection not synchronized', 2: 'bad message length', 3: 'bad message type' };
const OPEN: Record<number, string> = {
  1: 'unsupported version', 2: 'bad peer AS', 3: 'bad BGP identifier', 4: 'unsupported optional parameter',
  6: 'unacceptable hold time', 7: 'unsupported capability', 11: 'role mismatch',
};
const UPDATE: Record<number, string> = {
  1: 'malformed attribute list', 2: 'unrecognized well-known attribute', 3: 'missing well-known attribute',
  4: 'attribute flags error', 5: 'attribute length error', 6: 'invalid ORIGIN', 8: 'invalid NEXT_HOP',
  9: 'optional attribute error', 10: 'invalid network field', 11: 'malformed AS_PATH',
};
const CEASE: Record<number, string> = {
  1: 'maximum prefixes reached', 2: 'administrative shutdown', 3: 'peer de-configured', 4: 'administrative reset',
  5: 'connection rejected', 6: 'other configuration change', 7: 'connection collision resolution',
  8: 'out of resources', 9: 'hard reset', 10: 'BFD down',
};

export function describeNotification(code: number, subcode: number): string {
  switch (code) {
    case NotifCode.MessageHeaderError: return `message header error: ${HEADER[subcode] ?? `subcode ${subcode}`}`;
    case NotifCode.OpenMessageError: return `OPEN rejected: ${OPEN[subcode] ?? `subcode ${subcode}`}`;
    case NotifCode.UpdateMessageError: return `UPDATE error: ${UPDATE[subcode] ?? `subcode ${subcode}`}`;
    case NotifCode.HoldTimerExpired: return 'hold timer expired';
    case NotifCode.FsmError: return 'finite state machine error';
    case NotifCode.Cease: return CEASE[subcode] ?? 'cease';
    case NotifCode.RouteRefreshMessageError: return 'ROUTE-REFRESH error';
    default: return `NOTIFICATION ${code}/${subcode}`;
  }
}

export interface LastErrorLike {
  reason: string;
  detail?: string;
  notification?: { code: number; subcode: number; direction: 'sent' | 'received'; text?: string };
}

/**
 * "hold timer expired", "OPEN rejected: bad peer AS 65002, expected 65001",
 * "connection refused", "peer sent: administrative shutdown (maintenance)".
 */
export function describeLastError(e: LastErrorLike): string {
  const n = e.notification;
  if (!n) return e.detail ?? e.reason.replace(/-/g, ' ');
  if (n.code === NotifCode.HoldTimerExpired && n.direction === 'sent') return 'hold timer expired';
  let text = describeNotification(n.code, n.subcode);
  if (n.code === NotifCode.OpenMessageError && e.detail) text = `OPEN rejected: ${e.detail}`;
  if (n.text) text += ` (${n.text})`;
  return n.direction === 'received' ? `peer sent: ${text}` : text;
}
