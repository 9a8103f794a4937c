/**
 * The allocator: pure planning (ipam/core) plus compare-and-swap writes to a
 * Datastore, with bounded retries. It keeps a cache of blocks as the store
 * last confirmed them, and changes that cache only after a write succeeded.
 *
 * Operations queue up and run in batches: every queued operation is planned
 * against one working set, then each changed block is written once (one
 * compare-and-swap per block, in parallel across blocks). Sixteen concurrent
 * assigns that land in one block cost one durable write, not sixteen.
 *
 * When a block's write fails, the block is read again and every operation
 * that touched it is planned again (at most `maxAttempts` times). This is
 * safe because every operation is idempotent: an assign finds the address its
 * handle already holds, a release finds nothing left to release. So a write
 * whose outcome is unknown (a timeout after commit) is simply re-read.
 *
 * An operation that fails on the cached state (exhaustion, an address in
 * use, a handle not found) is planned once more after a full re-read, so a
 * stale cache never produces a false "no".
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { TortieError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { decodeBlock, type BlockDoc } from './core/block.js';
import { DatastoreErrorCode, type Datastore } from './core/datastore.js';
import { ipamError, IpamErrorCode } from './core/errors.js';
import { BLOCKS_PREFIX, blockKey } from './core/keys.js';
import type { IpamPolicy } from './core/policy.js';
import { BlockCache, WorkingSet } from './core/table.js';

/**
 * Resolves after the event loop has been through one poll phase: the first
 * setImmediate runs in the check phase of the current turn, the second one
 * only after the next poll. No timer, so no added latency when idle.
 */
async function pollOnce(): Promise<void> {
  await yieldToLoop();
  await yieldToLoop();
}

export type Plan<R> = (t: WorkingSet, pol: IpamPolicy, nowMs: number) => R;

export interface AllocatorOptions {
  store: Datastore;
  policy: () => IpamPolicy;
  now: () => number;
  log: Logger;
  /** Attempts per operation before ERR_IPAM_RETRIES_EXHAUSTED. Default 10. */
  maxAttempts?: number;
  /** Operations planned together. Default 128. */
  maxBatch?: number;
  /** Called after the cache changed, with the blocks that changed. */
  onChange?: (cidrs: readonly string[]) => void;
  /** Jitter of the conflict backoff, in [0, 1). Default Math.random. */
  random?: () => number;
}

/** Errors that a fresher view of the blocks might turn into a success. */
/** A plan that claims a block runs on a view of the whole store at most this old. */
const CLAIM_FRESH_MS = 1000;
/**
 * Reads that skip unchanged revisions trust that a revision names one
 * write. A key whose history was wiped (its directory removed by hand, a
 * store rebuilt) can start again at a revision the cache already holds, so
 * the store is still read whole this often.
 */
const FULL_READ_MS = 60_000;
/**
 * After a batch whose writes were refused (other writers on the same
 * blocks), the next batch waits a jittered 0.5-1.5x of 1, 2, 4 ... up to
 * this many ms, so writers contending for a block spread out instead of
 * colliding again at once, and maxAttempts covers a burst rather than a
 * few milliseconds of it.
 */
const CONFLICT_BACKOFF_MAX_MS = 32;

const STALE_SENSITIVE = new Set<string>([
  IpamErrorCode.PoolExhausted, IpamErrorCode.AddressInUse, IpamErrorCode.AffineElsewhere,
  IpamErrorCode.HandleNotFound, IpamErrorCode.AddressNotFound,
]);

interface Pending {
  name: string;
  plan: Plan<unknown>;
  /** For list results: which block each item belongs to, and the items already committed by earlier attempts. */
  partial?: { blockOf: (item: unknown) => string; committed: unknown[] };
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  attempts: number;
  reread: boolean;
  /** An answer that writes nothing is given only from a fresh view (RunOptions.freshIfNoWrite). */
  freshIfNoWrite?: boolean;
  lastError?: unknown;
}

export interface RunOptions {
  /**
   * If the plan writes nothing, re-plan it once on a fresh view of the
   * store before answering. For assign: a handle that already holds its
   * addresses is answered from the cache alone, and the cache may not yet
   * know that another node released one of them (tortiectl ipam release
   * --ip there), so a CNI ADD retry would be told an address it no longer
   * holds. A write needs no such check: its compare-and-swap catches a
   * stale block.
   */
  freshIfNoWrite?: boolean;
}

type WriteOutcome = { ok: true } | { ok: false; conflict: boolean; err: unknown };

export class Allocator {
  private readonly cache = new BlockCache();
  private queue: Pending[] = [];
  private draining: Promise<void> | undefined;
  private needList = true;
  /** When the cache was last read whole (monotonic ms). */
  private listedAtMs = Number.NEGATIVE_INFINITY;
  /** When the cache was last read with every value (not only changed revisions). */
  private fullReadAtMs = Number.NEGATIVE_INFINITY;
  /** Keys that `revisions` lists but that hold no block (deleted), with that revision: not read again until it changes. */
  private absentRevisions = new Map<string, string>();
  private readonly maxAttempts: number;
  /** Batches in a row with a refused write (the backoff's exponent). */
  private conflictStreak = 0;
  private readonly maxBatch: number;
  /** Counters for metrics and tests. */
  readonly stats = { batches: 0, writes: 0, conflicts: 0, unknownOutcomes: 0, retries: 0, lists: 0, backoffs: 0 };

  constructor(private readonly opts: AllocatorOptions) {
    this.maxAttempts = opts.maxAttempts ?? 10;
    this.maxBatch = opts.maxBatch ?? 128;
  }

  /** Reads every block. Decoding errors are fatal: a corrupt store must be looked at, not papered over. */
  async load(): Promise<void> {
    const store = this.opts.store;
    let changed: string[];
    if (store.revisions === undefined || this.cache.size === 0 || performance.now() - this.fullReadAtMs >= FULL_READ_MS) {
      const startedMs = performance.now();
      const entries = await store.list(BLOCKS_PREFIX);
      this.fullReadAtMs = startedMs; // only a read that succeeded counts
      const docs = entries.map((e) => ({ doc: decodeBlock(e.value, e.key), revision: e.revision }));
      const before = new Set(this.cache.cidrs());
      this.cache.replaceAll(docs);
      changed = [...new Set([...before, ...this.cache.cidrs()])];
    } else {
      changed = await this.loadChanged(store.revisions.bind(store));
    }
    this.stats.lists++;
    this.needList = false;
    this.listedAtMs = performance.now();
    this.opts.onChange?.(changed);
  }

  /**
   * A full re-read that reads only the blocks whose revision differs from
   * the cached one (a revision names one write: same revision, same value).
   * With a hundred blocks of 64 addresses, reading and decoding them all took
   * 5-25 ms of the event loop on the bench VM, and a claim re-reads the store
   * (CLAIM_FRESH_MS), so every request queued meanwhile waited that long.
   */
  private async loadChanged(revisions: NonNullable<Datastore['revisions']>): Promise<string[]> {
    const listed = await revisions(BLOCKS_PREFIX);
    const cachedByKey = new Map<string, { cidr: string; revision: string }>();
    for (const cidr of this.cache.cidrs()) cachedByKey.set(blockKey(cidr), { cidr, revision: this.cache.entry(cidr)!.revision });
    const live = new Set<string>();
    const fresh: { doc: BlockDoc; revision: string }[] = [];
    const absent = new Map<string, string>();
    for (const { key, revision } of listed) {
      const cached = cachedByKey.get(key);
      if (cached !== undefined && cached.revision === revision) {
        live.add(cached.cidr);
        continue;
      }
      if (this.absentRevisions.get(key) === revision) {
        absent.set(key, revision);
        continue;
      }
      const e = await this.opts.store.get(key);
      if (e === undefined) {
        absent.set(key, revision);
        continue;
      }
      const doc = decodeBlock(e.value, e.key);
      fresh.push({ doc, revision: e.revision });
      live.add(doc.cidr);
    }
    this.absentRevisions = absent;
    const changed: string[] = [];
    for (const cidr of [...this.cache.cidrs()]) {
      if (live.has(cidr)) continue;
      this.cache.delete(cidr);
      changed.push(cidr);
    }
    for (const f of fresh) {
      this.cache.set(f.doc, f.revision);
      changed.push(f.doc.cidr);
    }
    return changed;
  }

  /** The cached blocks, as last confirmed by the store. */
  get blocks(): BlockCache {
    return this.cache;
  }

  /** Queues a full re-read before the next batch. */
  invalidate(): void {
    this.needList = true;
  }

  /** Plans `plan` with the others queued now, writes, retries; resolves with its result once written. */
  run<R>(name: string, plan: Plan<R>, opts: RunOptions = {}): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ name, plan, resolve: resolve as (v: unknown) => void, reject, attempts: 0, reread: false, ...(opts.freshIfNoWrite ? { freshIfNoWrite: true } : {}) });
      this.kick();
    });
  }

  /**
   * Like run, for plans that return one item per block they changed (a
   * release returns one entry per address, naming its block). When some of
   * an attempt's blocks are written and others are not, the items of the
   * written blocks are kept and the plan runs again for the rest, so the
   * result lists everything the operation did across attempts.
   */
  runItems<T>(name: string, plan: Plan<T[]>, blockOf: (item: T) => string): Promise<T[]> {
    return new Promise<T[]>((resolve, reject) => {
      this.queue.push({
        name, plan, resolve: resolve as (v: unknown) => void, reject, attempts: 0, reread: false,
        partial: { blockOf: blockOf as (item: unknown) => string, committed: [] },
      });
      this.kick();
    });
  }

  /** Resolves once everything queued so far has finished. */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      // Let the event loop poll once first: requests whose bytes arrived
      // while the previous batch was being written are parsed and queued
      // now, and join this batch instead of waiting for the next write.
      await pollOnce();
      if (this.needList) {
        try {
          await this.load();
        } catch (err) {
          // Without a view of the store nothing can be planned safely.
          for (const op of this.queue.splice(0)) op.reject(err);
          return;
        }
      }
      if (this.conflictStreak > 0) {
        const base = Math.min(CONFLICT_BACKOFF_MAX_MS, 2 ** (this.conflictStreak - 1));
        await new Promise((r) => setTimeout(r, base * (0.5 + (this.opts.random ?? Math.random)())));
      }
      await this.runBatch(this.queue.splice(0, this.maxBatch));
    }
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    this.stats.batches++;
    const pol = this.opts.policy();
    const nowMs = this.opts.now();
    const ws = new WorkingSet(this.cache);
    const results = new Map<Pending, unknown>();
    const touched = new Map<Pending, string[]>();
    const again: Pending[] = [];

    for (const op of batch) {
      const before = ws.checkpoint();
      try {
        results.set(op, op.plan(ws, pol, nowMs));
        const after = ws.checkpoint();
        touched.set(op, [...after.keys()].filter((k) => after.get(k) !== before.get(k)));
      } catch (err) {
        ws.rollback(before);
        if (err instanceof TortieError && STALE_SENSITIVE.has(err.code) && !op.reread) {
          op.reread = true;
          this.needList = true;
          again.push(op);
        } else {
          op.reject(err);
        }
      }
    }

    // Answers that write nothing, for plans that asked, come from a fresh view: plan them again after a re-read.
    for (const op of batch) {
      if (!op.freshIfNoWrite || op.reread || !results.has(op) || (touched.get(op)?.length ?? 0) > 0) continue;
      results.delete(op);
      op.reread = true;
      this.needList = true;
      again.push(op);
    }

    const changes = ws.changes();
    // A new block is checked for overlaps against the cache only, and blocks of
    // another size (a pool whose block size or CIDR was edited, two overlapping
    // pools) have other keys, so the create's compare-and-swap cannot catch
    // them: claim only on a fresh view. Claims are rare; the re-read is cheap.
    const claims = changes.some(([cidr, doc]) => doc !== null && this.cache.entry(cidr) === undefined);
    if (claims && performance.now() - this.listedAtMs > CLAIM_FRESH_MS) {
      this.needList = true;
      this.queue = [...again, ...batch.filter((op) => results.has(op)), ...this.queue];
      return;
    }
    const outcomes = new Map<string, WriteOutcome>();
    await Promise.all(changes.map(async ([cidr, doc]) => outcomes.set(cidr, await this.write(cidr, doc))));

    const failed = new Set<string>();
    for (const [cidr, o] of outcomes) {
      if (o.ok) continue;
      failed.add(cidr);
      if (o.conflict) this.stats.conflicts++;
      else this.stats.unknownOutcomes++;
    }
    this.conflictStreak = failed.size > 0 ? this.conflictStreak + 1 : 0;
    if (failed.size > 0) this.stats.backoffs++;
    // Blocks whose write failed: read them again (a create that lost means
    // other nodes are claiming; re-read everything before the next batch).
    for (const cidr of failed) {
      const wasCreate = this.cache.entry(cidr) === undefined;
      if (wasCreate) this.needList = true;
      await this.refresh(cidr);
    }
    if (changes.length > 0) this.opts.onChange?.(changes.map(([c]) => c));

    for (const op of batch) {
      if (!results.has(op)) continue;
      const hit = (touched.get(op) ?? []).filter((c) => failed.has(c));
      const result = results.get(op);
      if (hit.length === 0) {
        op.resolve(op.partial !== undefined ? [...op.partial.committed, ...(result as unknown[])] : result);
        continue;
      }
      if (op.partial !== undefined) {
        const p = op.partial;
        for (const item of result as unknown[]) if (!failed.has(p.blockOf(item))) p.committed.push(item);
      }
      op.attempts++;
      op.lastError = (outcomes.get(hit[0]) as { err?: unknown } | undefined)?.err;
      if (op.attempts >= this.maxAttempts) {
        op.reject(ipamError(IpamErrorCode.RetriesExhausted,
          `${op.name}: gave up after ${op.attempts} attempts; the datastore kept refusing the write (last: ${(op.lastError as Error | undefined)?.message ?? 'unknown'})`,
          op.lastError));
      } else {
        this.stats.retries++;
        again.push(op);
      }
    }
    // Retries go first, in their original order.
    this.queue = [...again, ...this.queue];
  }

  private async write(cidr: string, doc: BlockDoc | null): Promise<WriteOutcome> {
    const key = blockKey(cidr);
    const base = this.cache.entry(cidr);
    try {
      if (doc === null) {
        if (base !== undefined) await this.opts.store.delete(key, base.revision);
        this.cache.delete(cidr);
      } else {
        const stored = base === undefined ? await this.opts.store.create(key, doc) : await this.opts.store.update(key, doc, base.revision);
        this.cache.set(doc, stored.revision);
      }
      this.stats.writes++;
      return { ok: true };
    } catch (err) {
      const conflict = err instanceof TortieError && err.code === DatastoreErrorCode.Conflict;
      if (!conflict && (await this.landed(key, cidr, doc))) {
        this.stats.writes++;
        return { ok: true };
      }
      if (!conflict) this.opts.log.warn({ block: cidr, err: (err as Error).message }, 'block write failed; reading it again');
      return { ok: false, conflict, err };
    }
  }

  /**
   * After a write whose outcome is unknown: reads the block back, and if it
   * holds exactly what we wrote (or is gone, for a delete), the write landed
   * and the cache takes it.
   */
  private async landed(key: string, cidr: string, doc: BlockDoc | null): Promise<boolean> {
    try {
      const e = await this.opts.store.get(key);
      if (doc === null ? e !== undefined : e === undefined || JSON.stringify(e.value) !== JSON.stringify(doc)) return false;
      if (doc === null) this.cache.delete(cidr);
      else this.cache.set(doc, e!.revision);
      return true;
    } catch {
      return false;
    }
  }

  /** Re-reads one block into the cache; on failure, schedules a full re-read. */
  private async refresh(cidr: string): Promise<void> {
    try {
      const e = await this.opts.store.get(blockKey(cidr));
      if (e === undefined) this.cache.delete(cidr);
      else this.cache.set(decodeBlock(e.value, e.key), e.revision);
    } catch (err) {
      // Keep what we have: a datastore outage must not make this node forget (and stop
      // advertising) its blocks. The cached revision is safe, since every write is a CAS.
      this.opts.log.warn({ block: cidr, err: (err as Error).message }, 'cannot re-read block; keeping the cached copy, a full re-read is scheduled');
      this.needList = true;
    }
  }
}
