import { expect } from 'chai';
import { canonicalCidr, canonicalIp, cidrContainsCidr, cidrContainsIp, hashNetEntries, parseCidr, parseIp } from './cidr.js';

describe('addresses and prefixes', () => {
  const ips: [string, string | undefined][] = [
    ['10.0.0.1', '10.0.0.1'],
    ['255.255.255.255', '255.255.255.255'],
    ['010.0.0.1', undefined],
    ['256.0.0.1', undefined],
    ['1.2.3', undefined],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['::', '::'],
    ['::ffff:10.0.0.1', '::ffff:a00:1'],
    ['fe80::1%eth0', undefined],
    ['1::2::3', undefined],
  ];
  for (const [text, want] of ips) it(`canonical ${text}`, () => expect(canonicalIp(text)).to.equal(want));

  it('prefixes: host bits cleared, length checked', () => {
    expect(canonicalCidr('10.1.2.3/8')).to.equal('10.0.0.0/8');
    expect(canonicalCidr('2001:db8::1/32')).to.equal('2001:db8::/32');
    expect(canonicalCidr('10.0.0.0/33')).to.equal(undefined);
    expect(canonicalCidr('10.0.0.0')).to.equal(undefined);
  });

  it('containment', () => {
    const c = parseCidr('10.1.0.0/16');
    const ip = parseIp('10.1.200.3');
    const out = parseIp('10.2.0.1');
    const v6 = parseIp('::1');
    if (!c || !ip || !out || !v6) throw new Error('parse');
    expect(cidrContainsIp(c, ip)).to.equal(true);
    expect(cidrContainsIp(c, out)).to.equal(false);
    expect(cidrContainsIp(c, v6)).to.equal(false);
    const inner = parseCidr('10.1.5.0/24');
    const outer = parseCidr('10.0.0.0/8');
    if (!inner || !outer) throw new Error('parse');
    expect(cidrContainsCidr(c, inner)).to.equal(true);
    expect(cidrContainsCidr(inner, c)).to.equal(false);
    expect(cidrContainsCidr(outer, c)).to.equal(true);
  });

  it('a zero-length prefix becomes two halves for hash:net', () => {
    const z4 = parseCidr('0.0.0.0/0');
    const z6 = parseCidr('::/0');
    const n = parseCidr('10.0.0.0/8');
    if (!z4 || !z6 || !n) throw new Error('parse');
    expect(hashNetEntries(z4)).to.deep.equal(['0.0.0.0/1', '128.0.0.0/1']);
    expect(hashNetEntries(z6)).to.deep.equal(['::/1', '8000::/1']);
    expect(hashNetEntries(n)).to.deep.equal(['10.0.0.0/8']);
  });
});
