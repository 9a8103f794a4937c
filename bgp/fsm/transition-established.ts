/**
 * RFC 4271 §8.2.2, Established state, with RFC 6608 FSM Error subcodes.
 * Every drop emits `session-down` with wasEstablished, which is where the
 * session deletes the peer's routes (or marks them stale for graceful
 * restart), the RFC's "deletes all routes associated with this connection".
 *
 * Deviations:
 * - BGPOpen: RFC 4271 hands it to collision detection when
 *   CollisionDetectEstablishedState is set. This FSM drives one
 *   connection, so an OPEN here arrived on the Established connection
 *   itself: FSM Error, "Receive Unexpected Message in Established State"
 *   (RFC 6608). Collisions with another connection go through
 *   incomingConnectionDisposition / resolveCollision and OpenCollisionDump.
 * - BGPHeaderErr: the RFC's "any other event" row would send FSM Error; we
 *   send the Message Header Error the event carries, as §6.1 requires.
 *   BGPOpenMsgErr (a malformed OPEN, unexpected here) stays FSM Error.
 * - RouteRefreshMsg restarts the HoldTimer like an UPDATE or KEEPALIVE.
 * - StableTimer_Expires resets the idle-hold back-off.
 */
import { FsmSubcode } from '../codec/constants.js';
import { PeerDownReason } from './peer-down-reason.js';
import { TimerName, type FsmEvent, type FsmState } from './types.js';
import {
  automaticStopWithCease,
  collisionDump,
  errorDrop,
  fsmErrorDrop,
  holdTimerExpiredNotification,
  ignore,
  manualStopWithCease,
  resetBackoff,
  Step,
  type TransitionResult,
} from './transition-common.js';

export function transitionEstablished(state: FsmState, event: FsmEvent): TransitionResult {
  const step = new Step(state);
  switch (event.type) {
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'TcpConnection_Valid':
    case 'Tcp_CR_Invalid':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      return ignore(state);

    case 'ManualStop':
      return manualStopWithCease(step, event.cease, event.data);
    case 'AutomaticStop':
      return automaticStopWithCease(step, event.cease, event.data);
    case 'HoldTimer_Expires':
      return errorDrop(step, PeerDownReason.HoldTimerExpired, holdTimerExpiredNotification());

    case 'KeepaliveTimer_Expires':
      if (state.keepaliveSec === 0) return ignore(state);
      step.emit({ type: 'send-keepalive' });
      step.start(TimerName.Keepalive, state.keepaliveSec);
      return step.result();

    case 'StableTimer_Expires':
      return resetBackoff(step).result();

    case 'OpenCollisionDump':
      return collisionDump(step);

    case 'TcpConnectionFails':
      return errorDrop(step, PeerDownReason.TcpConnectionFailed);
    case 'NotifMsgVerErr':
    case 'NotifMsg':
      return errorDrop(step, PeerDownReason.NotificationReceived, undefined, event.notification);

    case 'KeepAliveMsg':
      return step.start(TimerName.Hold, state.negotiatedHoldTimeSec).result();
    case 'UpdateMsg':
      step.emit({ type: 'process-update', update: event.update });
      return step.start(TimerName.Hold, state.negotiatedHoldTimeSec).result();
    case 'RouteRefreshMsg':
      step.emit({ type: 'process-route-refresh', message: event.message });
      return step.start(TimerName.Hold, state.negotiatedHoldTimeSec).result();

    case 'UpdateMsgErr':
      return errorDrop(step, PeerDownReason.UpdateMessageError, event.notification);
    case 'RouteRefreshMsgErr':
      return errorDrop(step, PeerDownReason.RouteRefreshMessageError, event.notification);
    case 'BGPHeaderErr':
      return errorDrop(step, PeerDownReason.MessageHeaderError, event.notification);

    case 'ConnectRetryTimer_Expires':
    case 'DelayOpenTimer_Expires':
    case 'IdleHoldTimer_Expires':
    case 'BGPOpen':
    case 'BGPOpen_with_DelayOpenTimer_running':
    case 'BGPOpenMsgErr':
      // "Any other event" (Events 9, 12-13, 20-22; 19, see above).
      return fsmErrorDrop(step, event, FsmSubcode.UnexpectedMessageInEstablished);
  }
}
