/**
 * One real BGP daemon as an interop peer of tortie, behind one interface:
 * start and restart it, ask it (through its own CLI or API output) whether
 * the session is up, what it holds for a prefix, and which NOTIFICATION it
 * received from us; announce and withdraw its routes; freeze or crash it.
 *
 * Every daemon instance sits in its own namespace and has one IPv4 and one
 * IPv6 session to tortie (two cells of the matrix).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TortieError } from '../../../lib/errors.js';
import {
  birdConfig, birdStaticName, exabgpConfig, exabgpRoute, familyOf, frrBgpdConfig, frrWithdrawCommands, gobgpConfig,
  gobgpRouteArgs, gobgpWithdrawArgs, type Family, type RouteSpec, type RouterSpec,
} from '../../support/daemon-configs.js';
import {
  startBird, startExabgp, startFrr, startGobgp, type BirdHandle, type DaemonHandle, type DaemonKind, type ExabgpHandle,
  type FrrHandle, type GobgpHandle,
} from '../../support/daemons.js';
import type { Netns, Topology } from '../../support/netns.js';

/** What a peer holds for one prefix, normalised across daemons. */
export interface PeerRoute {
  prefix: string;
  nextHop: string;
  asPath: number[];
  localPref?: number;
  communities: string[];
  /** Marked stale by graceful restart (BIRD: the session's graceful restart is active). */
  stale: boolean;
  /** When the daemon last changed the route, as it prints it (changes on a re-announce). */
  stamp: string;
}

export interface ReceivedNotification {
  code: number;
  subcode: number;
  /** Where it was seen, for failure messages. */
  evidence: string;
}

/** BIRD attaches this LOCAL_PREF to routes that arrive without one (so tortie's 100 is distinguishable). */
export const BIRD_DEFAULT_LOCAL_PREF = 77;

export abstract class PeerDaemon {
  abstract readonly kind: DaemonKind;
  readonly topo: Topology;
  readonly ns: Netns;
  readonly spec: RouterSpec;
  protected generation = 0;
  protected handleRef: DaemonHandle | undefined;

  constructor(topo: Topology, ns: Netns, spec: RouterSpec) {
    this.topo = topo;
    this.ns = ns;
    this.spec = spec;
  }

  get handle(): DaemonHandle {
    if (!this.handleRef) throw new TortieError('ERR_TEST_DAEMON_START', `${this.spec.label}: not started`);
    return this.handleRef;
  }

  get name(): string {
    return `${this.kind}@${this.spec.label}#${this.generation}`;
  }

  /** Starts (or, after stop/crash, starts again) the daemon with its configuration. */
  async start(): Promise<void> {
    this.generation++;
    this.handleRef = await this.startDaemon();
  }

  protected abstract startDaemon(): Promise<DaemonHandle>;

  /** SIGTERM (the daemon says goodbye with its own Cease), then wait. */
  async stop(): Promise<void> {
    await this.handleRef?.stop();
  }

  /** SIGKILL every process of the daemon: a crash, no NOTIFICATION. */
  async crash(): Promise<void> {
    const h = this.handle;
    h.signal('SIGKILL', true);
    await h.exited();
    await h.stop();
  }

  /** Goes down the way a gracefully restarting daemon does (default: a crash). */
  async gracefulDown(): Promise<void> {
    await this.crash();
  }

  /** Comes back after gracefulDown() (default: start again). */
  async gracefulUp(): Promise<void> {
    await this.start();
  }

  freeze(): boolean {
    return this.handle.signal('SIGSTOP');
  }

  thaw(): boolean {
    return this.handle.signal('SIGCONT');
  }

  async established(tortieAddress: string): Promise<boolean> {
    return (await this.handle.establishedPeers()).has(tortieAddress);
  }

  /** The route for `prefix` learned from `fromAddress` (tortie), if any. */
  abstract route(prefix: string, fromAddress: string): Promise<PeerRoute | undefined>;

  /**
   * The NOTIFICATION the daemon received from `fromAddress` since `sinceMs`:
   * the first one after that time where the daemon timestamps them (GoBGP's
   * log, ExaBGP's API), else the last one it remembers (BIRD, FRR).
   */
  abstract notificationFrom(fromAddress: string, sinceMs: number): Promise<ReceivedNotification | undefined>;

  /** Withdraws one of its own routes (one marked withdrawLater in the spec). */
  abstract withdraw(rt: RouteSpec): Promise<void>;

  /** The spec's own route object for `rt` (the config generators look routes up by identity). */
  protected ownRoute(rt: RouteSpec): RouteSpec {
    const own = this.spec.routes.find((x) => x.prefix === rt.prefix);
    if (!own) throw new TortieError('ERR_TEST_CONFIG', `${this.spec.label} does not originate ${rt.prefix}`);
    return own;
  }

  logTail(lines = 30): string {
    return this.handleRef?.logTail(lines) ?? '(not started)';
  }

  /** The session (protocol, neighbor) name that faces `tortieAddress`. */
  protected peerName(tortieAddress: string): string {
    const p = this.spec.peers.find((x) => x.peerAddress === tortieAddress);
    if (!p) throw new TortieError('ERR_TEST_CONFIG', `${this.spec.label} has no session to ${tortieAddress}`);
    return p.name;
  }
}

// ---------------------------------------------------------------- BIRD 2

export class BirdPeer extends PeerDaemon {
  readonly kind = 'bird' as const;

  protected startDaemon(): Promise<DaemonHandle> {
    return startBird(this.topo, this.ns, birdConfig(this.spec), { name: this.name });
  }

  private get bird(): BirdHandle {
    return this.handle as BirdHandle;
  }

  /** `birdc graceful restart`: BIRD exits without NOTIFICATIONs so that peers keep its routes. */
  override async gracefulDown(): Promise<void> {
    const out = await this.bird.birdc('graceful restart');
    if (!/graceful restart/i.test(out)) throw new TortieError('ERR_TEST_DAEMON_CLI', `birdc graceful restart said: ${out}`);
    await Promise.race([this.bird.exited(), new Promise((r) => setTimeout(r, 5_000))]);
    await this.bird.stop();
  }

  /** `show route <prefix> all` as BIRD prints it, or undefined when it has no such route. */
  async showRoute(prefix: string): Promise<string | undefined> {
    try {
      return await this.bird.birdc(`show route ${prefix} all`);
    } catch (err) {
      if (err instanceof Error && /Network not found/.test(err.message)) return undefined;
      throw err;
    }
  }

  async protocolInfo(tortieAddress: string): Promise<string> {
    return this.bird.birdc(`show protocols all ${this.peerName(tortieAddress)}`);
  }

  async route(prefix: string, fromAddress: string): Promise<PeerRoute | undefined> {
    const proto = this.peerName(fromAddress);
    let out: string;
    try {
      out = await this.bird.birdc(`show route ${prefix} protocol ${proto} all`);
    } catch (err) {
      // birdc exits 1 with "Network not found" when there is no such route.
      if (err instanceof Error && /Network not found/.test(err.message)) return undefined;
      throw err;
    }
    // Block: "<prefix>  unicast [proto hh:mm:ss.mmm] * (100) [AS65000i]" then indented attribute lines.
    const head = new RegExp(`^(\\S+)?\\s+\\S+\\s+\\[${proto} ([^\\]\\s]+)`, 'm').exec(out);
    if (!head) return undefined;
    const attr = (name: string): string | undefined => new RegExp(`^\\s+BGP\\.${name}:[ \\t]*(.*)$`, 'm').exec(out)?.[1]?.trim();
    const nh = attr('next_hop');
    if (nh === undefined) return undefined;
    const lp = attr('local_pref');
    const gr = /Neighbor graceful restart active/.test(await this.protocolInfo(fromAddress));
    return {
      prefix,
      nextHop: nh.split(/\s+/)[0],
      asPath: (attr('as_path') ?? '').split(/\s+/).filter(Boolean).map(Number),
      ...(lp !== undefined ? { localPref: Number(lp) } : {}),
      communities: [...(attr('community') ?? '').matchAll(/\((\d+),\s*(\d+)\)/g)].map((m) => `${m[1]}:${m[2]}`),
      stale: gr,
      stamp: head[2],
    };
  }

  async notificationFrom(fromAddress: string): Promise<ReceivedNotification | undefined> {
    const info = await this.protocolInfo(fromAddress);
    // e.g. "Last error:       Received: Administrative shutdown"
    const m = /Last error:\s+Received:\s+(.*)$/m.exec(info);
    if (!m) return undefined;
    const code = BIRD_NOTIFICATION_TEXT[m[1].trim().replace(/\s*\(.*$/, '')];
    return code ? { ...code, evidence: `birdc show protocols all: ${m[0].trim()}` } : { code: -1, subcode: -1, evidence: m[0] };
  }

  async withdraw(rt: RouteSpec): Promise<void> {
    const out = await this.bird.birdc(`disable ${birdStaticName(familyOf(rt.prefix), true)}`);
    if (!/disabled/.test(out)) throw new TortieError('ERR_TEST_DAEMON_CLI', `birdc disable said: ${out}`);
  }
}

/** BIRD's texts for the NOTIFICATIONs we expect (nest/proto.c, proto/bgp/bgp.c). */
const BIRD_NOTIFICATION_TEXT: Record<string, { code: number; subcode: number }> = {
  'Administrative shutdown': { code: 6, subcode: 2 },
  'Hold timer expired': { code: 4, subcode: 0 },
};

// ---------------------------------------------------------------- FRR

interface FrrPath {
  aspath?: { segments?: { list?: number[] }[] };
  locPrf?: number;
  community?: { list?: string[] };
  nexthops?: { ip: string; scope?: string }[];
  stale?: boolean;
  lastUpdate?: { epoch?: number };
  peer?: { peerId?: string };
}

export class FrrPeer extends PeerDaemon {
  readonly kind = 'frr' as const;

  protected startDaemon(): Promise<DaemonHandle> {
    return startFrr(this.topo, this.ns, { name: this.name, bgpdConfig: frrBgpdConfig(this.spec) });
  }

  private get frr(): FrrHandle {
    return this.handle as FrrHandle;
  }

  /** kill -9 bgpd alone; zebra stays (FRR's own graceful restart case). */
  override async gracefulDown(): Promise<void> {
    this.frr.signal('SIGKILL');
    await Promise.race([new Promise<void>((resolve) => {
      const tick = (): void => {
        if (!this.frr.running) resolve();
        else setTimeout(tick, 20);
      };
      tick();
    }), new Promise((r) => setTimeout(r, 5_000))]);
  }

  override async gracefulUp(): Promise<void> {
    await this.frr.restartBgpd();
  }

  async route(prefix: string, fromAddress: string): Promise<PeerRoute | undefined> {
    const fam = familyOf(prefix);
    const r = await this.frr.showJson<{ paths?: FrrPath[] }>(`show bgp ${fam} unicast ${prefix}`);
    const p = (r.paths ?? []).find((x) => x.peer?.peerId === fromAddress);
    if (!p) return undefined;
    return {
      prefix,
      nextHop: p.nexthops?.[0]?.ip ?? '',
      asPath: (p.aspath?.segments ?? []).flatMap((s) => s.list ?? []),
      ...(p.locPrf !== undefined ? { localPref: p.locPrf } : {}),
      communities: p.community?.list ?? [],
      stale: p.stale === true,
      stamp: String(p.lastUpdate?.epoch ?? ''),
    };
  }

  async neighbor(address: string): Promise<Record<string, unknown>> {
    const all = await this.frr.showJson<Record<string, Record<string, unknown>>>(`show bgp neighbors ${address}`);
    return all[address] ?? {};
  }

  async notificationFrom(fromAddress: string): Promise<ReceivedNotification | undefined> {
    const n = await this.neighbor(fromAddress);
    // FRR: "lastNotificationReason": "Cease/Administrative Shutdown", "lastResetDueTo": "BGP Notification received".
    const reason = typeof n.lastNotificationReason === 'string' ? n.lastNotificationReason : undefined;
    const due = typeof n.lastResetDueTo === 'string' ? n.lastResetDueTo : '';
    if (!reason || !/received/i.test(due)) return undefined;
    const code = FRR_NOTIFICATION_TEXT[reason.replace(/\s*\(.*$/, '').trim()];
    const evidence = `show bgp neighbors json: lastResetDueTo=${JSON.stringify(due)} lastNotificationReason=${JSON.stringify(reason)}`;
    return code ? { ...code, evidence } : { code: -1, subcode: -1, evidence };
  }

  async withdraw(rt: RouteSpec): Promise<void> {
    await this.frr.vtysh(...frrWithdrawCommands(this.spec, this.ownRoute(rt)));
  }
}

const FRR_NOTIFICATION_TEXT: Record<string, { code: number; subcode: number }> = {
  'Cease/Administrative Shutdown': { code: 6, subcode: 2 },
  'Hold Timer Expired/Unspecific': { code: 4, subcode: 0 },
};

// ---------------------------------------------------------------- GoBGP

interface GobgpPath {
  attrs?: { type: number; nexthop?: string; as_paths?: { asns?: number[] }[]; value?: number; communities?: number[] }[];
  stale?: boolean;
  age?: number;
  'neighbor-ip'?: string;
}

export class GobgpPeer extends PeerDaemon {
  readonly kind = 'gobgp' as const;

  protected async startDaemon(): Promise<DaemonHandle> {
    const h = await startGobgp(this.topo, this.ns, { name: this.name, config: gobgpConfig(this.spec) });
    // GoBGP cannot originate from its configuration file.
    for (const rt of this.spec.routes) await h.gobgp(gobgpRouteArgs(rt));
    return h;
  }

  private get gobgp(): GobgpHandle {
    return this.handle as GobgpHandle;
  }

  async route(prefix: string, fromAddress: string): Promise<PeerRoute | undefined> {
    const rib = await this.gobgp.gobgpJson<Record<string, GobgpPath[]>>(['global', 'rib', '-a', familyOf(prefix), prefix]);
    const p = (rib[prefix] ?? []).find((x) => x['neighbor-ip'] === fromAddress);
    if (!p) return undefined;
    const attrs = p.attrs ?? [];
    const nh = attrs.find((a) => a.type === 3 || a.type === 14)?.nexthop ?? '';
    const lp = attrs.find((a) => a.type === 5)?.value;
    return {
      prefix,
      nextHop: nh,
      asPath: (attrs.find((a) => a.type === 2)?.as_paths ?? []).flatMap((s) => s.asns ?? []),
      ...(lp !== undefined ? { localPref: lp } : {}),
      communities: (attrs.find((a) => a.type === 8)?.communities ?? []).map((c) => `${c >>> 16}:${c & 0xffff}`),
      stale: p.stale === true,
      stamp: String(p.age ?? ''),
    };
  }

  async notificationFrom(fromAddress: string, sinceMs: number): Promise<ReceivedNotification | undefined> {
    const n = await this.gobgp.gobgpJson<{ state?: { messages?: { received?: { notification?: number } } } }>(['neighbor', fromAddress]);
    const count = n.state?.messages?.received?.notification ?? 0;
    if (count === 0) return undefined;
    // The CLI counts NOTIFICATIONs; its log says which one.
    const log = readFileSync(join(this.handle.dir, 'gobgpd.log'), 'utf8').split('\n');
    // time="2026-11-22T12:04:28Z": whole seconds, so allow the second it started in.
    const line = log.find((l) => l.includes('received notification') && (l.includes(`Key=${fromAddress} `) || l.includes(`Key="${fromAddress}"`))
      && Date.parse(/time="([^"]+)"/.exec(l)?.[1] ?? '') >= Math.floor(sinceMs / 1000) * 1000);
    const m = line && /Code=(\d+).*Subcode=(\d+)/.exec(line);
    if (!m) return { code: -1, subcode: -1, evidence: `gobgp neighbor: ${count} notification(s) received, none in the log` };
    return { code: Number(m[1]), subcode: Number(m[2]), evidence: `gobgp neighbor: received.notification=${count}; gobgpd.log: ${line}` };
  }

  async withdraw(rt: RouteSpec): Promise<void> {
    await this.gobgp.gobgp(gobgpWithdrawArgs(this.ownRoute(rt)));
  }
}

// ---------------------------------------------------------------- ExaBGP

interface ExaMessage {
  type: string;
  neighbor?: {
    address?: { peer?: string };
    /** On "state" messages: connected, up, down. */
    state?: string;
    direction?: string;
    notification?: { code: number; subcode: number };
    message?: {
      update?: {
        attribute?: { 'as-path'?: number[]; 'local-preference'?: number; community?: [number, number][] };
        announce?: Record<string, Record<string, { nlri: string }[]>>;
        withdraw?: Record<string, { nlri: string }[]>;
      };
    };
  };
  time?: number;
}

/**
 * ExaBGP keeps no RIB of what it receives; its API process gets every
 * UPDATE and NOTIFICATION as JSON (`receive { parsed; update; notification; }`),
 * which a two-line shell script appends to a file. Replaying that file
 * gives the routes it holds.
 */
export class ExabgpPeer extends PeerDaemon {
  readonly kind = 'exabgp' as const;
  private recvFile = '';

  protected async startDaemon(): Promise<DaemonHandle> {
    const dir = this.topo.tmpDir;
    const tag = `${this.spec.label}-${this.generation}`;
    this.recvFile = join(dir, `exabgp-recv-${tag}.jsonl`);
    const script = join(dir, `exabgp-recv-${tag}.sh`);
    // Not `exec cat`: ExaBGP takes a closed stdout for a dead helper.
    writeFileSync(script, `#!/bin/sh\ncat >> ${this.recvFile}\n`, { mode: 0o755 });
    const spec: RouterSpec = {
      ...this.spec,
      exabgpApi: { name: 'recv', run: script, receive: ['parsed', 'update', 'notification'], neighborChanges: true },
    };
    return startExabgp(this.topo, this.ns, { name: this.name, config: exabgpConfig(spec) });
  }

  private get exa(): ExabgpHandle {
    return this.handle as ExabgpHandle;
  }

  private cliTail: Promise<unknown> = Promise.resolve();

  /**
   * exabgpcli talks through one pair of named pipes; two at once mix up
   * their answers and one of them hangs until its timeout. One at a time.
   */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.cliTail.then(fn, fn);
    this.cliTail = run.catch(() => undefined);
    return run;
  }

  override established(tortieAddress: string): Promise<boolean> {
    return this.serial(() => super.established(tortieAddress));
  }

  /** Every JSON message the API process received so far. */
  messages(): ExaMessage[] {
    if (!existsSync(this.recvFile)) return [];
    const out: ExaMessage[] = [];
    for (const line of readFileSync(this.recvFile, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line) as ExaMessage);
      } catch {
        // a line being written right now
      }
    }
    return out;
  }

  route(prefix: string, fromAddress: string): Promise<PeerRoute | undefined> {
    let current: PeerRoute | undefined;
    for (const m of this.messages()) {
      const n = m.neighbor;
      if (n?.address?.peer !== fromAddress) continue;
      // A session going down loses what it taught (ExaBGP does no graceful restart).
      if (m.type === 'state' && n.state === 'down') current = undefined;
      const u = m.type === 'update' ? n.message?.update : undefined;
      if (!u) continue;
      for (const list of Object.values(u.withdraw ?? {})) if (list.some((x) => x.nlri === prefix)) current = undefined;
      for (const byNh of Object.values(u.announce ?? {})) {
        for (const [nh, list] of Object.entries(byNh)) {
          if (!list.some((x) => x.nlri === prefix)) continue;
          const a = u.attribute ?? {};
          current = {
            prefix,
            nextHop: nh,
            asPath: a['as-path'] ?? [],
            ...(a['local-preference'] !== undefined ? { localPref: a['local-preference'] } : {}),
            communities: (a.community ?? []).map(([x, y]) => `${x}:${y}`),
            stale: false,
            stamp: String(m.time ?? ''),
          };
        }
      }
    }
    return Promise.resolve(current);
  }

  notificationFrom(fromAddress: string, sinceMs: number): Promise<ReceivedNotification | undefined> {
    const m = this.messages().find((x) => x.type === 'notification' && x.neighbor?.address?.peer === fromAddress
      && x.neighbor.direction === 'receive' && x.neighbor.notification && (x.time ?? 0) * 1000 >= sinceMs);
    const n = m?.neighbor?.notification;
    return Promise.resolve(n ? { code: n.code, subcode: n.subcode, evidence: `ExaBGP API JSON: ${JSON.stringify(m)}` } : undefined);
  }

  async withdraw(rt: RouteSpec): Promise<void> {
    const p = this.spec.peers.find((x) => x.families.includes(familyOf(rt.prefix)));
    if (!p) throw new TortieError('ERR_TEST_CONFIG', `no ${familyOf(rt.prefix)} session for ${rt.prefix}`);
    await this.serial(() => this.exa.exabgpcli(`neighbor ${p.peerAddress} withdraw ${exabgpRoute(this.ownRoute(rt))}`));
  }
}

export function peerDaemon(kind: DaemonKind, topo: Topology, ns: Netns, spec: RouterSpec): PeerDaemon {
  switch (kind) {
    case 'bird': return new BirdPeer(topo, ns, spec);
    case 'frr': return new FrrPeer(topo, ns, spec);
    case 'gobgp': return new GobgpPeer(topo, ns, spec);
    case 'exabgp': return new ExabgpPeer(topo, ns, spec);
  }
}

export type { Family };
