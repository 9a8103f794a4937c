/**
 * RFC 4271 §8.2.2, OpenSent and OpenConfirm states, with the RFC 6608 FSM
 * Error subcodes for unexpected messages.
 *
 * Deviations:
 * - NotifMsg in OpenSent: the RFC lists it among the "any other events",
 *   which would answer the peer's NOTIFICATION with an FSM Error. A
 *   NOTIFICATION is not an unexpected message (RFC 6608), and the peer has
 *   closed the connection after sending it, so we drop without replying
 *   (counter + 1, as in OpenConfirm).
 * - BGPOpen in OpenConfirm: RFC 4271 hands an OPEN on the *other*
 *   connection to collision detection. This FSM drives one connection, so
 *   an OPEN here is a second OPEN on the same connection: FSM Error,
 *   "Receive Unexpected Message in OpenConfirm State" (RFC 6608). The
 *   session resolves real collisions with resolveCollision and feeds the
 *   loser OpenCollisionDump.
 * - TcpConnectionFails in OpenSent also stops the large HoldTimer, which
 *   would otherwise fire in Active, and does not start the ConnectRetryTimer
 *   for a configured-passive session.
 * - TcpConnection_Valid / Tcp_CR_Acked / TcpConnectionConfirmed concern a
 *   second connection, which the session tracks with its own FSM instance;
 *   for this FSM they change nothing.
 */
import { FsmSubcode } from '../codec/constants.js';
import { PeerDownReason } from './peer-down-reason.js';
import { SessionState, TimerName, type FsmEvent, type FsmState } from './types.js';
import {
  acceptOpen,
  automaticStopWithCease,
  collisionDump,
  errorDrop,
  fsmErrorDrop,
  holdTimerExpiredNotification,
  ignore,
  manualStopWithCease,
  resetBackoff,
  Step,
  versionErrorDrop,
  type TransitionResult,
} from './transition-common.js';

/** Rows OpenSent and OpenConfirm share; undefined when the state decides. */
function sharedOpenRows(step: Step, event: FsmEvent): TransitionResult | undefined {
  switch (event.type) {
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'TcpConnection_Valid':
    case 'Tcp_CR_Invalid':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
    case 'StableTimer_Expires':
      return ignore(step.state);
    case 'ManualStop':
      return manualStopWithCease(step, event.cease, event.data);
    case 'AutomaticStop':
      return automaticStopWithCease(step, event.cease, event.data);
    case 'HoldTimer_Expires':
      return errorDrop(step, PeerDownReason.HoldTimerExpired, holdTimerExpiredNotification());
    case 'BGPHeaderErr':
      return errorDrop(step, PeerDownReason.MessageHeaderError, event.notification);
    case 'BGPOpenMsgErr':
      return errorDrop(step, PeerDownReason.OpenMessageError, event.notification);
    case 'OpenCollisionDump':
      return collisionDump(step);
    case 'NotifMsgVerErr':
      return versionErrorDrop(step, event.notification);
    case 'NotifMsg':
      return errorDrop(step, PeerDownReason.NotificationReceived, undefined, event.notification);
    default:
      return undefined;
  }
}

export function transitionOpenSent(state: FsmState, event: FsmEvent): TransitionResult {
  const step = new Step(state);
  const shared = sharedOpenRows(step, event);
  if (shared) return shared;
  switch (event.type) {
    case 'TcpConnectionFails':
      step.stopAll();
      step.emit({ type: 'close' });
      step.emit({ type: 'release-resources' });
      if (!state.config.passive) step.start(TimerName.ConnectRetry, state.config.connectRetrySec);
      return step.go(SessionState.Active).result();
    case 'BGPOpen':
      return acceptOpen(step, event, false);
    default:
      // Events 9, 11-13, 20, 26-28 and ROUTE-REFRESH.
      return fsmErrorDrop(step, event, FsmSubcode.UnexpectedMessageInOpenSent);
  }
}

export function transitionOpenConfirm(state: FsmState, event: FsmEvent): TransitionResult {
  const step = new Step(state);
  const shared = sharedOpenRows(step, event);
  if (shared) return shared;
  switch (event.type) {
    case 'KeepaliveTimer_Expires':
      if (state.keepaliveSec === 0) return ignore(state);
      step.emit({ type: 'send-keepalive' });
      step.start(TimerName.Keepalive, state.keepaliveSec);
      return step.result();
    case 'TcpConnectionFails':
      return errorDrop(step, PeerDownReason.TcpConnectionFailed);
    case 'KeepAliveMsg':
      step.start(TimerName.Hold, state.negotiatedHoldTimeSec);
      if (state.config.stableSec > 0) step.start(TimerName.Stable, state.config.stableSec);
      else resetBackoff(step);
      step.emit({ type: 'established' });
      return step.go(SessionState.Established).result();
    default:
      // Events 9, 12-13, 19 (see above), 20, 27-28 and ROUTE-REFRESH.
      return fsmErrorDrop(step, event, FsmSubcode.UnexpectedMessageInOpenConfirm);
  }
}
