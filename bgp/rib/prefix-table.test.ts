import { expect } from 'chai';
import { hasCode } from '../../lib/errors.js';
import { parseIpv4PrefixInto } from './address.js';
import { PrefixTable } from './prefix-table.js';

describe('PrefixTable', () => {
  it('behaves like a Map under a long random mix of set/delete (IPv4, IPv6, odd text)', () => {
    // A fixed linear congruential sequence: deterministic, no Math.random.
    let seed = 12345;
    const next = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const keyOf = (k: number): string => {
      if (k % 10 === 0) return `2001:db8:${k.toString(16)}::/48`;
      if (k % 10 === 1) return `010.0.${k % 256}.0/24`; // not canonical: takes the Map path
      return `${(k >>> 8) % 256}.${k % 256}.${(k >>> 3) % 256}.0/${16 + (k % 17)}`;
    };
    const table = new PrefixTable<number>();
    const ref = new Map<string, number>();
    for (let step = 0; step < 40000; step++) {
      const key = keyOf(next(3000));
      const op = next(10);
      if (op < 6) {
        table.set(key, step);
        ref.set(key, step);
      } else {
        expect(table.delete(key), `delete ${key}`).to.equal(ref.delete(key));
      }
      if (step % 997 === 0) {
        expect(table.size).to.equal(ref.size);
        for (const [k, v] of ref) expect(table.get(k), k).to.equal(v);
      }
    }
    expect(new Map(table.entries())).to.deep.equal(ref);
    // Deleting everything shrinks back and leaves it empty.
    for (const k of [...ref.keys()]) expect(table.delete(k)).to.equal(true);
    expect(table.size).to.equal(0);
    expect([...table.keys()]).to.deep.equal([]);
  });

  const distinct = [
    ['10.0.0.0/8', '10.0.0.0/9'],
    ['0.0.0.0/0', '0.0.0.0/1'],
    ['255.255.255.255/32', '255.255.255.254/32'],
    ['10.0.0.0/8', '10.0.0.0/08'],
  ];
  for (const [a, b] of distinct) {
    it(`keeps ${a} and ${b} apart`, () => {
      const t = new PrefixTable<string>();
      t.set(a, a);
      t.set(b, b);
      expect([t.get(a), t.get(b), t.size]).to.deep.equal([a, b, 2]);
    });
  }

  it('gives back IPv4 keys as canonical text', () => {
    const t = new PrefixTable<number>();
    for (const p of ['0.0.0.0/0', '192.168.1.128/25', '255.255.255.255/32', '2001:db8::/32']) t.set(p, 1);
    expect([...t.keys()].sort()).to.deep.equal(['0.0.0.0/0', '192.168.1.128/25', '2001:db8::/32', '255.255.255.255/32']);
  });

  it('refuses to go on iterating after a change', () => {
    const t = new PrefixTable<number>();
    t.set('10.0.0.0/24', 1);
    t.set('10.0.1.0/24', 2);
    const it = t.entries();
    it.next();
    t.set('10.0.2.0/24', 3);
    expect(() => it.next()).to.throw().that.satisfies((e: unknown) => hasCode(e, 'ERR_RIB_TABLE_CHANGED'));
  });
});

describe('parseIpv4PrefixInto', () => {
  const buf = new Uint32Array(1);
  const cases: [string, number, number?][] = [
    ['10.1.2.0/24', 24, 0x0a010200],
    ['0.0.0.0/0', 0, 0],
    ['255.255.255.255/32', 32, 0xffffffff],
    ['1.2.3.4/9', 9, 0x01020304],
    ['10.0.0.0/33', -1],
    ['10.0.0.0/08', -1],
    ['010.0.0.0/8', -1],
    ['10.0.0/8', -1],
    ['10.0.0.0.0/8', -1],
    ['10.0.0.256/32', -1],
    ['10.0.0.0', -1],
    ['10.0.0.0/', -1],
    ['10.0.0.0/100', -1],
    ['2001:db8::/32', -1],
  ];
  for (const [text, len, addr] of cases) {
    it(`${text} → ${len}`, () => {
      expect(parseIpv4PrefixInto(text, buf)).to.equal(len);
      if (addr !== undefined) expect(buf[0]).to.equal(addr);
    });
  }
});
