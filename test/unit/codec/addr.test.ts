import { expect } from 'chai';
import { BgpEncodeError, canonicalIpv6, Writer, toHex } from '../../../bgp/codec/index.js';
import { encodePrefix } from '../../../bgp/codec/nlri.js';

describe('codec: address and prefix text', () => {
  const v6: [string, string | undefined][] = [
    ['::', '::'], ['::1', '::1'], ['1::', '1::'], ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'], ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'], ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['fe80::1:2', 'fe80::1:2'], [':1', undefined], ['1:', undefined], ['1:::2', undefined], ['1::2::3', undefined],
    ['1:2:3:4:5:6:7:8:9', undefined], ['12345::', undefined], ['g::', undefined],
  ];
  for (const [input, want] of v6) {
    it(`canonical IPv6 of ${JSON.stringify(input)} is ${String(want)}`, () => expect(canonicalIpv6(input)).to.equal(want));
  }

  const enc = (prefix: string, isV6 = false): string => {
    const w = new Writer(32);
    encodePrefix(w, { prefix }, isV6, false);
    return toHex(w.finish());
  };
  const good: [string, string][] = [
    ['0.0.0.0/0', '00'], ['10.0.0.0/8', '080a'], ['192.168.128.0/17', '11c0a880'], ['198.51.100.1/32', '20c6336401'],
    ['10.1.2.3/24', '180a0102'], // host bits are cleared on the wire
  ];
  for (const [p, hex] of good) it(`encodes ${p} as ${hex}`, () => expect(enc(p)).to.equal(hex));
  it('encodes an IPv6 prefix', () => expect(enc('2001:db8::/32', true)).to.equal('2020010db8'));
  for (const bad of ['1.2.3.4/33', '256.1.1.1/8', '1.2.3/8', '1.2.3.4/', '1.2.3.4', '1.2.3.4/1x', 'a.b.c.d/8', '1..2.3/8', '1.2.3.4/008']) {
    it(`refuses ${JSON.stringify(bad)}`, () => expect(() => enc(bad)).to.throw(BgpEncodeError));
  }
  it('refuses an IPv4 prefix where IPv6 is expected', () => expect(() => enc('10.0.0.0/8', true)).to.throw(BgpEncodeError));
});
