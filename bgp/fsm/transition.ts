/**
 * The BGP session FSM: `transition(state, event) → { state, actions }`,
 * following RFC 4271 §8.2.2 row by row. Pure: no clock, no I/O, no
 * randomness. The per-state rows live in transition-<state>.ts, each with
 * the list of places where it departs from the RFC text and why.
 *
 * Before dispatching, `transition`
 * - marks the timer whose `*_Expires` event this is as no longer running
 *   (timers are one-shot), so the rows never "stop" a timer that has fired;
 * - turns an OPEN whose Hold Time is 1 or 2 into BGPOpenMsgErr with
 *   OPEN Message Error / Unacceptable Hold Time (RFC 4271 §6.2), in case
 *   the session did not run openChecks.
 */
import { NotifCode, OpenSubcode } from '../codec/constants.js';
import { isAcceptableHoldTime } from './hold-time.js';
import { EMPTY, type TransitionResult } from './transition-common.js';
import { transitionConnectActive } from './transition-connect-active.js';
import { transitionEstablished } from './transition-established.js';
import { transitionIdle } from './transition-idle.js';
import { transitionOpenConfirm, transitionOpenSent } from './transition-open.js';
import { SessionState, TimerName, type FsmEvent, type FsmState } from './types.js';

export type { TransitionResult } from './transition-common.js';

function expiredTimer(event: FsmEvent): TimerName | undefined {
  switch (event.type) {
    case 'ConnectRetryTimer_Expires': return TimerName.ConnectRetry;
    case 'HoldTimer_Expires': return TimerName.Hold;
    case 'KeepaliveTimer_Expires': return TimerName.Keepalive;
    case 'DelayOpenTimer_Expires': return TimerName.DelayOpen;
    case 'IdleHoldTimer_Expires': return TimerName.IdleHold;
    case 'StableTimer_Expires': return TimerName.Stable;
    default: return undefined;
  }
}

function normalizeEvent(event: FsmEvent): FsmEvent {
  if ((event.type === 'BGPOpen' || event.type === 'BGPOpen_with_DelayOpenTimer_running')
    && !isAcceptableHoldTime(event.holdTimeSec)) {
    return {
      type: 'BGPOpenMsgErr',
      notification: { code: NotifCode.OpenMessageError, subcode: OpenSubcode.UnacceptableHoldTime, data: EMPTY },
    };
  }
  return event;
}

export function transition(state: FsmState, event: FsmEvent): TransitionResult {
  const fired = expiredTimer(event);
  const current = fired !== undefined && state.timers[fired] > 0
    ? { ...state, timers: { ...state.timers, [fired]: 0 } }
    : state;
  const ev = normalizeEvent(event);
  switch (current.state) {
    case SessionState.Idle: return transitionIdle(current, ev);
    case SessionState.Connect:
    case SessionState.Active: return transitionConnectActive(current, ev);
    case SessionState.OpenSent: return transitionOpenSent(current, ev);
    case SessionState.OpenConfirm: return transitionOpenConfirm(current, ev);
    case SessionState.Established: return transitionEstablished(current, ev);
  }
}
