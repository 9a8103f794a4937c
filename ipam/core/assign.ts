/**
 * Assigning addresses, as a pure function over a BlockTable:
 *
 *   1. A handle that already holds an address of the family gets it again
 *      (ADD is retried by runtimes; a retry must not allocate twice).
 *   2. A requested (fixed) address is taken if it is in a pool, not
 *      reserved and free; refused with a precise error otherwise.
 *   3. Otherwise, per eligible pool in configuration order:
 *        a. the lowest free, non-cooling ordinal of this node's blocks;
 *        b. a newly claimed block (the walk starts at a per-node offset);
 *        c. an address of this node's blocks that is still cooling (oldest first);
 *        d. with strict affinity off: an address borrowed from another node's block.
 *   4. Nothing left: ERR_IPAM_POOL_EXHAUSTED, naming each pool and why.
 *
 * All changes go through the table; nothing is written here.
 */
import { TortieError } from '../../lib/errors.js';
import { addressTextAt, newBlock, ordinalOf, withAllocation, type Allocation, type AllocationAttrs, type BlockDoc } from './block.js';
import { ipamError, IpamErrorCode } from './errors.js';
import {
  cidrContains, cidrLast, cidrsOverlap, formatCidr, formatIp, hostCidr, type Cidr, type Family, type Ip,
} from './ip.js';
import { eligiblePools, availableFamilies, type IpamPolicy } from './policy.js';
import { blockCount, blockOfAddress, claimStart, findFreeBlock, poolContainsBlock, poolSelectsNode, type Pool } from './pool.js';
import type { BlockTable } from './table.js';
import type { BlockView } from './block.js';

export interface AssignInput {
  handle: string;
  attrs: Omit<AllocationAttrs, 'node'>;
  /** Families to allocate; default: every family with an eligible pool (plus those of `ips`). */
  families?: readonly Family[];
  /** Only these pools (by name). */
  pools?: readonly string[];
  /** Fixed addresses, at most one per family. */
  ips?: readonly Ip[];
}

export interface AssignedIp {
  family: Family;
  address: string;
  /** "10.244.0.5/32", "fd00::5/128". */
  hostCidr: string;
  block: string;
  pool: string;
  /** The block is another node's: the address must be advertised as a host route. */
  borrowed: boolean;
  /** The handle already held it (a retried ADD). */
  existing: boolean;
}

/** Exhaustion, with the pools that were tried. */
export class IpamExhaustedError extends TortieError {
  constructor(message: string, readonly family: Family, readonly pools: readonly string[]) {
    super(IpamErrorCode.PoolExhausted, message);
    this.name = 'IpamExhaustedError';
  }
}

const FAMILY_TEXT: Record<Family, string> = { 4: 'IPv4', 6: 'IPv6' };

function poolDesc(p: Pool): string {
  return `${p.name} (${p.cidrText}, /${p.blockSize} blocks)`;
}

function poolOfBlock(pol: IpamPolicy, b: BlockView): Pool | undefined {
  return pol.pools.find((p) => poolContainsBlock(p, b.cidr));
}

/** The block holding `ip`, whatever its size (a pool's block size may have changed since it was claimed). */
function blockContaining(t: BlockTable, pool: Pool, ip: Ip): BlockView | undefined {
  const exact = t.get(formatCidr(blockOfAddress(pool, ip)));
  if (exact !== undefined) return exact;
  return t.all().find((b) => cidrContains(b.cidr, ip));
}

function allocate(
  t: BlockTable, pol: IpamPolicy, view: BlockView, ordinal: number, req: AssignInput, nowMs: number, pool: string, existing = false,
): AssignedIp {
  const alloc: Allocation = { ordinal, handle: req.handle, assignedAtMs: nowMs, attrs: { ...cleanAttrs(req.attrs), node: pol.node } };
  if (!existing) t.put(withAllocation(view.doc, alloc, pol, nowMs));
  const address = addressTextAt(view.cidr, ordinal);
  return {
    family: view.cidr.family, address, hostCidr: hostCidr({ family: view.cidr.family, value: view.cidr.base + BigInt(ordinal) }),
    block: view.doc.cidr, pool, borrowed: view.doc.affinity !== pol.node, existing,
  };
}

function cleanAttrs(a: Omit<AllocationAttrs, 'node'>): Omit<AllocationAttrs, 'node'> {
  const out: Omit<AllocationAttrs, 'node'> = {};
  for (const k of ['namespace', 'pod', 'containerId', 'ifname', 'netns', 'network'] as const) {
    const v = a[k];
    if (v !== undefined && v !== '') out[k] = v;
  }
  return out;
}

/** The address `handle` holds in `family`, if any. */
export function findByHandle(t: BlockTable, handle: string, family: Family): { view: BlockView; alloc: Allocation } | undefined {
  for (const view of t.withHandle(handle)) {
    if (view.cidr.family !== family) continue;
    const alloc = view.doc.allocations.find((a) => a.handle === handle);
    if (alloc !== undefined) return { view, alloc };
  }
  return undefined;
}

export function assign(t: BlockTable, pol: IpamPolicy, req: AssignInput, nowMs: number): AssignedIp[] {
  if (req.handle === '') throw ipamError(IpamErrorCode.BadRequest, 'the handle is empty');
  const fixed = new Map<Family, Ip>();
  for (const ip of req.ips ?? []) {
    const prev = fixed.get(ip.family);
    if (prev !== undefined) {
      throw ipamError(IpamErrorCode.BadRequest, `two ${FAMILY_TEXT[ip.family]} addresses requested (${formatIp(prev)} and ${formatIp(ip)}); ask for at most one per family`);
    }
    fixed.set(ip.family, ip);
  }
  for (const name of req.pools ?? []) {
    if (!pol.pools.some((p) => p.name === name)) {
      throw ipamError(IpamErrorCode.BadRequest, `no pool is named ${JSON.stringify(name)} (pools: ${pol.pools.map((p) => p.name).join(', ') || 'none'})`);
    }
  }
  const families = new Set<Family>(req.families ?? availableFamilies(pol, req.pools));
  for (const f of fixed.keys()) families.add(f);
  if (families.size === 0) throw noPoolError(pol, undefined, req.pools);

  const out: AssignedIp[] = [];
  for (const family of [4, 6] as const) {
    if (!families.has(family)) continue;
    const want = fixed.get(family);
    const held = findByHandle(t, req.handle, family);
    if (held !== undefined) {
      const at = addressTextAt(held.view.cidr, held.alloc.ordinal);
      if (want !== undefined && formatIp(want) !== at) {
        throw ipamError(IpamErrorCode.AddressInUse, `handle ${req.handle} already holds ${at}; release it before asking for ${formatIp(want)}`);
      }
      out.push(allocate(t, pol, held.view, held.alloc.ordinal, req, nowMs, poolOfBlock(pol, held.view)?.name ?? held.view.doc.pool, true));
      continue;
    }
    out.push(want !== undefined ? assignFixed(t, pol, want, req, nowMs) : assignAuto(t, pol, family, req, nowMs));
  }
  return out;
}

function noPoolError(pol: IpamPolicy, family: Family | undefined, names?: readonly string[]): TortieError {
  const which = family === undefined ? 'no' : `no ${FAMILY_TEXT[family]}`;
  if (pol.pools.length === 0) return ipamError(IpamErrorCode.NoPool, `${which} address for node ${pol.node}: no IP pools are configured (ipam.pools)`);
  const why = pol.pools
    .filter((p) => family === undefined || p.cidr.family === family)
    .map((p) => `${p.name}: ${names !== undefined && !names.includes(p.name) ? 'not requested' : p.disabled ? 'disabled' : !poolSelectsNode(p, pol.labels) ? `nodeSelector ${p.selectorText} does not select this node` : 'eligible'}`);
  return ipamError(IpamErrorCode.NoPool, `${which} address for node ${pol.node}: no enabled ${family === undefined ? '' : `${FAMILY_TEXT[family]} `}pool selects this node${why.length > 0 ? ` (${why.join('; ')})` : ''}`);
}

function assignFixed(t: BlockTable, pol: IpamPolicy, ip: Ip, req: AssignInput, nowMs: number): AssignedIp {
  const text = formatIp(ip);
  const pool = pol.pools.find((p) => cidrContains(p.cidr, ip));
  if (pool === undefined) {
    throw ipamError(IpamErrorCode.AddressNotInPool, `${text} is not in any IP pool (pools: ${pol.pools.map((p) => `${p.name} ${p.cidrText}`).join(', ') || 'none'})`);
  }
  if (pool.disabled) throw ipamError(IpamErrorCode.PoolDisabled, `${text} is in pool ${pool.name}, which is disabled`);
  const res = pol.reservations.find((r) => cidrContains(r, ip));
  if (res !== undefined) throw ipamError(IpamErrorCode.AddressReserved, `${text} is reserved (ipam.reservations: ${formatCidr(res)})`);
  let view = blockContaining(t, pool, ip);
  if (view === undefined) {
    if (!poolSelectsNode(pool, pol.labels)) {
      throw ipamError(IpamErrorCode.PoolNotForNode, `${text} is in pool ${pool.name}, whose nodeSelector ${pool.selectorText} does not select node ${pol.node}`);
    }
    const cidr = blockOfAddress(pool, ip);
    const doc = newBlock(formatCidr(cidr), pool.name, pol.node, nowMs);
    t.put(doc);
    view = t.get(doc.cidr)!;
  } else if (view.doc.affinity !== pol.node && pol.strictAffinity) {
    throw ipamError(IpamErrorCode.AffineElsewhere,
      `${text} is in block ${view.doc.cidr}, which belongs to node ${view.doc.affinity ?? '(none)'}; strict affinity (ipam.strictAffinity) forbids borrowing it`);
  }
  const ord = ordinalOf(view.cidr, ip)!;
  const holder = view.allocationAt(ord);
  if (holder !== undefined) {
    if (holder.handle === req.handle) return allocate(t, pol, view, ord, req, nowMs, pool.name, true);
    const who = holder.attrs.pod !== undefined ? ` (pod ${holder.attrs.namespace ?? ''}/${holder.attrs.pod} on ${holder.attrs.node})` : ` (node ${holder.attrs.node})`;
    throw ipamError(IpamErrorCode.AddressInUse, `${text} is already allocated to ${holder.handle}${who}`);
  }
  return allocate(t, pol, view, ord, req, nowMs, pool.name);
}

function assignAuto(t: BlockTable, pol: IpamPolicy, family: Family, req: AssignInput, nowMs: number): AssignedIp {
  const pools = eligiblePools(pol, family, req.pools);
  if (pools.length === 0) throw noPoolError(pol, family, req.pools);
  const own = t.affineTo(pol.node).filter((b) => b.cidr.family === family);
  const ownIn = (p: Pool): BlockView[] => own.filter((b) => poolContainsBlock(p, b.cidr));

  for (const p of pools) {
    // a. our blocks, lowest free ordinal
    for (const b of ownIn(p)) {
      const ord = b.pick(pol, nowMs);
      if (ord !== undefined) return allocate(t, pol, b, ord, req, nowMs, p.name);
    }
    // b. claim a block
    const claimed = claim(t, pol, p, nowMs);
    if (claimed !== undefined) {
      const ord = claimed.pick(pol, nowMs) ?? claimed.pick(pol, nowMs, true);
      if (ord !== undefined) return allocate(t, pol, claimed, ord, req, nowMs, p.name);
    }
  }
  for (const p of pools) {
    // c. our cooling addresses, oldest first
    for (const b of ownIn(p)) {
      const ord = b.pick(pol, nowMs, true);
      if (ord !== undefined) return allocate(t, pol, b, ord, req, nowMs, p.name);
    }
  }
  if (!pol.strictAffinity) {
    // d. borrow from other nodes' blocks
    for (const lastResort of [false, true]) {
      for (const p of pools) {
        for (const b of t.all()) {
          if (b.doc.affinity === pol.node || !poolContainsBlock(p, b.cidr)) continue;
          const ord = b.pick(pol, nowMs, lastResort);
          if (ord !== undefined) return allocate(t, pol, b, ord, req, nowMs, p.name);
        }
      }
    }
  }
  throw exhausted(t, pol, family, pools);
}

/** Claims the first free block of `p` from this node's starting point; undefined when none is left. */
function claim(t: BlockTable, pol: IpamPolicy, p: Pool, nowMs: number): BlockView | undefined {
  // Existing blocks that overlap the pool, as sorted ranges: a block from an
  // older block size still occupies its addresses.
  const taken = t.all().filter((b) => cidrsOverlap(b.cidr, p.cidr)).map((b) => [b.cidr.base, cidrLast(b.cidr)] as const);
  const isTaken = (c: Cidr): boolean => {
    let lo = 0;
    let hi = taken.length - 1;
    const last = cidrLast(c);
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [a, z] = taken[mid];
      if (z < c.base) lo = mid + 1;
      else if (a > last) hi = mid - 1;
      else return true;
    }
    return false;
  };
  const cidr = findFreeBlock(p, claimStart(p, pol.node), isTaken, pol.reservations);
  if (cidr === undefined) return undefined;
  const doc: BlockDoc = newBlock(formatCidr(cidr), p.name, pol.node, nowMs);
  t.put(doc);
  return t.get(doc.cidr);
}

function exhausted(t: BlockTable, pol: IpamPolicy, family: Family, pools: readonly Pool[]): IpamExhaustedError {
  const parts = pools.map((p) => {
    const blocks = t.all().filter((b) => poolContainsBlock(p, b.cidr));
    const mine = blocks.filter((b) => b.doc.affinity === pol.node).length;
    const total = blockCount(p);
    const claimedText = BigInt(blocks.length) >= total
      ? `all ${total} blocks are claimed (${mine} by ${pol.node}, ${blocks.length - mine} by other nodes)`
      : `the ${total - BigInt(blocks.length)} unclaimed blocks are wholly reserved`;
    const borrow = pol.strictAffinity
      ? 'borrowing from other nodes\' blocks is disabled (ipam.strictAffinity is true)'
      : 'the other nodes\' blocks are full too';
    return `pool ${poolDesc(p)}: no free block (${claimedText}), ${mine > 0 ? `${pol.node}'s ${mine} block${mine === 1 ? ' is' : 's are'} full` : `${pol.node} has no block`}, and ${borrow}`;
  });
  return new IpamExhaustedError(`no ${FAMILY_TEXT[family]} address left for node ${pol.node}: ${parts.join('; ')}`, family, pools.map((p) => p.name));
}
