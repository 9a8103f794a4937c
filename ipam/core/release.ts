/**
 * Releasing addresses (by handle, by address, by garbage collection) and
 * releasing empty blocks, as pure functions over a BlockTable. Releasing
 * what is already gone is not an error here: callers decide whether "not
 * found" matters (the API reports it; CNI DEL counts it as success).
 */
import { addressTextAt, ordinalOf, releasable, withoutAllocations, type Allocation, type BlockView } from './block.js';
import { cidrContains, type Ip } from './ip.js';
import type { IpamPolicy } from './policy.js';
import type { BlockTable } from './table.js';

export interface ReleasedIp {
  address: string;
  block: string;
  handle: string;
  node: string;
  assignedAtMs: number;
}

function released(view: BlockView, a: Allocation): ReleasedIp {
  return { address: addressTextAt(view.cidr, a.ordinal), block: view.doc.cidr, handle: a.handle, node: a.attrs.node, assignedAtMs: a.assignedAtMs };
}

function dropWhere(t: BlockTable, pol: IpamPolicy, views: readonly BlockView[], drop: (a: Allocation) => boolean, nowMs: number): ReleasedIp[] {
  const out: ReleasedIp[] = [];
  for (const v of views) {
    const r = withoutAllocations(v.doc, drop, pol, nowMs);
    if (r.removed.length === 0) continue;
    t.put(r.doc);
    for (const a of r.removed) out.push(released(v, a));
  }
  return out;
}

/** Releases every address `handle` holds; [] when it holds none. */
export function releaseHandle(t: BlockTable, pol: IpamPolicy, handle: string, nowMs: number): ReleasedIp[] {
  return dropWhere(t, pol, t.withHandle(handle), (a) => a.handle === handle, nowMs);
}

/**
 * Releases one address; [] when it is not allocated. With `handle`, only
 * if that handle holds it (a guard against releasing a reused address).
 */
export function releaseAddress(t: BlockTable, pol: IpamPolicy, ip: Ip, nowMs: number, handle?: string): ReleasedIp[] {
  const view = t.all().find((b) => cidrContains(b.cidr, ip));
  if (view === undefined) return [];
  const ord = ordinalOf(view.cidr, ip);
  return dropWhere(t, pol, [view], (a) => a.ordinal === ord && (handle === undefined || a.handle === handle), nowMs);
}

export interface GcInput {
  /** Handles that are alive: everything else of this node's is garbage. */
  valid: ReadonlySet<string>;
  /** Only allocations made for this CNI network (when given). */
  network?: string;
  /** Allocations younger than this are kept (an ADD may be in flight). */
  graceMs: number;
}

/**
 * CNI GC: releases this node's allocations whose handle is not in `valid`,
 * of the given network, older than the grace period.
 */
export function collectGarbage(t: BlockTable, pol: IpamPolicy, gc: GcInput, nowMs: number): ReleasedIp[] {
  const drop = (a: Allocation): boolean => a.attrs.node === pol.node && !gc.valid.has(a.handle) &&
    (gc.network === undefined || a.attrs.network === undefined || a.attrs.network === gc.network) &&
    nowMs - a.assignedAtMs >= gc.graceMs;
  return dropWhere(t, pol, t.heldBy(pol.node), drop, nowMs);
}

/**
 * Removes this node's blocks that hold nothing and have nothing cooling:
 * their route is withdrawn and the block is free for any node to claim.
 */
export function releaseEmptyBlocks(t: BlockTable, pol: IpamPolicy, nowMs: number): string[] {
  const out: string[] = [];
  for (const v of t.affineTo(pol.node)) {
    if (!releasable(v.doc, nowMs, pol.cooldownMs)) continue;
    t.remove(v.doc.cidr);
    out.push(v.doc.cidr);
  }
  return out;
}

/** What happens to one block of a node that is gone. */
export interface GoneNodeBlock {
  cidr: string;
  node: string;
  /** `released`: it held nothing and was removed; `kept`: it still holds allocations (leaks for `ipam check`). */
  action: 'released' | 'kept';
  used: number;
}

/**
 * The blocks affine to nodes that are not in `live` (this node always
 * counts as live): those that hold no allocation are removed, whatever is
 * cooling in them (nobody is left to reuse those addresses); those that
 * still hold allocations are kept as they are, with their affinity, so
 * `ipam check` keeps reporting them and no address of a possibly live pod
 * is freed. With `apply` false nothing changes (a dry run).
 */
export function releaseGoneNodesBlocks(t: BlockTable, pol: IpamPolicy, live: { has(node: string): boolean }, apply: boolean): GoneNodeBlock[] {
  const out: GoneNodeBlock[] = [];
  for (const v of t.all()) {
    const node = v.doc.affinity;
    if (node === null || node === pol.node || live.has(node)) continue;
    const used = v.doc.allocations.length;
    if (used > 0) {
      out.push({ cidr: v.doc.cidr, node, action: 'kept', used });
      continue;
    }
    if (apply) t.remove(v.doc.cidr);
    out.push({ cidr: v.doc.cidr, node, action: 'released', used });
  }
  return out;
}
