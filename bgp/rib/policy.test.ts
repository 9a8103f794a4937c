import { expect } from 'chai';
import { hasCode } from '../../lib/errors.js';
import { AttrsInterner } from './attrs-interner.js';
import { compilePolicy, compilePrefixList, type PolicyDef, type PrefixListEntry } from './policy.js';
import { attrs, LOCAL_AS, seq } from './test-fixtures.js';

/** An RFC 1997 community as the codec gives it: unsigned 32-bit. */
const comm = (asn: number, value: number): number => ((asn << 16) | value) >>> 0;

describe('prefix lists', () => {
  const cases: { entry: PrefixListEntry; yes: string[]; no: string[] }[] = [
    {
      entry: { prefix: '10.0.0.0/8' },
      yes: ['10.0.0.0/8'],
      no: ['10.0.0.0/9', '10.0.0.0/7', '11.0.0.0/8'],
    },
    {
      entry: { prefix: '10.0.0.0/8', ge: 16 },
      yes: ['10.1.0.0/16', '10.1.2.3/32'],
      no: ['10.0.0.0/8', '10.0.0.0/15', '11.1.0.0/16'],
    },
    {
      entry: { prefix: '10.0.0.0/8', le: 24 },
      yes: ['10.0.0.0/8', '10.1.2.0/24'],
      no: ['10.1.2.0/25', '0.0.0.0/0', '9.0.0.0/8'],
    },
    {
      entry: { prefix: '10.0.0.0/8', ge: 16, le: 24 },
      yes: ['10.1.0.0/16', '10.1.2.0/24', '10.255.0.0/20'],
      no: ['10.0.0.0/15', '10.1.2.0/25', '172.16.0.0/16'],
    },
    {
      entry: { prefix: '192.168.1.0/24', ge: 32, le: 32 },
      yes: ['192.168.1.7/32', '192.168.1.255/32'],
      no: ['192.168.1.0/31', '192.168.2.1/32'],
    },
    {
      entry: { prefix: '0.0.0.0/0', le: 32 },
      yes: ['0.0.0.0/0', '203.0.113.0/24', '255.255.255.255/32'],
      no: ['2001:db8::/32'],
    },
    {
      entry: { prefix: '2001:db8::/32', ge: 48, le: 64 },
      yes: ['2001:db8:1::/48', '2001:db8:ffff:ffff::/64'],
      no: ['2001:db8::/32', '2001:db8:1::/47', '2001:db8:1:1:8000::/65', '2001:db9::/48', '10.0.0.0/8'],
    },
    {
      entry: { prefix: '2001:db8:0:0:0:0:0:100/120', le: 128 },
      yes: ['2001:db8::100/120', '2001:db8::1ff/128'],
      no: ['2001:db8::200/128', '2001:db8::/119'],
    },
    {
      entry: { prefix: '::/0' },
      yes: ['::/0'],
      no: ['::/1', '0.0.0.0/0'],
    },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.entry)}`, () => {
      const m = compilePrefixList([c.entry]);
      for (const p of c.yes) expect(m.matches(p), p).to.equal(true);
      for (const p of c.no) expect(m.matches(p), p).to.equal(false);
    });
  }

  const bad: PrefixListEntry[] = [
    { prefix: '10.0.0.0/33' },
    { prefix: '10.0.0/8' },
    { prefix: 'nope' },
    { prefix: '10.0.0.0/16', ge: 8 },
    { prefix: '10.0.0.0/8', ge: 24, le: 16 },
    { prefix: '10.0.0.0/8', le: 33 },
    { prefix: '2001:db8::/32', ge: 129 },
  ];
  for (const e of bad) {
    it(`rejects ${JSON.stringify(e)} with ERR_POLICY_INVALID`, () => {
      expect(() => compilePrefixList([e])).to.throw().that.satisfies((x: unknown) => hasCode(x, 'ERR_POLICY_INVALID'));
    });
  }
});

describe('policies', () => {
  const ctx = { localAs: LOCAL_AS };

  it('terms in order; first accept or reject wins; default otherwise', () => {
    const p = compilePolicy(
      {
        defaultResult: 'reject',
        terms: [
          { match: { prefixList: [{ prefix: '10.0.0.0/8', le: 32 }] }, actions: { setLocalPref: 200 }, result: 'accept' },
          { match: { prefixList: [{ prefix: '10.1.0.0/16' }] }, result: 'reject' },
          { match: { communities: ['65000:1'] }, result: 'accept' },
        ],
      },
      ctx,
    );
    expect(p.usesPrefix).to.equal(true);
    expect(p.evaluate('10.1.0.0/16', attrs())?.localPref).to.equal(200);
    expect(p.evaluate('172.16.0.0/12', attrs())).to.equal(undefined);
    const tagged = attrs({ communities: [comm(65000, 1)] });
    expect(p.evaluate('172.16.0.0/12', tagged)).to.equal(tagged);
  });

  it('a term matches only when every listed condition holds', () => {
    const p = compilePolicy(
      {
        defaultResult: 'reject',
        terms: [{ match: { prefixList: [{ prefix: '10.0.0.0/8', le: 32 }], communities: ['65000:1', '65000:2'] }, result: 'accept' }],
      },
      ctx,
    );
    expect(p.evaluate('10.0.0.0/24', attrs({ communities: [comm(65000, 2)] }))).to.not.equal(undefined);
    expect(p.evaluate('10.0.0.0/24', attrs({ communities: [comm(65000, 3)] }))).to.equal(undefined);
    expect(p.evaluate('11.0.0.0/24', attrs({ communities: [comm(65000, 2)] }))).to.equal(undefined);
  });

  it('matches large communities and well-known names', () => {
    const p = compilePolicy(
      {
        defaultResult: 'accept',
        terms: [
          { match: { largeCommunities: ['65000:7:8'] }, result: 'reject' },
          { match: { communities: ['no-export'] }, result: 'reject' },
        ],
      },
      ctx,
    );
    expect(p.evaluate('10.0.0.0/24', attrs({ largeCommunities: [{ global: 65000, local1: 7, local2: 8 }] }))).to.equal(undefined);
    expect(p.evaluate('10.0.0.0/24', attrs({ largeCommunities: [{ global: 65000, local1: 7, local2: 9 }] }))).to.not.equal(undefined);
    expect(p.evaluate('10.0.0.0/24', attrs({ communities: [0xffffff01] }))).to.equal(undefined);
  });

  it('actions: MED, communities, large communities, prepend; continue chains them', () => {
    const p = compilePolicy(
      {
        defaultResult: 'accept',
        terms: [
          { actions: { setMed: 10, addCommunities: ['65000:1', '65000:2'], removeCommunities: ['65000:9'] }, result: 'continue' },
          { actions: { prependAs: { count: 2 }, addLargeCommunities: ['1:2:3'], removeLargeCommunities: ['4:5:6'] }, result: 'continue' },
          { match: { communities: ['65000:2'] }, actions: { prependAs: { count: 1, asn: 64999 } }, result: 'accept' },
        ],
      },
      ctx,
    );
    const a = p.evaluate(
      '10.0.0.0/24',
      attrs({ communities: [comm(65000, 9), comm(65000, 1)], largeCommunities: [{ global: 4, local1: 5, local2: 6 }] }),
    );
    expect(a?.med).to.equal(10);
    expect(a?.communities).to.deep.equal([comm(65000, 1), comm(65000, 2)]);
    expect(a?.largeCommunities).to.deep.equal([{ global: 1, local1: 2, local2: 3 }]);
    expect(a?.asPath).to.deep.equal([seq(64999, LOCAL_AS, LOCAL_AS, 65001)]);
  });

  it('stripMed removes the MED', () => {
    const p = compilePolicy({ defaultResult: 'accept', terms: [{ actions: { stripMed: true }, result: 'accept' }] }, ctx);
    expect(p.evaluate('10.0.0.0/24', attrs({ med: 5 }))?.med).to.equal(undefined);
  });

  it('continue followed by the default reject still rejects', () => {
    const p = compilePolicy({ defaultResult: 'reject', terms: [{ actions: { setMed: 1 }, result: 'continue' }] }, ctx);
    expect(p.evaluate('10.0.0.0/24', attrs())).to.equal(undefined);
  });

  it('does not change its input, and returns one object per input set (cached, interned)', () => {
    const interner = new AttrsInterner();
    const p = compilePolicy({ defaultResult: 'accept', terms: [{ actions: { setLocalPref: 300 }, result: 'accept' }] }, { ...ctx, interner });
    const input = attrs();
    const r1 = p.evaluate('10.0.0.0/24', input);
    const r2 = p.evaluate('10.0.1.0/24', input);
    const r3 = p.evaluate('10.0.2.0/24', attrs());
    expect(input.localPref).to.equal(undefined);
    expect(r1).to.equal(r2);
    expect(r3).to.equal(r1);
  });

  it('is plain data: a JSON round trip compiles to the same behaviour', () => {
    const def: PolicyDef = {
      name: 'from-tor',
      defaultResult: 'reject',
      terms: [{ name: 'pods', match: { prefixList: [{ prefix: '10.244.0.0/16', ge: 26, le: 32 }] }, result: 'accept' }],
    };
    const p = compilePolicy(JSON.parse(JSON.stringify(def)) as PolicyDef, ctx);
    expect(p.name).to.equal('from-tor');
    expect(p.evaluate('10.244.1.64/26', attrs())).to.not.equal(undefined);
    expect(p.evaluate('10.244.1.0/24', attrs())).to.equal(undefined);
  });

  const invalid: { name: string; def: unknown }[] = [
    { name: 'bad default', def: { defaultResult: 'maybe', terms: [] } },
    { name: 'terms not a list', def: { defaultResult: 'accept', terms: {} } },
    { name: 'bad result', def: { defaultResult: 'accept', terms: [{ result: 'drop' }] } },
    { name: 'bad community', def: { defaultResult: 'accept', terms: [{ match: { communities: ['70000:1'] }, result: 'accept' }] } },
    { name: 'bad large community', def: { defaultResult: 'accept', terms: [{ match: { largeCommunities: ['1:2'] }, result: 'accept' }] } },
    { name: 'setMed with stripMed', def: { defaultResult: 'accept', terms: [{ actions: { setMed: 1, stripMed: true }, result: 'accept' }] } },
    { name: 'negative local pref', def: { defaultResult: 'accept', terms: [{ actions: { setLocalPref: -1 }, result: 'accept' }] } },
    { name: 'prepend 0 times', def: { defaultResult: 'accept', terms: [{ actions: { prependAs: { count: 0 } }, result: 'accept' }] } },
    {
      name: 'bad prefix in a term',
      def: { defaultResult: 'accept', terms: [{ match: { prefixList: [{ prefix: '10.0.0.0/40' }] }, result: 'accept' }] },
    },
  ];
  for (const c of invalid) {
    it(`rejects a policy with ${c.name} (ERR_POLICY_INVALID)`, () => {
      expect(() => compilePolicy(c.def as PolicyDef, ctx)).to.throw().that.satisfies((e: unknown) => hasCode(e, 'ERR_POLICY_INVALID'));
    });
  }
});
