/** What one apply pass produced, slice by slice, and its sum. */
import type { ApplyInfo } from './kernel-routes-types.js';
import type { ApplyOp } from './prefix-table.js';

export interface SliceResult {
  ops: ApplyOp[];
  failed: number;
  /** The outcome of some line is unclear: the kernel should be re-read. */
  needRead: boolean;
  /** The earliest retry time among this slice's failures (Infinity when none). */
  nextRetryMs: number;
}

export function summarizeSlices(results: readonly SliceResult[], durationMs: number): { total: ApplyInfo; needRead: boolean; nextRetry: number } {
  const total: ApplyInfo = { lines: 0, added: 0, replaced: 0, deleted: 0, failed: 0, durationMs };
  let needRead = false;
  let nextRetry = Infinity;
  for (const r of results) {
    total.lines += r.ops.length;
    for (const op of r.ops) {
      if (op.op === 'add') total.added++;
      else if (op.op === 'replace') total.replaced++;
      else total.deleted++;
    }
    total.failed += r.failed;
    needRead ||= r.needRead;
    nextRetry = Math.min(nextRetry, r.nextRetryMs);
  }
  return { total, needRead, nextRetry };
}

/** Lets timers and I/O run between two slices of a large apply. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
