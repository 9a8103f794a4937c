/**
 * UTF-8 for the few text fields on the wire (FQDN capability, RFC 9003
 * shutdown communication). Written out because the pure codec compiles
 * without DOM or Node typings. Invalid input decodes to U+FFFD, never throws.
 */

export function utf8Encode(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return Uint8Array.from(out);
}

export function utf8Decode(b: Uint8Array, start = 0, end = b.length): string {
  let s = '';
  let i = start;
  while (i < end) {
    const c = b[i];
    let cp = 0xfffd;
    let n = 1;
    if (c < 0x80) cp = c;
    else if (c >= 0xc2 && c < 0xe0) n = 2;
    else if (c >= 0xe0 && c < 0xf0) n = 3;
    else if (c >= 0xf0 && c < 0xf5) n = 4;
    if (n > 1) {
      if (i + n > end) {
        cp = 0xfffd;
        n = 1;
      } else {
        cp = c & (0xff >> (n + 1));
        let ok = true;
        for (let k = 1; k < n; k++) {
          const d = b[i + k];
          if ((d & 0xc0) !== 0x80) { ok = false; break; }
          cp = (cp << 6) | (d & 0x3f);
        }
        const min = n === 2 ? 0x80 : n === 3 ? 0x800 : 0x10000;
        if (!ok || cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
          cp = 0xfffd;
          n = 1;
        }
      }
    }
    s += String.fromCodePoint(cp);
    i += n;
  }
  return s;
}
