/**
 * What `tortiectl ipam show` and `check` report, computed from blocks and
 * the policy. Pure: times come in as numbers, liveness as a decided map.
 */
import type {
  IpamAllocationView, IpamBlockView, IpamBorrowedView, IpamLeakView, IpamOrphanBlockView, IpamPoolView,
} from '../api-types.js';
import { addressTextAt, reservedCount, reservedRanges, type Allocation, type BlockView } from './block.js';
import { cidrSize, familyName, formatCidr, hostCidr } from './ip.js';
import type { IpamPolicy } from './policy.js';
import type { BlockCache } from './table.js';
import { blockCount, poolContainsBlock, poolSelectsNode, type Pool } from './pool.js';

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function poolOf(pol: IpamPolicy, b: BlockView): Pool | undefined {
  return pol.pools.find((p) => poolContainsBlock(p, b.cidr));
}

export function blockView(b: BlockView, pol: IpamPolicy, nowMs: number): IpamBlockView {
  const reserved = reservedCount(reservedRanges(b.cidr, pol.reservations));
  const cooling = b.coolingSet(nowMs, pol.cooldownMs);
  const free = b.freeCount(pol.reservations);
  const v: IpamBlockView = {
    cidr: b.doc.cidr, pool: poolOf(pol, b)?.name ?? b.doc.pool, node: b.doc.affinity, size: b.size, used: b.doc.allocations.length,
    free, cooling: [...cooling].filter((o) => !b.isUsed(o)).length, reserved,
    lentOut: b.doc.allocations.filter((a) => a.attrs.node !== b.doc.affinity).length, claimedAt: iso(b.doc.claimedAtMs),
  };
  if (poolOf(pol, b) === undefined) v.orphanPool = true;
  return v;
}

export function poolView(p: Pool, blocks: readonly BlockView[], pol: IpamPolicy): IpamPoolView {
  const mine = blocks.filter((b) => poolContainsBlock(p, b.cidr));
  const inBlocks = mine.reduce((n, b) => n + b.size, 0);
  const used = mine.reduce((n, b) => n + b.doc.allocations.length, 0);
  let reserved = 0n;
  for (const r of pol.reservations) {
    if (r.family !== p.cidr.family) continue;
    // Reservations never overlap partially in a way that matters here: count the part inside the pool.
    const lo = r.base > p.cidr.base ? r.base : p.cidr.base;
    const rHi = r.base + cidrSize(r) - 1n;
    const pHi = p.cidr.base + cidrSize(p.cidr) - 1n;
    const hi = rHi < pHi ? rHi : pHi;
    if (hi >= lo) reserved += hi - lo + 1n;
  }
  return {
    name: p.name, cidr: p.cidrText, family: familyName(p.cidr.family), blockSize: p.blockSize, nodeSelector: p.selectorText,
    disabled: p.disabled, selectsThisNode: poolSelectsNode(p, pol.labels),
    blocks: { total: String(blockCount(p)), claimed: mine.length, thisNode: mine.filter((b) => b.doc.affinity === pol.node).length },
    addresses: { total: String(cidrSize(p.cidr)), inClaimedBlocks: inBlocks, used, reserved: String(reserved) },
    blockUtilizationPct: inBlocks === 0 ? 0 : Math.round((used / inBlocks) * 10000) / 100,
  };
}

export function allocationView(b: BlockView, a: Allocation, pol: IpamPolicy): IpamAllocationView {
  const v: IpamAllocationView = {
    address: addressTextAt(b.cidr, a.ordinal), family: familyName(b.cidr.family), handle: a.handle, block: b.doc.cidr,
    blockNode: b.doc.affinity, node: a.attrs.node, pool: poolOf(pol, b)?.name ?? b.doc.pool, borrowed: a.attrs.node !== b.doc.affinity,
    assignedAt: iso(a.assignedAtMs),
  };
  for (const k of ['namespace', 'pod', 'containerId', 'ifname', 'netns', 'network'] as const) {
    const x = a.attrs[k];
    if (x !== undefined) v[k] = x;
  }
  return v;
}

export function borrowedViews(blocks: readonly BlockView[]): IpamBorrowedView[] {
  const out: IpamBorrowedView[] = [];
  for (const b of blocks) {
    for (const a of b.doc.allocations) {
      if (a.attrs.node === b.doc.affinity) continue;
      out.push({ address: addressTextAt(b.cidr, a.ordinal), block: b.doc.cidr, blockNode: b.doc.affinity, node: a.attrs.node, handle: a.handle });
    }
  }
  return out;
}

/**
 * The prefixes a node advertises for IPAM: each block affine to it, and a
 * host route for each address it uses from another node's block.
 */
export function originatedPrefixes(blocks: readonly BlockView[], node: string): { blocks: string[]; borrowed: string[] } {
  const own: string[] = [];
  const borrowed: string[] = [];
  for (const b of blocks) {
    if (b.doc.affinity === node) {
      own.push(formatCidr(b.cidr));
      continue;
    }
    for (const a of b.doc.allocations) {
      if (a.attrs.node === node) borrowed.push(hostCidr({ family: b.cidr.family, value: b.cidr.base + BigInt(a.ordinal) }));
    }
  }
  return { blocks: own, borrowed };
}

/**
 * The same as originatedPrefixes, from the cache's indexes: only this
 * node's blocks and the blocks where it holds addresses are visited, so it
 * can run after every batch however many blocks the cluster has.
 */
export function originatedFromCache(cache: BlockCache, node: string): { blocks: string[]; borrowed: string[] } {
  const own = [...cache.indexed('affinity', node)].sort();
  const borrowed: string[] = [];
  for (const cidr of cache.indexed('holder', node)) {
    const b = cache.entry(cidr)?.view;
    if (b === undefined || b.doc.affinity === node) continue;
    for (const a of b.doc.allocations) {
      if (a.attrs.node === node) borrowed.push(hostCidr({ family: b.cidr.family, value: b.cidr.base + BigInt(a.ordinal) }));
    }
  }
  return { blocks: own, borrowed: borrowed.sort() };
}

export type Liveness = 'alive' | 'dead' | 'unknown';

/** A node not seen for this long (no heartbeat of its record) counts as gone. */
export const NODE_GONE_AFTER_MS = 10 * 60_000;

export interface CheckInput {
  /** Nodes known to exist, with when each was last seen (node records' heartbeats). */
  nodes: ReadonlyMap<string, number>;
  /**
   * The cluster's own list of nodes (Kubernetes Nodes), when there is one:
   * then a node is gone exactly when it is not in this set, and heartbeats
   * do not matter.
   */
  liveNodes?: ReadonlySet<string>;
  /** For this node's allocations: alive, dead (with a reason) or unknown, by handle. */
  liveness: ReadonlyMap<string, { state: Liveness; reason?: string }>;
  nowMs: number;
}

/** Why `node` counts as gone, or undefined when it does not. */
function nodeGone(node: string, input: CheckInput): string | undefined {
  if (input.liveNodes !== undefined) return input.liveNodes.has(node) ? undefined : `its node ${node} is not in the cluster's node list`;
  const seen = input.nodes.get(node);
  if (seen === undefined) return `its node ${node} is gone (no node record)`;
  const ago = input.nowMs - seen;
  if (ago > NODE_GONE_AFTER_MS) return `its node ${node} has not been seen for ${Math.floor(ago / 60_000)} minutes (since ${iso(seen)})`;
  return undefined;
}

/** Leaks and orphaned blocks. */
export function checkBlocks(blocks: readonly BlockView[], pol: IpamPolicy, input: CheckInput): {
  leaks: IpamLeakView[]; orphanedBlocks: IpamOrphanBlockView[]; allocations: number; unknown: number;
} {
  const leaks: IpamLeakView[] = [];
  const orphanedBlocks: IpamOrphanBlockView[] = [];
  let allocations = 0;
  let unknown = 0;
  for (const b of blocks) {
    const node = b.doc.affinity;
    if (node === null) {
      if (b.doc.allocations.length === 0) orphanedBlocks.push({ cidr: b.doc.cidr, node, used: 0, reason: 'no node claims it and it is empty' });
    } else {
      const gone = nodeGone(node, input);
      if (gone !== undefined) orphanedBlocks.push({ cidr: b.doc.cidr, node, used: b.doc.allocations.length, reason: gone });
    }
    const ranges = reservedRanges(b.cidr, pol.reservations);
    for (const a of b.doc.allocations) {
      allocations++;
      const address = addressTextAt(b.cidr, a.ordinal);
      const reasons: string[] = [];
      if (a.attrs.node !== pol.node) {
        const gone = nodeGone(a.attrs.node, input);
        if (gone !== undefined) reasons.push(gone);
      } else {
        const live = input.liveness.get(a.handle) ?? { state: 'unknown' };
        if (live.state === 'dead') reasons.push(live.reason ?? 'no live attachment has this handle');
        else if (live.state === 'unknown') unknown++;
        if (poolOf(pol, b) === undefined) reasons.push('its block lies in no configured pool');
        else if (ranges.some(([lo, hi]) => a.ordinal >= lo && a.ordinal <= hi)) reasons.push('the address is now reserved');
      }
      if (reasons.length === 0) continue;
      const l: IpamLeakView = { address, handle: a.handle, node: a.attrs.node, reason: reasons.join('; '), assignedAt: iso(a.assignedAtMs) };
      if (a.attrs.namespace !== undefined) l.namespace = a.attrs.namespace;
      if (a.attrs.pod !== undefined) l.pod = a.attrs.pod;
      leaks.push(l);
    }
  }
  return { leaks, orphanedBlocks, allocations, unknown };
}

