/**
 * The public contract of KernelRoutes (kernel-routes.ts re-exports all of
 * it): options with their defaults, status, stats and apply reports.
 */
import type { Logger } from '../../lib/log.js';
import type { CommandRunner } from './command-runner.js';
import type { IpBatchStats } from './ip-batch.js';
import type { KernelRoute, RouteSlot } from './routes.js';

export interface KernelRoutesOptions {
  /** Our rtm_protocol (1..255, not one BIRD/FRR/iproute2 use). */
  proto: number;
  /** Routing table; default main (254). */
  table?: number;
  runner: CommandRunner;
  /** Work inside this network namespace (tests, benchmarks). */
  netns?: string;
  log: Logger;
  /** Coalescing window for upsert/remove. Default 10 ms. */
  coalesceMs?: number;
  /** Delay before repairing drift seen by the monitor. Default 100 ms. */
  repairDelayMs?: number;
  /** Delay before a full re-read asked for by an event. Default 250 ms. */
  resyncDelayMs?: number;
  /** Back-off for a failed route: first retry, doubling up to the max. Defaults 1 s and 30 s. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Safety net: full re-read this often. Default 10 min; 0 = never. */
  resyncIntervalMs?: number;
  /** Watch `ip monitor` for drift. Default true. */
  monitor?: boolean;
  monitorRestartMs?: number;
  /** Pause the monitor once an apply exceeds this many lines. Default 5000; Infinity = never. */
  muteMonitorAboveLines?: number;
  /** Lines per slice of a large apply (handed to ip while the next is computed). Default 1000. */
  applySliceLines?: number;
  /**
   * Parallel `ip -batch` lanes for large applies. Slices of one apply touch
   * distinct slots, so they may run in any order; applies still run one
   * after another. ip spends about half its time in user space (parsing,
   * and page faults from its per-command leak), so two lanes overlap one's
   * parsing with the other's kernel work: 1.2–1.4× on 2 cores here.
   * Default min(2, CPUs).
   */
  batchLanes?: number;
  /** Passed to IpBatch (per lane). */
  maxCommandsPerProcess?: number;
  batchIdleCloseMs?: number;
  /** Called after every apply (for metrics). */
  onApply?: (info: ApplyInfo) => void;
  /** Clock for latencies, in ms. Default performance.now. */
  now?: () => number;
}

export interface ApplyInfo {
  lines: number;
  added: number;
  replaced: number;
  deleted: number;
  failed: number;
  durationMs: number;
}

export interface RouteFailure {
  op: 'add' | 'replace' | 'del';
  route: KernelRoute;
  line: string;
  message: string;
  attempts: number;
  retryAtMs: number;
}

export type RouteState = 'installed' | 'pending' | 'failed' | 'blocked' | 'adopted';

export interface RouteStatus {
  prefix: string;
  state: RouteState;
  desired?: KernelRoute;
  installed?: KernelRoute[];
  /** The kernel's message for the last failure. */
  error?: string;
  /** The route holding our slot, when blocked. */
  blockedBy?: RouteSlot;
}

export interface KernelRoutesStats {
  /** Our routes in the kernel (as far as we know). */
  routesInstalled: number;
  routesDesired: number;
  routesFailed: number;
  routesBlocked: number;
  applies: number;
  linesApplied: number;
  /** Failed lines, total. */
  errors: number;
  lastApplyMs: number | undefined;
  lastApplyLines: number;
  fullReads: number;
  driftRepairs: number;
  monitorRestarts: number;
  batch: IpBatchStats;
}

export interface AdoptResult {
  adopted: number;
  unmanaged: number;
  foreign: number;
}

export const KERNEL_ROUTES_DEFAULTS = {
  coalesceMs: 10,
  repairDelayMs: 100,
  resyncDelayMs: 250,
  retryMinMs: 1_000,
  retryMaxMs: 30_000,
  resyncIntervalMs: 600_000,
  muteMonitorAboveLines: 5_000,
  applySliceLines: 1_000,
};
