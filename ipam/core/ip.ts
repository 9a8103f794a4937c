/**
 * Addresses and prefixes as integers: IPv4 and IPv6 alike are a bigint
 * plus a family, so block math (ordinal <-> address, block index <-> CIDR)
 * is one code path for both. Text is canonical: dotted quad, and RFC 5952
 * for IPv6 (lower case, the longest run of zero groups as "::").
 *
 * Pure: no I/O, no clock.
 */
import { formatIpv6Groups, parseIpv6Groups } from '../../lib/ip6-text.js';

export type Family = 4 | 6;
export type FamilyName = 'ipv4' | 'ipv6';

export const FAMILY_BITS: Readonly<Record<Family, number>> = { 4: 32, 6: 128 };

export function familyName(f: Family): FamilyName {
  return f === 4 ? 'ipv4' : 'ipv6';
}

export function familyOfName(n: FamilyName): Family {
  return n === 'ipv4' ? 4 : 6;
}

export interface Ip {
  readonly family: Family;
  readonly value: bigint;
}

export interface Cidr {
  readonly family: Family;
  /** The network address (host bits are always zero). */
  readonly base: bigint;
  readonly len: number;
}

function parseV4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    // No leading zeros: some tools read them as octal.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(text: string): bigint | undefined {
  const groups = parseIpv6Groups(text, (s) => {
    const v = parseV4(s);
    return v === undefined ? undefined : Number(v);
  });
  if (groups === undefined) return undefined;
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return v;
}

/** Parses an address (no prefix length, no zone); undefined when it is not one. */
export function parseIp(text: string): Ip | undefined {
  const s = text.trim();
  if (s.includes(':')) {
    const v = parseV6(s);
    return v === undefined ? undefined : { family: 6, value: v };
  }
  const v = parseV4(s);
  return v === undefined ? undefined : { family: 4, value: v };
}

export function formatIp(ip: Ip): string {
  if (ip.family === 4) {
    const v = Number(ip.value);
    return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn));
  return formatIpv6Groups(groups);
}

/** Canonical text of an address, or undefined. */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip === undefined ? undefined : formatIp(ip);
}

export function hostMask(family: Family, len: number): bigint {
  const bits = FAMILY_BITS[family];
  return (1n << BigInt(bits - len)) - 1n;
}

/** The number of addresses in a prefix. */
export function cidrSize(c: Cidr): bigint {
  return 1n << BigInt(FAMILY_BITS[c.family] - c.len);
}

export type CidrParse = { ok: true; cidr: Cidr } | { ok: false; reason: string };

/**
 * Parses "network/len". With `strict` (the default), host bits must be
 * zero; otherwise they are cleared.
 */
export function parseCidr(text: string, strict = true): CidrParse {
  const s = text.trim();
  const slash = s.indexOf('/');
  if (slash < 0) return { ok: false, reason: `${JSON.stringify(text)} is not a CIDR prefix (it has no /length)` };
  const ip = parseIp(s.slice(0, slash));
  if (ip === undefined) return { ok: false, reason: `${JSON.stringify(text)} is not a CIDR prefix: bad address` };
  const lenText = s.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(lenText)) return { ok: false, reason: `${JSON.stringify(text)} has a bad prefix length` };
  const len = Number(lenText);
  const max = FAMILY_BITS[ip.family];
  if (len > max) return { ok: false, reason: `prefix length ${len} is out of range for IPv${ip.family} (0..${max})` };
  const base = ip.value & ~hostMask(ip.family, len);
  const cidr: Cidr = { family: ip.family, base, len };
  if (strict && base !== ip.value) {
    return { ok: false, reason: `${JSON.stringify(text)} has host bits set (the network is ${formatCidr(cidr)})` };
  }
  return { ok: true, cidr };
}

/** A prefix from text that is known to be valid (stored data, canonical config); throws otherwise. */
export function cidrOf(text: string): Cidr {
  const p = parseCidr(text);
  if (!p.ok) throw new RangeError(p.reason);
  return p.cidr;
}

/** An address, or a prefix ("10.0.0.5" or "10.0.0.0/30"); a bare address becomes a host prefix. */
export function parseAddressOrCidr(text: string): CidrParse {
  if (text.includes('/')) return parseCidr(text);
  const ip = parseIp(text);
  if (ip === undefined) return { ok: false, reason: `${JSON.stringify(text)} is not an IP address or CIDR prefix` };
  return { ok: true, cidr: { family: ip.family, base: ip.value, len: FAMILY_BITS[ip.family] } };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp({ family: c.family, value: c.base })}/${c.len}`;
}

/** The last address of a prefix. */
export function cidrLast(c: Cidr): bigint {
  return c.base + cidrSize(c) - 1n;
}

export function cidrContains(c: Cidr, ip: Ip): boolean {
  return c.family === ip.family && ip.value >= c.base && ip.value <= cidrLast(c);
}

/** True when `inner` lies wholly inside `outer`. */
export function cidrCovers(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && outer.len <= inner.len && inner.base >= outer.base && cidrLast(inner) <= cidrLast(outer);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.base <= cidrLast(b) && b.base <= cidrLast(a);
}

/** The host prefix of an address: "a.b.c.d/32" or "x::y/128". */
export function hostCidr(ip: Ip): string {
  return `${formatIp(ip)}/${FAMILY_BITS[ip.family]}`;
}
