/** Readers shared by the sections: AS numbers, addresses, prefixes, ports. */
import type { Node } from 'yaml';
import { isMulticastOrBroadcast, isUnspecified, parseIpAddress, parseIpPrefix, type IpAddress } from './ip.js';
import type { Fields, Reader } from './yaml-reader.js';

export const UINT32_MAX = 0xffffffff;
/** RFC 6793: stands in for a 4-octet AS toward old speakers; never a real AS. */
export const AS_TRANS = 23456;

export function readAsn(f: Fields, name: string): number | undefined {
  const asn = f.int(name, 0, UINT32_MAX, (v) => `AS ${v} is out of range (0..${UINT32_MAX})`);
  if (asn === 0) {
    f.report(name, 'AS 0 is reserved (RFC 7607) and cannot be used');
    return undefined;
  }
  if (asn === AS_TRANS) {
    f.report(name, `AS ${AS_TRANS} is AS_TRANS (RFC 6793), a placeholder that cannot be a real AS`);
    return undefined;
  }
  return asn;
}

export interface AddressRules {
  /** Only this family. */
  family?: 'ipv4' | 'ipv6';
  /** Refuse 0.0.0.0 and ::. */
  specified?: boolean;
  /** Refuse multicast and broadcast addresses. */
  unicast?: boolean;
  /** Extra advice for a family mismatch. */
  familyHint?: string;
}

export function readAddressNode(r: Reader, node: Node | undefined, path: string, rules: AddressRules = {}): IpAddress | undefined {
  const s = r.str(node, path, 'an IP address');
  if (s === undefined) return undefined;
  const p = parseIpAddress(s);
  if (!p.ok) {
    r.report(node, path, p.reason);
    return undefined;
  }
  const a = p.value;
  if (rules.family === 'ipv4' && a.v6) {
    r.report(node, path, `${a.text} is not an IPv4 address${rules.familyHint ?? ''}`);
    return undefined;
  }
  if (rules.family === 'ipv6' && !a.v6) {
    r.report(node, path, `${a.text} is not an IPv6 address${rules.familyHint ?? ''}`);
    return undefined;
  }
  if (rules.specified === true && isUnspecified(a)) {
    r.report(node, path, `${a.text} is the unspecified address`);
    return undefined;
  }
  if (rules.unicast === true && isMulticastOrBroadcast(a)) {
    r.report(node, path, `${a.text} is a multicast or broadcast address`);
    return undefined;
  }
  return a;
}

export function readAddress(f: Fields, name: string, rules: AddressRules = {}): IpAddress | undefined {
  return readAddressNode(f.reader, f.get(name), f.at(name), rules);
}

export function readPrefixNode(r: Reader, node: Node | undefined, path: string): string | undefined {
  const s = r.str(node, path, 'a CIDR prefix');
  if (s === undefined) return undefined;
  const p = parseIpPrefix(s);
  if (!p.ok) {
    r.report(node, path, p.reason);
    return undefined;
  }
  return p.value.text;
}

export function readPort(f: Fields, name: string, min: 0 | 1): number | undefined {
  return f.int(name, min, 65535, (v) => `port ${v} is out of range (${min}..65535)`);
}

/** Marks a value used once; reports the second use at `where` naming the first. */
export class Seen {
  private readonly first = new Map<string, { path: string; line: number }>();

  constructor(private readonly r: Reader) {}

  /** True when new. */
  add(key: string, where: Node | number | undefined, path: string, what: (first: string) => string): boolean {
    const prev = this.first.get(key);
    if (prev !== undefined) {
      this.r.report(where, path, what(`${prev.path} at line ${prev.line}`));
      return false;
    }
    this.first.set(key, { path, line: this.r.position(where).line });
    return true;
  }
}
