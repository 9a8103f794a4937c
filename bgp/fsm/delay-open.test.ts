/** RFC 4271 DelayOpen: with it on, we hold our OPEN back until the peer's arrives or the DelayOpenTimer fires. */
import { expect } from 'chai';
import { NotifCode, OpenSubcode } from '../codec/constants.js';
import { incomingConnectionDisposition } from './collision.js';
import { PeerDownReason } from './peer-down-reason.js';
import { transition } from './transition.js';
import { initialFsmState, SessionState as S, TimerName as T, type FsmAction, type FsmConfig, type FsmEvent, type FsmState } from './types.js';

function run(state: FsmState, events: FsmEvent[]): FsmState {
  return events.reduce((s, e) => transition(s, e).state, state);
}
const start = (timer: T, sec: number): FsmAction => ({ type: 'start-timer', timer, sec });
const stop = (timer: T): FsmAction => ({ type: 'stop-timer', timer });
const delayed = (c: Partial<FsmConfig> = {}): FsmState =>
  initialFsmState({ delayOpen: true, delayOpenSec: 5, holdTimeSec: 90, keepaliveSec: 30, ...c });
const OPEN: FsmEvent = { type: 'BGPOpen', holdTimeSec: 60, bgpId: '192.0.2.2' };

describe('bgp/fsm DelayOpen', () => {
  it('connecting out: waits, then answers the peer OPEN with OPEN + KEEPALIVE', () => {
    const connect = run(delayed(), [{ type: 'ManualStart' }]);
    const acked = transition(connect, { type: 'Tcp_CR_Acked' });
    expect(acked.state.state).to.equal(S.Connect);
    expect(acked.actions).to.deep.equal([stop(T.ConnectRetry), start(T.DelayOpen, 5)]);
    const confirm = transition(acked.state, OPEN);
    expect(confirm.state.state).to.equal(S.OpenConfirm);
    expect(confirm.actions).to.deep.equal([
      stop(T.DelayOpen), { type: 'send-open', holdTimeSec: 90 }, { type: 'send-keepalive' }, start(T.Keepalive, 20), start(T.Hold, 60),
    ]);
    expect(transition(confirm.state, { type: 'KeepAliveMsg' }).state.state).to.equal(S.Established);
  });

  it('sends its OPEN when the DelayOpenTimer fires first', () => {
    const waiting = run(delayed(), [{ type: 'ManualStart' }, { type: 'Tcp_CR_Acked' }]);
    const sent = transition(waiting, { type: 'DelayOpenTimer_Expires' });
    expect(sent.state.state).to.equal(S.OpenSent);
    expect(sent.actions).to.deep.equal([{ type: 'send-open', holdTimeSec: 90 }, start(T.Hold, 240)]);
    const confirm = transition(sent.state, OPEN);
    expect(confirm.actions).to.deep.equal([{ type: 'send-keepalive' }, start(T.Keepalive, 20), start(T.Hold, 60)]);
  });

  it('passive: delays after accepting the connection in Active', () => {
    const active = run(delayed({ passive: true }), [{ type: 'ManualStart' }]);
    expect(active.state).to.equal(S.Active);
    const accepted = transition(active, { type: 'TcpConnectionConfirmed' });
    expect(accepted.state.state).to.equal(S.Active);
    expect(accepted.actions).to.deep.equal([start(T.DelayOpen, 5)]);
    expect(transition(accepted.state, OPEN).state.state).to.equal(S.OpenConfirm);
  });

  it('the connection failing while delayed: Connect falls back to Active, Active to Idle', () => {
    const inConnect = run(delayed(), [{ type: 'ManualStart' }, { type: 'Tcp_CR_Acked' }]);
    const r1 = transition(inConnect, { type: 'TcpConnectionFails' });
    expect(r1.state.state).to.equal(S.Active);
    expect(r1.state.timers[T.ConnectRetry]).to.equal(120);
    expect(r1.state.timers[T.DelayOpen]).to.equal(0);
    const inActive = run(delayed({ passive: true }), [{ type: 'ManualStart' }, { type: 'TcpConnectionConfirmed' }]);
    const r2 = transition(inActive, { type: 'TcpConnectionFails' });
    expect(r2.state.state).to.equal(S.Idle);
    expect(r2.actions.find((a) => a.type === 'session-down')).to.include({ reason: PeerDownReason.TcpConnectionFailed });
  });

  it('anything but an OPEN while delayed drops the connection without a NOTIFICATION', () => {
    const waiting = run(delayed(), [{ type: 'ManualStart' }, { type: 'Tcp_CR_Acked' }]);
    const r = transition(waiting, { type: 'KeepAliveMsg' });
    expect(r.state.state).to.equal(S.Idle);
    expect(r.actions.some((a) => a.type === 'send-notification')).to.equal(false);
    expect(r.state.connectRetryCounter).to.equal(1);
  });

  it('an OPEN with hold time 2 while delayed: NOTIFICATION only with SendNOTIFICATIONwithoutOPEN', () => {
    const bad: FsmEvent = { type: 'BGPOpen', holdTimeSec: 2, bgpId: '192.0.2.2' };
    for (const flag of [false, true]) {
      const waiting = run(delayed({ sendNotificationWithoutOpen: flag }), [{ type: 'ManualStart' }, { type: 'Tcp_CR_Acked' }]);
      const r = transition(waiting, bad);
      expect(r.state.state).to.equal(S.Idle);
      const sent = r.actions.filter((a) => a.type === 'send-notification');
      expect(sent).to.deep.equal(flag
        ? [{ type: 'send-notification', code: NotifCode.OpenMessageError, subcode: OpenSubcode.UnacceptableHoldTime, data: new Uint8Array(0) }]
        : []);
    }
  });

  it('a connection arriving while delayed is a second connection, not a replacement', () => {
    const waiting = run(delayed(), [{ type: 'ManualStart' }, { type: 'Tcp_CR_Acked' }]);
    expect(incomingConnectionDisposition(waiting)).to.deep.equal({ kind: 'second' });
    expect(incomingConnectionDisposition(run(delayed(), [{ type: 'ManualStart' }]))).to.deep.equal({ kind: 'accept' });
  });
});
