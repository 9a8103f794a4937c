/**
 * NLRI encoding (RFC 4271 §4.3, RFC 4760 §5, RFC 7911 §3): a length in bits,
 * then just enough octets, optionally preceded by a 4-octet path identifier.
 */
import { ipv4PrefixText, ipv6ToString, parseIpv6Into, prefixLenSuffix, splitPrefix } from './addr.js';
import { NotifCode, UpdateSubcode } from './constants.js';
import { BgpEncodeError, BgpError } from './errors.js';
import type { Nlri } from './types.js';
import { readU32, type Writer } from './writer.js';

function invalidNetwork(reason: string): BgpError {
  return new BgpError(NotifCode.UpdateMessageError, UpdateSubcode.InvalidNetworkField, reason);
}

/** Decodes IPv4 prefixes in `b[start, end)`. Throws BgpError (Invalid Network Field). */
export function decodeIpv4Prefixes(b: Uint8Array, start: number, end: number, addPath: boolean): Nlri[] {
  const out: Nlri[] = [];
  let i = start;
  while (i < end) {
    let pathId = 0;
    if (addPath) {
      if (i + 5 > end) throw invalidNetwork('truncated add-path NLRI');
      pathId = readU32(b, i);
      i += 4;
    }
    const len = b[i++];
    if (len > 32) throw invalidNetwork(`IPv4 prefix length ${len} > 32`);
    const n = (len + 7) >> 3;
    if (i + n > end) throw invalidNetwork(`IPv4 prefix /${len} overruns the field`);
    let v: number;
    switch (n) {
      case 4: v = (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]; break;
      case 3: v = (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8); break;
      case 2: v = (b[i] << 24) | (b[i + 1] << 16); break;
      case 1: v = b[i] << 24; break;
      default: v = 0;
    }
    i += n;
    if (len < 32) v &= len === 0 ? 0 : ~(0xffffffff >>> len);
    const prefix = ipv4PrefixText(v >>> 0, len);
    out.push(addPath ? { prefix, pathId } : { prefix });
  }
  return out;
}

/** Decodes IPv6 prefixes in `b[start, end)`. Throws BgpError (Invalid Network Field). */
export function decodeIpv6Prefixes(b: Uint8Array, start: number, end: number, addPath: boolean): Nlri[] {
  const out: Nlri[] = [];
  const tmp = new Uint8Array(16);
  let i = start;
  while (i < end) {
    let pathId = 0;
    if (addPath) {
      if (i + 5 > end) throw invalidNetwork('truncated add-path NLRI');
      pathId = readU32(b, i);
      i += 4;
    }
    const len = b[i++];
    if (len > 128) throw invalidNetwork(`IPv6 prefix length ${len} > 128`);
    const n = (len + 7) >> 3;
    if (i + n > end) throw invalidNetwork(`IPv6 prefix /${len} overruns the field`);
    tmp.fill(0);
    for (let k = 0; k < n; k++) tmp[k] = b[i + k];
    if (len & 7) tmp[n - 1] &= (0xff << (8 - (len & 7))) & 0xff;
    i += n;
    const prefix = ipv6ToString(tmp, 0) + prefixLenSuffix(len);
    out.push(addPath ? { prefix, pathId } : { prefix });
  }
  return out;
}

const scratch6 = new Uint8Array(16);

/** Length parsed by the last parseIpv4PrefixFast call. */
let v4Len = 0;

/**
 * "a.b.c.d/len" to the address as an unsigned number (length in v4Len), or
 * -1. One pass over the characters: this runs once per prefix sent.
 */
function parseIpv4PrefixFast(s: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3) return -1;
    } else if (c === 46 && dots < 3 && digits > 0 && part < 256) {
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c === 47 && dots === 3 && digits > 0 && part < 256) {
      value = value * 256 + part;
      let len = 0;
      let ld = 0;
      for (let j = i + 1; j < n; j++) {
        const d = s.charCodeAt(j);
        if (d < 48 || d > 57 || ++ld > 2) return -1;
        len = len * 10 + (d - 48);
      }
      if (ld === 0 || len > 32) return -1;
      v4Len = len;
      return value;
    } else {
      return -1;
    }
  }
  return -1;
}

/**
 * Writes one prefix. `v6` selects the address family the caller expects;
 * a prefix of the other family is an encoder error.
 */
export function encodePrefix(w: Writer, nlri: Nlri, v6: boolean, addPath: boolean): void {
  if (addPath) w.u32(nlri.pathId ?? 0);
  const p = nlri.prefix;
  if (!v6) {
    const v = parseIpv4PrefixFast(p);
    if (v < 0) throw new BgpEncodeError(`not an IPv4 prefix: ${JSON.stringify(p)}`);
    const len = v4Len;
    const n = (len + 7) >> 3;
    const masked = len === 0 ? 0 : len === 32 ? v : (v & ~(0xffffffff >>> len)) >>> 0;
    w.ensure(1 + n);
    const buf = w.buf;
    buf[w.pos++] = len;
    for (let k = 0; k < n; k++) buf[w.pos++] = (masked >>> (24 - 8 * k)) & 0xff;
    return;
  }
  const parts = splitPrefix(p);
  if (!parts) throw new BgpEncodeError(`not a prefix: ${JSON.stringify(p)}`);
  const { addr, len } = parts;
  if (len > 128 || !parseIpv6Into(addr, scratch6, 0)) {
    throw new BgpEncodeError(`not an IPv6 prefix: ${JSON.stringify(p)}`);
  }
  const n = (len + 7) >> 3;
  if (len & 7) scratch6[n - 1] &= (0xff << (8 - (len & 7))) & 0xff;
  w.ensure(1 + n);
  w.buf[w.pos++] = len;
  for (let k = 0; k < n; k++) w.buf[w.pos++] = scratch6[k];
}

/** Octets `encodePrefix` will write for this prefix (without path id). */
export function encodedPrefixSize(prefix: string): number {
  const slash = prefix.lastIndexOf('/');
  const len = Number(prefix.slice(slash + 1));
  return 1 + ((len + 7) >> 3);
}

export function isIpv6Prefix(prefix: string): boolean {
  return prefix.includes(':');
}
