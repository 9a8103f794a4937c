/**
 * RFC 4271 §8.2.2, Connect and Active states. They differ in a few rows
 * only, so one function handles both and says where they differ.
 *
 * Deviations:
 * - TcpConnectionFails in Connect with no DelayOpenTimer running goes to
 *   Idle as the RFC says, without touching the ConnectRetryCounter, but it
 *   does count toward the idle-hold back-off: a peer that refuses our
 *   connections is retried at 1, 2, 4 … s rather than in a tight loop.
 * - TcpConnectionFails in Active: the RFC restarts the ConnectRetryTimer and
 *   then goes to Idle, where that timer's expiry is ignored; we stop it and
 *   let the IdleHoldTimer bring the session back.
 * - A configured-passive session never connects out: in Active it runs no
 *   ConnectRetryTimer, and a stale ConnectRetryTimer_Expires is ignored.
 * - Losing the connection on the way to Active also emits close and
 *   release-resources, so the session has nothing left to clean up.
 */
import { CeaseSubcode } from '../codec/constants.js';
import { PeerDownReason, reasonForLocalCease } from './peer-down-reason.js';
import { SessionState, TimerName, type FsmEvent, type FsmState } from './types.js';
import {
  acceptOpen,
  ceaseNotification,
  dropToIdle,
  errorDrop,
  ignore,
  sendOpen,
  Step,
  type TransitionResult,
} from './transition-common.js';

/** The reason recorded for an unexpected event in Connect or Active. */
function unexpectedEventReason(event: FsmEvent): PeerDownReason {
  switch (event.type) {
    case 'AutomaticStop': return reasonForLocalCease(event.cease ?? CeaseSubcode.Unspecific, false);
    case 'HoldTimer_Expires': return PeerDownReason.HoldTimerExpired;
    case 'NotifMsg': return PeerDownReason.NotificationReceived;
    case 'OpenCollisionDump': return PeerDownReason.ConnectionCollision;
    default: return PeerDownReason.FsmError;
  }
}

export function transitionConnectActive(state: FsmState, event: FsmEvent): TransitionResult {
  const step = new Step(state);
  const inConnect = state.state === SessionState.Connect;
  const delayOpenRunning = step.running(TimerName.DelayOpen);
  switch (event.type) {
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'TcpConnection_Valid':
    case 'Tcp_CR_Invalid':
    case 'StableTimer_Expires':
      return ignore(state);

    case 'ManualStop': {
      const cease = event.cease ?? CeaseSubcode.AdministrativeShutdown;
      // Active only: a connection exists while the DelayOpenTimer runs.
      const notify = !inConnect && delayOpenRunning && state.config.sendNotificationWithoutOpen;
      return dropToIdle(step, {
        reason: reasonForLocalCease(cease, true),
        counter: 'reset',
        damp: false,
        ...(notify ? { send: ceaseNotification(cease, event.data) } : {}),
      });
    }

    case 'ConnectRetryTimer_Expires':
      if (inConnect) {
        step.emit({ type: 'close' });
        step.start(TimerName.ConnectRetry, state.config.connectRetrySec);
        step.stop(TimerName.DelayOpen);
        step.emit({ type: 'connect' });
        return step.result();
      }
      if (state.config.passive) return ignore(state);
      step.start(TimerName.ConnectRetry, state.config.connectRetrySec);
      step.emit({ type: 'connect' });
      return step.go(SessionState.Connect).result();

    case 'DelayOpenTimer_Expires':
      step.stop(TimerName.ConnectRetry);
      return sendOpen(step);

    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      step.stop(TimerName.ConnectRetry);
      if (state.config.delayOpen) {
        step.start(TimerName.DelayOpen, state.config.delayOpenSec);
        return step.result();
      }
      return sendOpen(step);

    case 'TcpConnectionFails':
      if (inConnect && delayOpenRunning) {
        step.stop(TimerName.DelayOpen);
        step.emit({ type: 'close' });
        step.emit({ type: 'release-resources' });
        step.start(TimerName.ConnectRetry, state.config.connectRetrySec);
        return step.go(SessionState.Active).result();
      }
      if (inConnect) {
        return dropToIdle(step, { reason: PeerDownReason.TcpConnectionFailed, counter: 'keep', damp: true });
      }
      return errorDrop(step, PeerDownReason.TcpConnectionFailed);

    case 'BGPOpen':
    case 'BGPOpen_with_DelayOpenTimer_running':
      // Event 20 when our OPEN is being delayed; otherwise Event 19, which
      // is an "any other event" here.
      if (delayOpenRunning) return acceptOpen(step, event, true);
      return errorDrop(step, PeerDownReason.FsmError);

    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr': {
      const reason = event.type === 'BGPHeaderErr' ? PeerDownReason.MessageHeaderError : PeerDownReason.OpenMessageError;
      return errorDrop(step, reason, state.config.sendNotificationWithoutOpen ? event.notification : undefined);
    }

    case 'NotifMsgVerErr':
      // Version negotiation: while our OPEN is delayed the counter is left alone.
      return dropToIdle(step, {
        reason: PeerDownReason.NotificationReceived,
        received: event.notification,
        counter: delayOpenRunning ? 'keep' : 'increment',
        damp: true,
      });

    case 'AutomaticStop':
    case 'HoldTimer_Expires':
    case 'KeepaliveTimer_Expires':
    case 'IdleHoldTimer_Expires':
    case 'OpenCollisionDump':
    case 'NotifMsg':
    case 'KeepAliveMsg':
    case 'UpdateMsg':
    case 'UpdateMsgErr':
    case 'RouteRefreshMsg':
    case 'RouteRefreshMsgErr':
      // "Any other event" (Events 8, 10-11, 13, 19, 23, 25-28): no NOTIFICATION.
      return errorDrop(step, unexpectedEventReason(event), undefined,
        event.type === 'NotifMsg' ? event.notification : undefined);
  }
}
