/**
 * The diff between a desired and a current route set, and its rendering as
 * `ip -batch` lines, pure. Part of routes.ts.
 *
 * Facts this relies on (checked with iproute2 6.1 and kernel 6.x):
 *   - A kernel route is identified by (table, prefix, metric). The proto is
 *     not part of the identity (the TOS is, but we never set one). So a
 *     foreign route in the same slot blocks ours, and `route replace` there
 *     would overwrite it. We therefore `add` into empty slots and `replace`
 *     only slots that hold a route with our proto.
 *   - `route del … proto N` deletes only a route whose proto is N, for both
 *     families. Every delete we emit carries our proto.
 *   - IPv6 metric 0 means 1024. For IPv4, metric 0 in a delete matches any
 *     metric, so deletes always name the metric.
 *   - `ip -batch` lines cannot carry `-4`/`-6`. The family comes from the
 *     prefix, also for `blackhole`.
 *   - Nothing may follow the `nexthop …` list of a multipath route: ip
 *     exits on the spot ("nexthop" or end of line is expected instead of
 *     "proto"), which in a batch loses the rest of the batch.
 *   - Numbers only in batch lines: in one `ip -batch` run, `proto bird`,
 *     then `proto 77`, then `proto bird` installed the last one as proto 77
 *     (fixtures/capture-fixtures.ts).
 */
import {
  type KernelRoute,
  type NextHop,
  type RouteSlot,
  RouteTable,
  metricOf,
  routeSatisfies,
  slotKey,
  tableOf,
} from './route-model.js';

// ---------------------------------------------------------------- diff

export interface RouteDiff {
  /** Into an empty slot: `route add` (fails rather than overwrite a route that appeared since). */
  add: KernelRoute[];
  /** Over a slot that holds our route: `route replace`. */
  replace: KernelRoute[];
  /** Our routes nobody wants: `route del … proto N`. */
  del: KernelRoute[];
  /** Desired routes whose slot holds a route that is not ours (or that we do not manage): left alone. */
  blocked: { route: KernelRoute; by: RouteSlot }[];
}

export interface DiffOptions {
  /** Slots held by routes we must not touch (ParsedRoutes.foreign and .unmanaged). */
  occupied?: Iterable<RouteSlot>;
  /** Delete current routes that are not desired. Default true; false while adopting. */
  deleteUnwanted?: boolean;
}

export function emptyDiff(): RouteDiff {
  return { add: [], replace: [], del: [], blocked: [] };
}

export function diffSize(d: RouteDiff): number {
  return d.add.length + d.replace.length + d.del.length;
}

/**
 * What to change so the kernel holds `desired`. Both sides are canonical
 * (normalizeRoute / parseIpJsonRoutes). Desired routes are compared with
 * the current ones slot by slot; next hops compare as sets.
 */
export function diffRoutes(desired: Iterable<KernelRoute>, current: Iterable<KernelRoute>, opts: DiffOptions = {}): RouteDiff {
  const diff = emptyDiff();
  const currentBySlot = new Map<string, KernelRoute>();
  for (const c of current) currentBySlot.set(slotKey(c), c);
  const occupied = new Map<string, RouteSlot>();
  for (const s of opts.occupied ?? []) occupied.set(slotKey(s), s);
  const wanted = new Set<string>();
  for (const d of desired) {
    const key = slotKey(d);
    wanted.add(key);
    const c = currentBySlot.get(key);
    if (c !== undefined) {
      if (!routeSatisfies(d, c)) diff.replace.push(d);
      continue;
    }
    const by = occupied.get(key);
    if (by !== undefined) diff.blocked.push({ route: d, by });
    else diff.add.push(d);
  }
  if (opts.deleteUnwanted ?? true) {
    for (const [key, c] of currentBySlot) if (!wanted.has(key)) diff.del.push(c);
  }
  return diff;
}

const NO_ROUTES: readonly KernelRoute[] = [];
const NO_SLOTS: readonly RouteSlot[] = [];

/** Same kernel slot: prefix, table and metric. */
export function sameSlot(a: { prefix: string; table?: number; metric?: number }, b: { prefix: string; table?: number; metric?: number }): boolean {
  return a.prefix === b.prefix && tableOf(a) === tableOf(b) && metricOf(a) === metricOf(b);
}

/**
 * diffRoutes for one prefix, appending to `out`: at most one desired route,
 * our current routes for the prefix and the slots others hold there. It is
 * what KernelRoutes runs per changed prefix; it needs no maps, so it costs
 * O(1) per prefix. `deleteUnwanted` as in DiffOptions.
 */
export function diffPrefix(
  desired: KernelRoute | undefined,
  current: readonly KernelRoute[] = NO_ROUTES,
  occupied: readonly RouteSlot[] = NO_SLOTS,
  deleteUnwanted: boolean,
  out: RouteDiff,
): void {
  if (desired !== undefined) {
    let mine: KernelRoute | undefined;
    for (const c of current) {
      if (sameSlot(c, desired)) {
        mine = c;
        break;
      }
    }
    if (mine !== undefined) {
      if (!routeSatisfies(desired, mine)) out.replace.push(desired);
    } else {
      let by: RouteSlot | undefined;
      for (const o of occupied) {
        if (sameSlot(o, desired)) {
          by = o;
          break;
        }
      }
      if (by !== undefined) out.blocked.push({ route: desired, by });
      else out.add.push(desired);
    }
  }
  if (deleteUnwanted) {
    for (const c of current) if (desired === undefined || !sameSlot(c, desired)) out.del.push(c);
  }
}

// ---------------------------------------------------------------- rendering

/** One `ip -batch` line for a route (`verb` add or replace). */
export function renderRouteLine(verb: 'add' | 'replace', r: KernelRoute): string {
  if (r.kind === 'blackhole') return `route ${verb} blackhole ${r.prefix}${renderTail(r)}`;
  if (r.nextHops.length === 1) return `route ${verb} ${r.prefix} ${renderHop(r.nextHops[0], false)}${renderTail(r)}`;
  // ip takes nothing after the nexthop list: the tail goes first.
  return `route ${verb} ${r.prefix}${renderTail(r)} ${r.nextHops.map((h) => `nexthop ${renderHop(h, true)}`).join(' ')}`;
}

/** The `ip -batch` line that deletes our route in `r`'s slot, and only ours. */
export function renderDeleteLine(r: { prefix: string; proto: number; table?: number; metric?: number }): string {
  return `route del ${r.prefix}${renderTail(r)}`;
}

function renderHop(h: NextHop, ecmp: boolean): string {
  let s = `via ${h.via}`;
  if (h.dev !== undefined) s += ` dev ${h.dev}`;
  if (ecmp && h.weight !== undefined && h.weight !== 1) s += ` weight ${h.weight}`;
  return s;
}

function renderTail(r: { prefix: string; proto: number; table?: number; metric?: number }): string {
  const table = tableOf(r);
  return ` proto ${r.proto}${table === RouteTable.Main ? '' : ` table ${table}`} metric ${metricOf(r)}`;
}

/**
 * `ip -batch` lines for a diff: deletes first (they free slots), then
 * replaces, then adds. Every line carries our proto. Nothing for blocked
 * routes. The result's `routes[i]` is the route behind `lines[i]`.
 */
export function renderBatch(diff: RouteDiff): string[] {
  return renderBatchWithRoutes(diff).lines;
}

export interface RenderedBatch {
  lines: string[];
  ops: { op: 'add' | 'replace' | 'del'; route: KernelRoute }[];
}

export function renderBatchWithRoutes(diff: RouteDiff): RenderedBatch {
  const lines: string[] = [];
  const ops: RenderedBatch['ops'] = [];
  for (const r of diff.del) {
    lines.push(renderDeleteLine(r));
    ops.push({ op: 'del', route: r });
  }
  for (const r of diff.replace) {
    lines.push(renderRouteLine('replace', r));
    ops.push({ op: 'replace', route: r });
  }
  for (const r of diff.add) {
    lines.push(renderRouteLine('add', r));
    ops.push({ op: 'add', route: r });
  }
  return { lines, ops };
}

/** Human-readable form of a route for logs and status: "10.0.0.0/24 via 192.0.2.1 dev eth0". */
export function describeRoute(r: KernelRoute): string {
  return renderRouteLine('add', r).slice('route add '.length);
}
