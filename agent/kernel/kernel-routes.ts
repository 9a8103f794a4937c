/**
 * Keeps the kernel's routes with our proto equal to a desired set.
 *
 *   desired (upsert/remove/setDesired) ──┐
 *   shadow of the kernel (our routes,    ├─ diff of what changed ─→ `ip -batch`
 *   and the slots others hold)        ───┘
 *
 * - start() reads the table with `ip -json` and adopts every route with our
 *   proto. Nothing is deleted until the desired set is known to be complete
 *   (setDesired(), or declareComplete() after upserts). So a restart never
 *   flushes, and routes not yet re-learned stay in place.
 * - Changes are coalesced (`coalesceMs`) and applied as one diff through
 *   long-lived, bounded `ip -force -batch -` processes (ip-batch.ts). Only
 *   prefixes that changed are diffed, against a shadow of what the kernel
 *   holds (prefix-table.ts), so an apply costs O(changes), not O(table).
 *   A large apply goes out in slices, so ip works while the next slice is
 *   computed, over two lanes (two ip processes) where there are two CPUs.
 * - A slot (table, prefix, metric) held by a route that is not ours is left
 *   alone: our route is "blocked" and reported. New routes go in with
 *   `route add`, which fails rather than overwrite a route that appeared
 *   meanwhile; `route replace` is only used over our own route.
 * - `ip monitor route link` keeps the shadow true. Each event is applied to
 *   the shadow; when it disagrees with what we want, the prefix is diffed
 *   again after `repairDelayMs`. That is how a route someone deletes is
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
 * - stop() stops the monitor and the ip processes and leaves every route.
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { TortieError } from '../../lib/errors.js';
import { type Logger } from '../../lib/log.js';
import type { BatchLineFailure, BatchOutcome } from './ip-batch.js';
import { IpLanes } from './ip-lanes.js';
import type { MonitorEvent, MonitorRouteEvent } from './monitor-events.js';
import {
  type AdoptResult,
  KERNEL_ROUTES_DEFAULTS,
  type KernelRoutesOptions,
  type KernelRoutesStats,
  type RouteFailure,
  type RouteStatus,
} from './kernel-routes-types.js';
import { type SliceResult, summarizeSlices, yieldToEventLoop } from './apply-result.js';
import { readOwnRoutes, routeStatuses } from './kernel-read.js';
import { RouteMonitor } from './route-monitor.js';
import { type ApplyOp, type PlannedApply, type PrefixState, PrefixTable } from './prefix-table.js';
import {
  type KernelRoute,
  type RouteInput,
  type RouteSlot,
  RouteTable,
  canonicalPrefix,
  checkOwnProto,
  checkTable,
  describeRoute,
  normalizeRoute,
} from './routes.js';

export * from './kernel-routes-types.js';

type Resync = { dueMs: number; background: boolean; reason: string };

export class KernelRoutes {
  private readonly proto: number;
  private readonly table: number;
  private readonly o: KernelRoutesOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly lanes: IpLanes;
  private readonly monitor: RouteMonitor | undefined;

  private readonly state = new PrefixTable();
  /** Routes whose last line failed, waiting for a retry (rare: a map of its own). */
  private readonly failed = new Map<string, RouteFailure>();
  private readonly blocked = new Map<string, RouteSlot>();
  private fullDiff = true;
  private resync: Resync | undefined;

  private started = false;
  private stopped = false;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerDueMs = Infinity;
  private timerDelayMs = Infinity;
  private retryTimer: NodeJS.Timeout | undefined;
  private intervalTimer: NodeJS.Timeout | undefined;
  private reading = false;
  /** A large apply paused the monitor; the next pass restarts it. */
  private monitorMuted = false;
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
    this.lanes = new IpLanes(opts.batchLanes ?? Math.min(2, availableParallelism()), {
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
   * first apply. If the table cannot be read it stops everything it started
   * and rejects (ERR_KERNEL_READ).
   */
  async start(): Promise<AdoptResult> {
    if (this.started) throw new TortieError('ERR_KERNEL_ROUTES_STATE', 'KernelRoutes already started');
    this.started = true;
    this.monitor?.start();
    this.lanes.warm();
    let adopted: AdoptResult;
    try {
      adopted = await this.readKernel();
    } catch (err) {
      await this.stop(); // nothing of ours keeps running
      throw err;
    }
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
    const items: Iterable<RouteInput> = routes instanceof Map ? (routes as ReadonlyMap<string, RouteInput>).values() : (routes as Iterable<RouteInput>);
    const next = new Map<string, KernelRoute>();
    const rejected: { prefix: string; message: string }[] = [];
    for (const input of items) {
      try {
        const r = normalizeRoute(input, { proto: this.proto, table: this.table });
        next.set(r.prefix, r);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        rejected.push({ prefix: String(input.prefix), message });
        this.log.warn({ prefix: input.prefix, err: message }, 'desired route rejected');
      }
    }
    for (const st of [...this.state.values()]) {
      if (st.desired !== undefined && !next.has(st.prefix)) this.withdraw(st.prefix);
    }
    for (const r of next.values()) this.want(r);
    this.markComplete();
    this.schedule(this.opt('coalesceMs'));
    return { rejected };
  }

  /** Adds or changes one desired route. Throws KernelRouteError (ERR_KERNEL_ROUTE_INVALID). */
  upsert(input: RouteInput): void {
    this.want(normalizeRoute(input, { proto: this.proto, table: this.table }));
    this.schedule(this.opt('coalesceMs'));
  }

  /** Withdraws one desired prefix (our route for it is deleted, also before completeness). */
  remove(prefix: string): void {
    const p = typeof prefix === 'string' && prefix.includes('/') ? canonicalPrefix(prefix) : undefined;
    if (p === undefined) throw new TortieError('ERR_KERNEL_ROUTE_INVALID', `not a prefix: ${JSON.stringify(prefix)}`);
    this.withdraw(p);
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
    return this.state.complete;
  }

  /** True once started, complete, and nothing is pending (failed/blocked routes do not count). */
  get isReconciled(): boolean {
    return this.started && this.state.complete && !this.hasWork(false) && this.running === undefined;
  }

  stats(): KernelRoutesStats {
    const counts = this.state.counts();
    return {
      routesInstalled: counts.installed,
      routesDesired: counts.desired,
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
      batch: this.lanes.stats(),
    };
  }

  /** The ip -batch processes' counters alone: cheap, unlike stats(), which walks every prefix. */
  batchStats(): KernelRoutesStats['batch'] {
    return this.lanes.stats();
  }

  /** Per-prefix state of desired and adopted routes, sorted by prefix (or just `prefix`). */
  status(prefix?: string): RouteStatus[] {
    let states: PrefixState[];
    if (prefix !== undefined) {
      const st = this.state.get(canonicalPrefix(prefix) ?? prefix);
      states = st ? [st] : [];
    } else {
      states = [...this.state.values()].sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
    }
    return routeStatuses(states, this.failed, this.blocked);
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
    await this.lanes.close();
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  // ------------------------------------------------------------ desired set

  private want(r: KernelRoute): void {
    if (this.state.setDesired(r) && this.failed.size > 0) this.failed.delete(r.prefix);
  }

  private withdraw(prefix: string): void {
    this.state.clearDesired(prefix);
    if (this.failed.size > 0) this.failed.delete(prefix);
  }

  private markComplete(): void {
    if (!this.state.complete) {
      this.state.complete = true;
      this.fullDiff = true;
    }
  }

  // ------------------------------------------------------------ scheduling

  private opt<K extends keyof typeof KERNEL_ROUTES_DEFAULTS>(k: K): number {
    return this.o[k] ?? KERNEL_ROUTES_DEFAULTS[k];
  }

  private schedule(delayMs: number): void {
    if (!this.started || this.stopped) return;
    if (this.running !== undefined) return; // the pass re-schedules when it ends
    // A pending timer set with no longer a delay fires no later (and this runs per upsert: no clock read).
    if (this.timer !== undefined && this.timerDelayMs <= delayMs) return;
    const due = this.now() + delayMs;
    if (this.timer !== undefined && this.timerDueMs <= due) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerDueMs = due;
    this.timerDelayMs = delayMs;
    this.timer = setTimeout(() => this.kick(), Math.max(0, delayMs));
  }

  private kick(): void {
    this.timer = undefined;
    this.timerDueMs = Infinity;
    this.timerDelayMs = Infinity;
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
    if (this.state.dirtyCount > 0 || this.fullDiff) this.schedule(0);
    else if (this.resync) this.schedule(Math.max(0, this.resync.dueMs - this.now()));
    this.armRetryTimer();
    this.releaseWaiters();
  }

  private hasWork(background: boolean): boolean {
    if (this.state.dirtyCount > 0 || this.fullDiff) return true;
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
      for (const [p, f] of this.failed) if (f.retryAtMs <= now + 1) this.state.markPrefixDirty(p);
      this.schedule(0);
    }, Math.max(0, next - this.now()));
    this.retryTimer.unref();
  }

  // ------------------------------------------------------------ one pass

  private async pass(): Promise<void> {
    if (this.monitorMuted) {
      this.monitorMuted = false;
      if (!this.stopped) this.monitor?.start();
    }
    if (this.resync && this.resync.dueMs <= this.now() + 1) {
      const { reason } = this.resync;
      this.resync = undefined;
      this.log.debug({ reason }, 're-reading kernel routes');
      await this.readKernel();
      this.fullDiff = true;
    }
    const taken = this.state.takeDirty(this.fullDiff);
    this.fullDiff = false;
    let considered = taken;
    if (this.failed.size > 0) {
      const now = this.now();
      // Prefixes waiting for a retry stay out; the retry timer brings them back.
      considered = taken.filter((st) => {
        const f = this.failed.get(st.prefix);
        return f === undefined || f.retryAtMs <= now + 1;
      });
    }
    if (considered.length === 0) return;

    // Large applies go out in slices over the lanes: ip works on one while we compute the next.
    const sliceSize = this.opt('applySliceLines');
    const muteAbove = this.opt('muteMonitorAboveLines');
    const t0 = this.now();
    const applied: Promise<SliceResult>[] = [];
    let planned = 0;
    let muted = false;
    try {
      for (let i = 0; i < considered.length; i += sliceSize) {
        const plan = this.planSlice(considered.slice(i, i + sliceSize));
        if (plan.lines.length > 0) {
          planned += plan.lines.length;
          // A large apply (by its size, or by what it has sent so far) runs with the monitor paused.
          if (!muted && (planned > muteAbove || considered.length > muteAbove) && this.monitor?.running) {
            this.monitor.pause();
            muted = true;
          }
          const keys = plan.ops.map((op) => op.route.prefix);
          applied.push(this.lanes.exec(plan.lines, keys).then((outcome) => this.settleSlice(plan, outcome)));
        }
        if (i + sliceSize < considered.length) await yieldToEventLoop();
      }
      const results = await Promise.all(applied);
      if (results.length > 0) this.finishApply(results, this.now() - t0);
    } finally {
      if (muted && !this.stopped) {
        // The monitor restarts at the head of the next pass, just before the
        // verifying re-read, so the spawn is not on the path of this apply's waiters.
        this.monitorMuted = true;
        this.requestResync('verify after a large apply with the monitor paused', 0, true);
      }
    }
  }

  private planSlice(states: readonly PrefixState[]): PlannedApply {
    const plan = this.state.plan(states);
    if (this.blocked.size > 0) for (const st of states) this.blocked.delete(st.prefix);
    for (const { route, by } of plan.blocked) {
      this.blocked.set(route.prefix, by);
      this.log.warn({ route: describeRoute(route), heldBy: by }, 'route not installed: its slot holds a route that is not ours');
    }
    if (this.failed.size > 0) {
      // A prefix that needs nothing done is in place, whatever failed before.
      for (const st of plan.inPlace) {
        if (this.failed.delete(st.prefix)) this.log.info({ prefix: st.prefix }, 'route found in place after an earlier failure');
      }
    }
    return plan;
  }

  private settleSlice(plan: { lines: string[]; ops: ApplyOp[] }, outcome: BatchOutcome): SliceResult {
    const { ops } = plan;
    let failed = 0;
    let needRead = outcome.unknown.length > 0;
    let nextRetryMs = Infinity;
    const failedIdx = new Set<number>();
    for (const f of [...outcome.failures, ...outcome.unknown]) {
      const op = ops[f.index];
      if (op.op === 'del' && /No such process/.test(f.message)) continue; // already gone
      failed++;
      failedIdx.add(f.index);
      needRead = this.recordFailure(op, f) || needRead;
      nextRetryMs = Math.min(nextRetryMs, this.failed.get(op.route.prefix)?.retryAtMs ?? Infinity);
    }
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
    return { ops, failed, needRead, nextRetryMs };
  }

  private finishApply(results: SliceResult[], durationMs: number): void {
    const { total, needRead, nextRetry } = summarizeSlices(results, durationMs);
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
  }

  /** Records a failed line and corrects the shadow; returns true when the kernel should be re-read. */
  private recordFailure(op: ApplyOp, f: BatchLineFailure): boolean {
    const { route } = op;
    const prev = this.failed.get(route.prefix);
    const attempts = (prev?.attempts ?? 0) + 1;
    const retryAtMs = this.now() + this.backoffMs(attempts);
    this.failed.set(route.prefix, { op: op.op, route, line: f.line, message: f.message, attempts, retryAtMs });
    this.log.warn(
      { op: op.op, route: describeRoute(route), error: f.message, attempts, retryInMs: Math.round(retryAtMs - this.now()) },
      'kernel rejected a route change',
    );
    this.state.revert(op);
    // "File exists": someone took the slot; find out who. A failed replace
    // or delete leaves the slot in a state we cannot be sure of.
    return op.op !== 'add' || /File exists/.test(f.message);
  }

  // ------------------------------------------------------------ reading the kernel

  private async readKernel(): Promise<AdoptResult> {
    this.reading = true;
    try {
      const { ours, slots, result } = await readOwnRoutes(this.o.runner, this.o.netns, this.table, this.proto);
      this.state.loadKernel(ours, slots);
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
          if (this.state.usesDev(ev.ifname)) this.requestResync(`link ${ev.ifname} went down`, this.opt('repairDelayMs'), false);
        } else if (this.failed.size > 0) {
          // A link came up: next hops may be reachable now. Retry at once.
          for (const [p, f] of this.failed) {
            f.retryAtMs = 0;
            this.state.markPrefixDirty(p);
          }
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
    const verdict = this.state.applyEvent({ ...ev, prefix: ev.prefix });
    if (verdict === 'ignored') return;
    if (verdict === 'drift') {
      this.counters.driftRepairs++;
      this.log.info({ prefix: ev.prefix, deleted: ev.deleted, proto: ev.proto }, 'kernel route changed behind our back; repairing');
    }
    this.schedule(this.opt('repairDelayMs'));
  }
}
