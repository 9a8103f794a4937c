/**
 * IP addresses and prefixes as CNI results carry them ("10.1.2.3/32",
 * "fd00::5/128"): strict parsing, canonical text (RFC 5952 for IPv6) so two
 * spellings of one address compare equal, and family tests.
 */

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
  if (text.length < 2 || text.length > 45) return undefined;
  let body = text;
  let tail: number[] = [];
  // An embedded IPv4 address in the last 32 bits (::ffff:1.2.3.4).
  const lastColon = body.lastIndexOf(':');
  if (lastColon >= 0 && body.slice(lastColon + 1).includes('.')) {
    const v4 = parseIpv4Bytes(body.slice(lastColon + 1));
    if (!v4) return undefined;
    tail = v4;
    body = `${body.slice(0, lastColon + 1)}0:0`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const toGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const groups: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      groups.push(parseInt(g, 16));
    }
    return groups;
  };
  const head = toGroups(halves[0]);
  const rest = halves.length === 2 ? toGroups(halves[1]) : [];
  if (!head || !rest) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - rest.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<number>(missing).fill(0), ...rest];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  const bytes = groups.flatMap((g) => [g >> 8, g & 0xff]);
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
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
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
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
