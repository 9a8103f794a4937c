/**
 * Building blocks shared by the per-state transition functions. `Step`
 * accumulates the next state and the actions of one transition; it is local
 * to one call of `transition`, so the FSM stays pure.
 */
import { CeaseSubcode, FsmSubcode, NotifCode } from '../codec/constants.js';
import { keepaliveInterval, negotiateHoldTime } from './hold-time.js';
import { PeerDownReason, reasonForLocalCease } from './peer-down-reason.js';
import {
  ALL_TIMERS,
  SessionState,
  TimerName,
  type FsmAction,
  type FsmEvent,
  type FsmState,
  type Notification,
  type OpenFacts,
} from './types.js';

export interface TransitionResult {
  state: FsmState;
  actions: FsmAction[];
}

export const EMPTY = new Uint8Array(0);

export class Step {
  state: FsmState;
  readonly actions: FsmAction[] = [];

  constructor(state: FsmState) {
    this.state = state;
  }

  get config(): FsmState['config'] {
    return this.state.config;
  }

  running(timer: TimerName): boolean {
    return this.state.timers[timer] > 0;
  }

  set(patch: Partial<FsmState>): this {
    this.state = { ...this.state, ...patch };
    return this;
  }

  go(next: SessionState): this {
    return this.set({ state: next });
  }

  emit(action: FsmAction): this {
    this.actions.push(action);
    return this;
  }

  /** (Re)start a timer; a zero duration means "not started", so a running one is stopped. */
  start(timer: TimerName, sec: number): this {
    if (sec <= 0) return this.stop(timer);
    this.set({ timers: { ...this.state.timers, [timer]: sec } });
    return this.emit({ type: 'start-timer', timer, sec });
  }

  /** Stop a timer if it is running; nothing to do otherwise. */
  stop(timer: TimerName): this {
    if (!this.running(timer)) return this;
    this.set({ timers: { ...this.state.timers, [timer]: 0 } });
    return this.emit({ type: 'stop-timer', timer });
  }

  stopAll(): this {
    for (const timer of ALL_TIMERS) this.stop(timer);
    return this;
  }

  result(): TransitionResult {
    return { state: this.state, actions: this.actions };
  }
}

/** No change, no action: the RFC's "ignored" and "remains in … state". */
export function ignore(state: FsmState): TransitionResult {
  return { state, actions: [] };
}

export function ceaseNotification(subcode: number, data: Uint8Array = EMPTY): Notification {
  return { code: NotifCode.Cease, subcode, data };
}

export function holdTimerExpiredNotification(): Notification {
  return { code: NotifCode.HoldTimerExpired, subcode: 0, data: EMPTY };
}

export function fsmErrorNotification(subcode: FsmSubcode): Notification {
  return { code: NotifCode.FsmError, subcode, data: EMPTY };
}

export interface DropSpec {
  reason: PeerDownReason;
  /** The NOTIFICATION we send before closing. */
  send?: Notification;
  /** The NOTIFICATION the peer sent, for the session-down record. */
  received?: Notification;
  /** What happens to the RFC ConnectRetryCounter. */
  counter: 'increment' | 'reset' | 'keep';
  /** Count the drop in the back-off and arm the IdleHoldTimer (every drop but ManualStop). */
  damp: boolean;
}

/**
 * Fall back to Idle: send the NOTIFICATION if any, stop every running timer,
 * drop the connection, release resources, report the session down, then arm
 * the IdleHoldTimer when the drop counts toward the back-off and automatic
 * start is allowed. The back-off doubles (up to idleHoldMaxSec) per drop.
 */
export function dropToIdle(step: Step, spec: DropSpec): TransitionResult {
  const wasEstablished = step.state.state === SessionState.Established;
  if (spec.send) step.emit({ type: 'send-notification', ...spec.send });
  step.stopAll();
  step.emit({ type: 'close' });
  step.emit({ type: 'release-resources' });
  const note = spec.send
    ? { ...spec.send, direction: 'sent' as const }
    : spec.received
      ? { ...spec.received, direction: 'received' as const }
      : undefined;
  step.emit({
    type: 'session-down',
    reason: spec.reason,
    wasEstablished,
    ...(note ? { notification: note } : {}),
  });
  const counter = spec.counter === 'increment'
    ? step.state.connectRetryCounter + 1
    : spec.counter === 'reset' ? 0 : step.state.connectRetryCounter;
  step.set({
    state: SessionState.Idle,
    connectRetryCounter: counter,
    negotiatedHoldTimeSec: 0,
    keepaliveSec: 0,
    peerBgpId: undefined,
  });
  if (spec.damp) {
    const wait = step.state.idleHoldSec;
    step.set({
      failureCount: step.state.failureCount + 1,
      idleHoldSec: Math.min(wait * 2, step.config.idleHoldMaxSec),
    });
    if (step.config.allowAutomaticStart) step.start(TimerName.IdleHold, wait);
  }
  return step.result();
}

/** The common "error" drop of RFC 4271 §8.2.2: counter + 1, damping. */
export function errorDrop(step: Step, reason: PeerDownReason, send?: Notification, received?: Notification): TransitionResult {
  return dropToIdle(step, {
    reason,
    counter: 'increment',
    damp: true,
    ...(send ? { send } : {}),
    ...(received ? { received } : {}),
  });
}

/** "Any other event" in OpenSent, OpenConfirm, Established: FSM Error (RFC 6608 subcode), counter + 1. */
export function fsmErrorDrop(step: Step, event: FsmEvent, messageSubcode: FsmSubcode): TransitionResult {
  const subcode = isMessageEvent(event) ? messageSubcode : FsmSubcode.Unspecified;
  return errorDrop(step, PeerDownReason.FsmError, fsmErrorNotification(subcode));
}

/**
 * Events that stand for a received message. RFC 6608 gives these a
 * per-state FSM Error subcode; any other unexpected event uses 0.
 */
export function isMessageEvent(event: FsmEvent): boolean {
  switch (event.type) {
    case 'BGPOpen':
    case 'BGPOpen_with_DelayOpenTimer_running':
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
    case 'NotifMsgVerErr':
    case 'NotifMsg':
    case 'KeepAliveMsg':
    case 'UpdateMsg':
    case 'UpdateMsgErr':
    case 'RouteRefreshMsg':
    case 'RouteRefreshMsgErr':
      return true;
    default:
      return false;
  }
}

/** Send our OPEN and wait in OpenSent under the large initial HoldTimer. */
export function sendOpen(step: Step): TransitionResult {
  step.emit({ type: 'send-open', holdTimeSec: step.config.holdTimeSec });
  step.start(TimerName.Hold, step.config.openHoldTimeSec);
  return step.go(SessionState.OpenSent).result();
}

/**
 * Accept the peer's OPEN: record the negotiated hold time, send KEEPALIVE
 * and run the KeepaliveTimer and HoldTimer with the negotiated values (not
 * at all when the hold time is 0). `sendOurOpen` is set for Event 20, where
 * our OPEN was delayed until now.
 */
export function acceptOpen(step: Step, open: OpenFacts, sendOurOpen: boolean): TransitionResult {
  const negotiated = negotiateHoldTime(step.config.holdTimeSec, open.holdTimeSec);
  const keepalive = keepaliveInterval(negotiated, step.config.keepaliveSec);
  step.stop(TimerName.ConnectRetry).stop(TimerName.DelayOpen);
  if (sendOurOpen) step.emit({ type: 'send-open', holdTimeSec: step.config.holdTimeSec });
  step.emit({ type: 'send-keepalive' });
  step.start(TimerName.Keepalive, keepalive);
  step.start(TimerName.Hold, negotiated);
  step.set({ negotiatedHoldTimeSec: negotiated, keepaliveSec: keepalive, peerBgpId: open.bgpId });
  return step.go(SessionState.OpenConfirm).result();
}

/** Reset the idle-hold back-off to its initial value. */
export function resetBackoff(step: Step): Step {
  return step.set({ failureCount: 0, idleHoldSec: step.config.idleHoldInitialSec });
}

/** ManualStop once an OPEN has been sent: Cease, counter reset, no automatic restart. */
export function manualStopWithCease(step: Step, cease: CeaseSubcode | undefined, data: Uint8Array | undefined): TransitionResult {
  const subcode = cease ?? CeaseSubcode.AdministrativeShutdown;
  return dropToIdle(step, {
    reason: reasonForLocalCease(subcode, true),
    send: ceaseNotification(subcode, data),
    counter: 'reset',
    damp: false,
  });
}

/** AutomaticStop once an OPEN has been sent: Cease, counter + 1, damping. */
export function automaticStopWithCease(step: Step, cease: CeaseSubcode | undefined, data: Uint8Array | undefined): TransitionResult {
  const subcode = cease ?? CeaseSubcode.Unspecific;
  return errorDrop(step, reasonForLocalCease(subcode, false), ceaseNotification(subcode, data));
}

/** OpenCollisionDump: Cease / Connection Collision Resolution, counter + 1. */
export function collisionDump(step: Step): TransitionResult {
  return errorDrop(step, PeerDownReason.ConnectionCollision,
    ceaseNotification(CeaseSubcode.ConnectionCollisionResolution));
}

/** NotifMsgVerErr in OpenSent and OpenConfirm: the counter is left alone (RFC 4271 §8.2.2). */
export function versionErrorDrop(step: Step, received: Notification): TransitionResult {
  return dropToIdle(step, { reason: PeerDownReason.NotificationReceived, received, counter: 'keep', damp: true });
}
