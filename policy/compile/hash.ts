/**
 * A fast, stable, non-cryptographic 64-bit string hash, printed as 16 hex
 * digits. It names chains and sets (prefix + hash) and fingerprints rules
 * (the hash comments). Pure: two 32-bit multiply-xorshift lanes over the
 * UTF-16 code units, with a final avalanche that mixes the lanes together.
 *
 * Not a defence against crafted collisions: the inputs are our own canonical
 * texts. 64 bits make an accidental collision among even a million names
 * about one in ten million.
 */

export function hash64(text: string): string {
  let a = 0x6a09e667 ^ text.length;
  let b = 0xbb67ae85;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x9e3779b1);
    a ^= a >>> 15;
    b = Math.imul(b ^ c, 0x85ebca77);
    b ^= b >>> 13;
  }
  a = Math.imul(a ^ (a >>> 16), 0x7feb352d);
  a ^= Math.imul(b ^ (b >>> 15), 0x846ca68b);
  b = Math.imul(b ^ (b >>> 16), 0xc2b2ae35);
  b ^= Math.imul(a ^ (a >>> 13), 0x27d4eb2f);
  a ^= a >>> 16;
  b ^= b >>> 16;
  return hex8(a) + hex8(b);
}

const HEX2: string[] = [];
for (let i = 0; i < 256; i++) HEX2.push(i.toString(16).padStart(2, '0'));

function hex8(n: number): string {
  return HEX2[(n >>> 24) & 0xff] + HEX2[(n >>> 16) & 0xff] + HEX2[(n >>> 8) & 0xff] + HEX2[n & 0xff];
}
