/**
 * Prefix order for listings (`tortiectl bgp routes`): IPv4 before IPv6,
 * then by address, then shorter prefix first, as BIRD and FRR show tables.
 * firstByPrefix() picks the first `limit` of a large table in that order
 * without sorting all of it: a bounded sorted insertion, O(n log limit)
 * comparisons, with an array shift of up to `limit` when a prefix enters.
 */
import { parseIpv6Groups } from '../lib/ip6-text.js';

interface Key {
  readonly family: 4 | 6;
  /** Address as 16-bit groups (IPv4: two groups). */
  readonly groups: readonly number[];
  readonly len: number;
  readonly text: string;
}

function parseV4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return undefined;
  return ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0;
}

function keyOf(text: string): Key {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const len = slash < 0 ? -1 : Number(text.slice(slash + 1));
  const v4 = parseV4(addr);
  if (v4 !== undefined) return { family: 4, groups: [v4 >>> 16, v4 & 0xffff], len, text };
  const g = parseIpv6Groups(addr, parseV4);
  // Not an address at all: after every real prefix, by text.
  return g ? { family: 6, groups: g, len, text } : { family: 6, groups: [0x10000], len, text };
}

function compareKeys(a: Key, b: Key): number {
  if (a.family !== b.family) return a.family - b.family;
  for (let i = 0; i < Math.min(a.groups.length, b.groups.length); i++) {
    if (a.groups[i] !== b.groups[i]) return a.groups[i] - b.groups[i];
  }
  if (a.groups.length !== b.groups.length) return a.groups.length - b.groups.length;
  if (a.len !== b.len) return a.len - b.len;
  return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
}

export function comparePrefixes(a: string, b: string): number {
  return compareKeys(keyOf(a), keyOf(b));
}

/** The first `limit` prefixes of `all` in prefix order, and how many there were in all. */
export function firstByPrefix(all: Iterable<string>, limit: number): { prefixes: string[]; total: number } {
  const kept: Key[] = [];
  if (limit < 1) return { prefixes: [], total: [...all].length };
  let total = 0;
  for (const p of all) {
    total++;
    const k = keyOf(p);
    if (kept.length >= limit && compareKeys(k, kept[kept.length - 1]) >= 0) continue;
    let lo = 0;
    let hi = kept.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(kept[mid], k) <= 0) lo = mid + 1;
      else hi = mid;
    }
    kept.splice(lo, 0, k);
    if (kept.length > limit) kept.pop();
  }
  return { prefixes: kept.map((k) => k.text), total };
}
