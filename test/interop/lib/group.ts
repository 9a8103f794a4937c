/**
 * One column of the interop matrix: tortie in its own namespace with two
 * instances of one daemon kind, each in its own namespace on its own veth:
 *
 *   [eBGP peer, AS 65001] ==veth== [tortie, AS 65000] ==veth== [iBGP peer, AS 65000]
 *
 * Each instance has an IPv4 session (IPv4 unicast) and an IPv6 session
 * (IPv6 unicast, global next hop) with tortie: four cells of the matrix
 * against one tortie process. Both sides originate a route that stays and
 * one that is withdrawn later, per family.
 */
import { join } from 'node:path';
import { IPV4_UNICAST, IPV6_UNICAST } from '../../../bgp/codec/index.js';
import type { PeerConfig, PeerStatus } from '../../../bgp/speaker/types.js';
import type { RouteSpec, RouterSpec } from '../../support/daemon-configs.js';
import { DAEMON_COMMANDS, type DaemonKind } from '../../support/daemons.js';
import { type Netns, Topology, isRoot, requireCommands, waitFor } from '../../support/netns.js';
import { BIRD_DEFAULT_LOCAL_PREF, peerDaemon, type PeerDaemon } from './peers.js';
import { TortieProcess, type TortieRoute, type TortieSpec } from './tortie.js';

export type Mode = 'ebgp' | 'ibgp';
export type Fam = 'ipv4' | 'ipv6';

export const TORTIE_ASN = 65000;
export const EBGP_PEER_ASN = 65001;
export const TORTIE_COMMUNITY = '65000:100';
/** tortie's hold time toward every peer; keepalive 1 s. */
export const HOLD_TIME_SEC = 3;

export interface Cell {
  mode: Mode;
  fam: Fam;
  /** "ebgp/ipv4" */
  id: string;
  tortieAddress: string;
  peerAddress: string;
  peerAsn: number;
  tortiePrefix: string;
  tortieWithdrawPrefix: string;
  peerRoute: RouteSpec;
  peerWithdrawRoute: RouteSpec;
  peerCommunity: string;
  /** LOCAL_PREF the peer sets on its routes (sent on iBGP only). */
  peerLocalPref?: number;
}

interface InstancePlan {
  mode: Mode;
  tortie4: string;
  peer4: string;
  tortie6: string;
  peer6: string;
  asn: number;
  routerId: string;
  community: [number, number];
  localPref?: number;
  prefixes: { ipv4: [string, string]; ipv6: [string, string] };
}

const PLANS: Record<Mode, InstancePlan> = {
  ebgp: {
    mode: 'ebgp', tortie4: '192.0.2.1', peer4: '192.0.2.2', tortie6: '2001:db8:ff:1::1', peer6: '2001:db8:ff:1::2',
    asn: EBGP_PEER_ASN, routerId: '192.0.2.2', community: [65001, 200],
    prefixes: { ipv4: ['203.0.113.0/26', '203.0.113.64/26'], ipv6: ['2001:db8:20::/48', '2001:db8:21::/48'] },
  },
  ibgp: {
    mode: 'ibgp', tortie4: '192.0.2.5', peer4: '192.0.2.6', tortie6: '2001:db8:ff:2::1', peer6: '2001:db8:ff:2::2',
    asn: TORTIE_ASN, routerId: '192.0.2.6', community: [65000, 300], localPref: 150,
    prefixes: { ipv4: ['203.0.113.128/26', '203.0.113.192/26'], ipv6: ['2001:db8:30::/48', '2001:db8:31::/48'] },
  },
};

const TORTIE_PREFIXES: Record<Fam, [string, string]> = {
  ipv4: ['198.51.100.0/25', '198.51.100.128/25'],
  ipv6: ['2001:db8:10::/48', '2001:db8:11::/48'],
};

function plannedRoutes(plan: InstancePlan, fam: Fam): [RouteSpec, RouteSpec] {
  const [keep, later] = plan.prefixes[fam];
  const base = { communities: [plan.community], ...(plan.localPref !== undefined ? { localPref: plan.localPref } : {}) };
  return [{ prefix: keep, ...base }, { prefix: later, withdrawLater: true, ...base }];
}

export function cellsOf(): Cell[] {
  const cells: Cell[] = [];
  for (const mode of ['ebgp', 'ibgp'] as const) {
    const plan = PLANS[mode];
    for (const fam of ['ipv4', 'ipv6'] as const) {
      const [peerRoute, peerWithdrawRoute] = plannedRoutes(plan, fam);
      cells.push({
        mode, fam, id: `${mode}/${fam}`,
        tortieAddress: fam === 'ipv4' ? plan.tortie4 : plan.tortie6,
        peerAddress: fam === 'ipv4' ? plan.peer4 : plan.peer6,
        peerAsn: plan.asn,
        tortiePrefix: TORTIE_PREFIXES[fam][0],
        tortieWithdrawPrefix: TORTIE_PREFIXES[fam][1],
        peerRoute, peerWithdrawRoute,
        peerCommunity: `${plan.community[0]}:${plan.community[1]}`,
        ...(plan.localPref !== undefined ? { peerLocalPref: plan.localPref } : {}),
      });
    }
  }
  return cells;
}

function routerSpec(kind: DaemonKind, plan: InstancePlan): RouterSpec {
  return {
    label: `${kind}-${plan.mode}`,
    asn: plan.asn,
    routerId: plan.routerId,
    gracefulRestart: {},
    frrRouteMapDelaySec: 1,
    peers: [
      { name: 'tortie4', localAddress: plan.peer4, peerAddress: plan.tortie4, peerAsn: TORTIE_ASN, families: ['ipv4'], holdTimeSec: HOLD_TIME_SEC, defaultLocalPref: BIRD_DEFAULT_LOCAL_PREF },
      { name: 'tortie6', localAddress: plan.peer6, peerAddress: plan.tortie6, peerAsn: TORTIE_ASN, families: ['ipv6'], holdTimeSec: HOLD_TIME_SEC, defaultLocalPref: BIRD_DEFAULT_LOCAL_PREF },
    ],
    routes: [...plannedRoutes(plan, 'ipv4'), ...plannedRoutes(plan, 'ipv6')],
  };
}

function tortiePeers(): PeerConfig[] {
  return cellsOf().map((c) => ({
    address: c.peerAddress,
    asn: c.peerAsn,
    localAddress: c.tortieAddress,
    description: c.id,
    families: [c.fam === 'ipv4' ? IPV4_UNICAST : IPV6_UNICAST],
    holdTimeSec: HOLD_TIME_SEC,
    keepaliveSec: 1,
    connectRetrySec: 1,
    idleHoldInitialSec: 1,
  }));
}

/** Fails loudly (never skips) without root or the daemon. */
export function checkPrerequisites(kinds: readonly DaemonKind[]): void {
  if (!isRoot()) throw new Error('the interop tests need root (network namespaces, daemons); run them as root (CI does)');
  requireCommands(['ip', 'sysctl', ...kinds.flatMap((k) => DAEMON_COMMANDS[k])]);
}

export class InteropGroup {
  readonly kind: DaemonKind;
  readonly topo = new Topology();
  readonly cells = cellsOf();
  tortieNs!: Netns;
  readonly peers = new Map<Mode, PeerDaemon>();
  tortie!: TortieProcess;
  private tortieStarts = 0;
  private readonly timings: [string, number][] = [];

  constructor(kind: DaemonKind) {
    this.kind = kind;
  }

  peerOf(cell: Cell): PeerDaemon {
    const p = this.peers.get(cell.mode);
    if (!p) throw new Error(`no ${cell.mode} peer`);
    return p;
  }

  async setup(): Promise<void> {
    this.tortieNs = await this.topo.addNamespace(`tortie-${this.kind}`);
    await Promise.all((['ebgp', 'ibgp'] as const).map(async (mode) => {
      const plan = PLANS[mode];
      const ns = await this.topo.addNamespace(`${this.kind}-${mode}`);
      await this.topo.link(this.tortieNs, ns, {
        aAddresses: [`${plan.tortie4}/30`, `${plan.tortie6}/64`],
        bAddresses: [`${plan.peer4}/30`, `${plan.peer6}/64`],
      });
      this.peers.set(mode, peerDaemon(this.kind, this.topo, ns, routerSpec(this.kind, plan)));
    }));
    await this.startTortie();
    await Promise.all([...this.peers.values()].map((p) => p.start()));
  }

  /** Starts tortie (again) and originates its routes. */
  async startTortie(opts: { restarting?: boolean } = {}): Promise<void> {
    const n = ++this.tortieStarts;
    const spec: TortieSpec = {
      speaker: {
        asn: TORTIE_ASN,
        routerId: '192.0.2.1',
        listen: { address: '::', port: 179 },
        gracefulRestart: { restartTimeSec: 120, deferralSec: 15, ...(opts.restarting ? { restarting: true } : {}) },
      },
      peers: tortiePeers(),
    };
    this.tortie = await TortieProcess.start(this.tortieNs, spec, join(this.topo.tmpDir, `tortie-${this.kind}-${n}.log`));
    for (const fam of ['ipv4', 'ipv6'] as const) {
      for (const prefix of TORTIE_PREFIXES[fam]) await this.tortie.originate(prefix, [TORTIE_COMMUNITY]);
    }
  }

  async teardown(): Promise<void> {
    // Frozen daemons would ignore SIGTERM until SIGKILL; thaw first.
    for (const p of this.peers.values()) {
      try {
        p.thaw();
      } catch {
        // not started
      }
    }
    await this.topo.destroy();
  }

  /** Waits until every cell is Established on both sides. */
  async allEstablished(timeoutMs = 30_000): Promise<void> {
    await Promise.all(this.cells.map((c) => this.cellEstablished(c, timeoutMs)));
  }

  async cellEstablished(cell: Cell, timeoutMs = 30_000): Promise<PeerStatus> {
    const peer = this.peerOf(cell);
    const st = await this.tortie.waitEstablished(cell.peerAddress, timeoutMs);
    await waitFor(`${peer.name}: session to ${cell.tortieAddress} Established`, async () => ((await peer.established(cell.tortieAddress)) ? true : undefined), {
      timeoutMs,
      intervalMs: 250,
      describe: () => `${peer.logTail(15)}\n${this.tortie.logTail(15)}`,
    });
    return st;
  }

  async tortieRoute(prefix: string): Promise<TortieRoute | undefined> {
    return this.tortie.route(prefix);
  }

  /** Runs `fn`, remembering how long it took (for the summary after the run). */
  async timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      this.timings.push([what, Date.now() - t0]);
    }
  }

  timingSummary(): string {
    return this.timings.map(([w, ms]) => `${w} ${(ms / 1000).toFixed(1)} s`).join(', ');
  }

  describe(cell: Cell): string {
    return `${this.peerOf(cell).logTail(20)}\n${this.tortie.logTail(20)}`;
  }
}
