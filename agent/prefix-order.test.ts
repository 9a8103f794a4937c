import { expect } from 'chai';
import { comparePrefixes, firstByPrefix } from './prefix-order.js';

describe('prefix order (tortiectl bgp routes)', () => {
  const ordered = [
    '0.0.0.0/0', '9.0.0.0/8', '10.0.0.0/8', '10.0.0.0/24', '10.0.0.64/26', '10.0.1.0/24', '10.244.0.0/26', '192.168.0.0/16',
    '::/0', '2001:db8::/32', '2001:db8::/64', '2001:db8:0:a::/64', 'fd00::/8', 'fd00:244::/122',
  ];

  it('sorts IPv4 before IPv6, by address, then shorter first', () => {
    const shuffled = [...ordered].reverse();
    [shuffled[0], shuffled[5]] = [shuffled[5], shuffled[0]];
    expect([...shuffled].sort(comparePrefixes)).to.deep.equal(ordered);
  });

  it('compares numerically, not as text (9 < 10, a < 1a in hex)', () => {
    expect(comparePrefixes('9.0.0.0/8', '10.0.0.0/8')).to.be.lessThan(0);
    expect(comparePrefixes('2001:db8:a::/48', '2001:db8:1a::/48')).to.be.lessThan(0);
    expect(comparePrefixes('10.0.0.0/24', '10.0.0.0/8')).to.be.greaterThan(0);
  });

  it('firstByPrefix takes the first N in order from any input order, and counts them all', () => {
    for (const limit of [1, 3, 5, ordered.length, 100]) {
      const input = [...ordered].reverse();
      const r = firstByPrefix(input, limit);
      expect(r.prefixes).to.deep.equal(ordered.slice(0, limit));
      expect(r.total).to.equal(ordered.length);
    }
  });

  it('firstByPrefix on a large table matches a full sort', () => {
    const all: string[] = [];
    let x = 12345;
    for (let i = 0; i < 5000; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      all.push(`${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 192}.0/26`);
    }
    const full = [...new Set(all)].sort(comparePrefixes).slice(0, 50);
    expect(firstByPrefix(new Set(all), 50).prefixes).to.deep.equal(full);
  });
});
