import { expect } from 'chai';
import { NotifCode, OpenSubcode } from '../codec/constants.js';
import { isAcceptableHoldTime, keepaliveInterval, negotiateHoldTime } from './hold-time.js';
import { openChecks, type LocalOpenView, type ReceivedOpen } from './open-checks.js';
import { transition } from './transition.js';
import { initialFsmState, SessionState as S, TimerName as T, type FsmEvent, type FsmState } from './types.js';

function run(state: FsmState, events: FsmEvent[]): FsmState {
  return events.reduce((s, e) => transition(s, e).state, state);
}
const toOpenSent: FsmEvent[] = [{ type: 'ManualStart' }, { type: 'Tcp_CR_Acked' }];

describe('bgp/fsm hold time', () => {
  it('accepts 0 and 3..65535 only (RFC 4271 §4.2)', () => {
    const rows: [number, boolean][] = [[0, true], [1, false], [2, false], [3, true], [90, true], [65535, true], [65536, false], [-1, false], [3.5, false]];
    for (const [sec, ok] of rows) expect(isAcceptableHoldTime(sec), String(sec)).to.equal(ok);
  });

  it('negotiates the smaller value', () => {
    const rows: [number, number, number][] = [[90, 180, 90], [180, 90, 90], [90, 0, 0], [0, 90, 0], [3, 240, 3]];
    for (const [ours, theirs, want] of rows) expect(negotiateHoldTime(ours, theirs)).to.equal(want);
  });

  it('keeps keepalives to at most a third of the hold time, and off at 0', () => {
    const rows: [hold: number, configured: number, want: number][] = [
      [90, 30, 30], [90, 10, 10], [9, 30, 3], [3, 30, 1], [4, 30, 1], [0, 30, 0], [90, 0, 30], [240, 60, 60],
    ];
    for (const [hold, configured, want] of rows) expect(keepaliveInterval(hold, configured), `${hold}/${configured}`).to.equal(want);
  });

  it('runs the negotiated timers after the peer OPEN', () => {
    const r = transition(run(initialFsmState({ holdTimeSec: 90, keepaliveSec: 30 }), toOpenSent),
      { type: 'BGPOpen', holdTimeSec: 9, bgpId: '192.0.2.2' });
    expect(r.state.state).to.equal(S.OpenConfirm);
    expect(r.state.negotiatedHoldTimeSec).to.equal(9);
    expect(r.state.keepaliveSec).to.equal(3);
    expect(r.state.timers[T.Hold]).to.equal(9);
    expect(r.state.timers[T.Keepalive]).to.equal(3);
  });

  describe('hold time 0', () => {
    for (const [ours, theirs] of [[0, 90], [90, 0], [0, 0]] as const) {
      it(`ours ${ours}, theirs ${theirs}: no HoldTimer, no keepalives, through Established`, () => {
        const sent = run(initialFsmState({ holdTimeSec: ours }), toOpenSent);
        expect(sent.timers[T.Hold]).to.equal(240);
        const confirm = transition(sent, { type: 'BGPOpen', holdTimeSec: theirs, bgpId: '192.0.2.2' });
        expect(confirm.actions).to.deep.equal([{ type: 'send-keepalive' }, { type: 'stop-timer', timer: T.Hold }]);
        expect(confirm.state.negotiatedHoldTimeSec).to.equal(0);
        const est = transition(confirm.state, { type: 'KeepAliveMsg' });
        expect(est.state.state).to.equal(S.Established);
        expect(est.actions.filter((a) => a.type === 'start-timer' && (a.timer === T.Hold || a.timer === T.Keepalive))).to.deep.equal([]);
        expect(transition(est.state, { type: 'KeepAliveMsg' }).actions).to.deep.equal([]);
        expect(transition(est.state, { type: 'KeepaliveTimer_Expires' }).actions).to.deep.equal([]);
        expect(est.state.timers[T.Hold]).to.equal(0);
        expect(est.state.timers[T.Keepalive]).to.equal(0);
      });
    }
  });

  for (const bad of [1, 2]) {
    it(`refuses a peer hold time of ${bad} with Unacceptable Hold Time, even without openChecks`, () => {
      const r = transition(run(initialFsmState(), toOpenSent), { type: 'BGPOpen', holdTimeSec: bad, bgpId: '192.0.2.2' });
      expect(r.state.state).to.equal(S.Idle);
      expect(r.actions[0]).to.deep.equal({
        type: 'send-notification', code: NotifCode.OpenMessageError, subcode: OpenSubcode.UnacceptableHoldTime, data: new Uint8Array(0),
      });
    });
  }
});

describe('bgp/fsm openChecks (RFC 4271 §6.2, RFC 6286)', () => {
  const local: LocalOpenView = { bgpId: '192.0.2.1', asn: 65001, expectedPeerAsn: 65002 };
  const good: ReceivedOpen = { version: 4, asn: 65002, holdTimeSec: 90, bgpId: '192.0.2.2' };
  const rows: [string, Partial<ReceivedOpen>, LocalOpenView | undefined, OpenSubcode | undefined, number[]?][] = [
    ['a good OPEN', {}, undefined, undefined],
    ['hold time 0', { holdTimeSec: 0 }, undefined, undefined],
    ['version 3', { version: 3 }, undefined, OpenSubcode.UnsupportedVersionNumber, [0, 4]],
    ['the wrong AS', { asn: 65003 }, undefined, OpenSubcode.BadPeerAs],
    ['any AS when none is configured', { asn: 65003 }, { bgpId: '192.0.2.1', asn: 65001 }, undefined],
    ['BGP Identifier 0.0.0.0', { bgpId: '0.0.0.0' }, undefined, OpenSubcode.BadBgpIdentifier],
    ['a malformed BGP Identifier', { bgpId: '1.2.3' }, undefined, OpenSubcode.BadBgpIdentifier],
    ['our BGP Identifier on iBGP', { asn: 65001, bgpId: '192.0.2.1' }, { bgpId: '192.0.2.1', asn: 65001, expectedPeerAsn: 65001 }, OpenSubcode.BadBgpIdentifier],
    ['our BGP Identifier on eBGP (RFC 6286)', { bgpId: '192.0.2.1' }, undefined, undefined],
    ['hold time 1', { holdTimeSec: 1 }, undefined, OpenSubcode.UnacceptableHoldTime],
    ['hold time 2', { holdTimeSec: 2 }, undefined, OpenSubcode.UnacceptableHoldTime],
    ['a bad AS before a bad hold time', { asn: 1, holdTimeSec: 1 }, undefined, OpenSubcode.BadPeerAs],
  ];
  for (const [name, patch, view, subcode, data] of rows) {
    it(name, () => {
      const got = openChecks({ ...good, ...patch }, view ?? local);
      if (subcode === undefined) {
        expect(got).to.equal(undefined);
      } else {
        expect(got).to.deep.equal({ code: NotifCode.OpenMessageError, subcode, data: Uint8Array.from(data ?? []) });
      }
    });
  }
});
