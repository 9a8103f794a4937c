/**
 * Helpers for writing annotated hex vectors. Anything after `#` on a line is
 * a comment. Lengths are computed so that each vector states only the bytes
 * that matter; the bytes themselves are still compared exactly.
 */
import { fromHex, toHex } from '../../../bgp/codec/index.js';

/** Strips comments and white space from annotated hex. */
export function h(annotated: string): string {
  return annotated
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join('')
    .replace(/[^0-9a-fA-F]/g, '')
    .toLowerCase();
}

export function bytes(annotated: string): Uint8Array {
  return fromHex(h(annotated));
}

function u16(n: number): string {
  return n.toString(16).padStart(4, '0');
}

function u8(n: number): string {
  return n.toString(16).padStart(2, '0');
}

export const MARKER = 'ff'.repeat(16);

/** A whole message: marker, computed length, type, body. */
export function msg(type: number, body: string): string {
  const b = h(body);
  return MARKER + u16(19 + b.length / 2) + u8(type) + b;
}

/** An UPDATE from its three parts, lengths computed. */
export function update(withdrawn: string, attrs: string, nlri = ''): string {
  const w = h(withdrawn);
  const a = h(attrs);
  return msg(2, u16(w.length / 2) + w + u16(a.length / 2) + a + h(nlri));
}

/** One path attribute; uses a 2-octet length when flags has 0x10. */
export function attr(flags: number, type: number, value: string): string {
  const v = h(value);
  const len = v.length / 2;
  return u8(flags) + u8(type) + (flags & 0x10 ? u16(len) : u8(len)) + v;
}

/** An OPEN body: version 4, AS, hold, id, then optional parameters. */
export function open(asn: number, hold: number, idHex: string, params: string): string {
  const p = h(params);
  return msg(1, '04' + u16(asn) + u16(hold) + h(idHex) + u8(p.length / 2) + p);
}

/** One Capabilities optional parameter holding the given capabilities. */
export function capParam(...caps: string[]): string {
  const c = caps.map(h).join('');
  return '02' + u8(c.length / 2) + c;
}

export function cap(code: number, value = ''): string {
  const v = h(value);
  return u8(code) + u8(v.length / 2) + v;
}

export { toHex };
