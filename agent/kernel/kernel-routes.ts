/**
 * Keeps the kernel's routes with our proto equal to a desired set.
 *
 *   desired (upsert/remove/setDesired) ──┐
 *   shadow of the kernel (our routes,    ├─ diff per tick ─→ one `ip -batch` run
 *   and the slots others hold)        ───┘
 *
 * - start() reads the table with `ip -json` and adopts every route with our
 *   proto. Nothing is deleted until the desired set is known to be complete
 *   (setDesired(), or declareComplete() after upserts). So a restart never
 *   flushes, and routes not yet re-learned stay in place.
 * - Changes are coalesced (`coalesceMs`) and applied as one diff through a
 *   long-lived, bounded `ip -force -batch -` (ip-batch.ts). Only prefixes that
 *   changed are diffed, against a shadow of what the kernel holds, so a tick
 *   costs O(changes), not O(table).
 * - A slot (table, prefix, metric) held by a route that is not ours is left
 *   alone: our route is "blocked" and reported. New routes go in with
 *   `route add`, which fails rather than overwrite a route that appeared
 *   meanwhile; `route replace` is only used over our own route.
 * - `ip monitor route link` keeps the shadow true. Each event is applied
 *   to the shadow; when it disagrees with what we want, the prefix is
 *   re-diffed after `repairDelayMs`. That is how a route someone deletes is
 *   restored. Events we cannot place, a link going down (IPv4 drops its
 *   routes without telling anyone), an overrun or a monitor restart cause a
 *   full re-read instead.
 * - A failed line is logged with the route and the kernel's message, kept
 *   in status(), and retried with exponential back-off. The desired set is
 *   never changed by a failure. The shadow is corrected (and, where the
 *   outcome is unclear, re-read), so the next pass retries exactly what is
 *   missing.
 * - During an apply of more than `muteMonitorAboveLines` lines the monitor
 *   is paused (it would only report our own changes, and on 2 cores it cost
 *   15–40 % of batch throughput here); afterwards it restarts and the table
 *   is re-read in the background, which catches anything that happened
 *   meanwhile.
 * - stop() stops the monitor and the batch process and leaves every route.
 */
import { performance } from 'node:perf_hooks';
import { TortieError } from '../../lib/errors.js';
import { type Logger } from '../../lib/log.js';
import type { CommandRunner } from './command-runner.js';
import { type BatchLineFailure, type BatchOutcome, IpBatch, type IpBatchStats } from './ip-batch.js';
import type { MonitorEvent, MonitorRouteEvent } from './monitor-events.js';
import { RouteMonitor } from './route-monitor.js';
import {
  type KernelRoute,
  type RenderedBatch,
  type RouteDiff,
  type RouteInput,
  type RouteSlot,
  RouteTable,
  canonicalPrefix,
  checkOwnProto,
  checkTable,
  describeRoute,
  diffRoutes,
  normalizeRoute,
  parseIpJsonRoutes,
  renderBatchWithRoutes,
  routeSatisfies,
  slotKey,
} from './routes.js';

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
  /** Pause the monitor during applies of more prefixes than this. Default 5000; Infinity = never. */
  muteMonitorAboveLines?: number;
  /** Lines per slice of a large apply (handed to ip while the next is computed). Default 1000. */
  applySliceLines?: number;
  /** Passed to IpBatch. */
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

const DEFAULTS = {
  coalesceMs: 10,
  repairDelayMs: 100,
  resyncDelayMs: 250,
  retryMinMs: 1_000,
  retryMaxMs: 30_000,
  resyncIntervalMs: 600_000,
  muteMonitorAboveLines: 5_000,
  applySliceLines: 1_000,
};

type Resync = { dueMs: number; background: boolean; reason: string };

export class KernelRoutes {
  private readonly proto: number;
  private readonly table: number;
  private readonly o: KernelRoutesOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly batch: IpBatch;
  private readonly monitor: RouteMonitor | undefined;

  private readonly desired = new Map<string, KernelRoute>();
  /** Our routes in the kernel, by prefix (one per metric). */
  private readonly installed = new Map<string, KernelRoute[]>();
  /** Slots held by routes we must not touch, by prefix. */
  private readonly occupied = new Map<string, RouteSlot[]>();
  private readonly blocked = new Map<string, RouteSlot>();
  private readonly failed = new Map<string, RouteFailure>();
  private readonly dirty = new Set<string>();
  private readonly removedBeforeComplete = new Set<string>();
  private complete = false;
  private fullDiff = true;
  private resync: Resync | undefined;

  private started = false;
  private stopped = false;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerDueMs = Infinity;
  private retryTimer: NodeJS.Timeout | undefined;
  private intervalTimer: NodeJS.Timeout | undefined;
  private reading = false;
  private readonly eventsDuringRead: MonitorEvent[] = [];
  private waiters: { background: boolean; resolve: () => void }[] = [];
  private readonly counters = { applies: 0, linesApplied: 0, errors: 0, lastApplyMs: undefined as number | undefined, lastApplyLines: 0, fullReads: 0, driftRepairs: 0 };

  constructor(opts: KernelRoutesOptions) {
    checkOwnProto(opts.proto);
    this.table = opts.table ?? RouteTable.Main;
    checkTable(this.table);
    this.proto = opts.proto;
    this.o = opts;
    this.log = opts.log;
    this.now = opts.now ?? (() => performance.now());
    this.batch = new IpBatch({
      runner: opts.runner,
      netns: opts.netns,
      maxCommandsPerProcess: opts.maxCommandsPerProcess,
      idleCloseMs: opts.batchIdleCloseMs,
      log: opts.log,
    });
    if (opts.monitor ?? true) {
      this.monitor = new RouteMonitor({
        runner: opts.runner,
        netns: opts.netns,
        proto: opts.proto,
        log: opts.log,
        restartMs: opts.monitorRestartMs,
        onEvent: (ev) => this.onMonitorEvent(ev),
        onLost: (why) => this.requestResync(why, this.opt('resyncDelayMs'), false),
      });
    }
  }

  // ------------------------------------------------------------ public API

  /**
   * Starts the monitor, reads the table and adopts our routes (deleting
   * nothing), then applies what is desired so far. Resolves after that
   * first apply.
   */
  async start(): Promise<AdoptResult> {
    if (this.started) throw new TortieError('ERR_KERNEL_ROUTES_STATE', 'KernelRoutes already started');
    this.started = true;
    this.monitor?.start();
    this.batch.warm();
    const adopted = await this.readKernel();
    this.log.info({ proto: this.proto, table: this.table, ...adopted }, 'adopted existing kernel routes');
    const interval = this.opt('resyncIntervalMs');
    if (interval > 0) {
      this.intervalTimer = setInterval(() => this.requestResync('periodic check', 0, true), interval);
      this.intervalTimer.unref();
    }
    this.fullDiff = true;
    this.schedule(0);
    await this.settled();
    return adopted;
  }

  /**
   * Replaces the whole desired set; it is complete from now on, so our
   * routes not in it are deleted. Invalid routes are skipped, logged and
   * returned; the rest apply.
   */
  setDesired(routes: Iterable<RouteInput> | ReadonlyMap<string, RouteInput>): { rejected: { prefix: string; message: string }[] } {
    const items: Iterable<RouteInput> = isMap(routes) ? routes.values() : routes;
    const next = new Map<string, KernelRoute>();
    const rejected: { prefix: string; message: string }[] = [];
    for (const input of items) {
      try {
        const r = normalizeRoute(input, { proto: this.proto, table: this.table });
        next.set(r.prefix, r);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        rejected.push({ prefix: input.prefix, message });
        this.log.warn({ prefix: input.prefix, err: message }, 'desired route rejected');
      }
    }
    for (const [p, old] of this.desired) {
      const r = next.get(p);
      if (r === undefined || !sameRoute(old, r)) this.touch(p);
    }
    for (const [p, r] of next) {
      const old = this.desired.get(p);
      if (old === undefined || !sameRoute(old, r)) this.touch(p);
    }
    this.desired.clear();
    for (const [p, r] of next) this.desired.set(p, r);
    this.markComplete();
    this.schedule(this.opt('coalesceMs'));
    return { rejected };
  }

  /** Adds or changes one desired route. Throws KernelRouteError (ERR_KERNEL_ROUTE_INVALID). */
  upsert(input: RouteInput): void {
    const r = normalizeRoute(input, { proto: this.proto, table: this.table });
    const old = this.desired.get(r.prefix);
    this.removedBeforeComplete.delete(r.prefix);
    if (old !== undefined && sameRoute(old, r)) return;
    this.desired.set(r.prefix, r);
    this.touch(r.prefix);
    this.schedule(this.opt('coalesceMs'));
  }

  /** Withdraws one desired prefix (our route for it is deleted, also before completeness). */
  remove(prefix: string): void {
    const p = canonicalPrefix(prefix);
    if (p === undefined || !prefix.includes('/')) throw new TortieError('ERR_KERNEL_ROUTE_INVALID', `not a prefix: ${JSON.stringify(prefix)}`);
    this.desired.delete(p);
    if (!this.complete) this.removedBeforeComplete.add(p);
    this.touch(p);
    this.schedule(this.opt('coalesceMs'));
  }

  /** The upserts so far are the whole desired set: adopted routes not in it may now be deleted. */
  declareComplete(): void {
    this.markComplete();
    this.schedule(this.opt('coalesceMs'));
  }

  /**
   * Resolves once every change made so far is in the kernel, or has failed
   * (and waits for its retry) or is blocked. Does not wait for background
   * re-reads or retries.
   */
  settled(): Promise<void> {
    return this.waitFor(false);
  }

  /** Like settled(), and also waits for pending background re-reads. */
  idle(): Promise<void> {
    return this.waitFor(true);
  }

  /** Re-reads the kernel now and applies the difference; resolves when done. */
  async reconcile(): Promise<void> {
    if (!this.started || this.stopped) throw new TortieError('ERR_KERNEL_ROUTES_STATE', 'KernelRoutes is not running');
    this.requestResync('reconcile() called', 0, false);
    await this.settled();
  }

  get isComplete(): boolean {
    return this.complete;
  }

  /** True once started, complete, and nothing is pending (failed/blocked routes do not count). */
  get isReconciled(): boolean {
    return this.started && this.complete && !this.hasWork(false) && this.running === undefined;
  }

  stats(): KernelRoutesStats {
    let installed = 0;
    for (const list of this.installed.values()) installed += list.length;
    return {
      routesInstalled: installed,
      routesDesired: this.desired.size,
      routesFailed: this.failed.size,
      routesBlocked: this.blocked.size,
      applies: this.counters.applies,
      linesApplied: this.counters.linesApplied,
      errors: this.counters.errors,
      lastApplyMs: this.counters.lastApplyMs,
      lastApplyLines: this.counters.lastApplyLines,
      fullReads: this.counters.fullReads,
      driftRepairs: this.counters.driftRepairs,
      monitorRestarts: this.monitor?.restarts ?? 0,
      batch: this.batch.stats(),
    };
  }

  /** Per-prefix state of desired and adopted routes, sorted by prefix (or just `prefix`). */
  status(prefix?: string): RouteStatus[] {
    const prefixes = prefix !== undefined ? [canonicalPrefix(prefix) ?? prefix] : [...new Set([...this.desired.keys(), ...this.installed.keys()])].sort();
    const out: RouteStatus[] = [];
    for (const p of prefixes) {
      const desired = this.desired.get(p);
      const installed = this.installed.get(p);
      if (desired === undefined && installed === undefined) continue;
      const s: RouteStatus = { prefix: p, state: 'pending' };
      if (desired) s.desired = desired;
      if (installed) s.installed = installed;
      const failure = this.failed.get(p);
      const by = this.blocked.get(p);
      if (by) {
        s.state = 'blocked';
        s.blockedBy = by;
      } else if (failure) {
        s.state = 'failed';
        s.error = failure.message;
      } else if (desired === undefined) {
        s.state = 'adopted';
      } else if (installed?.some((c) => routeSatisfies(desired, c))) {
        s.state = 'installed';
      }
      out.push(s);
    }
    return out;
  }

  /** Failures waiting for a retry, by prefix. */
  failures(): ReadonlyMap<string, RouteFailure> {
    return this.failed;
  }

  /** Stops watching and applying. Routes stay in the kernel. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of [this.timer, this.retryTimer]) if (t) clearTimeout(t);
    if (this.intervalTimer) clearInterval(this.intervalTimer);
    await this.running?.catch(() => undefined);
    await this.monitor?.stop();
    await this.batch.close();
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  // ------------------------------------------------------------ scheduling

  private opt<K extends keyof typeof DEFAULTS>(k: K): number {
    return this.o[k] ?? DEFAULTS[k];
  }

  private touch(prefix: string): void {
    this.dirty.add(prefix);
    this.failed.delete(prefix);
  }

  private markComplete(): void {
    if (!this.complete) {
      this.complete = true;
      this.fullDiff = true;
      this.removedBeforeComplete.clear();
    }
  }

  private schedule(delayMs: number): void {
    if (!this.started || this.stopped) return;
    const due = this.now() + delayMs;
    if (this.running !== undefined) return; // the pass re-schedules when it ends
    if (this.timer !== undefined && this.timerDueMs <= due) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerDueMs = due;
    this.timer = setTimeout(() => this.kick(), Math.max(0, delayMs));
  }

  private kick(): void {
    this.timer = undefined;
    this.timerDueMs = Infinity;
    if (this.stopped || this.running !== undefined) return;
    this.running = this.pass()
      .catch((err: unknown) => {
        this.counters.errors++;
        this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'kernel route pass failed; will re-read and retry');
        this.requestResync('pass failed', this.backoffMs(1), true);
      })
      .finally(() => {
        this.running = undefined;
        this.afterPass();
      });
  }

  private afterPass(): void {
    if (this.stopped) return;
    if (this.dirty.size > 0 || this.fullDiff) this.schedule(0);
    else if (this.resync) this.schedule(Math.max(0, this.resync.dueMs - this.now()));
    this.armRetryTimer();
    this.releaseWaiters();
  }

  private hasWork(background: boolean): boolean {
    if (this.dirty.size > 0 || this.fullDiff) return true;
    return this.resync !== undefined && (background || !this.resync.background);
  }

  private waitFor(background: boolean): Promise<void> {
    if (this.stopped || (this.started && this.running === undefined && !this.hasWork(background))) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ background, resolve }));
  }

  private releaseWaiters(): void {
    if (this.running !== undefined) return;
    this.waiters = this.waiters.filter((w) => {
      if (this.hasWork(w.background)) return true;
      w.resolve();
      return false;
    });
  }

  private requestResync(reason: string, delayMs: number, background: boolean): void {
    const dueMs = this.now() + delayMs;
    if (this.resync === undefined) {
      this.resync = { dueMs, background, reason };
    } else {
      if (dueMs < this.resync.dueMs) this.resync.reason = reason;
      this.resync.dueMs = Math.min(this.resync.dueMs, dueMs);
      this.resync.background &&= background;
    }
    this.schedule(Math.max(0, this.resync.dueMs - this.now()));
  }

  private backoffMs(attempts: number): number {
    return Math.min(this.opt('retryMaxMs'), this.opt('retryMinMs') * 2 ** Math.max(0, attempts - 1));
  }

  private armRetryTimer(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.stopped || this.failed.size === 0) return;
    let next = Infinity;
    for (const f of this.failed.values()) next = Math.min(next, f.retryAtMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      const now = this.now();
      for (const [p, f] of this.failed) if (f.retryAtMs <= now + 1) this.dirty.add(p);
      this.schedule(0);
    }, Math.max(0, next - this.now()));
    this.retryTimer.unref();
  }

  // ------------------------------------------------------------ one pass

  private async pass(): Promise<void> {
    if (this.resync && this.resync.dueMs <= this.now() + 1) {
      const { reason } = this.resync;
      this.resync = undefined;
      this.log.debug({ reason }, 're-reading kernel routes');
      await this.readKernel();
      this.fullDiff = true;
    }
    const prefixes = this.fullDiff ? new Set([...this.desired.keys(), ...this.installed.keys(), ...this.dirty]) : new Set(this.dirty);
    this.fullDiff = false;
    this.dirty.clear();
    const now = this.now();
    const considered: string[] = [];
    for (const p of prefixes) {
      const f = this.failed.get(p);
      if (f === undefined || f.retryAtMs <= now + 1) considered.push(p); // else its retry timer brings it back
    }
    if (considered.length === 0) return;

    // Large applies go out in slices: ip works on one while we compute the next.
    const sliceSize = this.opt('applySliceLines');
    const mute = this.monitor !== undefined && this.monitor.running && considered.length > this.opt('muteMonitorAboveLines');
    if (mute) this.monitor?.pause();
    const t0 = this.now();
    const applied: Promise<SliceResult>[] = [];
    try {
      for (let i = 0; i < considered.length; i += sliceSize) {
        const plan = this.planSlice(considered.slice(i, i + sliceSize));
        if (plan.lines.length > 0) applied.push(this.batch.exec(plan.lines).then((outcome) => this.settleSlice(plan, outcome)));
        if (i + sliceSize < considered.length) await yieldToEventLoop();
      }
      const results = await Promise.all(applied);
      if (results.length === 0) return;
      const total: ApplyInfo = { lines: 0, added: 0, replaced: 0, deleted: 0, failed: 0, durationMs: this.now() - t0 };
      let needRead = false;
      let nextRetry = Infinity;
      for (const r of results) {
        total.lines += r.plan.lines.length;
        total.added += r.plan.diff.add.length;
        total.replaced += r.plan.diff.replace.length;
        total.deleted += r.plan.diff.del.length;
        total.failed += r.failed;
        needRead ||= r.needRead;
        nextRetry = Math.min(nextRetry, r.nextRetryMs);
      }
      if (needRead) {
        const delay = Math.min(Math.max(0, nextRetry - this.now()), this.opt('retryMaxMs'));
        this.requestResync('unclear outcome of failed lines', delay, true);
      }
      this.counters.applies++;
      this.counters.linesApplied += total.lines;
      this.counters.errors += total.failed;
      this.counters.lastApplyMs = total.durationMs;
      this.counters.lastApplyLines = total.lines;
      this.log.debug({ ...total }, 'applied kernel route diff');
      this.o.onApply?.(total);
    } finally {
      if (mute && !this.stopped) {
        this.monitor?.start();
        this.requestResync('verify after a large apply with the monitor paused', 0, true);
      }
    }
  }

  /** Diffs some prefixes, renders their lines and moves the shadow (optimistically) to the result. */
  private planSlice(prefixes: readonly string[]): SlicePlan {
    const desired: KernelRoute[] = [];
    const current: KernelRoute[] = [];
    const occupied: RouteSlot[] = [];
    for (const p of prefixes) {
      const d = this.desired.get(p);
      if (d !== undefined) desired.push(d);
      const cur = this.installed.get(p);
      // Before the desired set is complete, adopted routes nobody mentioned stay.
      if (cur !== undefined && (d !== undefined || this.complete || this.removedBeforeComplete.has(p))) current.push(...cur);
      const occ = this.occupied.get(p);
      if (occ !== undefined) occupied.push(...occ);
      this.blocked.delete(p);
    }
    const diff = diffRoutes(desired, current, { occupied });
    // A prefix that needs nothing done is in place, whatever failed before.
    if (this.failed.size > 0) {
      const busy = new Set([...diff.add, ...diff.replace, ...diff.del, ...diff.blocked.map((b) => b.route)].map((r) => r.prefix));
      for (const p of prefixes) {
        if (!busy.has(p) && this.failed.delete(p)) this.log.info({ prefix: p }, 'route found in place after an earlier failure');
      }
    }
    for (const { route, by } of diff.blocked) {
      this.blocked.set(route.prefix, by);
      this.log.warn({ route: describeRoute(route), heldBy: by }, 'route not installed: its slot holds a route that is not ours');
    }
    const { lines, ops } = renderBatchWithRoutes(diff);
    // The shadow moves first, so monitor events caused by these lines match
    // it; settleSlice() puts right what failed.
    for (const op of ops) {
      if (op.op === 'del') this.shadowRemove(op.route);
      else this.shadowSet(op.route);
    }
    return { diff, lines, ops };
  }

  private settleSlice(plan: SlicePlan, outcome: BatchOutcome): SliceResult {
    const { ops } = plan;
    const failedIdx = new Set<number>();
    let needRead = outcome.unknown.length > 0;
    for (const f of [...outcome.failures, ...outcome.unknown]) {
      const op = ops[f.index];
      if (op.op === 'del' && /No such process/.test(f.message)) continue; // already gone
      failedIdx.add(f.index);
      needRead = this.recordFailure(op.op, op.route, f) || needRead;
    }
    let nextRetryMs = Infinity;
    for (const i of failedIdx) nextRetryMs = Math.min(nextRetryMs, this.failed.get(ops[i].route.prefix)?.retryAtMs ?? Infinity);
    if (this.failed.size > 0) {
      for (let i = 0; i < ops.length; i++) {
        if (failedIdx.has(i)) continue;
        const prev = this.failed.get(ops[i].route.prefix);
        if (prev && prev.route === ops[i].route) {
          this.failed.delete(ops[i].route.prefix);
          this.log.info({ route: describeRoute(ops[i].route), attempts: prev.attempts }, 'route installed after earlier failures');
        }
      }
    }
    return { plan, failed: failedIdx.size, needRead, nextRetryMs };
  }

  /** Records a failed line and corrects the shadow; returns true when the kernel should be re-read. */
  private recordFailure(op: 'add' | 'replace' | 'del', route: KernelRoute, f: BatchLineFailure): boolean {
    const prev = this.failed.get(route.prefix);
    const attempts = (prev?.attempts ?? 0) + 1;
    const retryAtMs = this.now() + this.backoffMs(attempts);
    this.failed.set(route.prefix, { op, route, line: f.line, message: f.message, attempts, retryAtMs });
    this.log.warn(
      { op, route: describeRoute(route), error: f.message, attempts, retryInMs: Math.round(retryAtMs - this.now()) },
      'kernel rejected a route change',
    );
    if (op === 'add') {
      this.shadowRemove(route);
      // "File exists": someone took the slot; find out who.
      return /File exists/.test(f.message);
    }
    if (op === 'del') this.shadowSet(route);
    // A failed replace or delete leaves the slot in a state we cannot be sure of.
    return true;
  }

  // ------------------------------------------------------------ reading the kernel

  private async readKernel(): Promise<AdoptResult> {
    this.reading = true;
    try {
      const results = await Promise.all(
        ([4, 6] as const).map(async (family) => {
          const r = await this.o.runner.run(['ip', '-N', '-json', `-${family}`, 'route', 'show', 'table', String(this.table)], {
            netns: this.o.netns,
          });
          if (r.code !== 0) {
            throw new TortieError('ERR_KERNEL_READ', `ip -json -${family} route show table ${this.table} failed: ${r.stderr.trim() || `exit ${String(r.code)}`}`);
          }
          return parseIpJsonRoutes(r.stdout, this.proto, { family, table: this.table });
        }),
      );
      this.installed.clear();
      this.occupied.clear();
      const result: AdoptResult = { adopted: 0, unmanaged: 0, foreign: 0 };
      for (const parsed of results) {
        for (const r of parsed.ours) this.shadowSet(r);
        for (const s of [...parsed.unmanaged, ...parsed.foreign]) this.occupiedSet(s);
        result.adopted += parsed.ours.length;
        result.unmanaged += parsed.unmanaged.length;
        result.foreign += parsed.foreign.length;
      }
      this.counters.fullReads++;
      return result;
    } finally {
      this.reading = false;
      // Events that arrived during the read may or may not be in it; they
      // set or delete one slot each, so replaying them is always right.
      for (const ev of this.eventsDuringRead.splice(0)) this.onMonitorEvent(ev);
    }
  }

  // ------------------------------------------------------------ monitor events

  private onMonitorEvent(ev: MonitorEvent): void {
    if (this.stopped) return;
    if (this.reading) {
      this.eventsDuringRead.push(ev);
      return;
    }
    switch (ev.type) {
      case 'link':
        if (ev.deleted || !ev.up) {
          if (this.usesDev(ev.ifname)) this.requestResync(`link ${ev.ifname} went down`, this.opt('repairDelayMs'), false);
        } else if (this.failed.size > 0) {
          for (const f of this.failed.values()) f.retryAtMs = 0;
          for (const p of this.failed.keys()) this.dirty.add(p);
          this.schedule(this.opt('repairDelayMs'));
        }
        return;
      case 'other':
        this.log.debug({ line: ev.text }, 'unrecognised ip monitor line; re-reading');
        this.requestResync('unrecognised monitor line', this.opt('resyncDelayMs'), false);
        return;
      case 'route':
        this.onRouteEvent(ev);
        return;
    }
  }

  private onRouteEvent(ev: MonitorRouteEvent): void {
    if (ev.prefix === undefined) {
      if (ev.table === this.table && ev.proto === this.proto) this.requestResync('route event without a family', this.opt('resyncDelayMs'), false);
      return;
    }
    if (ev.table !== this.table) return;
    const p = ev.prefix;
    const slot = ev.route ?? ev.slot;
    if (slot === undefined) return;
    const key = slotKey(slot);
    const mine = this.installed.get(p)?.find((r) => slotKey(r) === key);
    let drift = false;
    if (ev.deleted) {
      if (mine !== undefined && ev.route !== undefined) {
        this.shadowRemove(mine);
        drift = true;
      } else {
        this.occupiedRemove(slot);
      }
    } else if (ev.route !== undefined) {
      this.occupiedRemove(slot);
      if (mine === undefined || !routeSatisfies(mine, ev.route)) drift = true;
      this.shadowSet(ev.route);
    } else if (ev.slot !== undefined) {
      if (mine !== undefined) {
        this.shadowRemove(mine);
        drift = true;
      }
      this.occupiedSet(ev.slot);
    }
    const wanted = this.desired.has(p);
    if (drift || (wanted && ev.route === undefined)) {
      if (drift) this.counters.driftRepairs++;
      if (drift) this.log.info({ prefix: p, deleted: ev.deleted, proto: ev.proto }, 'kernel route changed behind our back; repairing');
      this.dirty.add(p);
      this.schedule(this.opt('repairDelayMs'));
    }
  }

  private usesDev(dev: string): boolean {
    for (const list of this.installed.values()) for (const r of list) for (const h of r.nextHops) if (h.dev === dev) return true;
    return false;
  }

  // ------------------------------------------------------------ shadow

  private shadowSet(route: KernelRoute): void {
    const key = slotKey(route);
    const list = this.installed.get(route.prefix);
    if (list === undefined) {
      this.installed.set(route.prefix, [route]);
      return;
    }
    const i = list.findIndex((r) => slotKey(r) === key);
    if (i >= 0) list[i] = route;
    else list.push(route);
  }

  private shadowRemove(route: { prefix: string; table?: number; metric?: number }): void {
    const list = this.installed.get(route.prefix);
    if (list === undefined) return;
    const key = slotKey(route);
    const rest = list.filter((r) => slotKey(r) !== key);
    if (rest.length === 0) this.installed.delete(route.prefix);
    else this.installed.set(route.prefix, rest);
  }

  private occupiedSet(s: RouteSlot): void {
    const key = slotKey(s);
    const list = (this.occupied.get(s.prefix) ?? []).filter((x) => slotKey(x) !== key);
    list.push(s);
    this.occupied.set(s.prefix, list);
  }

  private occupiedRemove(s: { prefix: string; table?: number; metric?: number }): void {
    const list = this.occupied.get(s.prefix);
    if (list === undefined) return;
    const key = slotKey(s);
    const rest = list.filter((x) => slotKey(x) !== key);
    if (rest.length === 0) this.occupied.delete(s.prefix);
    else this.occupied.set(s.prefix, rest);
  }
}

interface SlicePlan {
  diff: RouteDiff;
  lines: string[];
  ops: RenderedBatch['ops'];
}

interface SliceResult {
  plan: SlicePlan;
  failed: number;
  needRead: boolean;
  nextRetryMs: number;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function isMap(x: Iterable<RouteInput> | ReadonlyMap<string, RouteInput>): x is ReadonlyMap<string, RouteInput> {
  return x instanceof Map;
}

function sameRoute(a: KernelRoute, b: KernelRoute): boolean {
  return a.kind === b.kind && slotKey(a) === slotKey(b) && describeRoute(a) === describeRoute(b);
}
