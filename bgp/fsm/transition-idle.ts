/**
 * RFC 4271 §8.2.2, Idle state.
 *
 * Deviations, all about damping (the RFC leaves its method open):
 * - IdleHoldTimer_Expires is our automatic restart after an error drop. It
 *   starts the session like AutomaticStart but keeps the ConnectRetryCounter.
 * - AutomaticStart while the IdleHoldTimer runs is ignored: the pending
 *   restart happens when it fires, so a restart loop is damped too.
 * - ManualStop cancels a pending automatic restart; the RFC ignores it
 *   because it has no such restart.
 */
import { SessionState, TimerName, type FsmEvent, type FsmState } from './types.js';
import { ignore, resetBackoff, Step, type TransitionResult } from './transition-common.js';

interface StartSpec {
  /** Wait for the peer to connect (Active) instead of connecting (Connect). */
  passive: boolean;
  resetCounter: boolean;
}

function start(step: Step, spec: StartSpec): TransitionResult {
  step.stop(TimerName.IdleHold);
  if (spec.resetCounter) step.set({ connectRetryCounter: 0 });
  if (spec.passive || step.config.passive) {
    // A configured-passive session never connects out, so it needs no ConnectRetryTimer.
    if (!step.config.passive) step.start(TimerName.ConnectRetry, step.config.connectRetrySec);
    return step.go(SessionState.Active).result();
  }
  step.start(TimerName.ConnectRetry, step.config.connectRetrySec);
  step.emit({ type: 'connect' });
  return step.go(SessionState.Connect).result();
}

function automaticStartAllowed(state: FsmState): boolean {
  return state.config.allowAutomaticStart && state.timers[TimerName.IdleHold] === 0;
}

export function transitionIdle(state: FsmState, event: FsmEvent): TransitionResult {
  const step = new Step(state);
  switch (event.type) {
    case 'ManualStart':
      return start(resetBackoff(step), { passive: false, resetCounter: true });
    case 'ManualStart_with_PassiveTcpEstablishment':
      return start(resetBackoff(step), { passive: true, resetCounter: true });
    case 'AutomaticStart':
      if (!automaticStartAllowed(state)) return ignore(state);
      return start(step, { passive: false, resetCounter: true });
    case 'AutomaticStart_with_PassiveTcpEstablishment':
      if (!automaticStartAllowed(state)) return ignore(state);
      return start(step, { passive: true, resetCounter: true });
    case 'IdleHoldTimer_Expires':
      if (!state.config.allowAutomaticStart) return ignore(state);
      return start(step, { passive: false, resetCounter: false });
    case 'ManualStop':
      return step.stop(TimerName.IdleHold).result();
    default:
      // AutomaticStop and Events 9-12, 14-28: no change. The session refuses
      // incoming connections while Idle (see incomingConnectionDisposition).
      return ignore(state);
  }
}
