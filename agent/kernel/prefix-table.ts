/**
 * What KernelRoutes knows, per prefix, pure (no I/O, no clock): the desired
 * route, our routes the kernel holds (a shadow kept true by `ip -json`
 * reads and monitor events), the slots others hold, and which prefixes
 * changed since the last apply.
 *
 * One record per prefix in one map: upsert() costs one map operation and
 * planning an apply none (the dirty list holds the records themselves).
 * With 100k routes every hash-table probe is a cache miss, and the first
 * version, with a map per concern, spent more time in them than in
 * rendering.
 */
import type { MonitorRouteEvent } from './monitor-events.js';
import {
  type KernelRoute,
  type RouteSlot,
  diffPrefix,
  emptyDiff,
  renderDeleteLine,
  renderRouteLine,
  routeSatisfies,
  sameSlot,
} from './routes.js';

export interface PrefixState {
  readonly prefix: string;
  desired: KernelRoute | undefined;
  /** Our routes in the kernel for this prefix (one per metric), as far as we know. */
  installed: KernelRoute[] | undefined;
  /** Slots held by routes we must not touch (foreign, or ours but unmanaged). */
  occupied: RouteSlot[] | undefined;
  /** On the dirty list. */
  dirty: boolean;
  /** remove()d before the desired set was complete: our route goes even so. */
  removedEarly: boolean;
}

export type ApplyOp = { op: 'add' | 'replace' | 'del'; route: KernelRoute; state: PrefixState };

export interface PlannedApply {
  lines: string[];
  /** ops[i] is behind lines[i]. */
  ops: ApplyOp[];
  blocked: { route: KernelRoute; by: RouteSlot }[];
  /** Prefixes that needed nothing: they are in place. */
  inPlace: PrefixState[];
}

/** What a monitor event means for us. */
export type EventVerdict =
  /** Our own change coming back, or nothing we care about. */
  | 'ignored'
  /** Our route changed or vanished behind our back: the prefix is dirty again. */
  | 'drift'
  /** Someone else's route changed on a prefix we want: the prefix is dirty again. */
  | 'recheck';

export class PrefixTable {
  private readonly entries = new Map<string, PrefixState>();
  private dirtyList: PrefixState[] = [];
  /** The desired set is complete: our routes nobody wants may be deleted. */
  complete = false;

  get(prefix: string): PrefixState | undefined {
    return this.entries.get(prefix);
  }

  values(): IterableIterator<PrefixState> {
    return this.entries.values();
  }

  get dirtyCount(): number {
    return this.dirtyList.length;
  }

  counts(): { desired: number; installed: number } {
    let desired = 0;
    let installed = 0;
    for (const st of this.entries.values()) {
      if (st.desired) desired++;
      installed += st.installed?.length ?? 0;
    }
    return { desired, installed };
  }

  /** Sets the desired route; false (and nothing dirty) when it is unchanged. */
  setDesired(route: KernelRoute): boolean {
    const st = this.ensure(route.prefix);
    st.removedEarly = false;
    if (st.desired !== undefined && sameRoute(st.desired, route)) return false;
    st.desired = route;
    this.markDirty(st);
    return true;
  }

  /** Withdraws the desired route for a prefix. */
  clearDesired(prefix: string): void {
    const st = this.entries.get(prefix);
    if (st === undefined) return; // nothing desired, nothing of ours known: nothing to do
    st.desired = undefined;
    if (!this.complete) st.removedEarly = true;
    this.markDirty(st);
  }

  markDirty(st: PrefixState): void {
    if (st.dirty) return;
    st.dirty = true;
    this.dirtyList.push(st);
  }

  markPrefixDirty(prefix: string): void {
    const st = this.entries.get(prefix);
    if (st) this.markDirty(st);
  }

  /** The dirty prefixes (all of them when `all`), taken off the list. */
  takeDirty(all: boolean): PrefixState[] {
    const list = all ? [...this.entries.values()] : this.dirtyList;
    this.dirtyList = [];
    for (const st of list) st.dirty = false;
    return list;
  }

  /**
   * Diffs these prefixes, renders the lines and moves the shadow to the
   * result (optimistically: the caller puts right what fails).
   */
  plan(states: readonly PrefixState[]): PlannedApply {
    const diff = emptyDiff();
    const out: PlannedApply = { lines: [], ops: [], blocked: [], inPlace: [] };
    for (const st of states) {
      const d0 = diff.del.length;
      const r0 = diff.replace.length;
      const a0 = diff.add.length;
      const b0 = diff.blocked.length;
      // Before the desired set is complete, adopted routes nobody mentioned stay.
      const deletable = st.installed !== undefined && (st.desired !== undefined || this.complete || st.removedEarly);
      diffPrefix(st.desired, st.installed, st.occupied, deletable, diff);
      for (let i = d0; i < diff.del.length; i++) this.push(out, 'del', diff.del[i], st);
      for (let i = r0; i < diff.replace.length; i++) this.push(out, 'replace', diff.replace[i], st);
      for (let i = a0; i < diff.add.length; i++) this.push(out, 'add', diff.add[i], st);
      for (let i = b0; i < diff.blocked.length; i++) out.blocked.push(diff.blocked[i]);
      if (d0 === diff.del.length && r0 === diff.replace.length && a0 === diff.add.length && b0 === diff.blocked.length) out.inPlace.push(st);
      if (st.desired === undefined && st.installed === undefined) st.removedEarly = false;
      this.prune(st);
    }
    return out;
  }

  private push(out: PlannedApply, op: ApplyOp['op'], route: KernelRoute, state: PrefixState): void {
    out.lines.push(op === 'del' ? renderDeleteLine(route) : renderRouteLine(op, route));
    out.ops.push({ op, route, state });
    if (op === 'del') this.shadowRemove(state, route);
    else this.shadowSet(state, route);
  }

  /** Replaces the shadow and the occupied slots with a fresh read of the table. */
  loadKernel(ours: readonly KernelRoute[], slots: readonly RouteSlot[]): void {
    for (const st of this.entries.values()) {
      st.installed = undefined;
      st.occupied = undefined;
    }
    for (const r of ours) this.shadowSet(this.ensure(r.prefix), r);
    for (const s of slots) this.occupiedSet(this.ensure(s.prefix), s);
    for (const st of [...this.entries.values()]) this.prune(st);
  }

  /**
   * Applies a monitor event for our table to the shadow and says what it
   * means. Events of our own changes match the shadow (which moved first).
   */
  applyEvent(ev: MonitorRouteEvent & { prefix: string }): EventVerdict {
    const slot = ev.route ?? ev.slot;
    if (slot === undefined) return 'ignored';
    let st = this.entries.get(ev.prefix);
    let verdict: EventVerdict = 'ignored';
    if (ev.deleted) {
      if (st === undefined) return 'ignored';
      const mine = st.installed?.find((r) => sameSlot(r, slot));
      if (mine !== undefined && ev.route !== undefined) {
        this.shadowRemove(st, mine);
        verdict = 'drift';
      } else {
        this.occupiedRemove(st, slot);
        if (st.desired !== undefined) verdict = 'recheck'; // a blocked route may go in now
      }
    } else if (ev.route !== undefined) {
      // A route with our proto: ours, whoever wrote it.
      st ??= this.ensure(ev.prefix);
      const mine = st.installed?.find((r) => sameSlot(r, slot));
      this.occupiedRemove(st, slot);
      if (mine === undefined || !routeSatisfies(mine, ev.route)) verdict = 'drift';
      this.shadowSet(st, ev.route);
    } else {
      // Someone else's route (or one of ours we do not manage) in a prefix we know.
      if (st === undefined) return 'ignored';
      const mine = st.installed?.find((r) => sameSlot(r, slot));
      if (mine !== undefined) {
        this.shadowRemove(st, mine); // it took our slot
        verdict = 'drift';
      }
      if (ev.slot !== undefined) this.occupiedSet(st, ev.slot);
      if (verdict === 'ignored' && st.desired !== undefined) verdict = 'recheck';
    }
    if (verdict !== 'ignored') this.markDirty(st);
    this.prune(st);
    return verdict;
  }

  /** Puts the shadow right after a line failed: an add did not happen, a delete did not either. */
  revert(op: ApplyOp): void {
    const st = this.ensure(op.route.prefix);
    if (op.op === 'add') this.shadowRemove(st, op.route);
    else if (op.op === 'del') this.shadowSet(st, op.route);
    this.prune(st);
  }

  /** True when one of our routes leaves through `dev`. */
  usesDev(dev: string): boolean {
    for (const st of this.entries.values()) {
      for (const r of st.installed ?? []) for (const h of r.nextHops) if (h.dev === dev) return true;
    }
    return false;
  }

  shadowSet(st: PrefixState, route: KernelRoute): void {
    const list = st.installed;
    if (list === undefined) {
      st.installed = [route];
      return;
    }
    const i = list.findIndex((r) => sameSlot(r, route));
    if (i >= 0) list[i] = route;
    else list.push(route);
  }

  shadowRemove(st: PrefixState, slot: { prefix: string; table?: number; metric?: number }): void {
    const list = st.installed;
    if (list === undefined) return;
    if (list.length === 1) {
      if (sameSlot(list[0], slot)) st.installed = undefined;
      return;
    }
    const rest = list.filter((r) => !sameSlot(r, slot));
    st.installed = rest.length === 0 ? undefined : rest;
  }

  private occupiedSet(st: PrefixState, slot: RouteSlot): void {
    const rest = (st.occupied ?? []).filter((x) => !sameSlot(x, slot));
    rest.push(slot);
    st.occupied = rest;
  }

  private occupiedRemove(st: PrefixState, slot: { prefix: string; table?: number; metric?: number }): void {
    if (st.occupied === undefined) return;
    const rest = st.occupied.filter((x) => !sameSlot(x, slot));
    st.occupied = rest.length === 0 ? undefined : rest;
  }

  private ensure(prefix: string): PrefixState {
    let st = this.entries.get(prefix);
    if (st === undefined) {
      st = { prefix, desired: undefined, installed: undefined, occupied: undefined, dirty: false, removedEarly: false };
      this.entries.set(prefix, st);
    }
    return st;
  }

  /** Forgets a record that holds nothing (it comes back when needed). */
  private prune(st: PrefixState): void {
    if (st.desired === undefined && st.installed === undefined && st.occupied === undefined && !st.dirty && !st.removedEarly) {
      this.entries.delete(st.prefix);
    }
  }
}

/** Same route in every respect that we render. */
export function sameRoute(a: KernelRoute, b: KernelRoute): boolean {
  if (a.kind !== b.kind || !sameSlot(a, b) || a.nextHops.length !== b.nextHops.length) return false;
  for (let i = 0; i < a.nextHops.length; i++) {
    const x = a.nextHops[i];
    const y = b.nextHops[i];
    if (x.via !== y.via || x.dev !== y.dev || (x.weight ?? 1) !== (y.weight ?? 1)) return false;
  }
  return true;
}
