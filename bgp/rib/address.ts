/**
 * Numeric views of address and prefix text for the decision process
 * (lowest router ID, lowest peer address) and for prefix lists.
 */
import { parseIpv4, parseIpv6Into, splitPrefix } from '../codec/addr.js';

/**
 * Orders two addresses numerically: every IPv4 address before every IPv6
 * one, unparsable text last (then by string), so the order is total.
 */
export function compareAddresses(a: string, b: string): number {
  if (a === b) return 0;
  const a4 = parseIpv4(a);
  const b4 = parseIpv4(b);
  if (a4 >= 0 && b4 >= 0) return a4 - b4;
  if (a4 >= 0) return -1;
  if (b4 >= 0) return 1;
  const a6 = new Uint8Array(16);
  const b6 = new Uint8Array(16);
  const aOk = parseIpv6Into(a, a6, 0);
  const bOk = parseIpv6Into(b, b6, 0);
  if (aOk && bOk) {
    for (let i = 0; i < 16; i++) if (a6[i] !== b6[i]) return a6[i] - b6[i];
    return 0;
  }
  if (aOk) return -1;
  if (bOk) return 1;
  return a < b ? -1 : 1;
}

/**
 * A prefix as four 32-bit words (IPv4 uses only the first) plus length.
 * `words` is big-endian: words[0] holds the first 32 bits.
 */
export interface ParsedPrefix {
  v6: boolean;
  words: Uint32Array;
  len: number;
}

/** Parses "10.0.0.0/8" or "2001:db8::/32"; undefined when invalid. Host bits are cleared. */
export function parsePrefix(text: string): ParsedPrefix | undefined {
  const parts = splitPrefix(text);
  if (parts === undefined) return undefined;
  const v6 = parts.addr.includes(':');
  const words = new Uint32Array(v6 ? 4 : 1);
  if (v6) {
    if (parts.len > 128) return undefined;
    const b = new Uint8Array(16);
    if (!parseIpv6Into(parts.addr, b, 0)) return undefined;
    for (let i = 0; i < 4; i++) words[i] = ((b[4 * i] << 24) | (b[4 * i + 1] << 16) | (b[4 * i + 2] << 8) | b[4 * i + 3]) >>> 0;
  } else {
    if (parts.len > 32) return undefined;
    const v = parseIpv4(parts.addr);
    if (v < 0) return undefined;
    words[0] = v;
  }
  maskInPlace(words, parts.len);
  return { v6, words, len: parts.len };
}

/** The network mask of the 32-bit word at index `word` for a prefix length. */
export function wordMask(len: number, word: number): number {
  const bits = len - word * 32;
  if (bits >= 32) return 0xffffffff;
  if (bits <= 0) return 0;
  return (0xffffffff << (32 - bits)) >>> 0;
}

function maskInPlace(words: Uint32Array, len: number): void {
  for (let i = 0; i < words.length; i++) words[i] = (words[i] & wordMask(len, i)) >>> 0;
}

/**
 * Fast path for canonical IPv4 prefix text ("10.1.2.0/24"): writes the
 * address to `out[0]` and returns the length, or -1 when `text` is not an
 * IPv4 prefix in canonical form (no leading zeros, length 0..32; host bits
 * are not checked). No allocation.
 */
export function parseIpv4PrefixInto(text: string, out: Uint32Array): number {
  let value = 0;
  let octet = 0;
  let dots = 0;
  let digits = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (c === 47) {
      if (dots !== 3 || digits === 0) return -1;
      out[0] = value * 256 + octet;
      const left = n - i - 1;
      if (left === 1) {
        const d = text.charCodeAt(i + 1) - 48;
        return d >= 0 && d <= 9 ? d : -1;
      }
      if (left !== 2) return -1;
      const d1 = text.charCodeAt(i + 1) - 48;
      const d2 = text.charCodeAt(i + 2) - 48;
      if (d1 < 1 || d1 > 3 || d2 < 0 || d2 > 9) return -1;
      const len = d1 * 10 + d2;
      return len <= 32 ? len : -1;
    } else {
      return -1;
    }
  }
  return -1;
}
