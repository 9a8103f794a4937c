/**
 * IPv4/IPv6 addresses and prefixes, as far as policy compilation needs
 * them: parse, canonical text (what `ipset save` prints), containment, and
 * the split of a zero-length prefix that hash:net sets cannot hold.
 */
import { formatIpv6Groups, parseIpv6Groups } from '../../lib/ip6-text.js';

export type Family = 4 | 6;

export interface IpAddr {
  readonly family: Family;
  readonly value: bigint;
}

export interface Cidr {
  readonly family: Family;
  /** Network address (host bits cleared). */
  readonly value: bigint;
  readonly prefixLen: number;
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

function parseV4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    // Leading zeros are ambiguous (octal in some parsers); Kubernetes rejects them.
    if (p.length > 1 && p.startsWith('0')) return undefined;
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

export function parseIp(text: string): IpAddr | undefined {
  if (text.includes(':')) {
    const value = parseV6(text);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseV4(text);
  return value === undefined ? undefined : { family: 4, value };
}

export function formatIp(addr: IpAddr): string {
  if (addr.family === 4) {
    const v = addr.value;
    return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((addr.value >> BigInt(i * 16)) & 0xffffn));
  return formatIpv6Groups(groups);
}

const V4_RE = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Canonical text of an address, or undefined when it does not parse. */
export function canonicalIp(text: string): string | undefined {
  // Fast path: a well-formed dotted quad is already canonical.
  if (V4_RE.test(text)) return text;
  const a = parseIp(text);
  return a === undefined ? undefined : formatIp(a);
}

export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = parseIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (addr === undefined || !/^\d{1,3}$/.test(lenText)) return undefined;
  const prefixLen = Number(lenText);
  if (prefixLen > BITS[addr.family]) return undefined;
  return { family: addr.family, value: addr.value & maskOf(addr.family, prefixLen), prefixLen };
}

function maskOf(family: Family, prefixLen: number): bigint {
  const bits = BITS[family];
  const all = (1n << BigInt(bits)) - 1n;
  return prefixLen === 0 ? 0n : (all >> BigInt(bits - prefixLen)) << BigInt(bits - prefixLen);
}

export function formatCidr(c: Cidr): string {
  return `${formatIp({ family: c.family, value: c.value })}/${c.prefixLen}`;
}

/** Canonical text of a prefix (host bits cleared), or undefined when it does not parse. */
export function canonicalCidr(text: string): string | undefined {
  const c = parseCidr(text);
  return c === undefined ? undefined : formatCidr(c);
}

export function cidrContainsIp(c: Cidr, ip: IpAddr): boolean {
  return c.family === ip.family && (ip.value & maskOf(c.family, c.prefixLen)) === c.value;
}

/** True when `inner` lies inside `outer` (equal counts as inside). */
export function cidrContainsCidr(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && inner.prefixLen >= outer.prefixLen && (inner.value & maskOf(outer.family, outer.prefixLen)) === outer.value;
}

/**
 * The prefix as hash:net entries: ipset rejects a zero-length prefix, so
 * `0.0.0.0/0` becomes `0.0.0.0/1` and `128.0.0.0/1` (and likewise for ::/0).
 */
export function hashNetEntries(c: Cidr): string[] {
  if (c.prefixLen > 0) return [formatCidr(c)];
  const top = 1n << BigInt(BITS[c.family] - 1);
  return [formatCidr({ family: c.family, value: 0n, prefixLen: 1 }), formatCidr({ family: c.family, value: top, prefixLen: 1 })];
}

/** Address family of an address or prefix text (by the presence of ':'). */
export function familyOf(text: string): Family {
  return text.includes(':') ? 6 : 4;
}
