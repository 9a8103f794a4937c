import { expect } from 'chai';
import { hasCode } from '../../lib/errors.js';
import { MessageType, NotifCode } from '../codec/constants.js';
import { parseBgpId } from './bgp-id.js';
import { decodeErrorEvent, notificationEvent, timerExpiredEvent } from './events.js';
import { ALL_PEER_DOWN_REASONS, PeerDownReason, peerDownReasonName } from './peer-down-reason.js';
import { transition } from './transition.js';
import { ALL_TIMERS, initialFsmState, TimerName, type FsmConfig, type FsmEventType, type Notification } from './types.js';

const n = (code: number, subcode: number): Notification => ({ code, subcode, data: new Uint8Array(0) });

describe('bgp/fsm event helpers', () => {
  it('maps every timer to its *_Expires event, which clears that timer', () => {
    const want: Record<TimerName, FsmEventType> = {
      [TimerName.ConnectRetry]: 'ConnectRetryTimer_Expires',
      [TimerName.Hold]: 'HoldTimer_Expires',
      [TimerName.Keepalive]: 'KeepaliveTimer_Expires',
      [TimerName.DelayOpen]: 'DelayOpenTimer_Expires',
      [TimerName.IdleHold]: 'IdleHoldTimer_Expires',
      [TimerName.Stable]: 'StableTimer_Expires',
    };
    expect([...ALL_TIMERS].sort()).to.deep.equal(Object.values(TimerName).sort());
    for (const timer of ALL_TIMERS) {
      expect(timerExpiredEvent(timer).type).to.equal(want[timer]);
      // Whatever the state does with it, the fired timer is no longer running.
      const s = { ...initialFsmState(), timers: { ...initialFsmState().timers, [timer]: 7 } };
      const after = transition({ ...s, config: { ...s.config, allowAutomaticStart: false } }, timerExpiredEvent(timer)).state;
      expect(after.timers[timer], timer).to.equal(0);
    }
  });

  it('a NOTIFICATION for Unsupported Version Number is Event 24, any other Event 25', () => {
    expect(notificationEvent(n(NotifCode.OpenMessageError, 1)).type).to.equal('NotifMsgVerErr');
    expect(notificationEvent(n(NotifCode.OpenMessageError, 2)).type).to.equal('NotifMsg');
    expect(notificationEvent(n(NotifCode.Cease, 1)).type).to.equal('NotifMsg');
  });

  it('maps decode failures to the event for their message', () => {
    const rows: [MessageType | undefined, Notification, FsmEventType][] = [
      [undefined, n(NotifCode.MessageHeaderError, 1), 'BGPHeaderErr'],
      [MessageType.Open, n(NotifCode.MessageHeaderError, 2), 'BGPHeaderErr'],
      [MessageType.Open, n(NotifCode.OpenMessageError, 4), 'BGPOpenMsgErr'],
      [MessageType.Update, n(NotifCode.UpdateMessageError, 1), 'UpdateMsgErr'],
      [MessageType.RouteRefresh, n(NotifCode.RouteRefreshMessageError, 1), 'RouteRefreshMsgErr'],
      [MessageType.Keepalive, n(NotifCode.MessageHeaderError, 2), 'BGPHeaderErr'],
    ];
    for (const [type, note, want] of rows) {
      const ev = decodeErrorEvent(type, note);
      expect(ev.type).to.equal(want);
      expect(ev).to.have.property('notification', note);
    }
  });
});

describe('bgp/fsm peer-down reasons', () => {
  it('every reason has a distinct kebab-case name', () => {
    const numeric = Object.values(PeerDownReason).filter((v): v is PeerDownReason => typeof v === 'number');
    expect([...ALL_PEER_DOWN_REASONS].sort()).to.deep.equal(numeric.sort());
    const names = ALL_PEER_DOWN_REASONS.map(peerDownReasonName);
    expect(new Set(names).size).to.equal(names.length);
    for (const name of names) expect(name).to.match(/^[a-z]+(-[a-z]+)*$/);
  });
});

describe('bgp/fsm configuration', () => {
  const bad: [string, Partial<FsmConfig>][] = [
    ['hold time 2', { holdTimeSec: 2 }],
    ['negative keepalive', { keepaliveSec: -1 }],
    ['connect retry 0', { connectRetrySec: 0 }],
    ['back-off cap below its start', { idleHoldInitialSec: 10, idleHoldMaxSec: 5 }],
    ['fractional stable time', { stableSec: 1.5 }],
  ];
  for (const [name, patch] of bad) {
    it(`refuses ${name} with ERR_BGP_FSM_CONFIG`, () => {
      let caught: unknown;
      try { initialFsmState(patch); } catch (err) { caught = err; }
      expect(hasCode(caught, 'ERR_BGP_FSM_CONFIG')).to.equal(true);
    });
  }
  it('accepts hold time 0', () => {
    expect(initialFsmState({ holdTimeSec: 0 }).config.holdTimeSec).to.equal(0);
  });
});

describe('bgp/fsm parseBgpId', () => {
  const rows: [string, number | undefined][] = [
    ['0.0.0.0', 0], ['192.0.2.1', 0xc0000201], ['255.255.255.255', 0xffffffff],
    ['256.0.0.1', undefined], ['1.2.3', undefined], ['01.2.3.4', undefined], ['1.2.3.4.5', undefined], ['a.b.c.d', undefined], ['', undefined],
  ];
  for (const [id, want] of rows) it(JSON.stringify(id), () => expect(parseBgpId(id)).to.equal(want));
});
