/** The shared IPv6 text parser and RFC 5952 formatter. */
import { expect } from 'chai';
import { formatIpv6Groups, parseIpv6Groups } from './ip6-text.js';

const v4 = (s: string): number | undefined => {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const b = m.slice(1).map(Number);
  return b.some((x) => x > 255) ? undefined : ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
};

describe('lib/ip6-text', () => {
  const good: [string, string][] = [
    ['::', '::'],
    ['::1', '::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['fe80:0:0:0:1:0:0:0', 'fe80::1:0:0:0'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:0:3:4:5:6:7:8', '1:0:3:4:5:6:7:8'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['64:ff9b::198.51.100.7', '64:ff9b::c633:6407'],
  ];
  for (const [text, canonical] of good) {
    it(`${text} -> ${canonical}`, () => {
      const g = parseIpv6Groups(text, v4);
      expect(g).to.have.length(8);
      expect(formatIpv6Groups(g!)).to.equal(canonical);
      expect(parseIpv6Groups(canonical, v4)).to.deep.equal(g);
    });
  }
  const bad = [':', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', 'g::1', 'fe80::1%eth0', '::1.2.3', '::256.0.0.1', '1:2:3:4:5:6:7::8', ''];
  for (const text of bad) {
    it(`refuses ${JSON.stringify(text)}`, () => expect(parseIpv6Groups(text, v4)).to.equal(undefined));
  }
});
