/**
 * IPAM garbage collection of deleted nodes, in a cluster. A node whose Node
 * object has been gone for `kubernetes.nodeGcGraceSec` loses its empty
 * blocks (any node may claim them again) and its node record; blocks that
 * still hold addresses stay (IpamService.releaseNodesNotIn, ipam/node-gc.ts).
 *
 * Only one agent needs to do it, so it runs on the live node whose name
 * sorts first: deterministic, no lease to hold. It never runs on data that
 * may be wrong: not before the Nodes were listed, not while the API is
 * unreachable, not when this node's own Node object is missing.
 */
import type { Logger } from '../lib/log.js';
import type { ReleaseNodesResult } from '../ipam/node-gc.js';

export interface NodeGcSource {
  /** Every Node's name; undefined until listed. */
  nodeNames(): ReadonlySet<string> | undefined;
  stale(): boolean;
}

export interface NodeGcTarget {
  releaseNodesNotIn(live: ReadonlySet<string>, opts?: { dryRun?: boolean }): Promise<ReleaseNodesResult>;
}

export interface NodeGcOptions {
  readonly self: string;
  readonly source: NodeGcSource;
  readonly ipam: NodeGcTarget;
  readonly graceSec: () => number;
  readonly log: Logger;
  /** Default 60 s. */
  readonly intervalMs?: number;
  readonly now?: () => number;
}

export interface NodeGcStatus {
  /** This agent is the one that collects (first live node by name). */
  collector: boolean;
  /** Gone nodes still inside their grace period, with when they were first seen gone. */
  waiting: { node: string; goneSince: string }[];
  lastRunAt?: string;
  lastError?: string;
  releasedBlocks: number;
}

export class NodeGc {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly goneSince = new Map<string, number>();
  private collector = false;
  private lastRunAt: number | undefined;
  private lastError: string | undefined;
  private releasedBlocks = 0;
  private readonly now: () => number;

  constructor(private readonly opts: NodeGcOptions) {
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => void this.run(), this.opts.intervalMs ?? 60_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass; never throws (the error is logged and kept for status). */
  run(): Promise<void> {
    this.running ??= this.pass().finally(() => { this.running = undefined; });
    return this.running;
  }

  status(): NodeGcStatus {
    return {
      collector: this.collector,
      waiting: [...this.goneSince].sort(([a], [b]) => (a < b ? -1 : 1)).map(([node, t]) => ({ node, goneSince: new Date(t).toISOString() })),
      ...(this.lastRunAt !== undefined ? { lastRunAt: new Date(this.lastRunAt).toISOString() } : {}),
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      releasedBlocks: this.releasedBlocks,
    };
  }

  private async pass(): Promise<void> {
    const live = this.opts.source.nodeNames();
    if (live === undefined || this.opts.source.stale() || !live.has(this.opts.self)) {
      this.collector = false;
      return;
    }
    const first = [...live].sort()[0];
    this.collector = first === this.opts.self;
    if (!this.collector) {
      this.goneSince.clear();
      return;
    }
    const now = this.now();
    try {
      const plan = await this.opts.ipam.releaseNodesNotIn(live, { dryRun: true });
      const gone = new Set(plan.goneNodes);
      for (const n of [...this.goneSince.keys()]) if (!gone.has(n)) this.goneSince.delete(n);
      for (const n of gone) if (!this.goneSince.has(n)) this.goneSince.set(n, now);
      const graceMs = this.opts.graceSec() * 1000;
      const due = [...this.goneSince].filter(([, t]) => now - t >= graceMs).map(([n]) => n);
      if (due.length === 0) return;
      // Nodes still in their grace period count as live for this run.
      const keep = new Set(live);
      for (const n of this.goneSince.keys()) if (!due.includes(n)) keep.add(n);
      const r = await this.opts.ipam.releaseNodesNotIn(keep);
      this.releasedBlocks += r.releasedBlocks.length;
      for (const n of due) if (!r.keptBlocks.some((b) => b.node === n)) this.goneSince.delete(n);
      this.opts.log.info({
        nodes: due, releasedBlocks: r.releasedBlocks.map((b) => b.cidr), keptBlocks: r.keptBlocks.map((b) => `${b.cidr} (${b.node}, ${b.used} used)`),
        removedNodeRecords: r.removedNodeRecords, graceSec: this.opts.graceSec(),
      }, 'IPAM: collected the blocks of deleted nodes');
      this.lastError = undefined;
    } catch (err) {
      this.lastError = (err as Error).message;
      this.opts.log.warn({ err: this.lastError }, 'IPAM garbage collection of deleted nodes failed; retrying at the next pass');
    } finally {
      this.lastRunAt = now;
    }
  }
}
