/**
 * IPv4/IPv6 address and prefix text <-> bytes, without Node APIs.
 * Text forms are canonical: dotted quad, and RFC 5952 for IPv6 (lower case,
 * no leading zeros, the longest run of two or more zero groups as "::").
 */
import { BgpEncodeError } from './errors.js';

const OCTET: string[] = Array.from({ length: 256 }, (_, i) => String(i));
const LEN: string[] = Array.from({ length: 129 }, (_, i) => '/' + String(i));

export function ipv4ToString(b: Uint8Array, at: number): string {
  return OCTET[b[at]] + '.' + OCTET[b[at + 1]] + '.' + OCTET[b[at + 2]] + '.' + OCTET[b[at + 3]];
}

/**
 * "a.b" for every 16-bit value, built on first use (about 1.5 MiB). Cuts
 * IPv4 text formatting to three concatenations, which is most of the cost
 * of decoding packed NLRI.
 */
let PAIRS: string[] | undefined;

function pairs(): string[] {
  if (!PAIRS) {
    PAIRS = new Array<string>(65536);
    for (let i = 0; i < 65536; i++) PAIRS[i] = OCTET[i >>> 8] + '.' + OCTET[i & 0xff];
  }
  return PAIRS;
}

export function ipv4FromUint32(v: number): string {
  const p = PAIRS ?? pairs();
  return p[v >>> 16] + '.' + p[v & 0xffff];
}

/** "a.b.c.d/len" in one step. */
export function ipv4PrefixText(v: number, len: number): string {
  const p = PAIRS ?? pairs();
  return p[v >>> 16] + '.' + p[v & 0xffff] + LEN[len];
}

/** Parses a dotted quad to an unsigned 32-bit number, or returns -1. */
export function parseIpv4(s: string): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
      if (dots > 3) return -1;
    } else if (c >= 48 && c <= 57) {
      octet = octet * 10 + (c - 48);
      digits++;
      if (octet > 255 || digits > 3) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

export function ipv4ToUint32(s: string): number {
  const v = parseIpv4(s);
  if (v < 0) throw new BgpEncodeError(`not an IPv4 address: ${JSON.stringify(s)}`);
  return v;
}

const G = [0, 0, 0, 0, 0, 0, 0, 0];

export function ipv6ToString(b: Uint8Array, at: number): string {
  const g = G;
  for (let i = 0; i < 8; i++) g[i] = (b[at + 2 * i] << 8) | b[at + 2 * i + 1];
  // IPv4-mapped (::ffff:a.b.c.d) keeps the mixed notation, RFC 5952 §5.
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return '::ffff:' + ipv4ToString(b, at + 12);
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    out += g[i].toString(16);
    if (i < 7) out += ':';
  }
  return out;
}

/** Parses IPv6 text into 16 bytes at `out[at]`. Returns false when invalid. */
export function parseIpv6Into(s: string, out: Uint8Array, at: number): boolean {
  const n = s.length;
  if (n < 2 || n > 45) return false;
  const words = WORDS;
  let count = 0; // groups written
  let gap = -1; // index in words where "::" stands
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
    if (i === n) {
      out.fill(0, at, at + 16);
      return true;
    }
  }
  while (i < n) {
    if (count >= 8) return false;
    // Read one group, or an embedded dotted quad at the end.
    let v = 0;
    let digits = 0;
    const groupStart = i;
    while (i < n) {
      const c = s.charCodeAt(i);
      let d: number;
      if (c >= 48 && c <= 57) d = c - 48;
      else if (c >= 97 && c <= 102) d = c - 87;
      else if (c >= 65 && c <= 70) d = c - 55;
      else break;
      v = (v << 4) | d;
      digits++;
      i++;
    }
    if (i < n && s.charCodeAt(i) === 46) {
      if (count > 6) return false;
      const v4 = parseIpv4(s.slice(groupStart));
      if (v4 < 0) return false;
      words[count++] = v4 >>> 16;
      words[count++] = v4 & 0xffff;
      break;
    }
    if (digits === 0 || digits > 4) return false;
    words[count++] = v;
    if (i === n) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i < n && s.charCodeAt(i) === 58) {
      if (gap !== -1) return false;
      gap = count;
      i++;
      if (i === n) break;
    } else if (i === n) {
      return false; // trailing single colon
    }
  }
  if (gap === -1 ? count !== 8 : count > 7) return false;
  const fill = 8 - count;
  for (let k = 0, w = 0; k < 8; k++) {
    const v = gap !== -1 && k >= gap && k < gap + fill ? 0 : words[w++];
    out[at + 2 * k] = v >>> 8;
    out[at + 2 * k + 1] = v & 0xff;
  }
  return true;
}
const WORDS = new Array<number>(8).fill(0);

export function ipv6ToBytes(s: string): Uint8Array {
  const out = new Uint8Array(16);
  if (!parseIpv6Into(s, out, 0)) throw new BgpEncodeError(`not an IPv6 address: ${JSON.stringify(s)}`);
  return out;
}

/** Canonical IPv6 text for any valid IPv6 text, or undefined. */
export function canonicalIpv6(s: string): string | undefined {
  const b = new Uint8Array(16);
  return parseIpv6Into(s, b, 0) ? ipv6ToString(b, 0) : undefined;
}

export function prefixLenSuffix(len: number): string {
  return LEN[len];
}

/** Splits "addr/len". Returns undefined when there is no valid length. */
export function splitPrefix(p: string): { addr: string; len: number } | undefined {
  const slash = p.lastIndexOf('/');
  if (slash <= 0) return undefined;
  const lenText = p.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(lenText)) return undefined;
  return { addr: p.slice(0, slash), len: Number(lenText) };
}
