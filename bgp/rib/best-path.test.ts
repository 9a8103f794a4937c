import { expect } from 'chai';
import { Origin } from '../codec/constants.js';
import {
  bestPath,
  BestPathReason,
  compareByIgpCost,
  ineligibility,
  Ineligibility,
  type BestPathOptions,
} from './best-path.js';
import { localSource, type Path } from './path.js';
import { confedSeq, ibgpPeer, LOCAL_AS, LOCAL_ROUTER_ID, path, peer, seq, set } from './test-fixtures.js';

// Peers. Router IDs and addresses are chosen so that, unless a case says
// otherwise, the later tie-breaks would pick `b`: each case makes `a` win
// on its own step, which proves the step ran before the later ones.
const ebgpA = peer('a', { peerAs: 65001, routerId: '10.0.0.9', address: '192.0.2.9' });
const ebgpB = peer('b', { peerAs: 65001, routerId: '10.0.0.1', address: '192.0.2.1' });
const ebgpC = peer('c', { peerAs: 65002, routerId: '10.0.0.5', address: '192.0.2.5' });
const ibgpA = ibgpPeer('ia', { routerId: '10.0.0.9', address: '192.0.2.19' });
const ibgpB = ibgpPeer('ib', { routerId: '10.0.0.1', address: '192.0.2.11' });
const local = localSource(LOCAL_AS, LOCAL_ROUTER_ID);

interface Case {
  name: string;
  /** The winner is always the first path; the others follow. */
  paths: () => Path[];
  opts?: BestPathOptions;
  reason: BestPathReason;
}

const stepCases: Case[] = [
  {
    name: 'only one path',
    paths: () => [path(ebgpA)],
    reason: BestPathReason.OnlyPath,
  },
  {
    name: 'locally originated beats learned, even with a lower LOCAL_PREF',
    paths: () => [path(local, { asPath: [], nextHops: [] }), path(ibgpB, { asPath: [], localPref: 500 })],
    reason: BestPathReason.LocalOrigin,
  },
  {
    name: 'highest LOCAL_PREF',
    paths: () => [path(ibgpA, { localPref: 200 }), path(ibgpB, { localPref: 100 })],
    reason: BestPathReason.LocalPref,
  },
  {
    name: 'missing LOCAL_PREF counts as the default 100',
    paths: () => [path(ibgpA, { localPref: 101 }), path(ibgpB)],
    reason: BestPathReason.LocalPref,
  },
  {
    name: 'shortest AS_PATH',
    paths: () => [path(ebgpA, { asPath: [seq(65001)] }), path(ebgpB, { asPath: [seq(65001, 65010)] })],
    reason: BestPathReason.AsPathLength,
  },
  {
    name: 'AS_PATH length: an AS_SET counts 1',
    paths: () => [path(ebgpA, { asPath: [seq(65001), set(1, 2, 3)] }), path(ebgpB, { asPath: [seq(65001, 2, 3)] })],
    reason: BestPathReason.AsPathLength,
  },
  {
    name: 'AS_PATH length: confederation segments count 0',
    paths: () => [
      path(ebgpA, { asPath: [confedSeq(64512, 64513, 64514), seq(65001)] }),
      path(ebgpB, { asPath: [seq(65001, 65010)] }),
    ],
    reason: BestPathReason.AsPathLength,
  },
  {
    name: 'lowest ORIGIN',
    paths: () => [path(ebgpA, { origin: Origin.Igp }), path(ebgpB, { origin: Origin.Incomplete })],
    reason: BestPathReason.Origin,
  },
  {
    name: 'lowest MED from the same neighbouring AS',
    paths: () => [path(ebgpA, { med: 10 }), path(ebgpB, { med: 20 })],
    reason: BestPathReason.Med,
  },
  {
    name: 'missing MED counts as 0',
    paths: () => [path(ebgpA), path(ebgpB, { med: 1 })],
    reason: BestPathReason.Med,
  },
  {
    name: 'MED across neighbouring ASes with alwaysCompareMed',
    paths: () => [path(ebgpA, { med: 10 }), path(ebgpC, { asPath: [seq(65002)], med: 20 })],
    opts: { alwaysCompareMed: true },
    reason: BestPathReason.Med,
  },
  {
    name: 'eBGP over iBGP',
    paths: () => [path(ebgpA), path(ibgpB)],
    reason: BestPathReason.EbgpOverIbgp,
  },
  {
    name: 'lowest router ID',
    paths: () => [path(ebgpB), path(ebgpA)],
    reason: BestPathReason.RouterId,
  },
  {
    name: 'router ID step uses ORIGINATOR_ID when present (RFC 4456)',
    paths: () => [path(ibgpA, { asPath: [], originatorId: '10.0.0.0', clusterList: ['1.1.1.1'] }), path(ibgpB, { asPath: [] })],
    reason: BestPathReason.RouterId,
  },
  {
    name: 'shortest CLUSTER_LIST',
    paths: () => [
      path(ibgpA, { asPath: [], originatorId: '10.0.0.7', clusterList: ['1.1.1.1'] }),
      path(ibgpB, { asPath: [], originatorId: '10.0.0.7', clusterList: ['2.2.2.2', '1.1.1.1'] }),
    ],
    reason: BestPathReason.ClusterListLength,
  },
  {
    name: 'lowest peer address, compared as numbers (9.x before 10.x)',
    paths: () => [
      path(peer('p9', { routerId: '10.0.0.3', address: '9.0.0.1' })),
      path(peer('p10', { routerId: '10.0.0.3', address: '10.0.0.2' })),
    ],
    reason: BestPathReason.PeerAddress,
  },
  {
    name: 'lowest add-path id as the final tie-break',
    paths: () => [path(ebgpA, {}, 1), path(ebgpA, {}, 2)],
    reason: BestPathReason.PathId,
  },
];

describe('bestPath: one case per decision step', () => {
  for (const c of stepCases) {
    it(c.name, () => {
      const paths = c.paths();
      const want = paths[0];
      // Every order of the inputs gives the same answer.
      for (const order of [paths, paths.slice().reverse()]) {
        const r = bestPath(order, c.opts);
        expect(r.best).to.equal(want);
        expect(r.reason).to.equal(c.reason);
      }
    });
  }

  it('IGP cost is a documented no-op (tortie runs no IGP)', () => {
    expect(compareByIgpCost()).to.equal(0);
  });

  it('MED is not compared across neighbouring ASes by default', () => {
    const lowMedOtherAs = path(ebgpC, { asPath: [seq(65002)], med: 0 });
    const highMed = path(ebgpB, { med: 50 });
    const r = bestPath([lowMedOtherAs, highMed]);
    // Decided by router ID (10.0.0.1 < 10.0.0.5), not by MED.
    expect(r.best).to.equal(highMed);
    expect(r.reason).to.equal(BestPathReason.RouterId);
  });

  it('MED elimination is order-independent (RFC 4271 §9.1.2.2 c)', () => {
    // A beats B on MED (same AS 65001); C (AS 65002) is not comparable by MED.
    // By elimination B is out, then C beats A on router ID.
    const a = path(peer('a', { routerId: '10.0.0.3' }), { med: 10 });
    const b = path(peer('b', { routerId: '10.0.0.1' }), { med: 20 });
    const c = path(peer('c', { peerAs: 65002, routerId: '10.0.0.2' }), { asPath: [seq(65002)], med: 5 });
    const orders = [[a, b, c], [a, c, b], [b, a, c], [b, c, a], [c, a, b], [c, b, a]];
    for (const o of orders) {
      const r = bestPath(o);
      expect(r.best, o.map((p) => p.source.peerId).join('')).to.equal(c);
      expect(r.reason).to.equal(BestPathReason.RouterId);
    }
  });

  it('no candidates: no best, reason NoEligiblePath', () => {
    expect(bestPath([])).to.deep.equal({ best: undefined, reason: BestPathReason.NoEligiblePath, multipath: [] });
  });
});

describe('bestPath: eligibility', () => {
  it('a path with our own AS in its AS_PATH is ineligible (loop)', () => {
    const looped = path(ebgpA, { asPath: [seq(65001, LOCAL_AS, 65005)], localPref: 900 });
    const worse = path(ebgpB, { asPath: [seq(65001, 1, 2, 3)] });
    expect(ineligibility(looped, {})).to.equal(Ineligibility.AsLoop);
    const r = bestPath([looped, worse]);
    expect(r.best).to.equal(worse);
    expect(r.reason).to.equal(BestPathReason.OnlyPath);
  });

  it('our AS inside an AS_SET is a loop too', () => {
    expect(ineligibility(path(ebgpA, { asPath: [seq(65001), set(7, LOCAL_AS)] }), {})).to.equal(Ineligibility.AsLoop);
  });

  it('only looped paths: no best', () => {
    const r = bestPath([path(ebgpA, { asPath: [seq(65001, LOCAL_AS)] })]);
    expect(r.best).to.equal(undefined);
    expect(r.reason).to.equal(BestPathReason.NoEligiblePath);
  });

  it('a caller predicate can make unresolvable next hops ineligible', () => {
    const unreachable = path(ebgpA, { nextHops: ['198.51.100.1'], localPref: 900 });
    const reachable = path(ebgpB, { nextHops: ['192.0.2.1'] });
    const opts: BestPathOptions = { isNextHopResolvable: (p) => p.attrs.nextHops[0] !== '198.51.100.1' };
    expect(ineligibility(unreachable, opts)).to.equal(Ineligibility.NextHopUnresolvable);
    const r = bestPath([unreachable, reachable], opts);
    expect(r.best).to.equal(reachable);
    expect(r.reason).to.equal(BestPathReason.OnlyPath);
  });
});

describe('bestPath: multipath (ECMP)', () => {
  const e = (id: string, rid: string, nh: string, as = 65001): Path =>
    path(peer(id, { peerAs: as, routerId: rid, address: nh }), { asPath: [seq(as)], nextHops: [nh] });

  interface MpCase {
    name: string;
    paths: () => Path[];
    opts: BestPathOptions;
    /** peerIds of the expected set, best first. */
    want: string[];
  }
  const cases: MpCase[] = [
    {
      name: 'no multipath by default',
      paths: () => [e('a', '10.0.0.1', '192.0.2.1'), e('b', '10.0.0.2', '192.0.2.2')],
      opts: {},
      want: ['a'],
    },
    {
      name: 'equal eBGP paths from the same neighbouring AS, ordered by tie-breaks',
      paths: () => [e('c', '10.0.0.3', '192.0.2.3'), e('a', '10.0.0.1', '192.0.2.1'), e('b', '10.0.0.2', '192.0.2.2')],
      opts: { maxPaths: 4 },
      want: ['a', 'b', 'c'],
    },
    {
      name: 'capped at maxPaths',
      paths: () => [e('c', '10.0.0.3', '192.0.2.3'), e('a', '10.0.0.1', '192.0.2.1'), e('b', '10.0.0.2', '192.0.2.2')],
      opts: { maxPaths: 2 },
      want: ['a', 'b'],
    },
    {
      name: 'a different neighbouring AS is left out',
      paths: () => [e('a', '10.0.0.1', '192.0.2.1'), e('b', '10.0.0.2', '192.0.2.2', 65002)],
      opts: { maxPaths: 4 },
      want: ['a'],
    },
    {
      name: 'multipathRelax admits a different neighbouring AS with equal path length',
      paths: () => [e('a', '10.0.0.1', '192.0.2.1'), e('b', '10.0.0.2', '192.0.2.2', 65002)],
      opts: { maxPaths: 4, multipathRelax: true },
      want: ['a', 'b'],
    },
    {
      name: 'a path worse on MED is left out',
      paths: () => [e('a', '10.0.0.1', '192.0.2.1'), path(peer('b', { routerId: '10.0.0.2' }), { nextHops: ['192.0.2.2'], med: 5 })],
      opts: { maxPaths: 4 },
      want: ['a'],
    },
    {
      name: 'a path with a next hop already in the set adds nothing',
      paths: () => [e('a', '10.0.0.1', '192.0.2.1'), e('b', '10.0.0.2', '192.0.2.1'), e('c', '10.0.0.3', '192.0.2.3')],
      opts: { maxPaths: 4 },
      want: ['a', 'c'],
    },
    {
      name: 'iBGP paths use maxPathsIbgp',
      paths: () => [
        path(ibgpPeer('i1', { routerId: '10.0.0.1' }), { asPath: [], nextHops: ['192.0.2.1'] }),
        path(ibgpPeer('i2', { routerId: '10.0.0.2' }), { asPath: [], nextHops: ['192.0.2.2'] }),
      ],
      opts: { maxPaths: 1, maxPathsIbgp: 2 },
      want: ['i1', 'i2'],
    },
    {
      name: 'eBGP and iBGP paths are never mixed',
      paths: () => [e('a', '10.0.0.1', '192.0.2.1'), path(ibgpPeer('i1', { routerId: '10.0.0.0' }), { nextHops: ['192.0.2.9'] })],
      opts: { maxPaths: 4, maxPathsIbgp: 4 },
      want: ['a'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = bestPath(c.paths(), c.opts);
      expect(r.multipath.map((p) => p.source.peerId)).to.deep.equal(c.want);
      expect(r.multipath[0]).to.equal(r.best);
    });
  }
});
