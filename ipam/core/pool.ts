/**
 * IP pools and the blocks they are cut into. A pool of length L with block
 * size B has 2^(B-L) blocks; block i covers base + i * 2^(bits-B). Indexes
 * are bigints so an IPv6 /64 cut into /122s (2^58 blocks) is no special case.
 *
 * Pure.
 */
import {
  cidrCovers, cidrLast, cidrsOverlap, FAMILY_BITS, formatCidr, parseCidr, type Cidr, type Family, type Ip,
} from './ip.js';
import { ALL_NODES, parseSelector, selectorMatches, type Selector } from './selector.js';

/** Block sizes allowed per family, and the default. */
export const BLOCK_SIZE_RULES: Readonly<Record<Family, { min: number; max: number; default: number }>> = {
  4: { min: 20, max: 32, default: 26 },
  6: { min: 116, max: 128, default: 122 },
};

/** A pool as configured (all text). */
export interface PoolSpec {
  name: string;
  cidr: string;
  blockSize: number;
  nodeSelector: string;
  disabled: boolean;
}

/** A pool ready for block math. */
export interface Pool {
  readonly name: string;
  readonly cidr: Cidr;
  readonly cidrText: string;
  readonly blockSize: number;
  readonly selector: Selector;
  readonly selectorText: string;
  readonly disabled: boolean;
}

/** Builds a Pool from a validated spec; throws RangeError on anything the config check should have refused. */
export function poolFromSpec(s: PoolSpec): Pool {
  const p = parseCidr(s.cidr);
  if (!p.ok) throw new RangeError(`pool ${s.name}: ${p.reason}`);
  const rules = BLOCK_SIZE_RULES[p.cidr.family];
  if (s.blockSize < Math.max(rules.min, p.cidr.len) || s.blockSize > rules.max) {
    throw new RangeError(`pool ${s.name}: block size /${s.blockSize} is not allowed for ${formatCidr(p.cidr)}`);
  }
  const sel = parseSelector(s.nodeSelector);
  if (!sel.ok) throw new RangeError(`pool ${s.name}: node selector: ${sel.reason}`);
  return { name: s.name, cidr: p.cidr, cidrText: formatCidr(p.cidr), blockSize: s.blockSize, selector: sel.selector, selectorText: s.nodeSelector, disabled: s.disabled };
}

/** The default block size for a pool prefix: the family default, or the pool's own length when that is longer. */
export function defaultBlockSize(c: Cidr): number {
  return Math.max(BLOCK_SIZE_RULES[c.family].default, c.len);
}

/** The name a pool gets when the file gives none: "pool-" and the CIDR with separators as dashes. */
export function defaultPoolName(c: Cidr): string {
  return `pool-${formatCidr(c).replace(/[.:/]/g, '-')}`;
}

export function poolSelectsNode(p: Pool, labels: Readonly<Record<string, string>>): boolean {
  return selectorMatches(p.selector, labels);
}

export function blockCount(p: Pool): bigint {
  return 1n << BigInt(p.blockSize - p.cidr.len);
}

function blockShift(p: Pool): bigint {
  return BigInt(FAMILY_BITS[p.cidr.family] - p.blockSize);
}

export function blockAt(p: Pool, index: bigint): Cidr {
  return { family: p.cidr.family, base: p.cidr.base + (index << blockShift(p)), len: p.blockSize };
}

export function blockIndexOf(p: Pool, ip: Ip): bigint {
  return (ip.value - p.cidr.base) >> blockShift(p);
}

/** The block of `p` that holds `ip` (the caller checked that the pool does). */
export function blockOfAddress(p: Pool, ip: Ip): Cidr {
  return blockAt(p, blockIndexOf(p, ip));
}

export function poolContainsBlock(p: Pool, block: Cidr): boolean {
  return cidrCovers(p.cidr, block);
}

/** FNV-1a (32 bit) of a string's UTF-16 code units: a stable per-node starting point. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * Where a node starts looking for an unclaimed block in a pool: a hash of
 * its name, so nodes claiming at the same moment rarely collide, and one
 * node always tries the same blocks in the same order.
 */
export function claimStart(p: Pool, node: string): bigint {
  return BigInt(fnv1a32(node)) % blockCount(p);
}

/**
 * The first block index at or after `start` (wrapping once) that
 * `isTaken` says is free and that is not wholly reserved. Reserved
 * ranges are jumped over, so the walk is bounded by the number of taken
 * blocks plus twice the number of reservations, however large the pool.
 */
export function findFreeBlock(
  p: Pool, start: bigint, isTaken: (block: Cidr) => boolean, reservations: readonly Cidr[],
): Cidr | undefined {
  const total = blockCount(p);
  const inPool = reservations.filter((r) => cidrsOverlap(r, p.cidr));
  const walk = (from: bigint, to: bigint): Cidr | undefined => {
    let i = from;
    while (i < to) {
      const b = blockAt(p, i);
      // A reservation that covers the whole block: jump past its end.
      const cover = inPool.find((r) => cidrCovers(r, b));
      if (cover !== undefined) {
        i = ((cidrLast(cover) - p.cidr.base) >> blockShift(p)) + 1n;
        continue;
      }
      if (!isTaken(b) && !coveredByUnion(b, inPool)) return b;
      i++;
    }
    return undefined;
  };
  return walk(start, total) ?? walk(0n, start);
}

/** True when reservations together (none alone) cover every address of `b`. */
function coveredByUnion(b: Cidr, reservations: readonly Cidr[]): boolean {
  const parts = reservations.filter((r) => cidrsOverlap(r, b)).map((r) => [r.base > b.base ? r.base : b.base, cidrLast(r) < cidrLast(b) ? cidrLast(r) : cidrLast(b)] as const)
    .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  let next = b.base;
  for (const [lo, hi] of parts) {
    if (lo > next) return false;
    if (hi + 1n > next) next = hi + 1n;
  }
  return next > cidrLast(b);
}

export { ALL_NODES };
