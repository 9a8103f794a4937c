/**
 * One configured peer: runs the pure FSM over real sockets and timers. Each
 * TCP connection gets its own FSM slot (two during a collision, RFC 4271
 * §6.8). Events are queued and handled one at a time, so FSM state changes
 * in exactly one place.
 */
import { connect as netConnect, type Socket } from 'node:net';
import {
  CeaseSubcode, capabilitiesOf, encodeMessage, keepaliveBytes, makeShutdownNotification, MessageType, shutdownCommunication,
  type BgpError, type BgpMessage, type NotificationMessage, type RouteRefreshMessage, type UpdateMessage,
} from '../codec/index.js';
import {
  acceptSecondConnection, ConnectionOrigin, decodeErrorEvent, detectCollision, incomingConnectionDisposition,
  initialFsmState, notificationEvent, peerDownReasonName, promoteSecondConnection, resolveCollision, sessionStateName,
  SessionState, timerExpiredEvent, transition, TimerName, type FsmAction, type FsmConfig, type FsmEvent, type FsmState,
  type Notification, type PeerDownReason,
} from '../fsm/index.js';
import type { Logger } from '../../lib/log.js';
import { BgpConnection, type ConnectionHandlers } from './connection.js';
import { buildOpen, isNotification, negotiate, type LocalCapabilities, type Negotiated } from './negotiate.js';

export interface SessionConfig {
  address: string;
  port: number;
  /** Expected peer AS; undefined accepts any. */
  asn?: number;
  /** Our AS toward this peer (normally the speaker's). */
  localAsn: number;
  localAddress?: string;
  fsm: Partial<FsmConfig>;
  capabilities: LocalCapabilities;
}

export interface DownInfo {
  reason: PeerDownReason;
  wasEstablished: boolean;
  notification?: Notification & { direction: 'sent' | 'received' };
}

export interface SessionEvents {
  established(s: PeerSession, n: Negotiated): void;
  down(s: PeerSession, info: DownInfo): void;
  update(s: PeerSession, u: UpdateMessage): void;
  routeRefresh(s: PeerSession, m: RouteRefreshMessage): void;
  /** The send buffer drained: more UPDATEs may be written. */
  writable(s: PeerSession): void;
}

/**
 * A running one-shot timer. Restarting it (the hold timer, on every
 * message) only moves `deadlineMs`; the pending setTimeout re-arms itself
 * for the rest when it fires early. An expiry whose entry was replaced or
 * removed is stale and is dropped, so a timer stopped by an event queued
 * earlier can never fire into the FSM.
 */
interface RunningTimer {
  deadlineMs: number;
  handle: NodeJS.Timeout;
}

interface Slot {
  fsm: FsmState;
  origin: ConnectionOrigin;
  conn?: BgpConnection;
  connecting?: Socket;
  timers: Map<TimerName, RunningTimer>;
  negotiated?: Negotiated;
  notifying: boolean;
  dead: boolean;
}

export interface LastError {
  reason: string;
  atMs: number;
  /** Specifics in plain words, when known: "bad peer AS 65002, expected 65001", "connection refused". */
  detail?: string;
  notification?: { code: number; subcode: number; direction: 'sent' | 'received'; text?: string };
}

export class PeerSession {
  readonly config: SessionConfig;
  private main: Slot;
  private second: Slot | undefined;
  private readonly queue: { slot: Slot; event: FsmEvent }[] = [];
  private running = false;
  private readonly log: Logger;
  private readonly events: SessionEvents;
  private readonly now: () => number;
  establishedAtMs: number | undefined;
  negotiated: Negotiated | undefined;
  lastError: LastError | undefined;
  /** Why the last attempt failed before a NOTIFICATION could say so. */
  private pendingDetail: string | undefined;
  messagesIn = 0;
  messagesOut = 0;
  flaps = 0;

  constructor(config: SessionConfig, events: SessionEvents, log: Logger, now: () => number = Date.now) {
    this.config = config;
    this.events = events;
    this.log = log.child({ peer: config.address });
    this.now = now;
    this.main = this.newSlot(initialFsmState(config.fsm), ConnectionOrigin.Local);
  }

  get state(): SessionState {
    return this.main.fsm.state;
  }

  get stateName(): string {
    return sessionStateName(this.main.fsm.state);
  }

  get isEstablished(): boolean {
    return this.main.fsm.state === SessionState.Established;
  }

  /** Our address on the current connection (the next hop we announce). */
  get localAddress(): string | undefined {
    return this.main.conn?.localAddress;
  }

  /** Octets waiting in the established connection's send buffer. */
  get sendBuffered(): number {
    return this.main.conn?.buffered ?? 0;
  }

  start(): void {
    this.enqueue(this.main, this.main.fsm.config.passive
      ? { type: 'ManualStart_with_PassiveTcpEstablishment' }
      : { type: 'ManualStart' });
  }

  /** Administrative stop: Cease with an optional RFC 9003 shutdown communication. */
  stop(cease: CeaseSubcode = CeaseSubcode.AdministrativeShutdown, text = ''): void {
    let data: Uint8Array | undefined;
    if (text !== '' && (cease === CeaseSubcode.AdministrativeShutdown || cease === CeaseSubcode.AdministrativeReset)) {
      data = makeShutdownNotification(cease, text).data;
    }
    for (const slot of this.slots()) this.enqueue(slot, { type: 'ManualStop', cease, ...(data ? { data } : {}) });
  }

  /** Stops and releases every timer and socket; the session cannot be used again. */
  dispose(): void {
    for (const slot of this.slots()) this.kill(slot);
  }

  /** Sends an UPDATE or other message on the established connection. False: wait for `writable`. */
  send(bytes: Uint8Array): boolean {
    const conn = this.main.conn;
    if (!conn || this.main.fsm.state !== SessionState.Established) return false;
    this.messagesOut++;
    return conn.send(bytes);
  }

  /** A connection from this peer's address arrived on the listener. */
  acceptIncoming(socket: Socket): void {
    // Idle only because the idle-hold back-off runs (an automatic restart is
    // pending; an administrative stop clears that timer): the peer calling us
    // ends the wait now. The back-off is there so that we do not hammer a
    // broken peer, not to turn away one that connects. Refusing here left
    // peers that only connect out (ExaBGP's default), or that restarted while
    // our back-off had grown to tens of seconds, refused with Cease /
    // Connection Rejected until the two sides' timers happened to line up.
    if (this.main.fsm.state === SessionState.Idle && this.main.fsm.timers[TimerName.IdleHold] > 0) {
      // As if the timer fired now: cancel the real one first, because the FSM
      // treats an *_Expires event as the timer having run out and will not
      // stop it again (it would otherwise fire later, in Established).
      this.stopTimer(this.main, TimerName.IdleHold);
      this.enqueue(this.main, timerExpiredEvent(TimerName.IdleHold));
    }
    const disposition = incomingConnectionDisposition(this.main.fsm);
    if (disposition.kind === 'reject' || (disposition.kind === 'second' && this.second)) {
      const n = disposition.kind === 'reject' ? disposition.notification : { code: 6, subcode: CeaseSubcode.ConnectionCollisionResolution, data: new Uint8Array(0) };
      this.log.info({ state: this.stateName, code: n.code, subcode: n.subcode }, 'refusing incoming connection');
      socket.end(encodeMessage({ type: MessageType.Notification, code: n.code, subcode: n.subcode, data: n.data }, this.txOptions()));
      socket.on('error', () => undefined);
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    if (disposition.kind === 'accept') {
      this.abortConnecting(this.main);
      this.main.origin = ConnectionOrigin.Remote;
      this.main.conn = new BgpConnection(socket, this.handlers(this.main));
      this.enqueue(this.main, { type: 'TcpConnectionConfirmed' });
      return;
    }
    const result = acceptSecondConnection(this.main.fsm.config);
    const slot = this.newSlot(result.state, ConnectionOrigin.Remote);
    slot.conn = new BgpConnection(socket, this.handlers(slot));
    this.second = slot;
    this.log.debug({}, 'second connection accepted (collision candidate)');
    for (const a of result.actions) this.execute(slot, a);
  }

  private txOptions(): Negotiated['tx'] {
    return this.negotiated?.tx ?? { fourOctetAs: true, extendedMessage: false, addPath: new Set(), external: false };
  }

  // ------------------------------------------------------------ event queue

  private enqueue(slot: Slot, event: FsmEvent): void {
    this.queue.push({ slot, event });
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const next = this.queue.shift()!;
        if (next.slot.dead) continue;
        const before = next.slot.fsm.state;
        const result = transition(next.slot.fsm, next.event);
        next.slot.fsm = result.state;
        if (result.state.state !== before) {
          this.log.info({
            from: sessionStateName(before), to: sessionStateName(result.state.state), event: next.event.type,
            ...(next.slot === this.second ? { connection: 'second' } : {}),
          }, 'session state change');
        }
        for (const a of result.actions) this.execute(next.slot, a);
        this.afterEvent(next.slot);
      }
    } finally {
      this.running = false;
    }
  }

  /** Collision bookkeeping once a slot's event has been handled. */
  private afterEvent(slot: Slot): void {
    if (slot.fsm.state !== SessionState.Idle) return;
    if (slot === this.second) {
      this.kill(slot);
      this.second = undefined;
    } else if (slot === this.main && this.second && !this.second.dead && this.second.fsm.state !== SessionState.Idle) {
      // The main connection lost (or died): the second one carries on.
      const promoted = this.second;
      promoted.fsm = promoteSecondConnection(promoted.fsm, this.main.fsm);
      this.kill(this.main);
      this.main = promoted;
      this.second = undefined;
      this.log.info({ state: this.stateName }, 'second connection promoted');
    }
  }

  // ------------------------------------------------------------ actions

  private execute(slot: Slot, a: FsmAction): void {
    switch (a.type) {
      case 'connect': this.connect(slot); break;
      case 'close': this.close(slot); break;
      case 'send-open': {
        const open = buildOpen({ ...this.config.capabilities, holdTimeSec: a.holdTimeSec });
        this.write(slot, encodeMessage(open, this.txOptions()));
        break;
      }
      case 'send-keepalive': this.write(slot, keepaliveBytes()); break;
      case 'send-notification': {
        const n: NotificationMessage = { type: MessageType.Notification, code: a.code, subcode: a.subcode, data: a.data };
        this.write(slot, encodeMessage(n, slot.negotiated?.tx ?? this.txOptions()));
        slot.notifying = true;
        break;
      }
      case 'start-timer': this.startTimer(slot, a.timer, a.sec); break;
      case 'stop-timer': this.stopTimer(slot, a.timer); break;
      case 'established': {
        const neg = slot.negotiated;
        if (!neg) throw new Error('Established without negotiated capabilities');
        this.negotiated = neg;
        this.establishedAtMs = this.now();
        this.log.info({ peerAsn: neg.peerAsn, peerId: neg.peerBgpId, holdTimeSec: neg.holdTimeSec, families: neg.families }, 'session established');
        this.events.established(this, neg);
        break;
      }
      case 'process-update': this.events.update(this, a.update); break;
      case 'process-route-refresh': this.events.routeRefresh(this, a.message); break;
      case 'release-resources': slot.negotiated = undefined; break;
      case 'session-down': this.onSessionDown(slot, a); break;
    }
  }

  private onSessionDown(slot: Slot, a: Extract<FsmAction, { type: 'session-down' }>): void {
    const n = a.notification;
    let text: string | undefined;
    if (n) {
      const sc = shutdownCommunication({ type: MessageType.Notification, code: n.code, subcode: n.subcode, data: n.data });
      if (sc && 'text' in sc) text = sc.text;
    }
    const detail = this.pendingDetail;
    this.pendingDetail = undefined;
    this.lastError = {
      reason: peerDownReasonName(a.reason),
      atMs: this.now(),
      ...(detail !== undefined ? { detail } : {}),
      ...(n ? { notification: { code: n.code, subcode: n.subcode, direction: n.direction, ...(text !== undefined ? { text } : {}) } } : {}),
    };
    const fields = { reason: this.lastError.reason, wasEstablished: a.wasEstablished, notification: this.lastError.notification };
    if (a.wasEstablished) {
      this.flaps++;
      this.log.warn(fields, 'session down');
      this.establishedAtMs = undefined;
      this.negotiated = undefined;
      this.events.down(this, { reason: a.reason, wasEstablished: true, ...(n ? { notification: n } : {}) });
    } else {
      this.log.info(fields, slot === this.second ? 'second connection closed' : 'session attempt failed');
    }
  }

  private connect(slot: Slot): void {
    this.abortConnecting(slot);
    const socket = netConnect({
      host: this.config.address,
      port: this.config.port,
      ...(this.config.localAddress ? { localAddress: this.config.localAddress } : {}),
    });
    slot.connecting = socket;
    slot.origin = ConnectionOrigin.Local;
    socket.once('connect', () => {
      if (slot.connecting !== socket || slot.dead) {
        socket.destroy();
        return;
      }
      slot.connecting = undefined;
      slot.conn = new BgpConnection(socket, this.handlers(slot));
      this.enqueue(slot, { type: 'Tcp_CR_Acked' });
    });
    socket.once('error', (err) => {
      if (slot.connecting !== socket) return;
      slot.connecting = undefined;
      socket.destroy();
      const code = (err as NodeJS.ErrnoException).code;
      this.pendingDetail = code === 'ECONNREFUSED' ? 'connection refused'
        : code === 'EHOSTUNREACH' || code === 'ENETUNREACH' ? 'no route to the peer'
        : code === 'ETIMEDOUT' ? 'connection timed out' : err.message;
      this.log.debug({ err: err.message }, 'connect failed');
      this.enqueue(slot, { type: 'TcpConnectionFails' });
    });
  }

  private abortConnecting(slot: Slot): void {
    if (slot.connecting) {
      const s = slot.connecting;
      slot.connecting = undefined;
      s.destroy();
    }
  }

  private close(slot: Slot): void {
    this.abortConnecting(slot);
    const conn = slot.conn;
    slot.conn = undefined;
    if (!conn) return;
    if (slot.notifying) conn.end();
    else conn.destroy();
    slot.notifying = false;
  }

  private write(slot: Slot, bytes: Uint8Array): void {
    if (!slot.conn) return;
    this.messagesOut++;
    slot.conn.send(bytes);
  }

  private startTimer(slot: Slot, timer: TimerName, sec: number): void {
    const deadlineMs = performance.now() + sec * 1000;
    const running = slot.timers.get(timer);
    if (running && running.deadlineMs <= deadlineMs) {
      running.deadlineMs = deadlineMs;
      return;
    }
    this.stopTimer(slot, timer);
    this.arm(slot, timer, { deadlineMs, handle: undefined as unknown as NodeJS.Timeout });
  }

  private arm(slot: Slot, timer: TimerName, entry: RunningTimer): void {
    const wait = Math.max(0, entry.deadlineMs - performance.now());
    entry.handle = setTimeout(() => {
      if (slot.timers.get(timer) !== entry || slot.dead) return;
      if (performance.now() < entry.deadlineMs - 1) {
        this.arm(slot, timer, entry);
        return;
      }
      slot.timers.delete(timer);
      this.enqueue(slot, timerExpiredEvent(timer));
    }, wait);
    entry.handle.unref();
    slot.timers.set(timer, entry);
  }

  private stopTimer(slot: Slot, timer: TimerName): void {
    const running = slot.timers.get(timer);
    if (running) clearTimeout(running.handle);
    slot.timers.delete(timer);
  }

  private kill(slot: Slot): void {
    slot.dead = true;
    for (const t of [...slot.timers.keys()]) this.stopTimer(slot, t);
    this.abortConnecting(slot);
    slot.conn?.destroy();
    slot.conn = undefined;
  }

  // ------------------------------------------------------------ connection input

  private handlers(slot: Slot): ConnectionHandlers {
    return {
      onMessage: (m) => this.onMessage(slot, m),
      onDecodeError: (err: BgpError, type) => {
        this.messagesIn++;
        this.log.warn({ code: err.notifCode, subcode: err.notifSubcode, err: err.message }, 'malformed message');
        this.enqueue(slot, decodeErrorEvent(type, { code: err.notifCode, subcode: err.notifSubcode, data: err.data }));
      },
      onClose: () => {
        if (slot.conn && slot.conn.isClosed) {
          slot.conn = undefined;
          this.enqueue(slot, { type: 'TcpConnectionFails' });
        }
      },
      onDrain: () => {
        if (slot === this.main && slot.fsm.state === SessionState.Established) this.events.writable(this);
      },
    };
  }

  private onMessage(slot: Slot, m: BgpMessage): void {
    this.messagesIn++;
    switch (m.type) {
      case MessageType.Open: {
        const neg = negotiate(this.config.capabilities, m, { asn: this.config.asn, localAsn: this.config.localAsn });
        if (isNotification(neg)) {
          this.pendingDetail = describeOpenRefusal(neg, m, this.config.asn);
          this.enqueue(slot, { type: 'BGPOpenMsgErr', notification: neg });
          return;
        }
        slot.negotiated = neg;
        slot.conn?.setNegotiated(neg.rx);
        const other = slot === this.main ? this.second : this.main;
        if (other && !other.dead && detectCollision(other.fsm, m.bgpId)) {
          const r = resolveCollision({
            localBgpId: this.config.capabilities.routerId, peerBgpId: m.bgpId,
            localAsn: this.config.localAsn, peerAsn: neg.peerAsn, existing: other.origin, incoming: slot.origin,
          });
          this.log.info({ keep: r.keep }, 'connection collision');
          if (r.dump === 'incoming') {
            this.enqueue(slot, { type: 'OpenCollisionDump' });
            return;
          }
          this.enqueue(other, { type: 'OpenCollisionDump' });
        }
        const facts = { holdTimeSec: m.holdTimeSec, bgpId: m.bgpId };
        this.enqueue(slot, slot.fsm.timers[TimerName.DelayOpen] > 0
          ? { type: 'BGPOpen_with_DelayOpenTimer_running', ...facts }
          : { type: 'BGPOpen', ...facts });
        return;
      }
      case MessageType.Keepalive: this.enqueue(slot, { type: 'KeepAliveMsg' }); return;
      case MessageType.Update: this.enqueue(slot, { type: 'UpdateMsg', update: m }); return;
      case MessageType.Notification:
        this.enqueue(slot, notificationEvent({ code: m.code, subcode: m.subcode, data: m.data }));
        return;
      case MessageType.RouteRefresh: this.enqueue(slot, { type: 'RouteRefreshMsg', message: m }); return;
    }
  }

  private newSlot(fsm: FsmState, origin: ConnectionOrigin): Slot {
    return { fsm, origin, timers: new Map(), notifying: false, dead: false };
  }

  private slots(): Slot[] {
    return this.second ? [this.main, this.second] : [this.main];
  }
}

/** Plain words for why we refused a peer's OPEN. */
function describeOpenRefusal(n: Notification, open: { myAs: number; bgpId: string; holdTimeSec: number; params: unknown[] }, expectedAsn: number | undefined): string {
  switch (n.subcode) {
    case 2: {
      const caps = capabilitiesOf(open as Parameters<typeof capabilitiesOf>[0]);
      const four = caps.find((c) => c.code === 65);
      const asn = four && 'asn' in four ? four.asn : open.myAs;
      return `bad peer AS ${asn}, expected ${expectedAsn ?? 'any'}`;
    }
    case 3: return `bad BGP identifier ${open.bgpId}`;
    case 6: return `unacceptable hold time ${open.holdTimeSec}`;
    case 7: return 'no address family in common';
    default: return `OPEN error subcode ${n.subcode}`;
  }
}
