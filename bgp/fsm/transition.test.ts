/**
 * The FSM table: every (state, event) pair of RFC 4271 §8.2.2, with the next
 * state, the exact action list and the ConnectRetryCounter. Fixtures are
 * written out by hand (not produced by the FSM) with the timers that run in
 * each state; the counter starts at 3 and the back-off at 4 s so that
 * "reset", "+1" and "unchanged" all differ.
 */
import { expect } from 'chai';
import { CeaseSubcode, MessageType, NotifCode } from '../codec/constants.js';
import type { RouteRefreshMessage, UpdateMessage } from '../codec/types.js';
import { PeerDownReason as R } from './peer-down-reason.js';
import { transition } from './transition.js';
import {
  ALL_EVENT_TYPES,
  ALL_SESSION_STATES,
  DEFAULT_FSM_CONFIG,
  NO_TIMERS,
  SessionState as S,
  sessionStateName,
  TimerName as T,
  type FsmAction,
  type FsmConfig,
  type FsmEvent,
  type FsmEventType,
  type FsmState,
  type Notification,
} from './types.js';

const CONFIG: FsmConfig = { ...DEFAULT_FSM_CONFIG, holdTimeSec: 90, keepaliveSec: 30, connectRetrySec: 120, openHoldTimeSec: 240 };

function fsm(state: S, timers: Partial<Record<T, number>>, extra: Partial<FsmState> = {}): FsmState {
  return {
    state,
    config: CONFIG,
    connectRetryCounter: 3,
    timers: { ...NO_TIMERS, ...timers },
    negotiatedHoldTimeSec: 0,
    keepaliveSec: 0,
    peerBgpId: undefined,
    idleHoldSec: 4,
    failureCount: 2,
    ...extra,
  };
}
const NEGOTIATED = { negotiatedHoldTimeSec: 90, keepaliveSec: 30, peerBgpId: '192.0.2.2' };
const DELAY = { ...CONFIG, delayOpen: true };

const FIXTURES = {
  Idle: fsm(S.Idle, {}),
  IdleHolding: fsm(S.Idle, { [T.IdleHold]: 4 }),
  Connect: fsm(S.Connect, { [T.ConnectRetry]: 120 }),
  ConnectDelaying: fsm(S.Connect, { [T.DelayOpen]: 5 }, { config: DELAY }),
  Active: fsm(S.Active, { [T.ConnectRetry]: 120 }),
  ActiveDelaying: fsm(S.Active, { [T.DelayOpen]: 5 }, { config: DELAY }),
  OpenSent: fsm(S.OpenSent, { [T.Hold]: 240 }),
  OpenConfirm: fsm(S.OpenConfirm, { [T.Hold]: 90, [T.Keepalive]: 30 }, NEGOTIATED),
  Established: fsm(S.Established, { [T.Hold]: 90, [T.Keepalive]: 30, [T.Stable]: 60 }, NEGOTIATED),
};
type Fixture = keyof typeof FIXTURES;
/** The fixture that stands for each state in the completeness check. */
const MAIN: Record<S, Fixture> = {
  [S.Idle]: 'Idle', [S.Connect]: 'Connect', [S.Active]: 'Active',
  [S.OpenSent]: 'OpenSent', [S.OpenConfirm]: 'OpenConfirm', [S.Established]: 'Established',
};

const n = (code: NotifCode, subcode: number, ...data: number[]): Notification => ({ code, subcode, data: Uint8Array.from(data) });
const HDR = n(NotifCode.MessageHeaderError, 2, 0, 5);
const OPENERR = n(NotifCode.OpenMessageError, 2);
const VERERR = n(NotifCode.OpenMessageError, 1, 0, 4);
const PEERCEASE = n(NotifCode.Cease, 2);
const UPDERR = n(NotifCode.UpdateMessageError, 1);
const RRERR = n(NotifCode.RouteRefreshMessageError, 1);
const UPDATE: UpdateMessage = { type: MessageType.Update, withdrawn: [], attributes: [], nlri: [{ prefix: '10.0.0.0/24' }] };
const RR: RouteRefreshMessage = { type: MessageType.RouteRefresh, afi: 1, subtype: 0, safi: 1 };
const OPEN = { holdTimeSec: 30, bgpId: '192.0.2.2' };

const EV: Record<FsmEventType, FsmEvent> = {
  ManualStart: { type: 'ManualStart' },
  ManualStop: { type: 'ManualStop' },
  AutomaticStart: { type: 'AutomaticStart' },
  ManualStart_with_PassiveTcpEstablishment: { type: 'ManualStart_with_PassiveTcpEstablishment' },
  AutomaticStart_with_PassiveTcpEstablishment: { type: 'AutomaticStart_with_PassiveTcpEstablishment' },
  AutomaticStop: { type: 'AutomaticStop' },
  ConnectRetryTimer_Expires: { type: 'ConnectRetryTimer_Expires' },
  HoldTimer_Expires: { type: 'HoldTimer_Expires' },
  KeepaliveTimer_Expires: { type: 'KeepaliveTimer_Expires' },
  DelayOpenTimer_Expires: { type: 'DelayOpenTimer_Expires' },
  IdleHoldTimer_Expires: { type: 'IdleHoldTimer_Expires' },
  TcpConnection_Valid: { type: 'TcpConnection_Valid' },
  Tcp_CR_Invalid: { type: 'Tcp_CR_Invalid' },
  Tcp_CR_Acked: { type: 'Tcp_CR_Acked' },
  TcpConnectionConfirmed: { type: 'TcpConnectionConfirmed' },
  TcpConnectionFails: { type: 'TcpConnectionFails' },
  BGPOpen: { type: 'BGPOpen', ...OPEN },
  BGPOpen_with_DelayOpenTimer_running: { type: 'BGPOpen_with_DelayOpenTimer_running', ...OPEN },
  BGPHeaderErr: { type: 'BGPHeaderErr', notification: HDR },
  BGPOpenMsgErr: { type: 'BGPOpenMsgErr', notification: OPENERR },
  OpenCollisionDump: { type: 'OpenCollisionDump' },
  NotifMsgVerErr: { type: 'NotifMsgVerErr', notification: VERERR },
  NotifMsg: { type: 'NotifMsg', notification: PEERCEASE },
  KeepAliveMsg: { type: 'KeepAliveMsg' },
  UpdateMsg: { type: 'UpdateMsg', update: UPDATE },
  UpdateMsgErr: { type: 'UpdateMsgErr', notification: UPDERR },
  RouteRefreshMsg: { type: 'RouteRefreshMsg', message: RR },
  RouteRefreshMsgErr: { type: 'RouteRefreshMsgErr', notification: RRERR },
  StableTimer_Expires: { type: 'StableTimer_Expires' },
};

// ------------------------------------------------------------ action shorthand
const start = (timer: T, sec: number): FsmAction => ({ type: 'start-timer', timer, sec });
const stop = (timer: T): FsmAction => ({ type: 'stop-timer', timer });
const CONNECT: FsmAction = { type: 'connect' };
const CLOSE: FsmAction = { type: 'close' };
const RELEASE: FsmAction = { type: 'release-resources' };
const SEND_OPEN: FsmAction = { type: 'send-open', holdTimeSec: 90 };
const KA: FsmAction = { type: 'send-keepalive' };
const notify = (x: Notification): FsmAction => ({ type: 'send-notification', ...x });
const CEASE_ADMIN = n(NotifCode.Cease, CeaseSubcode.AdministrativeShutdown);
const CEASE_AUTO = n(NotifCode.Cease, CeaseSubcode.Unspecific);
const CEASE_COLL = n(NotifCode.Cease, CeaseSubcode.ConnectionCollisionResolution);
const HOLDEXP = n(NotifCode.HoldTimerExpired, 0);
const fsmErr = (subcode: number): Notification => n(NotifCode.FsmError, subcode);
const OPEN_TO_OPENSENT = [SEND_OPEN, start(T.Hold, 240)];

interface DropOpts { stops: T[]; reason: R; sent?: Notification; received?: Notification; damp?: boolean; est?: boolean }
/** The documented drop sequence: notify, stop running timers, close, release, session-down, idle-hold. */
function drop(o: DropOpts): FsmAction[] {
  const note = o.sent ? { ...o.sent, direction: 'sent' as const } : o.received ? { ...o.received, direction: 'received' as const } : undefined;
  return [
    ...(o.sent ? [notify(o.sent)] : []),
    ...o.stops.map(stop),
    CLOSE,
    RELEASE,
    { type: 'session-down', reason: o.reason, wasEstablished: o.est ?? false, ...(note ? { notification: note } : {}) },
    ...(o.damp === false ? [] : [start(T.IdleHold, 4)]),
  ];
}

type Row = [from: Fixture, event: FsmEventType, to: S, actions: FsmAction[], counter?: number];
const STARTS: FsmEventType[] = ['ManualStart', 'AutomaticStart', 'ManualStart_with_PassiveTcpEstablishment', 'AutomaticStart_with_PassiveTcpEstablishment'];
const same = (from: Fixture, events: FsmEventType[]): Row[] => events.map((e) => [from, e, FIXTURES[from].state, [], 3]);
const dropRows = (from: Fixture, events: FsmEventType[], o: DropOpts, counter = 4): Row[] =>
  events.map((e) => [from, e, S.Idle, drop(o), counter]);

const CR = [T.ConnectRetry];
const MESSAGES: FsmEventType[] = ['KeepAliveMsg', 'UpdateMsg', 'UpdateMsgErr', 'RouteRefreshMsg', 'RouteRefreshMsgErr'];
const OC = [T.Hold, T.Keepalive];
const EST = [T.Hold, T.Keepalive, T.Stable];

const TABLE: Row[] = [
  // ------------------------------------------------------------------ Idle
  ['Idle', 'ManualStart', S.Connect, [start(T.ConnectRetry, 120), CONNECT], 0],
  ['Idle', 'AutomaticStart', S.Connect, [start(T.ConnectRetry, 120), CONNECT], 0],
  ['Idle', 'ManualStart_with_PassiveTcpEstablishment', S.Active, [start(T.ConnectRetry, 120)], 0],
  ['Idle', 'AutomaticStart_with_PassiveTcpEstablishment', S.Active, [start(T.ConnectRetry, 120)], 0],
  ['Idle', 'IdleHoldTimer_Expires', S.Connect, [start(T.ConnectRetry, 120), CONNECT], 3],
  ...same('Idle', ALL_EVENT_TYPES.filter((e) => !STARTS.includes(e) && e !== 'IdleHoldTimer_Expires')),
  ['IdleHolding', 'AutomaticStart', S.Idle, [], 3],
  ['IdleHolding', 'AutomaticStart_with_PassiveTcpEstablishment', S.Idle, [], 3],
  ['IdleHolding', 'ManualStart', S.Connect, [stop(T.IdleHold), start(T.ConnectRetry, 120), CONNECT], 0],
  ['IdleHolding', 'ManualStop', S.Idle, [stop(T.IdleHold)], 3],
  ['IdleHolding', 'IdleHoldTimer_Expires', S.Connect, [start(T.ConnectRetry, 120), CONNECT], 3],
  ['IdleHolding', 'TcpConnectionConfirmed', S.Idle, [], 3],

  // --------------------------------------------------------------- Connect
  ...same('Connect', [...STARTS, 'TcpConnection_Valid', 'Tcp_CR_Invalid', 'StableTimer_Expires']),
  ['Connect', 'ManualStop', S.Idle, drop({ stops: CR, reason: R.AdminShutdown, damp: false }), 0],
  ['Connect', 'ConnectRetryTimer_Expires', S.Connect, [CLOSE, start(T.ConnectRetry, 120), CONNECT], 3],
  ['Connect', 'DelayOpenTimer_Expires', S.OpenSent, [stop(T.ConnectRetry), ...OPEN_TO_OPENSENT], 3],
  ['Connect', 'Tcp_CR_Acked', S.OpenSent, [stop(T.ConnectRetry), ...OPEN_TO_OPENSENT], 3],
  ['Connect', 'TcpConnectionConfirmed', S.OpenSent, [stop(T.ConnectRetry), ...OPEN_TO_OPENSENT], 3],
  ['Connect', 'TcpConnectionFails', S.Idle, drop({ stops: CR, reason: R.TcpConnectionFailed }), 3],
  ['Connect', 'BGPHeaderErr', S.Idle, drop({ stops: CR, reason: R.MessageHeaderError }), 4],
  ['Connect', 'BGPOpenMsgErr', S.Idle, drop({ stops: CR, reason: R.OpenMessageError }), 4],
  ['Connect', 'NotifMsgVerErr', S.Idle, drop({ stops: CR, reason: R.NotificationReceived, received: VERERR }), 4],
  ['Connect', 'NotifMsg', S.Idle, drop({ stops: CR, reason: R.NotificationReceived, received: PEERCEASE }), 4],
  ['Connect', 'AutomaticStop', S.Idle, drop({ stops: CR, reason: R.AutomaticStop }), 4],
  ['Connect', 'HoldTimer_Expires', S.Idle, drop({ stops: CR, reason: R.HoldTimerExpired }), 4],
  ['Connect', 'OpenCollisionDump', S.Idle, drop({ stops: CR, reason: R.ConnectionCollision }), 4],
  ...dropRows('Connect', ['KeepaliveTimer_Expires', 'IdleHoldTimer_Expires', 'BGPOpen', 'BGPOpen_with_DelayOpenTimer_running', ...MESSAGES],
    { stops: CR, reason: R.FsmError }),
  ['ConnectDelaying', 'ManualStop', S.Idle, drop({ stops: [T.DelayOpen], reason: R.AdminShutdown, damp: false }), 0],
  ['ConnectDelaying', 'ConnectRetryTimer_Expires', S.Connect, [CLOSE, start(T.ConnectRetry, 120), stop(T.DelayOpen), CONNECT], 3],
  ['ConnectDelaying', 'DelayOpenTimer_Expires', S.OpenSent, OPEN_TO_OPENSENT, 3],
  ['ConnectDelaying', 'TcpConnectionFails', S.Active, [stop(T.DelayOpen), CLOSE, RELEASE, start(T.ConnectRetry, 120)], 3],
  ['ConnectDelaying', 'BGPOpen', S.OpenConfirm, [stop(T.DelayOpen), SEND_OPEN, KA, start(T.Keepalive, 10), start(T.Hold, 30)], 3],
  ['ConnectDelaying', 'BGPOpen_with_DelayOpenTimer_running', S.OpenConfirm,
    [stop(T.DelayOpen), SEND_OPEN, KA, start(T.Keepalive, 10), start(T.Hold, 30)], 3],
  ['ConnectDelaying', 'NotifMsgVerErr', S.Idle, drop({ stops: [T.DelayOpen], reason: R.NotificationReceived, received: VERERR }), 3],
  ['ConnectDelaying', 'KeepAliveMsg', S.Idle, drop({ stops: [T.DelayOpen], reason: R.FsmError }), 4],

  // ---------------------------------------------------------------- Active
  ...same('Active', [...STARTS, 'TcpConnection_Valid', 'Tcp_CR_Invalid', 'StableTimer_Expires']),
  ['Active', 'ManualStop', S.Idle, drop({ stops: CR, reason: R.AdminShutdown, damp: false }), 0],
  ['Active', 'ConnectRetryTimer_Expires', S.Connect, [start(T.ConnectRetry, 120), CONNECT], 3],
  ['Active', 'DelayOpenTimer_Expires', S.OpenSent, [stop(T.ConnectRetry), ...OPEN_TO_OPENSENT], 3],
  ['Active', 'Tcp_CR_Acked', S.OpenSent, [stop(T.ConnectRetry), ...OPEN_TO_OPENSENT], 3],
  ['Active', 'TcpConnectionConfirmed', S.OpenSent, [stop(T.ConnectRetry), ...OPEN_TO_OPENSENT], 3],
  ['Active', 'TcpConnectionFails', S.Idle, drop({ stops: CR, reason: R.TcpConnectionFailed }), 4],
  ['Active', 'BGPHeaderErr', S.Idle, drop({ stops: CR, reason: R.MessageHeaderError }), 4],
  ['Active', 'BGPOpenMsgErr', S.Idle, drop({ stops: CR, reason: R.OpenMessageError }), 4],
  ['Active', 'NotifMsgVerErr', S.Idle, drop({ stops: CR, reason: R.NotificationReceived, received: VERERR }), 4],
  ['Active', 'NotifMsg', S.Idle, drop({ stops: CR, reason: R.NotificationReceived, received: PEERCEASE }), 4],
  ['Active', 'AutomaticStop', S.Idle, drop({ stops: CR, reason: R.AutomaticStop }), 4],
  ['Active', 'HoldTimer_Expires', S.Idle, drop({ stops: CR, reason: R.HoldTimerExpired }), 4],
  ['Active', 'OpenCollisionDump', S.Idle, drop({ stops: CR, reason: R.ConnectionCollision }), 4],
  ...dropRows('Active', ['KeepaliveTimer_Expires', 'IdleHoldTimer_Expires', 'BGPOpen', 'BGPOpen_with_DelayOpenTimer_running', ...MESSAGES],
    { stops: CR, reason: R.FsmError }),
  ['ActiveDelaying', 'ManualStop', S.Idle, drop({ stops: [T.DelayOpen], reason: R.AdminShutdown, damp: false }), 0],
  ['ActiveDelaying', 'DelayOpenTimer_Expires', S.OpenSent, OPEN_TO_OPENSENT, 3],
  ['ActiveDelaying', 'BGPOpen', S.OpenConfirm, [stop(T.DelayOpen), SEND_OPEN, KA, start(T.Keepalive, 10), start(T.Hold, 30)], 3],
  ['ActiveDelaying', 'TcpConnectionFails', S.Idle, drop({ stops: [T.DelayOpen], reason: R.TcpConnectionFailed }), 4],
  ['ActiveDelaying', 'NotifMsgVerErr', S.Idle, drop({ stops: [T.DelayOpen], reason: R.NotificationReceived, received: VERERR }), 3],

  // -------------------------------------------------------------- OpenSent
  ...same('OpenSent', [...STARTS, 'TcpConnection_Valid', 'Tcp_CR_Invalid', 'Tcp_CR_Acked', 'TcpConnectionConfirmed', 'StableTimer_Expires']),
  ['OpenSent', 'ManualStop', S.Idle, drop({ stops: [T.Hold], reason: R.AdminShutdown, sent: CEASE_ADMIN, damp: false }), 0],
  ['OpenSent', 'AutomaticStop', S.Idle, drop({ stops: [T.Hold], reason: R.AutomaticStop, sent: CEASE_AUTO }), 4],
  ['OpenSent', 'HoldTimer_Expires', S.Idle, drop({ stops: [], reason: R.HoldTimerExpired, sent: HOLDEXP }), 4],
  ['OpenSent', 'TcpConnectionFails', S.Active, [stop(T.Hold), CLOSE, RELEASE, start(T.ConnectRetry, 120)], 3],
  ['OpenSent', 'BGPOpen', S.OpenConfirm, [KA, start(T.Keepalive, 10), start(T.Hold, 30)], 3],
  ['OpenSent', 'BGPHeaderErr', S.Idle, drop({ stops: [T.Hold], reason: R.MessageHeaderError, sent: HDR }), 4],
  ['OpenSent', 'BGPOpenMsgErr', S.Idle, drop({ stops: [T.Hold], reason: R.OpenMessageError, sent: OPENERR }), 4],
  ['OpenSent', 'OpenCollisionDump', S.Idle, drop({ stops: [T.Hold], reason: R.ConnectionCollision, sent: CEASE_COLL }), 4],
  ['OpenSent', 'NotifMsgVerErr', S.Idle, drop({ stops: [T.Hold], reason: R.NotificationReceived, received: VERERR }), 3],
  ['OpenSent', 'NotifMsg', S.Idle, drop({ stops: [T.Hold], reason: R.NotificationReceived, received: PEERCEASE }), 4],
  ...dropRows('OpenSent', ['ConnectRetryTimer_Expires', 'KeepaliveTimer_Expires', 'DelayOpenTimer_Expires', 'IdleHoldTimer_Expires'],
    { stops: [T.Hold], reason: R.FsmError, sent: fsmErr(0) }),
  ...dropRows('OpenSent', ['BGPOpen_with_DelayOpenTimer_running', ...MESSAGES],
    { stops: [T.Hold], reason: R.FsmError, sent: fsmErr(1) }),

  // ----------------------------------------------------------- OpenConfirm
  ...same('OpenConfirm', [...STARTS, 'TcpConnection_Valid', 'Tcp_CR_Invalid', 'Tcp_CR_Acked', 'TcpConnectionConfirmed', 'StableTimer_Expires']),
  ['OpenConfirm', 'ManualStop', S.Idle, drop({ stops: OC, reason: R.AdminShutdown, sent: CEASE_ADMIN, damp: false }), 0],
  ['OpenConfirm', 'AutomaticStop', S.Idle, drop({ stops: OC, reason: R.AutomaticStop, sent: CEASE_AUTO }), 4],
  ['OpenConfirm', 'HoldTimer_Expires', S.Idle, drop({ stops: [T.Keepalive], reason: R.HoldTimerExpired, sent: HOLDEXP }), 4],
  ['OpenConfirm', 'KeepaliveTimer_Expires', S.OpenConfirm, [KA, start(T.Keepalive, 30)], 3],
  ['OpenConfirm', 'TcpConnectionFails', S.Idle, drop({ stops: OC, reason: R.TcpConnectionFailed }), 4],
  ['OpenConfirm', 'BGPHeaderErr', S.Idle, drop({ stops: OC, reason: R.MessageHeaderError, sent: HDR }), 4],
  ['OpenConfirm', 'BGPOpenMsgErr', S.Idle, drop({ stops: OC, reason: R.OpenMessageError, sent: OPENERR }), 4],
  ['OpenConfirm', 'OpenCollisionDump', S.Idle, drop({ stops: OC, reason: R.ConnectionCollision, sent: CEASE_COLL }), 4],
  ['OpenConfirm', 'NotifMsgVerErr', S.Idle, drop({ stops: OC, reason: R.NotificationReceived, received: VERERR }), 3],
  ['OpenConfirm', 'NotifMsg', S.Idle, drop({ stops: OC, reason: R.NotificationReceived, received: PEERCEASE }), 4],
  ['OpenConfirm', 'KeepAliveMsg', S.Established, [start(T.Hold, 90), start(T.Stable, 60), { type: 'established' }], 3],
  ...dropRows('OpenConfirm', ['ConnectRetryTimer_Expires', 'DelayOpenTimer_Expires', 'IdleHoldTimer_Expires'],
    { stops: OC, reason: R.FsmError, sent: fsmErr(0) }),
  ...dropRows('OpenConfirm', ['BGPOpen', 'BGPOpen_with_DelayOpenTimer_running', 'UpdateMsg', 'UpdateMsgErr', 'RouteRefreshMsg', 'RouteRefreshMsgErr'],
    { stops: OC, reason: R.FsmError, sent: fsmErr(2) }),

  // ----------------------------------------------------------- Established
  ...same('Established', [...STARTS, 'TcpConnection_Valid', 'Tcp_CR_Invalid', 'Tcp_CR_Acked', 'TcpConnectionConfirmed']),
  ['Established', 'ManualStop', S.Idle, drop({ stops: EST, reason: R.AdminShutdown, sent: CEASE_ADMIN, damp: false, est: true }), 0],
  ['Established', 'AutomaticStop', S.Idle, drop({ stops: EST, reason: R.AutomaticStop, sent: CEASE_AUTO, est: true }), 4],
  ['Established', 'HoldTimer_Expires', S.Idle,
    drop({ stops: [T.Keepalive, T.Stable], reason: R.HoldTimerExpired, sent: HOLDEXP, est: true }), 4],
  ['Established', 'KeepaliveTimer_Expires', S.Established, [KA, start(T.Keepalive, 30)], 3],
  ['Established', 'StableTimer_Expires', S.Established, [], 3],
  ['Established', 'TcpConnectionFails', S.Idle, drop({ stops: EST, reason: R.TcpConnectionFailed, est: true }), 4],
  ['Established', 'NotifMsgVerErr', S.Idle, drop({ stops: EST, reason: R.NotificationReceived, received: VERERR, est: true }), 4],
  ['Established', 'NotifMsg', S.Idle, drop({ stops: EST, reason: R.NotificationReceived, received: PEERCEASE, est: true }), 4],
  ['Established', 'OpenCollisionDump', S.Idle, drop({ stops: EST, reason: R.ConnectionCollision, sent: CEASE_COLL, est: true }), 4],
  ['Established', 'KeepAliveMsg', S.Established, [start(T.Hold, 90)], 3],
  ['Established', 'UpdateMsg', S.Established, [{ type: 'process-update', update: UPDATE }, start(T.Hold, 90)], 3],
  ['Established', 'RouteRefreshMsg', S.Established, [{ type: 'process-route-refresh', message: RR }, start(T.Hold, 90)], 3],
  ['Established', 'UpdateMsgErr', S.Idle, drop({ stops: EST, reason: R.UpdateMessageError, sent: UPDERR, est: true }), 4],
  ['Established', 'RouteRefreshMsgErr', S.Idle, drop({ stops: EST, reason: R.RouteRefreshMessageError, sent: RRERR, est: true }), 4],
  ['Established', 'BGPHeaderErr', S.Idle, drop({ stops: EST, reason: R.MessageHeaderError, sent: HDR, est: true }), 4],
  ...dropRows('Established', ['ConnectRetryTimer_Expires', 'DelayOpenTimer_Expires', 'IdleHoldTimer_Expires'],
    { stops: EST, reason: R.FsmError, sent: fsmErr(0), est: true }),
  ...dropRows('Established', ['BGPOpen', 'BGPOpen_with_DelayOpenTimer_running', 'BGPOpenMsgErr'],
    { stops: EST, reason: R.FsmError, sent: fsmErr(3), est: true }),
];

/** Carry out start/stop actions on a timer set, as the session would. */
function runTimers(timers: Record<T, number>, actions: FsmAction[]): Record<T, number> {
  const out = { ...timers };
  for (const a of actions) {
    if (a.type === 'start-timer') out[a.timer] = a.sec;
    if (a.type === 'stop-timer') out[a.timer] = 0;
  }
  return out;
}

/** The timer that an *_Expires event says has fired. */
function firedTimer(e: FsmEventType): T | undefined {
  const map: Partial<Record<FsmEventType, T>> = {
    ConnectRetryTimer_Expires: T.ConnectRetry, HoldTimer_Expires: T.Hold, KeepaliveTimer_Expires: T.Keepalive,
    DelayOpenTimer_Expires: T.DelayOpen, IdleHoldTimer_Expires: T.IdleHold, StableTimer_Expires: T.Stable,
  };
  return map[e];
}

describe('bgp/fsm transition table (RFC 4271 §8.2.2)', () => {
  it('has a row for every (state, event) pair, and only one per fixture', () => {
    const seen = new Set<string>();
    for (const [from, event] of TABLE) {
      const key = `${from}/${event}`;
      expect(seen.has(key), `duplicate row ${key}`).to.equal(false);
      seen.add(key);
    }
    const missing: string[] = [];
    for (const state of ALL_SESSION_STATES) {
      for (const event of ALL_EVENT_TYPES) {
        if (!seen.has(`${MAIN[state]}/${event}`)) missing.push(`${sessionStateName(state)}/${event}`);
      }
    }
    expect(missing).to.deep.equal([]);
    expect(ALL_EVENT_TYPES.length).to.equal(29);
  });

  for (const [from, event, to, actions, counter] of TABLE) {
    it(`${from} + ${event} → ${sessionStateName(to)}`, () => {
      const before = FIXTURES[from];
      const result = transition(before, EV[event]);
      expect(result.actions).to.deep.equal(actions);
      expect(sessionStateName(result.state.state)).to.equal(sessionStateName(to));
      expect(result.state.connectRetryCounter, 'ConnectRetryCounter').to.equal(counter);
    });
  }

  describe('invariants over every row', () => {
    for (const [from, event] of TABLE) {
      it(`${from} + ${event}`, () => {
        const before = FIXTURES[from];
        const { state, actions } = transition(before, EV[event]);
        // The timers the FSM believes run are exactly what the session would have running.
        const fired = firedTimer(event);
        const start0 = { ...before.timers, ...(fired ? { [fired]: 0 } : {}) };
        expect(state.timers).to.deep.equal(runTimers(start0, actions));
        // Falling to Idle reports the session down exactly once, after the close.
        const downs = actions.filter((a) => a.type === 'session-down');
        const fellToIdle = before.state !== S.Idle && state.state === S.Idle;
        expect(downs.length).to.equal(fellToIdle ? 1 : 0);
        // A NOTIFICATION is the first thing done and is followed by a close.
        const sendAt = actions.findIndex((a) => a.type === 'send-notification');
        if (sendAt >= 0) {
          expect(sendAt).to.equal(0);
          expect(actions.some((a) => a.type === 'close')).to.equal(true);
        }
        // Idle holds no negotiated session facts; the input was not mutated.
        if (state.state === S.Idle) {
          expect(state.negotiatedHoldTimeSec).to.equal(0);
          expect(state.peerBgpId).to.equal(undefined);
        }
        expect(before).to.deep.equal(FIXTURES[from]);
      });
    }
  });

  it('ManualStop carries the Cease subcode and data it is given', () => {
    const data = new TextEncoder().encode('maintenance');
    const { actions } = transition(FIXTURES.Established, { type: 'ManualStop', cease: CeaseSubcode.PeerDeconfigured, data });
    expect(actions[0]).to.deep.equal(notify({ code: NotifCode.Cease, subcode: CeaseSubcode.PeerDeconfigured, data }));
    const down = actions.find((a) => a.type === 'session-down');
    expect(down).to.include({ reason: R.PeerDeconfigured, wasEstablished: true });
  });

  it('AutomaticStop for too many prefixes reports MaxPrefixesReached', () => {
    const { actions } = transition(FIXTURES.Established, { type: 'AutomaticStop', cease: CeaseSubcode.MaximumPrefixesReached });
    expect(actions[0]).to.deep.equal(notify(n(NotifCode.Cease, CeaseSubcode.MaximumPrefixesReached)));
    expect(actions.find((a) => a.type === 'session-down')).to.include({ reason: R.MaxPrefixesReached });
  });

  it('a passive session never connects out', () => {
    const passive = { ...FIXTURES.Active, config: { ...CONFIG, passive: true }, timers: NO_TIMERS };
    expect(transition(passive, EV.ConnectRetryTimer_Expires)).to.deep.equal({ state: passive, actions: [] });
    const idle = { ...FIXTURES.Idle, config: { ...CONFIG, passive: true } };
    for (const e of ['ManualStart', 'AutomaticStart', 'IdleHoldTimer_Expires'] as const) {
      const r = transition(idle, EV[e]);
      expect(r.state.state, e).to.equal(S.Active);
      expect(r.actions, e).to.deep.equal([]);
    }
    const sent = { ...FIXTURES.OpenSent, config: { ...CONFIG, passive: true } };
    expect(transition(sent, EV.TcpConnectionFails).actions).to.deep.equal([stop(T.Hold), CLOSE, RELEASE]);
  });

  it('SendNOTIFICATIONwithoutOPEN sends Cease on ManualStop in Active while the OPEN is delayed', () => {
    const s = { ...FIXTURES.ActiveDelaying, config: { ...DELAY, sendNotificationWithoutOpen: true } };
    expect(transition(s, EV.ManualStop).actions)
      .to.deep.equal(drop({ stops: [T.DelayOpen], reason: R.AdminShutdown, sent: CEASE_ADMIN, damp: false }));
    expect(transition(s, EV.BGPOpenMsgErr).actions)
      .to.deep.equal(drop({ stops: [T.DelayOpen], reason: R.OpenMessageError, sent: OPENERR }));
  });
});
