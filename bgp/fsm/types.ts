/**
 * Data types of the BGP session finite state machine (RFC 4271 §8).
 *
 * The FSM is pure: `transition(state, event) → { state, actions }`. It owns no
 * socket and no timer. The session object feeds it events (messages decoded
 * from its one TCP connection, timer expiries, operator commands) and carries
 * out the actions it returns, in order. Everything here is plain data.
 *
 * One FSM instance drives one TCP connection. During a connection collision
 * (RFC 4271 §6.8) the session runs a second instance for the second
 * connection and uses `resolveCollision` (collision.ts) to pick the loser, to
 * which it feeds `OpenCollisionDump`.
 */
import { TortieError } from '../../lib/errors.js';
import type { CeaseSubcode, NotifCode } from '../codec/constants.js';
import type { RouteRefreshMessage, UpdateMessage } from '../codec/types.js';
import { isAcceptableHoldTime } from './hold-time.js';
import type { PeerDownReason } from './peer-down-reason.js';

/** Session states, named as in RFC 4271 §8.2.2. */
export enum SessionState {
  Idle = 1,
  Connect = 2,
  Active = 3,
  OpenSent = 4,
  OpenConfirm = 5,
  Established = 6,
}

export const ALL_SESSION_STATES: readonly SessionState[] = [
  SessionState.Idle,
  SessionState.Connect,
  SessionState.Active,
  SessionState.OpenSent,
  SessionState.OpenConfirm,
  SessionState.Established,
];

export function sessionStateName(state: SessionState): string {
  switch (state) {
    case SessionState.Idle: return 'Idle';
    case SessionState.Connect: return 'Connect';
    case SessionState.Active: return 'Active';
    case SessionState.OpenSent: return 'OpenSent';
    case SessionState.OpenConfirm: return 'OpenConfirm';
    case SessionState.Established: return 'Established';
  }
}

/**
 * The timers the session runs for the FSM. All are one-shot: when one fires
 * the session feeds the matching `*_Expires` event (see `timerExpiredEvent`).
 * Starting a running timer restarts it; stopping a stopped one does nothing.
 *
 * `Stable` is ours, not RFC 4271's: it runs while Established and, when it
 * fires, resets the idle-hold back-off (see FsmConfig.stableSec).
 */
export enum TimerName {
  ConnectRetry = 'connect-retry',
  Hold = 'hold',
  Keepalive = 'keepalive',
  DelayOpen = 'delay-open',
  IdleHold = 'idle-hold',
  Stable = 'stable',
}

export const ALL_TIMERS: readonly TimerName[] = [
  TimerName.ConnectRetry,
  TimerName.DelayOpen,
  TimerName.Hold,
  TimerName.Keepalive,
  TimerName.Stable,
  TimerName.IdleHold,
];

/** A NOTIFICATION to send or one that was received. */
export interface Notification {
  code: NotifCode;
  subcode: number;
  data: Uint8Array;
}

/**
 * The facts the FSM needs from a received OPEN. The session decodes the
 * OPEN and runs `openChecks` (open-checks.ts) first; an OPEN that fails
 * becomes `BGPOpenMsgErr` instead.
 */
export interface OpenFacts {
  /** The peer's Hold Time field. */
  holdTimeSec: number;
  /** The peer's BGP Identifier, dotted quad. */
  bgpId: string;
}

/**
 * FSM events: RFC 4271 §8.1 names and numbers. Left out on purpose:
 * Events 6 and 7 (AutomaticStart_with_DampPeerOscillations…), because damping
 * is built in (the idle-hold back-off). Added: `RouteRefreshMsg` and
 * `RouteRefreshMsgErr` (RFC 2918/7313 messages) and `StableTimer_Expires`.
 */
export type FsmEvent =
  /** Event 1. The operator starts the session. Resets the back-off. */
  | { type: 'ManualStart' }
  /**
   * Event 2. The operator stops the session. Sent as Cease/`cease`
   * (default Administrative Shutdown); use PeerDeconfigured when the peer is
   * removed, AdministrativeReset or OtherConfigurationChange for a reset.
   * `data` is e.g. an RFC 8203 shutdown communication.
   */
  | { type: 'ManualStop'; cease?: CeaseSubcode; data?: Uint8Array }
  /** Event 3. Ignored unless config.allowAutomaticStart. */
  | { type: 'AutomaticStart' }
  /** Event 4. */
  | { type: 'ManualStart_with_PassiveTcpEstablishment' }
  /** Event 5. */
  | { type: 'AutomaticStart_with_PassiveTcpEstablishment' }
  /**
   * Event 8. The speaker stops the session on its own, e.g. Cease/Maximum
   * Number of Prefixes Reached (the default is Cease/Unspecific). The session
   * restarts after the idle-hold back-off when automatic start is allowed.
   */
  | { type: 'AutomaticStop'; cease?: CeaseSubcode; data?: Uint8Array }
  /** Event 9. */
  | { type: 'ConnectRetryTimer_Expires' }
  /** Event 10. */
  | { type: 'HoldTimer_Expires' }
  /** Event 11. */
  | { type: 'KeepaliveTimer_Expires' }
  /** Event 12. */
  | { type: 'DelayOpenTimer_Expires' }
  /** Event 13. */
  | { type: 'IdleHoldTimer_Expires' }
  /** Event 14. A connection request from the peer was seen (SYN). */
  | { type: 'TcpConnection_Valid' }
  /** Event 15. An invalid connection request (ignored in every state). */
  | { type: 'Tcp_CR_Invalid' }
  /** Event 16. Our outgoing connection completed. */
  | { type: 'Tcp_CR_Acked' }
  /** Event 17. We accepted the peer's incoming connection. */
  | { type: 'TcpConnectionConfirmed' }
  /** Event 18. The connection failed, was refused or was closed by the peer. */
  | { type: 'TcpConnectionFails' }
  /** Event 19. A valid OPEN. In Connect/Active it is handled as Event 20 while the DelayOpenTimer runs. */
  | ({ type: 'BGPOpen' } & OpenFacts)
  /** Event 20. */
  | ({ type: 'BGPOpen_with_DelayOpenTimer_running' } & OpenFacts)
  /** Event 21. Header error (RFC 4271 §6.1); carries the NOTIFICATION to send. */
  | { type: 'BGPHeaderErr'; notification: Notification }
  /** Event 22. OPEN error (RFC 4271 §6.2); carries the NOTIFICATION to send. */
  | { type: 'BGPOpenMsgErr'; notification: Notification }
  /** Event 23. This connection lost a collision (RFC 4271 §6.8); Cease/7 is sent. */
  | { type: 'OpenCollisionDump' }
  /** Event 24. A NOTIFICATION with OPEN Message Error / Unsupported Version Number. */
  | { type: 'NotifMsgVerErr'; notification: Notification }
  /** Event 25. Any other NOTIFICATION; carries what was received. */
  | { type: 'NotifMsg'; notification: Notification }
  /** Event 26. */
  | { type: 'KeepAliveMsg' }
  /** Event 27. Includes UPDATEs with RFC 7606 problems handled without a reset. */
  | { type: 'UpdateMsg'; update: UpdateMessage }
  /** Event 28. An UPDATE error that resets the session; carries the NOTIFICATION to send. */
  | { type: 'UpdateMsgErr'; notification: Notification }
  /** A ROUTE-REFRESH message (RFC 2918, RFC 7313). */
  | { type: 'RouteRefreshMsg'; message: RouteRefreshMessage }
  /** A malformed ROUTE-REFRESH (RFC 7313 §5); carries the NOTIFICATION to send. */
  | { type: 'RouteRefreshMsgErr'; notification: Notification }
  /** Ours: the session has been Established for config.stableSec. */
  | { type: 'StableTimer_Expires' };

export type FsmEventType = FsmEvent['type'];

/** Every event type, in RFC 4271 §8.1 order, then ours. */
const EVENT_TYPE_SET: Record<FsmEventType, true> = {
  ManualStart: true,
  ManualStop: true,
  AutomaticStart: true,
  ManualStart_with_PassiveTcpEstablishment: true,
  AutomaticStart_with_PassiveTcpEstablishment: true,
  AutomaticStop: true,
  ConnectRetryTimer_Expires: true,
  HoldTimer_Expires: true,
  KeepaliveTimer_Expires: true,
  DelayOpenTimer_Expires: true,
  IdleHoldTimer_Expires: true,
  TcpConnection_Valid: true,
  Tcp_CR_Invalid: true,
  Tcp_CR_Acked: true,
  TcpConnectionConfirmed: true,
  TcpConnectionFails: true,
  BGPOpen: true,
  BGPOpen_with_DelayOpenTimer_running: true,
  BGPHeaderErr: true,
  BGPOpenMsgErr: true,
  OpenCollisionDump: true,
  NotifMsgVerErr: true,
  NotifMsg: true,
  KeepAliveMsg: true,
  UpdateMsg: true,
  UpdateMsgErr: true,
  RouteRefreshMsg: true,
  RouteRefreshMsgErr: true,
  StableTimer_Expires: true,
};
export const ALL_EVENT_TYPES: readonly FsmEventType[] = Object.keys(EVENT_TYPE_SET) as FsmEventType[];

/**
 * What the session must do, in the order given. The session is a dumb
 * executor: it needs no FSM knowledge beyond carrying these out.
 */
export type FsmAction =
  /** Open an outgoing TCP connection to the peer (abandon any pending one first). */
  | { type: 'connect' }
  /** Drop this FSM's TCP connection, or abort a pending connect. Idempotent. */
  | { type: 'close' }
  /** Send our OPEN, advertising `holdTimeSec`. */
  | { type: 'send-open'; holdTimeSec: number }
  | { type: 'send-keepalive' }
  /** Send a NOTIFICATION. A `close` always follows; flush before closing. */
  | ({ type: 'send-notification' } & Notification)
  /** (Re)start a one-shot timer. `sec` is always > 0. */
  | { type: 'start-timer'; timer: TimerName; sec: number }
  | { type: 'stop-timer'; timer: TimerName }
  /** The session reached Established: announce it and send the Adj-RIB-Out. */
  | { type: 'established' }
  /** Hand a received UPDATE to the RIB. */
  | { type: 'process-update'; update: UpdateMessage }
  /** Answer a received ROUTE-REFRESH. */
  | { type: 'process-route-refresh'; message: RouteRefreshMessage }
  /** Release per-connection state: framer, negotiated capabilities, queues. */
  | { type: 'release-resources' }
  /**
   * Emitted exactly once whenever the FSM falls back to Idle from any other
   * state. When `wasEstablished` the session deletes the peer's routes (or,
   * with graceful restart, marks them stale). `notification` is the one we
   * sent or the one we received, for status and logs.
   */
  | {
      type: 'session-down';
      reason: PeerDownReason;
      wasEstablished: boolean;
      notification?: Notification & { direction: 'sent' | 'received' };
    };

export type FsmActionType = FsmAction['type'];

/** Per-peer configuration the FSM needs. Pure data, carried in FsmState. */
export interface FsmConfig {
  /** Our Hold Time: 0, or at least 3 (RFC 4271 §4.2). */
  holdTimeSec: number;
  /** Our desired keepalive interval; capped at a third of the negotiated hold time. */
  keepaliveSec: number;
  /** ConnectRetryTime (RFC 4271 suggests 120 s). */
  connectRetrySec: number;
  /** The "large value" the HoldTimer gets in OpenSent (RFC 4271 suggests 4 minutes). */
  openHoldTimeSec: number;
  /** RFC 4271 DelayOpen: wait for the peer's OPEN before sending ours. */
  delayOpen: boolean;
  delayOpenSec: number;
  /**
   * Never initiate a connection; only accept the peer's. Stronger than RFC
   * 4271's PassiveTcpEstablishment, which starts passive but connects out
   * when the ConnectRetryTimer fires: a passive session runs no
   * ConnectRetryTimer in Active.
   */
  passive: boolean;
  /** RFC 4271 AllowAutomaticStart: automatic starts and restarts after errors. */
  allowAutomaticStart: boolean;
  /** RFC 4271 SendNOTIFICATIONwithoutOPEN. */
  sendNotificationWithoutOpen: boolean;
  /** Idle-hold back-off: first wait after an error drop, doubled per drop up to max. */
  idleHoldInitialSec: number;
  idleHoldMaxSec: number;
  /** Established this long resets the back-off; 0 resets it on reaching Established. */
  stableSec: number;
}

export const DEFAULT_FSM_CONFIG: Readonly<FsmConfig> = {
  holdTimeSec: 90,
  keepaliveSec: 30,
  connectRetrySec: 120,
  openHoldTimeSec: 240,
  delayOpen: false,
  delayOpenSec: 5,
  passive: false,
  allowAutomaticStart: true,
  sendNotificationWithoutOpen: false,
  idleHoldInitialSec: 1,
  idleHoldMaxSec: 120,
  stableSec: 60,
};

/** Seconds each timer was started with; 0 when it is not running. */
export type TimerSet = Readonly<Record<TimerName, number>>;

export interface FsmState {
  readonly state: SessionState;
  readonly config: Readonly<FsmConfig>;
  /** RFC 4271 ConnectRetryCounter, kept exactly as §8.2.2 says. */
  readonly connectRetryCounter: number;
  /** Which timers are running, as the FSM has ordered them. */
  readonly timers: TimerSet;
  /** min(ours, peer's), set when the peer's OPEN is accepted; 0 before, or when disabled. */
  readonly negotiatedHoldTimeSec: number;
  /** The keepalive interval in use; 0 when keepalives are disabled. */
  readonly keepaliveSec: number;
  /** From the peer's OPEN, for collision detection. */
  readonly peerBgpId: string | undefined;
  /** The idle-hold wait for the next drop (the back-off). */
  readonly idleHoldSec: number;
  /** Drops to Idle (other than ManualStop) since the back-off was last reset. */
  readonly failureCount: number;
}

export const NO_TIMERS: TimerSet = {
  [TimerName.ConnectRetry]: 0,
  [TimerName.Hold]: 0,
  [TimerName.Keepalive]: 0,
  [TimerName.DelayOpen]: 0,
  [TimerName.IdleHold]: 0,
  [TimerName.Stable]: 0,
};

/** What is wrong with a configuration, one line per problem; empty when it is usable. */
export function fsmConfigProblems(config: Readonly<FsmConfig>): string[] {
  const problems: string[] = [];
  const positive = (name: keyof FsmConfig, value: number): void => {
    if (!(Number.isInteger(value) && value > 0)) problems.push(`${name} must be a positive integer, got ${value}`);
  };
  if (!isAcceptableHoldTime(config.holdTimeSec)) {
    problems.push(`holdTimeSec must be 0 or 3..65535, got ${config.holdTimeSec}`);
  }
  if (!(Number.isInteger(config.keepaliveSec) && config.keepaliveSec >= 0)) {
    problems.push(`keepaliveSec must be a non-negative integer, got ${config.keepaliveSec}`);
  }
  positive('connectRetrySec', config.connectRetrySec);
  positive('openHoldTimeSec', config.openHoldTimeSec);
  positive('delayOpenSec', config.delayOpenSec);
  positive('idleHoldInitialSec', config.idleHoldInitialSec);
  positive('idleHoldMaxSec', config.idleHoldMaxSec);
  if (config.idleHoldMaxSec < config.idleHoldInitialSec) problems.push('idleHoldMaxSec must not be below idleHoldInitialSec');
  if (!(Number.isInteger(config.stableSec) && config.stableSec >= 0)) {
    problems.push(`stableSec must be a non-negative integer, got ${config.stableSec}`);
  }
  return problems;
}

/**
 * A fresh FSM: Idle, nothing running, back-off at its initial value.
 * Throws TortieError ERR_BGP_FSM_CONFIG for an unusable configuration.
 */
export function initialFsmState(config: Partial<FsmConfig> = {}): FsmState {
  const full: FsmConfig = { ...DEFAULT_FSM_CONFIG, ...config };
  const problems = fsmConfigProblems(full);
  if (problems.length > 0) throw new TortieError('ERR_BGP_FSM_CONFIG', problems.join('; '));
  return {
    state: SessionState.Idle,
    config: full,
    connectRetryCounter: 0,
    timers: NO_TIMERS,
    negotiatedHoldTimeSec: 0,
    keepaliveSec: 0,
    peerBgpId: undefined,
    idleHoldSec: full.idleHoldInitialSec,
    failureCount: 0,
  };
}
