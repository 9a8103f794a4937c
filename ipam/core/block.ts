/**
 * One block: a power-of-two run of addresses, affine to one node, holding
 * allocations by ordinal (0 = the block's first address). A block is a plain
 * JSON value, stored whole under one datastore key, so every change to it is
 * one compare-and-swap.
 *
 * Allocation order is deterministic: the lowest free ordinal that is neither
 * reserved nor cooling down. A released ordinal joins the cooldown queue
 * (oldest first) and is handed out again only once `cooldownMs` has passed,
 * or as a last resort when nothing else is free anywhere.
 *
 * Pure: every function takes the time it needs as `nowMs`.
 */
import { ipamError, IpamErrorCode } from './errors.js';
import { cidrLast, cidrOf, cidrSize, formatIp, parseCidr, type Cidr, type Ip } from './ip.js';

export const BLOCK_SCHEMA = 1;

/** Who holds an address. `node` is the node the pod runs on (for a borrowed address, not the block's node). */
export interface AllocationAttrs {
  node: string;
  namespace?: string;
  pod?: string;
  containerId?: string;
  ifname?: string;
  /** CNI_NETNS at ADD time: lets `check` see that the pod's namespace is gone. */
  netns?: string;
  /** The CNI network name: GC of one network never touches another's addresses. */
  network?: string;
}

export interface Allocation {
  ordinal: number;
  handle: string;
  assignedAtMs: number;
  attrs: AllocationAttrs;
}

export interface CooldownEntry {
  ordinal: number;
  releasedAtMs: number;
}

export interface BlockDoc {
  schema: typeof BLOCK_SCHEMA;
  /** Canonical CIDR. */
  cidr: string;
  /** The pool the block was cut from. */
  pool: string;
  /** The node the block belongs to; null once nobody claims it. */
  affinity: string | null;
  claimedAtMs: number;
  /** Sorted by ordinal; at most one per ordinal. */
  allocations: Allocation[];
  /** Released ordinals, oldest first. */
  cooldown: CooldownEntry[];
}

/** What a block needs to know from the configuration. */
export interface BlockRules {
  /** Reserved ranges (any family; only the overlapping ones matter). */
  reservations: readonly Cidr[];
  cooldownMs: number;
}

/** A freshly claimed, empty block. `cidr` is canonical text. */
export function newBlock(cidr: string, pool: string, node: string, nowMs: number): BlockDoc {
  return { schema: BLOCK_SCHEMA, cidr, pool, affinity: node, claimedAtMs: nowMs, allocations: [], cooldown: [] };
}

export function blockSize(c: Cidr): number {
  return Number(cidrSize(c));
}

export function addressAt(c: Cidr, ordinal: number): Ip {
  return { family: c.family, value: c.base + BigInt(ordinal) };
}

export function addressTextAt(c: Cidr, ordinal: number): string {
  return formatIp(addressAt(c, ordinal));
}

/** The ordinal of `ip` in block `c`, or undefined when it lies outside. */
export function ordinalOf(c: Cidr, ip: Ip): number | undefined {
  if (ip.family !== c.family || ip.value < c.base || ip.value > cidrLast(c)) return undefined;
  return Number(ip.value - c.base);
}

/**
 * The reserved ordinals of a block as sorted, merged [first, last] ranges.
 */
export function reservedRanges(c: Cidr, reservations: readonly Cidr[]): [number, number][] {
  const last = cidrLast(c);
  const raw: [number, number][] = [];
  for (const r of reservations) {
    if (r.family !== c.family) continue;
    const rl = cidrLast(r);
    if (rl < c.base || r.base > last) continue;
    const lo = r.base > c.base ? r.base : c.base;
    const hi = rl < last ? rl : last;
    raw.push([Number(lo - c.base), Number(hi - c.base)]);
  }
  raw.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const r of raw) {
    const top = merged[merged.length - 1];
    if (top !== undefined && r[0] <= top[1] + 1) top[1] = Math.max(top[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

export function reservedCount(ranges: readonly [number, number][]): number {
  return ranges.reduce((n, [a, b]) => n + b - a + 1, 0);
}

function isReserved(ranges: readonly [number, number][], ord: number): boolean {
  for (const [a, b] of ranges) {
    if (ord < a) return false;
    if (ord <= b) return true;
  }
  return false;
}

/** A decoded block with its CIDR parsed and its ordinals indexed, for fast questions. */
export class BlockView {
  readonly cidr: Cidr;
  readonly size: number;
  private used: Set<number> | undefined;

  constructor(readonly doc: BlockDoc) {
    this.cidr = cidrOf(doc.cidr);
    this.size = blockSize(this.cidr);
  }

  private usedSet(): Set<number> {
    this.used ??= new Set(this.doc.allocations.map((a) => a.ordinal));
    return this.used;
  }

  isUsed(ord: number): boolean {
    return this.usedSet().has(ord);
  }

  allocationAt(ord: number): Allocation | undefined {
    if (!this.isUsed(ord)) return undefined;
    return this.doc.allocations.find((a) => a.ordinal === ord);
  }

  /** Ordinals still cooling at `nowMs`. */
  coolingSet(nowMs: number, cooldownMs: number): Set<number> {
    const s = new Set<number>();
    for (const c of this.doc.cooldown) if (nowMs - c.releasedAtMs < cooldownMs) s.add(c.ordinal);
    return s;
  }

  /**
   * The next ordinal to hand out: the lowest that is free, not reserved and
   * not cooling. With `lastResort`, the oldest cooling ordinal instead.
   */
  pick(rules: BlockRules, nowMs: number, lastResort = false): number | undefined {
    const reserved = reservedRanges(this.cidr, rules.reservations);
    const used = this.usedSet();
    if (lastResort) {
      for (const c of this.doc.cooldown) if (!used.has(c.ordinal) && !isReserved(reserved, c.ordinal)) return c.ordinal;
      return undefined;
    }
    if (used.size + reservedCount(reserved) >= this.size) return undefined;
    const cooling = this.coolingSet(nowMs, rules.cooldownMs);
    for (let ord = 0; ord < this.size; ord++) {
      if (used.has(ord) || cooling.has(ord) || isReserved(reserved, ord)) continue;
      return ord;
    }
    return undefined;
  }

  /** Free ordinals (not used, not reserved), cooling or not. */
  freeCount(reservations: readonly Cidr[]): number {
    const reserved = reservedRanges(this.cidr, reservations);
    const usedOutside = this.doc.allocations.filter((a) => !isReserved(reserved, a.ordinal)).length;
    return this.size - reservedCount(reserved) - usedOutside;
  }

  /** True when every ordinal is reserved: such a block is never worth claiming. */
  fullyReserved(reservations: readonly Cidr[]): boolean {
    return reservedCount(reservedRanges(this.cidr, reservations)) >= this.size;
  }
}

/** Prunes cooldown entries that have expired, and any for ordinals now in use. */
function prunedCooldown(cooldown: readonly CooldownEntry[], nowMs: number, cooldownMs: number, inUse: ReadonlySet<number>): CooldownEntry[] {
  return cooldown.filter((c) => nowMs - c.releasedAtMs < cooldownMs && !inUse.has(c.ordinal));
}

/** The block with one more allocation. The ordinal must be free (checked). */
export function withAllocation(doc: BlockDoc, alloc: Allocation, rules: BlockRules, nowMs: number): BlockDoc {
  if (doc.allocations.some((a) => a.ordinal === alloc.ordinal)) {
    throw ipamError(IpamErrorCode.AddressInUse, `ordinal ${alloc.ordinal} of block ${doc.cidr} is already allocated`);
  }
  const allocations = [...doc.allocations, alloc].sort((a, b) => a.ordinal - b.ordinal);
  const inUse = new Set(allocations.map((a) => a.ordinal));
  return { ...doc, allocations, cooldown: prunedCooldown(doc.cooldown, nowMs, rules.cooldownMs, inUse) };
}

/** The block without the allocations `drop` selects; they join the cooldown queue. */
export function withoutAllocations(
  doc: BlockDoc, drop: (a: Allocation) => boolean, rules: BlockRules, nowMs: number,
): { doc: BlockDoc; removed: Allocation[] } {
  const removed = doc.allocations.filter(drop);
  if (removed.length === 0) return { doc, removed };
  const allocations = doc.allocations.filter((a) => !drop(a));
  const inUse = new Set(allocations.map((a) => a.ordinal));
  const cooldown = prunedCooldown(doc.cooldown, nowMs, rules.cooldownMs, inUse);
  if (rules.cooldownMs > 0) {
    for (const a of removed) cooldown.push({ ordinal: a.ordinal, releasedAtMs: nowMs });
  }
  return { doc: { ...doc, allocations, cooldown }, removed };
}

/** True when the block holds nothing and nothing in it is still cooling: it may be released. */
export function releasable(doc: BlockDoc, nowMs: number, cooldownMs: number): boolean {
  return doc.allocations.length === 0 && doc.cooldown.every((c) => nowMs - c.releasedAtMs >= cooldownMs);
}

// ---------------------------------------------------------------- decoding stored blocks

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNat(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

const ATTR_KEYS = ['node', 'namespace', 'pod', 'containerId', 'ifname', 'netns', 'network'] as const;

function decodeAttrs(v: unknown, where: string): AllocationAttrs {
  if (!isRecord(v) || typeof v.node !== 'string') throw corrupt(where, 'attrs.node is missing');
  const out: AllocationAttrs = { node: v.node };
  for (const k of ATTR_KEYS) {
    const x = v[k];
    if (x === undefined) continue;
    if (typeof x !== 'string') throw corrupt(where, `attrs.${k} is not a string`);
    out[k] = x;
  }
  return out;
}

function corrupt(where: string, why: string): Error {
  return ipamError(IpamErrorCode.CorruptBlock, `stored block ${where} is not valid: ${why}`);
}

/**
 * Checks a stored value and returns it as a BlockDoc. Every allocation must
 * carry a handle: a block without one is refused as corrupt, never repaired
 * by guessing.
 */
export function decodeBlock(v: unknown, where: string): BlockDoc {
  if (!isRecord(v)) throw corrupt(where, 'not an object');
  if (v.schema !== BLOCK_SCHEMA) throw corrupt(where, `unknown schema ${JSON.stringify(v.schema)}`);
  if (typeof v.cidr !== 'string') throw corrupt(where, 'cidr is missing');
  const p = parseCidr(v.cidr);
  if (!p.ok) throw corrupt(where, p.reason);
  const size = blockSize(p.cidr);
  if (typeof v.pool !== 'string') throw corrupt(where, 'pool is missing');
  if (v.affinity !== null && typeof v.affinity !== 'string') throw corrupt(where, 'affinity is neither a node name nor null');
  if (!isNat(v.claimedAtMs)) throw corrupt(where, 'claimedAtMs is not a time');
  if (!Array.isArray(v.allocations) || !Array.isArray(v.cooldown)) throw corrupt(where, 'allocations or cooldown is not a list');
  const seen = new Set<number>();
  const allocations: Allocation[] = [];
  for (const a of v.allocations as unknown[]) {
    if (!isRecord(a) || !isNat(a.ordinal) || a.ordinal >= size) throw corrupt(where, 'an allocation has a bad ordinal');
    if (typeof a.handle !== 'string' || a.handle === '') throw corrupt(where, `the allocation at ordinal ${a.ordinal} has no handle`);
    if (!isNat(a.assignedAtMs)) throw corrupt(where, `the allocation at ordinal ${a.ordinal} has no time`);
    if (seen.has(a.ordinal)) throw corrupt(where, `ordinal ${a.ordinal} is allocated twice`);
    seen.add(a.ordinal);
    allocations.push({ ordinal: a.ordinal, handle: a.handle, assignedAtMs: a.assignedAtMs, attrs: decodeAttrs(a.attrs, where) });
  }
  allocations.sort((a, b) => a.ordinal - b.ordinal);
  const cooldown: CooldownEntry[] = [];
  for (const c of v.cooldown as unknown[]) {
    if (!isRecord(c) || !isNat(c.ordinal) || c.ordinal >= size || !isNat(c.releasedAtMs)) throw corrupt(where, 'a cooldown entry is bad');
    cooldown.push({ ordinal: c.ordinal, releasedAtMs: c.releasedAtMs });
  }
  return { schema: BLOCK_SCHEMA, cidr: v.cidr, pool: v.pool, affinity: v.affinity, claimedAtMs: v.claimedAtMs, allocations, cooldown };
}
