/**
 * IPAM garbage collection of deleted nodes, in a cluster. A node whose Node
 * object has been gone for `kubernetes.nodeGcGraceSec` loses its empty
 * blocks (any node may claim them again) and its node record; blocks that
 * still hold addresses stay (IpamService.releaseNodesNotIn, ipam/node-gc.ts).
 *
 * Only one agent needs to do it, so it runs on the node whose name sorts
 * first among those that have a Node object and a running agent (a fresh
 * IPAM node record: Windows or virtual nodes without an agent, or a
 * powered-off node whose object lingers, must not hold the job):
 * deterministic, no lease to hold. It never runs on data that may be wrong:
 * not before the Nodes were listed, not while the API is unreachable, not
 * when this node's own Node object is missing. It releases only the nodes it
 * decided on, and never a node whose agent still writes its record.
 */
import type { Logger } from '../lib/log.js';
import type { ReleaseNodesResult } from '../ipam/node-gc.js';

export interface NodeGcSource {
  /** Every Node's name; undefined until listed. */
  nodeNames(): ReadonlySet<string> | undefined;
  stale(): boolean;
}

export interface NodeGcTarget {
  releaseNodesNotIn(live: ReadonlySet<string>, opts?: { dryRun?: boolean; only?: ReadonlySet<string> }): Promise<ReleaseNodesResult>;
  /** Nodes whose agent wrote its IPAM node record within `withinMs`. */
  activeNodes(withinMs: number): Promise<ReadonlySet<string>>;
}

/** Three missed heartbeats (60 s each) and an agent counts as not running. */
export const AGENT_ACTIVE_WITHIN_MS = 180_000;

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
    const now = this.now();
    try {
      const active = await this.opts.ipam.activeNodes(AGENT_ACTIVE_WITHIN_MS);
      const first = [...live].filter((n) => active.has(n) || n === this.opts.self).sort()[0];
      this.collector = first === this.opts.self;
      if (!this.collector) {
        this.goneSince.clear();
        return;
      }
      const plan = await this.opts.ipam.releaseNodesNotIn(live, { dryRun: true });
      const gone = new Set(plan.goneNodes);
      for (const n of [...this.goneSince.keys()]) if (!gone.has(n)) this.goneSince.delete(n);
      for (const n of gone) if (!this.goneSince.has(n)) this.goneSince.set(n, now);
      const graceMs = this.opts.graceSec() * 1000;
      // A node whose agent still writes its record is alive, whatever the Node list says (a name mismatch, informer lag).
      const due = [...this.goneSince].filter(([n, t]) => now - t >= graceMs && !active.has(n)).map(([n]) => n);
      if (due.length === 0) return;
      // Exactly the nodes decided on: one that appeared since the dry run is left alone.
      const r = await this.opts.ipam.releaseNodesNotIn(live, { only: new Set(due) });
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
