/**
 * The BGP speaker the agent embeds: peers, one listen socket, the RIB and
 * UPDATE generation. Sessions run the FSM; this file moves routes between
 * them. Everything happens on Node's one thread, in callback order, so the
 * RIB is changed in one place at a time.
 */
import { createServer, type Server, type Socket } from 'node:net';
import {
  AttrType, CeaseSubcode, encodeMessage, endOfRibFamily, ErrorAction, familyAfi, familyKey, familyName, familySafi, IPV4_UNICAST,
  IPV6_UNICAST, MessageType, NotifCode, Origin, RouteRefreshSubtype, type FamilyKey, type LargeCommunity, type Nlri, type UpdateMessage,
} from '../codec/index.js';
import {
  AdjRibIn, AttrsInterner, checkImport, compilePolicy, exportDelta, LocRib, localSource, makePathAttrs,
  pathAttrsFromUpdate, PathExporter, sanitizeImport, ACCEPT_ALL, type CompiledPolicy, type LocalSpeaker,
  type PathAttrs, type PeerInfo, type PolicyDef, type RibChange,
} from '../rib/index.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import { TortieError } from '../../lib/errors.js';
import { normalizeAddress } from './connection.js';
import type { Negotiated } from './negotiate.js';
import { encodeRouteRefresh, familyOfPrefix, PeerOutput } from './peer-out.js';
import { PeerSession, type DownInfo } from './session.js';
import { warmUp } from './warm-up.js';
import type { BestPathEvent, PeerConfig, PeerStatus, SpeakerConfig } from './types.js';

interface PeerRuntime {
  cfg: PeerConfig;
  session: PeerSession;
  neg?: Negotiated;
  adjIn?: AdjRibIn;
  exporters: Map<FamilyKey, PathExporter>;
  out?: PeerOutput;
  importPolicy: CompiledPolicy;
  exportPolicy?: CompiledPolicy;
  disabled: Set<FamilyKey>;
  eorReceived: Set<FamilyKey>;
  staleTimer?: NodeJS.Timeout;
  flushScheduled: boolean;
  received: number;
  updatesIn: number;
  /** UPDATEs sent on earlier sessions (the current one counts in `out`). */
  updatesOut: number;
}

export interface OriginateOptions {
  communities?: number[];
  largeCommunities?: LargeCommunity[];
  med?: number;
}

const DEFAULT_FAMILIES = [IPV4_UNICAST, IPV6_UNICAST];

export class BgpSpeaker {
  readonly config: SpeakerConfig;
  readonly locRib: LocRib;
  private readonly interner = new AttrsInterner();
  private readonly local: LocalSpeaker;
  private readonly localIn: AdjRibIn;
  private readonly peers = new Map<string, PeerRuntime>();
  private server: Server | undefined;
  private readonly bestListeners: ((e: BestPathEvent) => void)[] = [];
  private deferring: boolean;
  private deferralTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  rejectedConnections = 0;

  constructor(config: SpeakerConfig, log: Logger = silentLogger) {
    this.config = config;
    this.log = log;
    this.locRib = new LocRib({ maxPaths: config.maxPaths ?? 1, multipathRelax: config.multipathRelax ?? false });
    this.local = { asn: config.asn, routerId: config.routerId, ...(config.clusterId ? { clusterId: config.clusterId } : {}) };
    this.localIn = new AdjRibIn(localSource(config.asn, config.routerId), this.locRib);
    this.deferring = this.grEnabled() && config.gracefulRestart?.restarting === true;
  }

  // ------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    if (this.config.warmUp) {
      const t0 = performance.now();
      warmUp();
      this.log.info({ ms: Math.round(performance.now() - t0) }, 'hot paths compiled (warm-up)');
    }
    if (this.deferring) {
      const sec = this.config.gracefulRestart?.deferralSec ?? 60;
      this.log.info({ deferralSec: sec }, 'restarting: deferring route export until peers send End-of-RIB');
      this.deferralTimer = setTimeout(() => this.endDeferral('deferral timer expired'), sec * 1000);
      this.deferralTimer.unref();
    }
    const listen = this.config.listen;
    if (listen) {
      const server = createServer((s) => this.onIncoming(s));
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err) => reject(new TortieError('ERR_BGP_LISTEN', `cannot listen on [${listen.address}]:${listen.port}: ${err.message}`, { cause: err })));
        server.listen({ host: listen.address, port: listen.port }, () => resolve());
      });
      server.on('error', (err) => this.log.error({ err: err.message }, 'listener error'));
      this.server = server;
      this.log.info({ address: listen.address, port: this.listenPort }, 'listening');
    }
    for (const rt of this.peers.values()) rt.session.start();
  }

  /** The port actually bound (useful with port 0). */
  get listenPort(): number | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  /** Stops every session with a Cease and closes the listener. Routes stay in the RIB. */
  async stop(text = ''): Promise<void> {
    // Stop listening first: a peer that reconnects at once must find nobody,
    // not be told Connection Rejected by a speaker that is going away.
    const server = this.server;
    this.server = undefined;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const rt of this.peers.values()) rt.session.stop(CeaseSubcode.AdministrativeShutdown, text);
    await new Promise((r) => setTimeout(r, 50));
    for (const rt of this.peers.values()) this.disposePeer(rt);
    if (this.deferralTimer) clearTimeout(this.deferralTimer);
    await closed;
  }

  /**
   * Drops every connection without a NOTIFICATION, as a crash or a restart
   * would; peers with graceful restart keep our routes as stale.
   */
  async abort(): Promise<void> {
    for (const rt of this.peers.values()) this.disposePeer(rt);
    if (this.deferralTimer) clearTimeout(this.deferralTimer);
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  onBestPath(fn: (e: BestPathEvent) => void): void {
    this.bestListeners.push(fn);
  }

  // ------------------------------------------------------------ peers

  addPeer(cfg: PeerConfig): void {
    const key = normalizeAddress(cfg.address);
    if (this.peers.has(key)) throw new TortieError('ERR_BGP_PEER_EXISTS', `peer ${key} is already configured`);
    const families = cfg.families ?? DEFAULT_FAMILIES;
    const gr = this.grEnabled() && cfg.gracefulRestart !== false;
    const grCfg = this.config.gracefulRestart;
    const capabilities = {
      asn: this.config.asn,
      routerId: this.config.routerId,
      holdTimeSec: cfg.holdTimeSec ?? 90,
      families,
      addPathReceive: [],
      extendedMessage: true,
      ...(this.config.hostname ? { hostname: this.config.hostname } : {}),
      ...(gr ? {
        gracefulRestart: {
          restartTimeSec: grCfg?.restartTimeSec ?? 120,
          restarting: this.deferring,
          forwardingPreserved: this.deferring ? families : [],
        },
      } : {}),
    };
    const rt: PeerRuntime = {
      cfg,
      session: undefined as unknown as PeerSession,
      exporters: new Map(),
      importPolicy: cfg.importPolicy ? compilePolicy(cfg.importPolicy, { localAs: this.config.asn, interner: this.interner }) : ACCEPT_ALL,
      ...(cfg.exportPolicy ? { exportPolicy: compilePolicy(cfg.exportPolicy, { localAs: this.config.asn, interner: this.interner }) } : {}),
      disabled: new Set(),
      eorReceived: new Set(),
      flushScheduled: false,
      received: 0,
      updatesIn: 0,
      updatesOut: 0,
    };
    rt.session = new PeerSession({
      address: key,
      port: cfg.port ?? 179,
      asn: cfg.asn,
      localAsn: this.config.asn,
      ...(cfg.localAddress ? { localAddress: cfg.localAddress } : {}),
      fsm: {
        passive: cfg.passive ?? false,
        holdTimeSec: cfg.holdTimeSec ?? 90,
        keepaliveSec: cfg.keepaliveSec ?? Math.floor((cfg.holdTimeSec ?? 90) / 3),
        connectRetrySec: cfg.connectRetrySec ?? 5,
        idleHoldInitialSec: cfg.idleHoldInitialSec ?? 1,
      },
      capabilities,
    }, {
      established: (_s, n) => this.onEstablished(rt, n),
      down: (_s, info) => this.onDown(rt, info),
      update: (_s, u) => this.onUpdate(rt, u),
      routeRefresh: (_s, m) => this.onRouteRefresh(rt, familyKey(m.afi, m.safi), m.subtype),
      writable: () => this.scheduleFlush(rt),
    }, this.log);
    this.peers.set(key, rt);
    if (this.server || !this.config.listen) rt.session.start();
  }

  /** Removes a peer: Cease / Peer De-configured, and its routes go. */
  removePeer(address: string): void {
    const rt = this.peers.get(normalizeAddress(address));
    if (!rt) return;
    rt.session.stop(CeaseSubcode.PeerDeconfigured);
    setTimeout(() => this.disposePeer(rt), 50).unref();
    this.peers.delete(normalizeAddress(address));
    if (rt.adjIn) for (const c of rt.adjIn.clear()) this.propagate(c);
  }

  /**
   * True once initial route exchange is over: no graceful-restart deferral
   * is pending and every configured peer is Established and has sent
   * End-of-RIB for each family. The agent then lets the kernel drop routes
   * it adopted at start-up that nothing re-learned.
   */
  get converged(): boolean {
    if (this.deferring) return false;
    for (const rt of this.peers.values()) {
      if (!rt.neg || !rt.neg.families.every((f) => rt.eorReceived.has(f))) return false;
    }
    return true;
  }

  /**
   * Replaces a peer's policies without resetting its session. A new import
   * policy is applied by asking the peer to send its routes again (ROUTE-
   * REFRESH, RFC 2918); a peer that cannot refresh is reset instead. A new
   * export policy re-advertises the table.
   */
  setPeerPolicies(address: string, policies: { importPolicy?: PolicyDef; exportPolicy?: PolicyDef }): void {
    const rt = this.peers.get(normalizeAddress(address));
    if (!rt) throw new TortieError('ERR_BGP_PEER_NOT_FOUND', `no peer ${address}`);
    const compile = (d: PolicyDef): CompiledPolicy => compilePolicy(d, { localAs: this.config.asn, interner: this.interner });
    if ('importPolicy' in policies) {
      rt.cfg = { ...rt.cfg, ...(policies.importPolicy ? { importPolicy: policies.importPolicy } : {}) };
      if (!policies.importPolicy) delete rt.cfg.importPolicy;
      rt.importPolicy = policies.importPolicy ? compile(policies.importPolicy) : ACCEPT_ALL;
      const neg = rt.neg;
      if (neg && neg.routeRefresh) {
        for (const f of neg.families) {
          rt.session.send(encodeMessage({ type: MessageType.RouteRefresh, afi: familyAfi(f), subtype: 0, safi: familySafi(f) }, neg.tx));
        }
        this.log.info({ peer: address }, 'import policy changed: route refresh requested');
      } else if (neg) {
        this.log.info({ peer: address }, 'import policy changed and the peer cannot refresh: resetting the session');
        rt.session.stop(CeaseSubcode.OtherConfigurationChange);
        rt.session.start();
      }
    }
    if ('exportPolicy' in policies) {
      rt.cfg = { ...rt.cfg, ...(policies.exportPolicy ? { exportPolicy: policies.exportPolicy } : {}) };
      if (!policies.exportPolicy) delete rt.cfg.exportPolicy;
      if (policies.exportPolicy) rt.exportPolicy = compile(policies.exportPolicy);
      else delete rt.exportPolicy;
      if (rt.neg) {
        const neg = rt.neg;
        const localAddr = rt.session.localAddress ?? '';
        for (const f of neg.families) rt.exporters.set(f, this.makeExporter(rt, f, localAddr));
        // Everything is resent: prefixes now filtered go out as withdrawals.
        const out = rt.out;
        if (out) {
          // Everything is sent again: what the new policy filters goes out as a withdrawal.
          for (const [prefix, best] of this.locRib.bestPaths()) {
            const f = familyOfPrefix(prefix);
            const ex = rt.exporters.get(f);
            if (ex) out.queue(prefix, f, ex.export(prefix, best) ?? null);
          }
          this.scheduleFlush(rt);
        }
        this.log.info({ peer: address }, 'export policy changed: table re-advertised');
      }
    }
  }

  /** Octets queued in user space toward a peer (back-pressure visibility). */
  sendBuffered(address: string): number {
    return this.peers.get(normalizeAddress(address))?.session.sendBuffered ?? 0;
  }

  peerStatus(): PeerStatus[] {
    const now = Date.now();
    return [...this.peers.values()].map((rt) => {
      const s = rt.session;
      const st: PeerStatus = {
        address: rt.session.config.address,
        asn: rt.cfg.asn,
        state: s.stateName,
        uptimeSec: s.establishedAtMs !== undefined ? Math.floor((now - s.establishedAtMs) / 1000) : 0,
        families: (rt.neg?.families ?? rt.cfg.families ?? DEFAULT_FAMILIES).map(familyName),
        prefixesReceived: rt.received,
        prefixesAccepted: rt.adjIn?.acceptedCount ?? 0,
        prefixesAdvertised: rt.out?.advertised ?? 0,
        prefixesStale: rt.adjIn?.staleCount ?? 0,
        messagesIn: s.messagesIn,
        messagesOut: s.messagesOut,
        updatesIn: rt.updatesIn,
        updatesOut: rt.updatesOut + (rt.out?.updatesSent ?? 0),
        flaps: s.flaps,
      };
      if (rt.cfg.description) st.description = rt.cfg.description;
      if (rt.neg) st.peerRouterId = rt.neg.peerBgpId;
      if (s.lastError) st.lastError = s.lastError;
      return st;
    });
  }

  // ------------------------------------------------------------ origination

  /** Advertises one of our own prefixes (a pod block, a borrowed /32). */
  originate(prefix: string, opts: OriginateOptions = {}): void {
    const attrs = this.interner.intern(makePathAttrs({
      origin: Origin.Igp,
      asPath: [],
      nextHops: [],
      ...(opts.communities ? { communities: opts.communities } : {}),
      ...(opts.largeCommunities ? { largeCommunities: opts.largeCommunities } : {}),
      ...(opts.med !== undefined ? { med: opts.med } : {}),
    }));
    const change = this.localIn.accept(prefix, this.localIn.pathFor(attrs));
    if (change) this.propagate(change);
  }

  withdrawOrigin(prefix: string): void {
    const change = this.localIn.withdraw(prefix);
    if (change) this.propagate(change);
  }

  // ------------------------------------------------------------ incoming connections

  private onIncoming(socket: Socket): void {
    const addr = normalizeAddress(socket.remoteAddress ?? '');
    const rt = this.peers.get(addr);
    if (rt) {
      rt.session.acceptIncoming(socket);
      return;
    }
    // RFC 4486: an unconfigured peer gets Cease / Connection Rejected.
    this.rejectedConnections++;
    if (this.rejectedConnections <= 10 || this.rejectedConnections % 1000 === 0) {
      this.log.info({ remote: addr, total: this.rejectedConnections }, 'connection from unconfigured address rejected');
    }
    socket.on('error', () => undefined);
    socket.end(encodeMessage({ type: MessageType.Notification, code: NotifCode.Cease, subcode: CeaseSubcode.ConnectionRejected, data: new Uint8Array(0) },
      { fourOctetAs: true, extendedMessage: false, addPath: new Set(), external: true }));
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  // ------------------------------------------------------------ session events

  private onEstablished(rt: PeerRuntime, n: Negotiated): void {
    rt.neg = n;
    const info: PeerInfo = {
      peerId: rt.session.config.address,
      address: rt.session.config.address,
      routerId: n.peerBgpId,
      peerAs: n.peerAsn,
      localAs: this.config.asn,
      ibgp: n.peerAsn === this.config.asn,
      isLocal: false,
      rrClient: rt.cfg.rrClient ?? false,
    };
    const old = rt.adjIn;
    if (old && (old.peer.routerId !== info.routerId || old.peer.peerAs !== info.peerAs || !n.gracefulRestart)) {
      // Not the same speaker coming back, or no graceful restart now: drop what it left.
      if (rt.staleTimer) clearTimeout(rt.staleTimer);
      rt.staleTimer = undefined;
      for (const c of old.clear()) this.propagate(c);
      rt.adjIn = undefined;
    }
    rt.adjIn ??= new AdjRibIn(info, this.locRib);
    if (rt.adjIn.staleCount > 0) {
      // Stale routes wait for End-of-RIB, but not forever.
      const sec = this.config.gracefulRestart?.staleTimeSec ?? 360;
      if (rt.staleTimer) clearTimeout(rt.staleTimer);
      rt.staleTimer = setTimeout(() => this.sweepStale(rt, 'stale timer expired'), sec * 1000);
      rt.staleTimer.unref();
    }
    rt.disabled.clear();
    rt.eorReceived.clear();
    rt.received = 0;
    rt.exporters.clear();
    const localAddr = rt.session.localAddress ?? '';
    for (const f of n.families) rt.exporters.set(f, this.makeExporter(rt, f, localAddr));
    rt.out = new PeerOutput(n.tx, n.families);
    if (!this.deferring) this.sendFullTable(rt);
  }

  private makeExporter(rt: PeerRuntime, f: FamilyKey, localAddr: string): PathExporter {
    const neg = rt.neg!;
    return new PathExporter({
      peerId: rt.session.config.address,
      peerAs: neg.peerAsn,
      localAs: this.config.asn,
      ibgp: neg.peerAsn === this.config.asn,
      rrClient: rt.cfg.rrClient ?? false,
      nextHopSelf: rt.cfg.nextHopSelf ?? false,
      selfNextHops: this.selfNextHops(f, localAddr),
    }, this.local, { interner: this.interner, ...(rt.exportPolicy ? { policy: rt.exportPolicy } : {}) });
  }

  private selfNextHops(f: FamilyKey, localAddr: string): string[] {
    const v6 = localAddr.includes(':');
    const nh = this.config.nextHops ?? {};
    if (f === IPV4_UNICAST) return !v6 && localAddr ? [localAddr] : nh.ipv4 ? [nh.ipv4] : [];
    const global = v6 && !localAddr.startsWith('fe80') ? localAddr : nh.ipv6;
    if (!global) return [];
    return nh.ipv6LinkLocal ? [global, nh.ipv6LinkLocal] : [global];
  }

  /**
   * Queues every best path `rt` may have (of one family, or all), then
   * End-of-RIB; as an answer to an enhanced refresh (RFC 7313), between a
   * Beginning- and an End-of-Route-Refresh instead.
   */
  private sendFullTable(rt: PeerRuntime, only?: FamilyKey, enhanced = false): void {
    const out = rt.out;
    if (!out) return;
    if (enhanced && only !== undefined && rt.neg) {
      // Changes queued earlier go out after the marker: they belong to the refreshed table.
      rt.session.send(encodeRouteRefresh(only, RouteRefreshSubtype.BeginningOfRouteRefresh, rt.neg.tx));
    }
    for (const [prefix, best] of this.locRib.bestPaths()) {
      const f = familyOfPrefix(prefix);
      if (only !== undefined && f !== only) continue;
      const ex = rt.exporters.get(f);
      if (!ex) continue;
      const attrs = ex.export(prefix, best);
      if (attrs) out.queue(prefix, f, attrs);
    }
    for (const f of rt.exporters.keys()) {
      if (only !== undefined && f !== only) continue;
      if (enhanced) out.queueEndOfRouteRefresh(f);
      else out.queueEndOfRib(f);
    }
    this.scheduleFlush(rt);
  }

  private onDown(rt: PeerRuntime, info: DownInfo): void {
    rt.updatesOut += rt.out?.updatesSent ?? 0;
    const neg = rt.neg;
    rt.neg = undefined;
    rt.out = undefined;
    rt.exporters.clear();
    const adjIn = rt.adjIn;
    if (!adjIn) return;
    // RFC 4724 §4.2: without a NOTIFICATION, a restarting peer's routes stay, marked stale.
    if (neg?.gracefulRestart && !info.notification && neg.gracefulRestart.restartTimeSec > 0) {
      const n = adjIn.markAllStale();
      const sec = neg.gracefulRestart.restartTimeSec;
      this.log.info({ peer: rt.session.config.address, stale: n, restartTimeSec: sec }, 'graceful restart: keeping routes as stale');
      if (rt.staleTimer) clearTimeout(rt.staleTimer);
      rt.staleTimer = setTimeout(() => this.sweepStale(rt, 'restart time expired'), sec * 1000);
      rt.staleTimer.unref();
      return;
    }
    for (const c of adjIn.clear()) this.propagate(c);
    rt.adjIn = undefined;
  }

  private sweepStale(rt: PeerRuntime, why: string): void {
    if (rt.staleTimer) clearTimeout(rt.staleTimer);
    rt.staleTimer = undefined;
    const adjIn = rt.adjIn;
    if (!adjIn || adjIn.staleCount === 0) return;
    const changes = adjIn.sweepStale();
    this.log.info({ peer: rt.session.config.address, removed: changes.length, why }, 'graceful restart: stale routes removed');
    for (const c of changes) this.propagate(c);
    if (!rt.neg) rt.adjIn = undefined;
  }

  private onRouteRefresh(rt: PeerRuntime, family: FamilyKey, subtype: number): void {
    const peer = rt.session.config.address;
    if (subtype === RouteRefreshSubtype.BeginningOfRouteRefresh || subtype === RouteRefreshSubtype.EndOfRouteRefresh) {
      this.onPeerRefreshMarker(rt, family, subtype);
      return;
    }
    if (subtype !== RouteRefreshSubtype.Normal) return; // RFC 7313 §5: ignore an unknown subtype
    if (!rt.exporters.has(family)) return;
    this.log.debug({ peer, family: familyName(family) }, 'route refresh requested');
    if (!this.deferring) this.sendFullTable(rt, family, rt.neg?.enhancedRouteRefresh === true);
  }

  /**
   * RFC 7313 §4 as the receiver: after a Beginning-of-Route-Refresh, what the
   * peer does not send again before the End-of-Route-Refresh is gone.
   */
  private onPeerRefreshMarker(rt: PeerRuntime, family: FamilyKey, subtype: RouteRefreshSubtype): void {
    const adjIn = rt.adjIn;
    if (!adjIn || !rt.neg?.enhancedRouteRefresh) return;
    const peer = rt.session.config.address;
    const inFamily = (prefix: string): boolean => familyOfPrefix(prefix) === family;
    if (subtype === RouteRefreshSubtype.BeginningOfRouteRefresh) {
      const n = adjIn.markStaleWhere(inFamily);
      this.log.debug({ peer, family: familyName(family), stale: n }, 'peer begins a route refresh');
      return;
    }
    const changes = adjIn.sweepStaleWhere(inFamily);
    this.log.info({ peer, family: familyName(family), removed: changes.length }, 'peer ended a route refresh');
    for (const c of changes) this.propagate(c);
  }

  // ------------------------------------------------------------ receiving routes

  private onUpdate(rt: PeerRuntime, u: UpdateMessage): void {
    const adjIn = rt.adjIn;
    const neg = rt.neg;
    rt.updatesIn++;
    if (!adjIn || !neg) return;
    const eor = endOfRibFamily(u);
    if (eor !== undefined) {
      this.onEndOfRib(rt, eor);
      return;
    }
    let withdrawAll = false;
    if (u.errors) {
      const peer = rt.session.config.address;
      for (const p of u.errors.problems) this.log.warn({ peer, code: p.code, subcode: p.subcode, action: p.action, reason: p.reason }, 'malformed UPDATE handled per RFC 7606');
      if (u.errors.action === ErrorAction.AfiSafiDisable) {
        for (const p of u.errors.problems) if (p.family !== undefined) this.disableFamily(rt, p.family);
      }
      withdrawAll = u.errors.action >= ErrorAction.TreatAsWithdraw;
    }
    const changes: RibChange[] = [];
    const take = (c: RibChange | undefined): void => {
      if (c) changes.push(c);
    };
    for (const n of u.withdrawn) take(adjIn.withdraw(n.prefix, n.pathId));
    for (const a of u.attributes) {
      if (a.type === AttrType.MpUnreachNlri) {
        const f = familyKey(a.afi, a.safi);
        if (rt.disabled.has(f)) continue;
        for (const n of a.withdrawn) take(adjIn.withdraw(n.prefix, n.pathId));
      } else if (a.type === AttrType.MpReachNlri) {
        const f = familyKey(a.afi, a.safi);
        if (rt.disabled.has(f) || !rt.exporters.has(f) || a.nlri.length === 0) continue;
        this.announce(rt, adjIn, u, f, a.nlri, withdrawAll, take);
      }
    }
    if (u.nlri.length > 0 && !rt.disabled.has(IPV4_UNICAST)) {
      this.announce(rt, adjIn, u, IPV4_UNICAST, u.nlri, withdrawAll, take);
    }
    for (const c of changes) this.propagate(c);
  }

  private announce(
    rt: PeerRuntime, adjIn: AdjRibIn, u: UpdateMessage, family: FamilyKey, nlri: Nlri[], withdraw: boolean,
    take: (c: RibChange | undefined) => void,
  ): void {
    rt.received += nlri.length;
    let attrs: PathAttrs | undefined;
    if (!withdraw) {
      try {
        const raw = pathAttrsFromUpdate(u.attributes, family, { fourOctetAs: rt.neg?.fourOctetAs ?? true, interner: this.interner });
        attrs = checkImport(raw, adjIn.peer, this.local) === undefined ? sanitizeImport(raw, adjIn.peer, this.interner) : undefined;
        if (!attrs) {
          for (const n of nlri) take(adjIn.reject(n.prefix, n.pathId));
          return;
        }
      } catch (err) {
        this.log.warn({ peer: rt.session.config.address, err: (err as Error).message }, 'UPDATE treated as withdraw');
      }
    }
    if (!attrs) {
      for (const n of nlri) take(adjIn.withdraw(n.prefix, n.pathId));
      return;
    }
    const policy = rt.importPolicy;
    for (const n of nlri) {
      const a = policy === ACCEPT_ALL ? attrs : policy.evaluate(n.prefix, attrs);
      take(a ? adjIn.accept(n.prefix, adjIn.pathFor(a, n.pathId)) : adjIn.reject(n.prefix, n.pathId));
    }
  }

  private disableFamily(rt: PeerRuntime, family: FamilyKey): void {
    if (rt.disabled.has(family) || !rt.adjIn) return;
    rt.disabled.add(family);
    this.log.warn({ peer: rt.session.config.address, family: familyName(family) }, 'RFC 7606: address family disabled for this session');
    for (const [prefix, path] of [...rt.adjIn.accepted()]) {
      if (familyOfPrefix(prefix) === family) {
        const c = rt.adjIn.withdraw(prefix, path.pathId ?? 0);
        if (c) this.propagate(c);
      }
    }
  }

  private onEndOfRib(rt: PeerRuntime, family: FamilyKey): void {
    rt.eorReceived.add(family);
    this.log.debug({ peer: rt.session.config.address, family: familyName(family) }, 'End-of-RIB received');
    const fams = rt.neg?.families ?? [];
    if (fams.every((f) => rt.eorReceived.has(f))) this.sweepStale(rt, 'End-of-RIB received');
    if (this.deferring) {
      const waiting = [...this.peers.values()].some((p) => !p.neg || !p.neg.families.every((f) => p.eorReceived.has(f)));
      if (!waiting) this.endDeferral('End-of-RIB received from every peer');
    }
  }

  private endDeferral(why: string): void {
    if (!this.deferring) return;
    this.deferring = false;
    if (this.deferralTimer) clearTimeout(this.deferralTimer);
    this.log.info({ why }, 'graceful restart: route selection complete, exporting');
    for (const rt of this.peers.values()) {
      const gr = rt.session.config.capabilities.gracefulRestart;
      if (gr) {
        gr.restarting = false;
        gr.forwardingPreserved = [];
      }
      if (rt.out) this.sendFullTable(rt);
    }
  }

  // ------------------------------------------------------------ sending routes

  private propagate(change: RibChange): void {
    const prefix = change.prefix;
    if (this.bestListeners.length > 0) {
      const best = change.best;
      const mp = best ? this.locRib.multipath(prefix) : [];
      const e: BestPathEvent = {
        prefix,
        nextHops: best && !best.source.isLocal ? [...new Set((mp.length > 0 ? mp : [best]).map((p) => p.attrs.nextHops[0]))].filter((x): x is string => !!x) : [],
        local: best?.source.isLocal ?? false,
        withdrawn: best === undefined,
        reason: String(change.reason),
      };
      for (const fn of this.bestListeners) fn(e);
    }
    if (this.deferring) return;
    const family = familyOfPrefix(prefix);
    for (const rt of this.peers.values()) {
      const ex = rt.exporters.get(family);
      if (!ex || !rt.out) continue;
      const d = exportDelta(ex, change);
      if (d === undefined) continue;
      rt.out.queue(prefix, family, d);
      this.scheduleFlush(rt);
    }
  }

  private scheduleFlush(rt: PeerRuntime): void {
    if (rt.flushScheduled) return;
    rt.flushScheduled = true;
    setImmediate(() => {
      rt.flushScheduled = false;
      const out = rt.out;
      if (!out || !rt.session.isEstablished) return;
      const done = out.flush({ write: (b) => rt.session.send(b) });
      // Socket full: the session's 'writable' event reschedules. Batch limit: go on next tick.
      if (!done && rt.session.sendBuffered < 256 * 1024) this.scheduleFlush(rt);
    });
  }

  private disposePeer(rt: PeerRuntime): void {
    if (rt.staleTimer) clearTimeout(rt.staleTimer);
    rt.session.dispose();
  }

  private grEnabled(): boolean {
    return this.config.gracefulRestart?.enabled !== false;
  }
}
