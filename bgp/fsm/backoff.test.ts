/**
 * Idle-hold back-off: every drop to Idle except ManualStop arms the
 * IdleHoldTimer with the current back-off and doubles it, up to the cap; the
 * StableTimer (Established for stableSec) or a ManualStart resets it.
 */
import { expect } from 'chai';
import { NotifCode } from '../codec/constants.js';
import { transition } from './transition.js';
import { initialFsmState, SessionState as S, TimerName as T, type FsmAction, type FsmConfig, type FsmEvent, type FsmState } from './types.js';

function run(state: FsmState, events: FsmEvent[]): { state: FsmState; actions: FsmAction[] } {
  const actions: FsmAction[] = [];
  let s = state;
  for (const e of events) {
    const r = transition(s, e);
    s = r.state;
    actions.push(...r.actions);
  }
  return { state: s, actions };
}
const idleHoldStarts = (actions: FsmAction[]): number[] =>
  actions.flatMap((a) => (a.type === 'start-timer' && a.timer === T.IdleHold ? [a.sec] : []));

const OPEN: FsmEvent = { type: 'BGPOpen', holdTimeSec: 90, bgpId: '192.0.2.2' };
const UP: FsmEvent[] = [{ type: 'Tcp_CR_Acked' }, OPEN, { type: 'KeepAliveMsg' }];
const FAIL: FsmEvent = { type: 'TcpConnectionFails' };
const RETRY: FsmEvent = { type: 'IdleHoldTimer_Expires' };
const cfg = (c: Partial<FsmConfig> = {}): FsmState => initialFsmState({ idleHoldInitialSec: 1, idleHoldMaxSec: 120, stableSec: 60, ...c });

describe('bgp/fsm idle-hold back-off', () => {
  it('doubles after each failed connect, from 1 s up to the 120 s cap', () => {
    const events: FsmEvent[] = [{ type: 'ManualStart' }];
    for (let i = 0; i < 10; i++) events.push(FAIL, RETRY);
    const { state, actions } = run(cfg(), events);
    expect(idleHoldStarts(actions)).to.deep.equal([1, 2, 4, 8, 16, 32, 64, 120, 120, 120]);
    expect(state.state).to.equal(S.Connect);
    expect(state.failureCount).to.equal(10);
  });

  it('keeps growing when sessions come up but drop before they are stable', () => {
    const flap: FsmEvent[] = [...UP, { type: 'HoldTimer_Expires' }, RETRY];
    const { actions, state } = run(cfg(), [{ type: 'ManualStart' }, ...flap, ...flap, ...flap]);
    expect(idleHoldStarts(actions)).to.deep.equal([1, 2, 4]);
    expect(state.idleHoldSec).to.equal(8);
  });

  it('resets once the session has been Established for stableSec', () => {
    const flap: FsmEvent[] = [...UP, { type: 'HoldTimer_Expires' }, RETRY];
    const { state: flapped } = run(cfg(), [{ type: 'ManualStart' }, ...flap, ...flap, ...flap]);
    const up = run(flapped, UP).state;
    expect(up.timers[T.Stable]).to.equal(60);
    const stable = transition(up, { type: 'StableTimer_Expires' }).state;
    expect(stable.idleHoldSec).to.equal(1);
    expect(stable.failureCount).to.equal(0);
    expect(idleHoldStarts(transition(stable, { type: 'NotifMsg', notification: { code: NotifCode.Cease, subcode: 4, data: new Uint8Array(0) } }).actions))
      .to.deep.equal([1]);
  });

  it('with stableSec 0 resets on reaching Established', () => {
    const { state } = run(cfg({ stableSec: 0 }), [{ type: 'ManualStart' }, FAIL, RETRY, FAIL, RETRY, ...UP]);
    expect(state.state).to.equal(S.Established);
    expect(state.idleHoldSec).to.equal(1);
    expect(state.timers[T.Stable]).to.equal(0);
  });

  it('is reset by ManualStart, not by AutomaticStart', () => {
    const failed = run(cfg(), [{ type: 'ManualStart' }, FAIL, RETRY, FAIL, RETRY, FAIL]).state;
    expect(failed.idleHoldSec).to.equal(8);
    const stopped = transition(failed, { type: 'ManualStop' }).state;
    expect(stopped.timers[T.IdleHold]).to.equal(0);
    expect(transition(stopped, { type: 'AutomaticStart' }).state.idleHoldSec).to.equal(8);
    expect(transition(stopped, { type: 'ManualStart' }).state.idleHoldSec).to.equal(1);
  });

  it('ignores AutomaticStart while the IdleHoldTimer runs, so restart loops are damped too', () => {
    const holding = run(cfg(), [{ type: 'ManualStart' }, FAIL]).state;
    expect(holding.timers[T.IdleHold]).to.equal(1);
    expect(transition(holding, { type: 'AutomaticStart' })).to.deep.equal({ state: holding, actions: [] });
  });

  it('ManualStop neither arms the IdleHoldTimer nor counts as a failure', () => {
    const { state, actions } = run(cfg(), [{ type: 'ManualStart' }, ...UP, { type: 'ManualStop' }]);
    expect(idleHoldStarts(actions)).to.deep.equal([]);
    expect(state.failureCount).to.equal(0);
    expect(state.idleHoldSec).to.equal(1);
  });

  it('without allowAutomaticStart never restarts on its own, but still counts', () => {
    const { state, actions } = run(cfg({ allowAutomaticStart: false }), [{ type: 'ManualStart' }, FAIL]);
    expect(idleHoldStarts(actions)).to.deep.equal([]);
    expect(state.failureCount).to.equal(1);
    expect(transition(state, RETRY).state.state).to.equal(S.Idle);
    expect(transition(state, { type: 'AutomaticStart' }).state.state).to.equal(S.Idle);
    expect(transition(state, { type: 'ManualStart' }).state.state).to.equal(S.Connect);
  });

  it('keeps the ConnectRetryCounter across automatic restarts (it counts consecutive failures)', () => {
    const headerErr: FsmEvent = {
      type: 'BGPHeaderErr', notification: { code: NotifCode.MessageHeaderError, subcode: 1, data: new Uint8Array(0) },
    };
    const attempt: FsmEvent[] = [{ type: 'TcpConnectionConfirmed' }, headerErr, RETRY];
    const { state } = run(cfg({ passive: true }), [{ type: 'ManualStart' }, ...attempt, ...attempt]);
    expect(state.state).to.equal(S.Active);
    expect(state.connectRetryCounter).to.equal(2);
    expect(state.failureCount).to.equal(2);
    // An operator start clears it, as RFC 4271 says.
    const again = run(state, [{ type: 'TcpConnectionConfirmed' }, headerErr, { type: 'ManualStart' }]).state;
    expect(again.connectRetryCounter).to.equal(0);
  });
});
