import { expect } from 'chai';
import {
  AS_TRANS,
  AttrFlag,
  AttrType,
  decodeMessage,
  DEFAULT_CODEC_OPTIONS,
  IPV4_UNICAST,
  IPV6_UNICAST,
  MessageType,
  Origin,
  packUpdates,
  type CodecOptions,
  type PathAttribute,
} from '../codec/index.js';
import { hasCode } from '../../lib/errors.js';
import {
  AttrsInterner,
  makePathAttrs,
  mergeAs4Path,
  pathAttrsFromUpdate,
  toWireAttributes,
  type PathAttrs,
} from './path.js';
import { confedSeq, seq, set } from './test-fixtures.js';

const T = AS_TRANS;

describe('mergeAs4Path (RFC 6793 §4.2.3)', () => {
  const cases = [
    {
      name: 'AS_TRANS placeholders are replaced from AS4_PATH',
      asPath: [seq(65001, T, T)],
      as4Path: [seq(400000, 400001)],
      want: [seq(65001, 400000, 400001)],
    },
    {
      name: 'equal counts: AS4_PATH is the whole path',
      asPath: [seq(T, T)],
      as4Path: [seq(400000, 65002)],
      want: [seq(400000, 65002)],
    },
    {
      name: 'AS_PATH shorter than AS4_PATH: AS4_PATH ignored',
      asPath: [seq(65001, T)],
      as4Path: [seq(400000, 400001, 400002)],
      want: [seq(65001, T)],
    },
    {
      name: 'leading ASes taken across segments, sets count as one',
      asPath: [seq(65001), set(1, 2), seq(T, T)],
      as4Path: [seq(400000, 400001)],
      want: [seq(65001), set(1, 2), seq(400000, 400001)],
    },
    {
      name: 'an AS_SET in AS4_PATH counts as one',
      asPath: [seq(65001, T), set(T, 7)],
      as4Path: [seq(400000), set(400001, 7)],
      want: [seq(65001, 400000), set(400001, 7)],
    },
    {
      name: 'a leading confederation segment is carried over',
      asPath: [confedSeq(64512, 64513), seq(65001, T)],
      as4Path: [seq(400000)],
      want: [confedSeq(64512, 64513), seq(65001, 400000)],
    },
    {
      name: 'confederation segments in AS4_PATH are dropped',
      asPath: [seq(65001, T)],
      as4Path: [confedSeq(64512), seq(400000)],
      want: [seq(65001, 400000)],
    },
    {
      name: 'empty AS4_PATH leaves AS_PATH as it is',
      asPath: [seq(65001, 65002)],
      as4Path: [],
      want: [seq(65001, 65002)],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const before = JSON.stringify(c.asPath);
      expect(mergeAs4Path(c.asPath, c.as4Path)).to.deep.equal(c.want);
      expect(JSON.stringify(c.asPath)).to.equal(before);
    });
  }
});

const base: PathAttribute[] = [
  { type: AttrType.Origin, flags: 0x40, origin: Origin.Igp },
  { type: AttrType.AsPath, flags: 0x40, segments: [seq(65001, T)] },
  { type: AttrType.NextHop, flags: 0x40, nextHop: '192.0.2.1' },
];

describe('pathAttrsFromUpdate', () => {
  it('normalizes every known attribute', () => {
    const a = pathAttrsFromUpdate(
      [
        { type: AttrType.Origin, flags: 0x40, origin: Origin.Egp },
        { type: AttrType.AsPath, flags: 0x40, segments: [seq(65001, 65002)] },
        { type: AttrType.NextHop, flags: 0x40, nextHop: '192.0.2.1' },
        { type: AttrType.MultiExitDisc, flags: 0x80, med: 7 },
        { type: AttrType.LocalPref, flags: 0x40, localPref: 150 },
        { type: AttrType.AtomicAggregate, flags: 0x40 },
        { type: AttrType.Aggregator, flags: 0xc0, asn: 65001, address: '192.0.2.9' },
        { type: AttrType.Communities, flags: 0xc0, communities: [0xfde80064] },
        { type: AttrType.OriginatorId, flags: 0x80, originatorId: '10.0.0.1' },
        { type: AttrType.ClusterList, flags: 0x80, clusterIds: ['10.0.0.2'] },
        { type: AttrType.LargeCommunity, flags: 0xc0, communities: [{ global: 1, local1: 2, local2: 3 }] },
      ],
      IPV4_UNICAST,
    );
    expect(a).to.include({ origin: Origin.Egp, med: 7, localPref: 150, atomicAggregate: true, originatorId: '10.0.0.1' });
    expect(a.asPath).to.deep.equal([seq(65001, 65002)]);
    expect(a.nextHops).to.deep.equal(['192.0.2.1']);
    expect(a.aggregator).to.deep.equal({ asn: 65001, address: '192.0.2.9' });
    expect(a.communities).to.deep.equal([0xfde80064]);
    expect(a.clusterList).to.deep.equal(['10.0.0.2']);
    expect(a.largeCommunities).to.deep.equal([{ global: 1, local1: 2, local2: 3 }]);
    expect(a.asPathLen).to.equal(2);
    expect(a.neighborAs).to.equal(65001);
  });

  it('takes IPv6 next hops from the MP_REACH_NLRI of the family', () => {
    const a = pathAttrsFromUpdate(
      [
        ...base.slice(0, 2),
        { type: AttrType.MpReachNlri, flags: 0x90, afi: 2, safi: 1, nextHops: ['2001:db8::1', 'fe80::1'], nlri: [] },
      ],
      IPV6_UNICAST,
    );
    expect(a.nextHops).to.deep.equal(['2001:db8::1', 'fe80::1']);
  });

  it('keeps unknown optional transitive attributes with Partial set and drops non-transitive ones', () => {
    const a = pathAttrsFromUpdate(
      [
        ...base,
        { type: 'unknown', code: 99, flags: 0xc0, data: Uint8Array.of(1, 2) },
        { type: 'unknown', code: 98, flags: 0x80, data: Uint8Array.of(3) },
      ],
      IPV4_UNICAST,
    );
    expect(a.unknown).to.have.length(1);
    expect(a.unknown[0].code).to.equal(99);
    expect(a.unknown[0].flags & AttrFlag.Partial).to.equal(AttrFlag.Partial);
  });

  const as4 = (asn: number): PathAttribute => ({ type: AttrType.As4Aggregator, flags: 0xc0, asn, address: '192.0.2.8' });
  const agg = (asn: number): PathAttribute => ({ type: AttrType.Aggregator, flags: 0xc0, asn, address: '192.0.2.7' });
  const as4Path: PathAttribute = { type: AttrType.As4Path, flags: 0xc0, segments: [seq(400000)] };
  const cases = [
    { name: 'OLD peer: AS4_PATH merged', extra: [as4Path], four: false, path: [seq(65001, 400000)], aggregator: undefined },
    { name: 'NEW peer: AS4_PATH ignored (§4.1)', extra: [as4Path], four: true, path: [seq(65001, T)], aggregator: undefined },
    {
      name: 'AGGREGATOR not AS_TRANS: AS4_PATH and AS4_AGGREGATOR ignored',
      extra: [agg(65005), as4(400009), as4Path],
      four: false,
      path: [seq(65001, T)],
      aggregator: { asn: 65005, address: '192.0.2.7' },
    },
    {
      name: 'AGGREGATOR is AS_TRANS: AS4_AGGREGATOR used and AS4_PATH merged',
      extra: [agg(T), as4(400009), as4Path],
      four: false,
      path: [seq(65001, 400000)],
      aggregator: { asn: 400009, address: '192.0.2.8' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const a = pathAttrsFromUpdate([...base, ...c.extra], IPV4_UNICAST, { fourOctetAs: c.four });
      expect(a.asPath).to.deep.equal(c.path);
      expect(a.aggregator).to.deep.equal(c.aggregator);
    });
  }

  const missing = [
    { name: 'no ORIGIN', attrs: base.slice(1), family: IPV4_UNICAST, code: 'ERR_RIB_MISSING_ATTRIBUTE' },
    { name: 'no AS_PATH', attrs: [base[0], base[2]], family: IPV4_UNICAST, code: 'ERR_RIB_MISSING_ATTRIBUTE' },
    { name: 'no next hop for the family', attrs: base, family: IPV6_UNICAST, code: 'ERR_RIB_NO_NEXT_HOP' },
  ];
  for (const c of missing) {
    it(`throws ${c.code} for ${c.name}`, () => {
      expect(() => pathAttrsFromUpdate(c.attrs, c.family)).to.throw().that.satisfies((e: unknown) => hasCode(e, c.code));
    });
  }

  it('interns equal sets into one object', () => {
    const interner = new AttrsInterner();
    const a = pathAttrsFromUpdate(base, IPV4_UNICAST, { interner });
    const b = pathAttrsFromUpdate(structuredClone(base), IPV4_UNICAST, { interner });
    const c = pathAttrsFromUpdate([...base, { type: AttrType.MultiExitDisc, flags: 0x80, med: 1 }], IPV4_UNICAST, { interner });
    expect(a).to.equal(b);
    expect(c).to.not.equal(a);
  });
});

describe('toWireAttributes', () => {
  const big = makePathAttrs({
    origin: Origin.Igp,
    asPath: [seq(65000, 400000)],
    nextHops: ['192.0.2.1'],
    aggregator: { asn: 400001, address: '192.0.2.3' },
  });

  it('toward a NEW speaker: no AS4_ attributes', () => {
    const w = toWireAttributes(big, { family: IPV4_UNICAST, fourOctetAs: true });
    expect(w.map((a) => a.type)).to.deep.equal([AttrType.Origin, AttrType.AsPath, AttrType.NextHop, AttrType.Aggregator]);
  });

  it('toward an OLD speaker: AS_TRANS in AGGREGATOR plus AS4_PATH and AS4_AGGREGATOR (RFC 6793 §4.2.2)', () => {
    const w = toWireAttributes(big, { family: IPV4_UNICAST, fourOctetAs: false });
    const byType = new Map(w.map((a) => [a.type, a]));
    expect(byType.get(AttrType.Aggregator)).to.include({ asn: AS_TRANS });
    expect(byType.get(AttrType.As4Path)).to.deep.include({ segments: [seq(65000, 400000)] });
    expect(byType.get(AttrType.As4Aggregator)).to.include({ asn: 400001 });
  });

  it('toward an OLD speaker with only 2-octet ASNs: no AS4_PATH', () => {
    const w = toWireAttributes(makePathAttrs({ origin: Origin.Igp, asPath: [seq(65000)], nextHops: ['192.0.2.1'] }), {
      family: IPV4_UNICAST,
      fourOctetAs: false,
    });
    expect(w.some((a) => a.type === AttrType.As4Path)).to.equal(false);
  });

  it('IPv6: no NEXT_HOP and no MP_REACH_NLRI (packUpdates builds it)', () => {
    const a = makePathAttrs({ origin: Origin.Igp, asPath: [], nextHops: ['2001:db8::1'], localPref: 100 });
    const w = toWireAttributes(a, { family: IPV6_UNICAST, fourOctetAs: true });
    expect(w.map((x) => x.type)).to.deep.equal([AttrType.Origin, AttrType.AsPath, AttrType.LocalPref]);
  });

  it('refuses attributes without a next hop', () => {
    const a = makePathAttrs({ origin: Origin.Igp });
    expect(() => toWireAttributes(a, { family: IPV4_UNICAST, fourOctetAs: true })).to.throw().that.satisfies((e: unknown) =>
      hasCode(e, 'ERR_RIB_NO_NEXT_HOP'),
    );
  });

  // Through the real codec: attrs -> wire -> bytes -> decode -> attrs.
  const roundTrip: { name: string; attrs: PathAttrs; family: number; nlri: string; four: boolean }[] = [
    {
      name: 'IPv4, every attribute, 4-octet session',
      attrs: makePathAttrs({
        origin: Origin.Incomplete,
        asPath: [seq(65001, 4200000000), set(1, 2)],
        nextHops: ['192.0.2.1'],
        med: 5,
        localPref: 120,
        atomicAggregate: true,
        aggregator: { asn: 4200000000, address: '192.0.2.3' },
        communities: [0xfde80001, 0xffffff01],
        extCommunities: [{ type: 0, subtype: 2, value: Uint8Array.of(0xfd, 0xe8, 0, 0, 0, 1) }],
        largeCommunities: [{ global: 4200000000, local1: 1, local2: 2 }],
        originatorId: '10.0.0.1',
        clusterList: ['10.0.0.2', '10.0.0.3'],
        unknown: [{ type: 'unknown', code: 99, flags: 0xe0, data: Uint8Array.of(9, 9) }],
      }),
      family: IPV4_UNICAST,
      nlri: '10.1.0.0/16',
      four: true,
    },
    {
      name: 'IPv4 through a 2-octet session (AS4_PATH / AS4_AGGREGATOR)',
      attrs: makePathAttrs({
        origin: Origin.Igp,
        asPath: [seq(65001, 4200000000)],
        nextHops: ['192.0.2.1'],
        aggregator: { asn: 4200000001, address: '192.0.2.3' },
      }),
      family: IPV4_UNICAST,
      nlri: '10.2.0.0/16',
      four: false,
    },
    {
      name: 'IPv6 with global and link-local next hops',
      attrs: makePathAttrs({ origin: Origin.Igp, asPath: [seq(65001)], nextHops: ['2001:db8::1', 'fe80::1'] }),
      family: IPV6_UNICAST,
      nlri: '2001:db8:1::/48',
      four: true,
    },
  ];
  for (const c of roundTrip) {
    it(`round trip through the codec: ${c.name}`, () => {
      const opts: CodecOptions = { ...DEFAULT_CODEC_OPTIONS, fourOctetAs: c.four };
      const wire = toWireAttributes(c.attrs, { family: c.family, fourOctetAs: c.four });
      const frames = packUpdates(c.family, wire, [{ prefix: c.nlri }], opts, [...c.attrs.nextHops]);
      expect(frames).to.have.length(1);
      const msg = decodeMessage(frames[0], opts);
      if (msg.type !== MessageType.Update) throw new Error('not an UPDATE');
      expect(msg.errors).to.equal(undefined);
      const back = pathAttrsFromUpdate(msg.attributes, c.family, { fourOctetAs: c.four });
      expect(back.key).to.equal(c.attrs.key);
    });
  }
});
