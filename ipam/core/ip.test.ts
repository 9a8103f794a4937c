import { expect } from 'chai';
import {
  canonicalIp, cidrContains, cidrCovers, cidrsOverlap, cidrSize, formatCidr, formatIp, hostCidr, parseAddressOrCidr, parseCidr, parseIp,
} from './ip.js';

describe('ipam/core/ip: addresses as integers', () => {
  const canon: [string, string | undefined][] = [
    ['10.0.0.1', '10.0.0.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['10.0.0.01', undefined], // leading zero: octal in some tools
    ['10.0.0.256', undefined],
    ['10.0.0', undefined],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['fd00:0:0:1::', 'fd00:0:0:1::'],
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'], // the longer zero run is compressed
    ['1:0:0:0:1:0:0:1', '1::1:0:0:1'], // the first of two equal runs
    ['1:2:3:4:5:6:7:0', '1:2:3:4:5:6:7:0'], // a single zero group stays
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['1::2::3', undefined],
    ['12345::', undefined],
    ['fe80::1%eth0', undefined],
  ];
  for (const [input, want] of canon) {
    it(`canonical ${input} -> ${String(want)}`, () => expect(canonicalIp(input)).to.equal(want));
  }

  it('IPv6 values are exact bigints at both ends of the space', () => {
    expect(parseIp('::')?.value).to.equal(0n);
    expect(parseIp('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')?.value).to.equal((1n << 128n) - 1n);
    expect(formatIp({ family: 6, value: (1n << 128n) - 1n })).to.equal('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
    expect(parseIp('255.255.255.255')?.value).to.equal(0xffffffffn);
  });

  const cidrs: { text: string; ok: boolean; canon?: string; size?: bigint; reason?: string }[] = [
    { text: '10.244.0.0/16', ok: true, canon: '10.244.0.0/16', size: 65536n },
    { text: '10.244.0.64/26', ok: true, canon: '10.244.0.64/26', size: 64n },
    { text: '10.244.0.65/26', ok: false, reason: 'host bits set (the network is 10.244.0.64/26)' },
    { text: '10.0.0.0/33', ok: false, reason: 'out of range for IPv4' },
    { text: '10.0.0.0', ok: false, reason: 'no /length' },
    { text: 'fd00:244::/64', ok: true, canon: 'fd00:244::/64', size: 1n << 64n },
    { text: 'FD00:244:0:0::40/122', ok: true, canon: 'fd00:244::40/122', size: 64n },
    { text: 'fd00::/129', ok: false, reason: 'out of range for IPv6' },
    { text: '0.0.0.0/0', ok: true, canon: '0.0.0.0/0', size: 1n << 32n },
  ];
  for (const c of cidrs) {
    it(`cidr ${c.text}`, () => {
      const p = parseCidr(c.text);
      expect(p.ok).to.equal(c.ok);
      if (p.ok) {
        expect(formatCidr(p.cidr)).to.equal(c.canon);
        expect(cidrSize(p.cidr)).to.equal(c.size);
      } else {
        expect(p.reason).to.include(c.reason);
      }
    });
  }

  it('a bare address is a host prefix', () => {
    const p = parseAddressOrCidr('10.0.0.5');
    expect(p.ok && formatCidr(p.cidr)).to.equal('10.0.0.5/32');
    const q = parseAddressOrCidr('fd00::5');
    expect(q.ok && formatCidr(q.cidr)).to.equal('fd00::5/128');
    expect(hostCidr(parseIp('fd00::5')!)).to.equal('fd00::5/128');
  });

  it('containment and overlap never cross families', () => {
    const a = (t: string) => { const p = parseCidr(t); if (!p.ok) throw new Error(p.reason); return p.cidr; };
    expect(cidrContains(a('10.0.0.0/24'), parseIp('10.0.0.255')!)).to.equal(true);
    expect(cidrContains(a('10.0.0.0/24'), parseIp('10.0.1.0')!)).to.equal(false);
    expect(cidrContains(a('0.0.0.0/0'), parseIp('::1')!)).to.equal(false);
    expect(cidrCovers(a('10.0.0.0/24'), a('10.0.0.64/26'))).to.equal(true);
    expect(cidrCovers(a('10.0.0.64/26'), a('10.0.0.0/24'))).to.equal(false);
    expect(cidrsOverlap(a('10.0.0.0/25'), a('10.0.0.64/26'))).to.equal(true);
    expect(cidrsOverlap(a('10.0.0.0/26'), a('10.0.0.64/26'))).to.equal(false);
    expect(cidrsOverlap(a('::/0'), a('0.0.0.0/0'))).to.equal(false);
  });
});
