/**
 * IP addresses and prefixes as CNI results carry them ("10.1.2.3/32",
 * "fd00::5/128"): strict parsing, canonical text (RFC 5952 for IPv6) so two
 * spellings of one address compare equal, and family tests.
 */
import { formatIpv6Groups, parseIpv6Groups } from '../../lib/ip6-text.js';

export type IpFamily = 4 | 6;

export interface IpAddress {
  family: IpFamily;
  /** 4 or 16 bytes, network order. */
  bytes: number[];
}

export interface IpPrefix {
  address: IpAddress;
  prefixLen: number;
}

function parseIpv4Bytes(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

function parseIpv6Bytes(text: string): number[] | undefined {
  const groups = parseIpv6Groups(text, (s) => {
    const b = parseIpv4Bytes(s);
    return b === undefined ? undefined : ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  });
  return groups?.flatMap((g) => [g >> 8, g & 0xff]);
}

/** Parses an IPv4 or IPv6 address (no prefix, no zone); undefined when invalid. */
export function parseIp(text: string): IpAddress | undefined {
  if (text.includes(':')) {
    const bytes = parseIpv6Bytes(text);
    return bytes ? { family: 6, bytes } : undefined;
  }
  const bytes = parseIpv4Bytes(text);
  return bytes ? { family: 4, bytes } : undefined;
}

/** Parses "address/len"; undefined when invalid. The address need not be the network address. */
export function parseCidr(text: string): IpPrefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!address || !/^(0|[1-9]\d{0,2})$/.test(lenText)) return undefined;
  const prefixLen = Number(lenText);
  if (prefixLen > (address.family === 4 ? 32 : 128)) return undefined;
  return { address, prefixLen };
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run as "::"). */
export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) return ip.bytes.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((ip.bytes[i] << 8) | ip.bytes[i + 1]);
  return formatIpv6Groups(groups);
}

export function formatCidr(p: IpPrefix): string {
  return `${formatIp(p.address)}/${p.prefixLen}`;
}

/** Canonical text of an address string, or undefined when it is not one. */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip ? formatIp(ip) : undefined;
}

/** Canonical text of a CIDR string, or undefined when it is not one. */
export function canonicalCidr(text: string): string | undefined {
  const p = parseCidr(text);
  return p ? formatCidr(p) : undefined;
}

/** The host route for an address: "a.b.c.d/32" or "x::y/128". */
export function hostPrefix(ip: IpAddress): string {
  return `${formatIp(ip)}/${ip.family === 4 ? 32 : 128}`;
}

/** The network address of a prefix (host bits cleared). */
export function networkOf(p: IpPrefix): IpAddress {
  const bytes = p.address.bytes.map((b, i) => {
    const bitsHere = Math.max(0, Math.min(8, p.prefixLen - i * 8));
    const mask = bitsHere === 0 ? 0 : (0xff << (8 - bitsHere)) & 0xff;
    return b & mask;
  });
  return { family: p.address.family, bytes };
}

/** True when `ip` lies inside prefix `p`. */
export function prefixContains(p: IpPrefix, ip: IpAddress): boolean {
  if (p.address.family !== ip.family) return false;
  const net = networkOf(p);
  const other = networkOf({ address: ip, prefixLen: p.prefixLen });
  return net.bytes.every((b, i) => b === other.bytes[i]);
}
