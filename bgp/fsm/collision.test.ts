/** RFC 4271 §6.8 connection collision detection (and RFC 6286 §2.3 for equal identifiers). */
import { expect } from 'chai';
import { hasCode } from '../../lib/errors.js';
import { CeaseSubcode, NotifCode } from '../codec/constants.js';
import {
  acceptSecondConnection,
  ConnectionOrigin as O,
  detectCollision,
  incomingConnectionDisposition,
  initiatorToKeep,
  promoteSecondConnection,
  resolveCollision,
  type IncomingDisposition,
} from './collision.js';
import { PeerDownReason } from './peer-down-reason.js';
import { transition } from './transition.js';
import { initialFsmState, NO_TIMERS, SessionState as S, TimerName as T, type FsmEvent, type FsmState } from './types.js';

function run(state: FsmState, events: FsmEvent[]): FsmState {
  return events.reduce((s, e) => transition(s, e).state, state);
}
const cease = (subcode: CeaseSubcode) => ({ code: NotifCode.Cease, subcode, data: new Uint8Array(0) });

describe('bgp/fsm collision', () => {
  describe('initiatorToKeep: the higher BGP Identifier initiated the survivor', () => {
    const rows: [local: string, peer: string, localAsn: number, peerAsn: number, keep: O][] = [
      ['10.0.0.2', '10.0.0.1', 65001, 65002, O.Local],
      ['10.0.0.1', '10.0.0.2', 65001, 65002, O.Remote],
      // Unsigned 32-bit: 128.0.0.1 is 0x80000001, negative as a signed int.
      ['128.0.0.1', '127.255.255.255', 65001, 65002, O.Local],
      ['127.255.255.255', '128.0.0.1', 65001, 65002, O.Remote],
      ['255.255.255.255', '1.0.0.0', 65001, 65002, O.Local],
      ['0.0.0.1', '255.255.255.254', 65001, 65002, O.Remote],
      // Equal identifiers (eBGP, RFC 6286): the higher AS number initiated the survivor.
      ['192.0.2.1', '192.0.2.1', 65001, 4200000000, O.Remote],
      ['192.0.2.1', '192.0.2.1', 4200000000, 65001, O.Local],
      ['192.0.2.1', '192.0.2.1', 65001, 65001, O.Local],
    ];
    for (const [local, peer, localAsn, peerAsn, keep] of rows) {
      it(`${local} (AS${localAsn}) vs ${peer} (AS${peerAsn}) → ${keep}`, () => {
        expect(initiatorToKeep(local, peer, localAsn, peerAsn)).to.equal(keep);
      });
    }
    it('rejects a malformed identifier with ERR_BGP_BAD_BGP_ID', () => {
      let caught: unknown;
      try { initiatorToKeep('10.0.0.256', '10.0.0.1', 1, 2); } catch (err) { caught = err; }
      expect(hasCode(caught, 'ERR_BGP_BAD_BGP_ID')).to.equal(true);
    });
  });

  describe('resolveCollision', () => {
    const rows: [local: string, peer: string, existing: O, incoming: O, keep: 'existing' | 'incoming'][] = [
      ['10.0.0.2', '10.0.0.1', O.Local, O.Remote, 'existing'],
      ['10.0.0.2', '10.0.0.1', O.Remote, O.Local, 'incoming'],
      ['10.0.0.1', '10.0.0.2', O.Local, O.Remote, 'incoming'],
      ['10.0.0.1', '10.0.0.2', O.Remote, O.Local, 'existing'],
      ['10.0.0.1', '10.0.0.2', O.Remote, O.Remote, 'incoming'],
      ['10.0.0.2', '10.0.0.1', O.Local, O.Local, 'incoming'],
    ];
    for (const [localBgpId, peerBgpId, existing, incoming, keep] of rows) {
      it(`${localBgpId} vs ${peerBgpId}, existing ${existing}, incoming ${incoming} → keep ${keep}`, () => {
        const r = resolveCollision({ localBgpId, peerBgpId, localAsn: 65001, peerAsn: 65002, existing, incoming });
        expect(r.keep).to.equal(keep);
        expect(r.dump).to.equal(keep === 'existing' ? 'incoming' : 'existing');
        expect(r.notification).to.deep.equal(cease(CeaseSubcode.ConnectionCollisionResolution));
      });
    }
  });

  describe('detectCollision', () => {
    const base = initialFsmState();
    const at = (state: S, peerBgpId?: string): FsmState => ({ ...base, state, peerBgpId });
    const rows: [string, FsmState, string, boolean, boolean][] = [
      ['OpenConfirm, same peer', at(S.OpenConfirm, '192.0.2.2'), '192.0.2.2', false, true],
      ['OpenConfirm, another speaker', at(S.OpenConfirm, '192.0.2.2'), '192.0.2.3', false, false],
      ['OpenSent (peer unknown)', at(S.OpenSent), '192.0.2.2', false, false],
      ['Established, default', at(S.Established, '192.0.2.2'), '192.0.2.2', false, false],
      ['Established, CollisionDetectEstablishedState', at(S.Established, '192.0.2.2'), '192.0.2.2', true, true],
      ['Active', at(S.Active), '192.0.2.2', true, false],
    ];
    for (const [name, other, id, flag, want] of rows) {
      it(name, () => expect(detectCollision(other, id, flag)).to.equal(want));
    }
  });

  describe('incomingConnectionDisposition', () => {
    const base = initialFsmState();
    const rows: [S, boolean, IncomingDisposition][] = [
      [S.Idle, false, { kind: 'reject', notification: cease(CeaseSubcode.ConnectionRejected) }],
      [S.Connect, false, { kind: 'accept' }],
      [S.Active, false, { kind: 'accept' }],
      [S.OpenSent, false, { kind: 'second' }],
      [S.OpenConfirm, false, { kind: 'second' }],
      [S.Established, false, { kind: 'reject', notification: cease(CeaseSubcode.ConnectionCollisionResolution) }],
      [S.Established, true, { kind: 'second' }],
    ];
    for (const [state, flag, want] of rows) {
      it(`${S[state]}${flag ? ' (detect in Established)' : ''} → ${want.kind}`, () => {
        expect(incomingConnectionDisposition({ ...base, state, timers: NO_TIMERS }, flag)).to.deep.equal(want);
      });
    }
  });

  it('acceptSecondConnection sends its OPEN and can never restart or connect out', () => {
    const r = acceptSecondConnection(initialFsmState().config);
    expect(r.state.state).to.equal(S.OpenSent);
    expect(r.actions).to.deep.equal([
      { type: 'send-open', holdTimeSec: 90 }, { type: 'start-timer', timer: T.Hold, sec: 240 },
    ]);
    expect(r.state.config.passive).to.equal(true);
    expect(r.state.config.allowAutomaticStart).to.equal(false);
    const dumped = transition(r.state, { type: 'OpenCollisionDump' });
    expect(dumped.actions.some((a) => a.type === 'start-timer' && a.timer === T.IdleHold)).to.equal(false);
  });

  it('a whole collision: we connect out, the peer connects in, the higher identifier\'s connection survives', () => {
    const local = { bgpId: '10.0.0.1', asn: 65001 };
    const peer = { bgpId: '10.0.0.2', asn: 65002 };
    const peerOpen: FsmEvent = { type: 'BGPOpen', holdTimeSec: 90, bgpId: peer.bgpId };
    // Main FSM connected out and sent its OPEN; then the peer's connection arrives.
    let main = run(initialFsmState(), [{ type: 'ManualStart' }, { type: 'Tcp_CR_Acked' }]);
    expect(incomingConnectionDisposition(main).kind).to.equal('second');
    let second = acceptSecondConnection(main.config).state;
    // The OPEN arrives on the main connection first: nothing to collide with yet.
    main = transition(main, peerOpen).state;
    expect(detectCollision(second, peer.bgpId)).to.equal(false);
    // Then on the second one: it collides with main, now in OpenConfirm.
    second = transition(second, peerOpen).state;
    expect(detectCollision(main, peer.bgpId)).to.equal(true);
    const verdict = resolveCollision({
      localBgpId: local.bgpId, peerBgpId: peer.bgpId, localAsn: local.asn, peerAsn: peer.asn,
      existing: O.Local, incoming: O.Remote,
    });
    expect(verdict.keep).to.equal('incoming');
    const dumped = transition(main, { type: 'OpenCollisionDump' });
    expect(dumped.actions[0]).to.deep.equal({ type: 'send-notification', ...cease(CeaseSubcode.ConnectionCollisionResolution) });
    expect(dumped.actions.find((a) => a.type === 'session-down')).to.include({ reason: PeerDownReason.ConnectionCollision });
    const promoted = promoteSecondConnection(second, main);
    expect(promoted.config).to.equal(main.config);
    const up = transition(promoted, { type: 'KeepAliveMsg' });
    expect(up.state.state).to.equal(S.Established);
    expect(up.actions.at(-1)).to.deep.equal({ type: 'established' });
    // The promoted FSM restarts on its own after a later failure, as the main one would.
    const down = transition(up.state, { type: 'TcpConnectionFails' });
    expect(down.actions.at(-1)).to.deep.equal({ type: 'start-timer', timer: T.IdleHold, sec: 1 });
  });
});
