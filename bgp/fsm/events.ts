/**
 * Helpers that turn what the session sees into FSM events, so that the
 * session needs no FSM knowledge.
 */
import { MessageType, NotifCode, OpenSubcode } from '../codec/constants.js';
import { TimerName, type FsmEvent, type Notification } from './types.js';

/** The event to feed when a timer the FSM started fires. */
export function timerExpiredEvent(timer: TimerName): FsmEvent {
  switch (timer) {
    case TimerName.ConnectRetry: return { type: 'ConnectRetryTimer_Expires' };
    case TimerName.Hold: return { type: 'HoldTimer_Expires' };
    case TimerName.Keepalive: return { type: 'KeepaliveTimer_Expires' };
    case TimerName.DelayOpen: return { type: 'DelayOpenTimer_Expires' };
    case TimerName.IdleHold: return { type: 'IdleHoldTimer_Expires' };
    case TimerName.Stable: return { type: 'StableTimer_Expires' };
  }
}

/** A received NOTIFICATION: Event 24 for Unsupported Version Number, else Event 25. */
export function notificationEvent(notification: Notification): FsmEvent {
  if (notification.code === NotifCode.OpenMessageError
    && notification.subcode === OpenSubcode.UnsupportedVersionNumber) {
    return { type: 'NotifMsgVerErr', notification };
  }
  return { type: 'NotifMsg', notification };
}

/**
 * A decode failure that resets the session (a thrown BgpError): the event to
 * feed. `messageType` is the type from the header, or undefined when the
 * framer rejected the header itself. Header errors (code 1) are always
 * Event 21, whatever the message.
 */
export function decodeErrorEvent(messageType: MessageType | number | undefined, notification: Notification): FsmEvent {
  if (notification.code === NotifCode.MessageHeaderError) return { type: 'BGPHeaderErr', notification };
  switch (messageType) {
    case MessageType.Open: return { type: 'BGPOpenMsgErr', notification };
    case MessageType.Update: return { type: 'UpdateMsgErr', notification };
    case MessageType.RouteRefresh: return { type: 'RouteRefreshMsgErr', notification };
    default: return { type: 'BGPHeaderErr', notification };
  }
}
