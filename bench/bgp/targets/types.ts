/**
 * What the convergence benchmark needs from a target: something that runs
 * a BGP speaker inside the given namespace, peers with the tester and the
 * monitor as described by TargetConfig, accepts every route from the tester
 * and re-advertises every route to the monitor. BIRD, FRR and GoBGP are in
 * this folder; tortie.ts is the hook for tortie's own speaker.
 */
import type { Netns, Topology } from '../../../test/support/netns.js';

/** One eBGP neighbour of the target. */
export interface BenchPeer {
  /** 'tester' sends the routes, 'monitor' counts what the target re-advertises. */
  role: 'tester' | 'monitor';
  /** The target's own address on the link to this peer. */
  localAddress: string;
  /** The peer's address; the peer connects from it to port 179 of localAddress. */
  peerAddress: string;
  peerAsn: number;
}

export interface TargetConfig {
  /** The run's topology: start processes with `ns.spawn` so that they die with it; use `topo.tmpDir` for files. */
  topo: Topology;
  asn: number;
  routerId: string;
  /** Tester first, then monitor. Both connect actively; the target may also try to connect out. */
  peers: BenchPeer[];
  /** Hold time the target should offer (the tester and monitor offer the same). */
  holdTimeSec: number;
  /** How many prefixes this run will inject (a hint; no target needs it to be correct). */
  prefixCount: number;
}

/** A started target. */
export interface RunningTarget {
  /** Every process whose memory and CPU count as the target's (FRR: zebra and bgpd). */
  pids(): readonly number[];
  /** True while all of its processes run. */
  alive(): boolean;
  /** The last lines of its logs, for error messages. */
  logTail(lines?: number): string;
  /** Stops it (the topology also kills what was spawned through it). Idempotent. */
  stop(): Promise<void>;
}

export interface BenchTarget {
  /** Short name used on the command line and in the table ("bird", "tortie"). */
  readonly name: string;
  /** True when everything it needs is installed (or, for tortie, written). */
  available(): boolean;
  /** Why available() is false, for the report. */
  unavailableReason?(): string;
  /** Starts the speaker in `ns` and resolves once it accepts connections. */
  start(ns: Netns, cfg: TargetConfig): Promise<RunningTarget>;
  /** Pause between both sessions being Established and the first UPDATE (start-up timers). Default 1000 ms. */
  readonly settleMs?: number;
  /** How long to wait for the monitor to count N prefixes before reporting "timeout". */
  timeoutMs?(prefixCount: number): number;
}
