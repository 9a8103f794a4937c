/**
 * IP address and CIDR prefix text for the configuration: strict parsing
 * with a reason when it fails, and canonical text when it succeeds (dotted
 * quad; RFC 5952 for IPv6). Pure.
 */
import { canonicalIpv6, ipv4FromUint32, ipv6ToBytes, parseIpv4 } from '../../bgp/codec/index.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface IpAddress {
  /** Canonical text. */
  text: string;
  v6: boolean;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
}

export interface IpPrefix {
  /** Canonical "network/len". */
  text: string;
  v6: boolean;
  len: number;
}

function fail<T>(reason: string): Parsed<T> {
  return { ok: false, reason };
}

export function parseIpAddress(input: string): Parsed<IpAddress> {
  const s = input.trim();
  if (s.includes('%')) return fail('zone indexes (such as %eth0) are not supported');
  if (s.includes('/')) return fail(`${JSON.stringify(input)} is a prefix, not an address`);
  if (s.includes(':')) {
    const text = canonicalIpv6(s);
    if (text === undefined) return fail(`${JSON.stringify(input)} is not an IPv6 address`);
    if (text.startsWith('::ffff:') && text.includes('.')) {
      return fail(`${JSON.stringify(input)} is an IPv4-mapped IPv6 address; write the IPv4 address ${text.slice(7)}`);
    }
    return { ok: true, value: { text, v6: true, bytes: ipv6ToBytes(text) } };
  }
  const v = parseIpv4(s);
  if (v < 0) return fail(`${JSON.stringify(input)} is not an IP address`);
  if (/(^|\.)0[0-9]/.test(s)) return fail(`${JSON.stringify(input)} has octets with leading zeros, which some tools read as octal`);
  const bytes = new Uint8Array([v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
  return { ok: true, value: { text: ipv4FromUint32(v), v6: false, bytes } };
}

/** True for 0.0.0.0 and ::. */
export function isUnspecified(a: IpAddress): boolean {
  return a.bytes.every((b) => b === 0);
}

/** True for 224.0.0.0/4, 255.255.255.255 and ff00::/8: never a BGP neighbour. */
export function isMulticastOrBroadcast(a: IpAddress): boolean {
  if (a.v6) return a.bytes[0] === 0xff;
  return (a.bytes[0] & 0xf0) === 0xe0 || a.bytes.every((b) => b === 0xff);
}

export function parseIpPrefix(input: string): Parsed<IpPrefix> {
  const s = input.trim();
  const slash = s.indexOf('/');
  if (slash < 0) return fail(`${JSON.stringify(input)} is not a CIDR prefix (it has no /length)`);
  const addr = parseIpAddress(s.slice(0, slash));
  if (!addr.ok) return fail(`${JSON.stringify(input)} is not a CIDR prefix: ${addr.reason}`);
  const lenText = s.slice(slash + 1);
  const max = addr.value.v6 ? 128 : 32;
  if (!/^[0-9]{1,3}$/.test(lenText)) return fail(`${JSON.stringify(input)} has a bad prefix length ${JSON.stringify(lenText)}`);
  const len = Number(lenText);
  if (len > max) return fail(`prefix length ${len} is out of range for ${addr.value.v6 ? 'IPv6' : 'IPv4'} (0..${max})`);
  const net = maskBytes(addr.value.bytes, len);
  const netText = addr.value.v6 ? bytesToIpv6(net) : ipv4FromUint32(((net[0] << 24) | (net[1] << 16) | (net[2] << 8) | net[3]) >>> 0);
  const text = `${netText}/${len}`;
  if (!net.every((b, i) => b === addr.value.bytes[i])) {
    return fail(`${JSON.stringify(input)} has host bits set (the network is ${text})`);
  }
  return { ok: true, value: { text, v6: addr.value.v6, len } };
}

function maskBytes(b: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) {
    const bits = Math.max(0, Math.min(8, len - 8 * i));
    out[i] = b[i] & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

function bytesToIpv6(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16));
  return canonicalIpv6(groups.join(':')) ?? groups.join(':');
}
