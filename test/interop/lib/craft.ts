/**
 * Hand-built UPDATE messages, byte by byte, so that a test can send exactly
 * the malformation it means (the codec's encoder refuses to produce most of
 * them). Pure: numbers in, bytes out. 4-octet AS numbers throughout.
 */

export type Bytes = number[];

const FLAG_OPTIONAL = 0x80;
const FLAG_TRANSITIVE = 0x40;
const FLAG_EXTENDED = 0x10;

function u16(n: number): Bytes {
  return [(n >>> 8) & 0xff, n & 0xff];
}

function u32(n: number): Bytes {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

export function ipv4(addr: string): Bytes {
  const parts = addr.split('.').map(Number);
  if (parts.length !== 4 || parts.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`not an IPv4 address: ${addr}`);
  return parts;
}

export function ipv6(addr: string): Bytes {
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) throw new Error(`not an IPv6 address: ${addr}`);
  return groups.flatMap((g) => u16(parseInt(g, 16)));
}

/** NLRI encoding of one prefix: length octet, then the significant octets. */
export function prefix(p: string): Bytes {
  const [addr, lenText] = p.split('/');
  const len = Number(lenText);
  const bytes = addr.includes(':') ? ipv6(addr) : ipv4(addr);
  return [len, ...bytes.slice(0, Math.ceil(len / 8))];
}

/** One path attribute; the extended-length flag is set when the value needs it. */
export function attr(flags: number, type: number, value: Bytes): Bytes {
  if (value.length > 255) return [flags | FLAG_EXTENDED, type, ...u16(value.length), ...value];
  return [flags & ~FLAG_EXTENDED, type, value.length, ...value];
}

export const origin = (value: number): Bytes => attr(FLAG_TRANSITIVE, 1, [value]);
export const asPath = (asns: number[]): Bytes => attr(FLAG_TRANSITIVE, 2, asns.length ? [2, asns.length, ...asns.flatMap(u32)] : []);
export const nextHop = (addr: string): Bytes => attr(FLAG_TRANSITIVE, 3, ipv4(addr));
export const communities = (list: [number, number][]): Bytes =>
  attr(FLAG_OPTIONAL | FLAG_TRANSITIVE, 8, list.flatMap(([a, v]) => [...u16(a), ...u16(v)]));
/** AGGREGATOR with a 4-octet AS: 8 octets. `value` overrides the encoding (to malform it). */
export const aggregator = (asn: number, addr: string, value?: Bytes): Bytes =>
  attr(FLAG_OPTIONAL | FLAG_TRANSITIVE, 7, value ?? [...u32(asn), ...ipv4(addr)]);
/** MP_REACH_NLRI for IPv6 unicast with the next hop given as raw octets (any length). */
export const mpReachIpv6 = (nextHopOctets: Bytes, prefixes: string[]): Bytes =>
  attr(FLAG_OPTIONAL, 14, [...u16(2), 1, nextHopOctets.length, ...nextHopOctets, 0, ...prefixes.flatMap(prefix)]);

/** A whole UPDATE message with its 19-octet header. */
export function update(parts: { withdrawn?: string[]; attributes: Bytes[]; nlri?: string[] }): Uint8Array {
  const withdrawn = (parts.withdrawn ?? []).flatMap(prefix);
  const attrs = parts.attributes.flat();
  const nlri = (parts.nlri ?? []).flatMap(prefix);
  const body = [...u16(withdrawn.length), ...withdrawn, ...u16(attrs.length), ...attrs, ...nlri];
  const len = 19 + body.length;
  return Uint8Array.from([...Array<number>(16).fill(0xff), ...u16(len), 2, ...body]);
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
