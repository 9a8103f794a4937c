import { expect } from 'chai';
import { AttrsInterner } from './attrs-interner.js';
import { WellKnownCommunity } from './communities.js';
import { BestPathReason } from './best-path.js';
import {
  checkImport,
  exportDelta,
  exportPath,
  exportSkipReason,
  ExportSkip,
  ImportRejection,
  PathExporter,
  sanitizeImport,
  type ExportTarget,
  type LocalSpeaker,
} from './export.js';
import { RibChangeKind, type RibChange } from './loc-rib.js';
import { localSource, type Path, type PathAttrs, type PeerInfo } from './path.js';
import { compilePolicy } from './policy.js';
import { attrs, ibgpPeer, LOCAL_AS, LOCAL_ROUTER_ID, path, peer, seq } from './test-fixtures.js';

const local: LocalSpeaker = { asn: LOCAL_AS, routerId: LOCAL_ROUTER_ID };
const SELF4 = ['192.0.2.254'];

function target(peerId: string, o: Partial<ExportTarget> = {}): ExportTarget {
  const peerAs = o.peerAs ?? 65001;
  return {
    peerId,
    peerAs,
    localAs: LOCAL_AS,
    ibgp: peerAs === LOCAL_AS,
    rrClient: false,
    nextHopSelf: false,
    selfNextHops: SELF4,
    ...o,
  };
}
const ebgpT = target('tor', { peerAs: 65001 });
const ebgpT2 = target('tor2', { peerAs: 65002 });
const ibgpT = target('node2', { peerAs: LOCAL_AS });
const clientT = target('client2', { peerAs: LOCAL_AS, rrClient: true });

const fromEbgp = peer('tor', { peerAs: 65001, routerId: '10.0.0.1' });
const fromIbgp = ibgpPeer('node3', { routerId: '10.0.0.3' });
const fromClient = ibgpPeer('client1', { routerId: '10.0.0.4', rrClient: true });
const own = localSource(LOCAL_AS, LOCAL_ROUTER_ID);

describe('export rules: which paths go where', () => {
  const cases: { name: string; from: PeerInfo; to: ExportTarget; attrs?: Parameters<typeof path>[1]; skip: ExportSkip | undefined }[] = [
    { name: 'own path to eBGP', from: own, to: ebgpT, attrs: { asPath: [], nextHops: [] }, skip: undefined },
    { name: 'own path to iBGP', from: own, to: ibgpT, attrs: { asPath: [], nextHops: [] }, skip: undefined },
    { name: 'eBGP path back to the peer it came from', from: fromEbgp, to: ebgpT, skip: ExportSkip.SplitHorizon },
    { name: 'eBGP path to another eBGP peer', from: fromEbgp, to: ebgpT2, skip: undefined },
    { name: 'eBGP path to iBGP', from: fromEbgp, to: ibgpT, skip: undefined },
    { name: 'iBGP path to eBGP', from: fromIbgp, to: ebgpT, attrs: { asPath: [] }, skip: undefined },
    { name: 'iBGP path to iBGP: never re-advertised', from: fromIbgp, to: ibgpT, attrs: { asPath: [] }, skip: ExportSkip.IbgpToIbgp },
    { name: 'RR: non-client path to a client', from: fromIbgp, to: clientT, attrs: { asPath: [] }, skip: undefined },
    { name: 'RR: client path to a non-client', from: fromClient, to: ibgpT, attrs: { asPath: [] }, skip: undefined },
    { name: 'RR: client path to another client', from: fromClient, to: clientT, attrs: { asPath: [] }, skip: undefined },
    {
      name: 'RR: client path not back to the same client',
      from: fromClient,
      to: target('client1', { peerAs: LOCAL_AS, rrClient: true }),
      attrs: { asPath: [] },
      skip: ExportSkip.SplitHorizon,
    },
    { name: 'NO_ADVERTISE: to nobody', from: fromEbgp, to: ibgpT, attrs: { communities: [WellKnownCommunity.NoAdvertise] }, skip: ExportSkip.NoAdvertise },
    { name: 'NO_EXPORT: not to eBGP', from: fromIbgp, to: ebgpT, attrs: { communities: [WellKnownCommunity.NoExport] }, skip: ExportSkip.NoExport },
    { name: 'NO_EXPORT: still to iBGP', from: fromEbgp, to: ibgpT, attrs: { communities: [WellKnownCommunity.NoExport] }, skip: undefined },
    {
      name: 'no own address for the family toward eBGP',
      from: fromIbgp,
      to: target('tor', { selfNextHops: [] }),
      attrs: { asPath: [] },
      skip: ExportSkip.NoNextHop,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.skip ?? 'advertised'}`, () => {
      const p = path(c.from, c.attrs);
      expect(exportSkipReason(p, c.to)).to.equal(c.skip);
      expect(exportPath(p, c.to, local) === undefined).to.equal(c.skip !== undefined);
    });
  }
});

describe('export rules: attributes sent', () => {
  const out = (p: Path, t: ExportTarget, l: LocalSpeaker = local): PathAttrs => {
    const a = exportPath(p, t, l);
    if (a === undefined) throw new Error('not exported');
    return a;
  };

  it('toward eBGP: own AS prepended, next hop self, no LOCAL_PREF / MED / RR attributes', () => {
    const p = path(fromIbgp, {
      asPath: [seq(65010)],
      nextHops: ['10.1.1.1'],
      localPref: 300,
      med: 50,
      originatorId: '10.0.0.9',
      clusterList: ['10.0.0.8'],
    });
    const a = out(p, ebgpT);
    expect(a.asPath).to.deep.equal([seq(LOCAL_AS, 65010)]);
    expect(a.nextHops).to.deep.equal(SELF4);
    expect(a).to.include({ localPref: undefined, med: undefined, originatorId: undefined });
    expect(a.clusterList).to.deep.equal([]);
  });

  it('toward eBGP: our own MED on an originated path is kept', () => {
    expect(out(path(own, { asPath: [], nextHops: [], med: 20 }), ebgpT).med).to.equal(20);
  });

  it('toward eBGP: the AS of the session (local-as) is the one prepended', () => {
    expect(out(path(own, { asPath: [], nextHops: [] }), { ...ebgpT, localAs: 64999 }).asPath).to.deep.equal([seq(64999)]);
  });

  it('toward iBGP: LOCAL_PREF defaults to 100, MED and next hop kept, AS_PATH untouched', () => {
    const a = out(path(fromEbgp, { asPath: [seq(65001)], nextHops: ['192.0.2.77'], med: 9 }), ibgpT);
    expect(a).to.include({ localPref: 100, med: 9 });
    expect(a.nextHops).to.deep.equal(['192.0.2.77']);
    expect(a.asPath).to.deep.equal([seq(65001)]);
  });

  it('toward iBGP: the configured default LOCAL_PREF and an existing LOCAL_PREF', () => {
    expect(out(path(fromEbgp), ibgpT, { ...local, defaultLocalPref: 150 }).localPref).to.equal(150);
    expect(out(path(fromEbgp, { localPref: 250 }), ibgpT).localPref).to.equal(250);
  });

  it('toward iBGP with next-hop-self', () => {
    expect(out(path(fromEbgp, { nextHops: ['192.0.2.77'] }), { ...ibgpT, nextHopSelf: true }).nextHops).to.deep.equal(SELF4);
  });

  it('an originated path without a next hop gets ours toward iBGP too', () => {
    expect(out(path(own, { asPath: [], nextHops: [] }), ibgpT).nextHops).to.deep.equal(SELF4);
  });

  it('reflection sets ORIGINATOR_ID, prepends the cluster ID and keeps the next hop', () => {
    const p = path(fromClient, { asPath: [], nextHops: ['10.9.9.9'] });
    const a = out(p, { ...ibgpT, nextHopSelf: true });
    expect(a.originatorId).to.equal(fromClient.routerId);
    expect(a.clusterList).to.deep.equal([LOCAL_ROUTER_ID]);
    expect(a.nextHops).to.deep.equal(['10.9.9.9']);
  });

  it('reflection keeps an existing ORIGINATOR_ID and uses the configured cluster ID', () => {
    const p = path(fromClient, { asPath: [], originatorId: '10.0.0.42', clusterList: ['1.1.1.1'] });
    const a = out(p, clientT, { ...local, clusterId: '2.2.2.2' });
    expect(a.originatorId).to.equal('10.0.0.42');
    expect(a.clusterList).to.deep.equal(['2.2.2.2', '1.1.1.1']);
  });

  it('a non-reflected iBGP export adds no RR attributes', () => {
    const a = out(path(fromEbgp), clientT);
    expect(a.originatorId).to.equal(undefined);
    expect(a.clusterList).to.deep.equal([]);
  });
});

describe('import checks', () => {
  const cases: { name: string; from: PeerInfo; attrs: Parameters<typeof attrs>[0]; want: ImportRejection | undefined }[] = [
    { name: 'a clean eBGP path', from: fromEbgp, attrs: {}, want: undefined },
    { name: 'our AS in the AS_PATH', from: fromEbgp, attrs: { asPath: [seq(65001, LOCAL_AS)] }, want: ImportRejection.AsLoop },
    { name: 'ORIGINATOR_ID is our router ID', from: fromIbgp, attrs: { asPath: [], originatorId: LOCAL_ROUTER_ID }, want: ImportRejection.OriginatorIsSelf },
    { name: 'our cluster ID in the CLUSTER_LIST', from: fromIbgp, attrs: { asPath: [], clusterList: ['9.9.9.9', LOCAL_ROUTER_ID] }, want: ImportRejection.ClusterLoop },
    { name: 'another cluster in the CLUSTER_LIST', from: fromIbgp, attrs: { asPath: [], clusterList: ['9.9.9.9'] }, want: undefined },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.want ?? 'accepted'}`, () => {
      expect(checkImport(attrs(c.attrs), c.from, local)).to.equal(c.want);
    });
  }

  it('uses the configured cluster ID', () => {
    const l = { ...local, clusterId: '3.3.3.3' };
    expect(checkImport(attrs({ asPath: [], clusterList: ['3.3.3.3'] }), fromIbgp, l)).to.equal(ImportRejection.ClusterLoop);
    expect(checkImport(attrs({ asPath: [], clusterList: [LOCAL_ROUTER_ID] }), fromIbgp, l)).to.equal(undefined);
  });

  it('sanitizeImport strips iBGP-only attributes from eBGP paths, and only from them', () => {
    const a = attrs({ localPref: 5, originatorId: '1.1.1.1', clusterList: ['2.2.2.2'] });
    const clean = sanitizeImport(a, fromEbgp);
    expect(clean).to.include({ localPref: undefined, originatorId: undefined });
    expect(clean.clusterList).to.deep.equal([]);
    expect(sanitizeImport(a, fromIbgp)).to.equal(a);
    const plain = attrs();
    expect(sanitizeImport(plain, fromEbgp)).to.equal(plain);
  });
});

describe('PathExporter', () => {
  it('caches per Path: one result object for every prefix sharing the path', () => {
    const ex = new PathExporter(ebgpT2, local, { interner: new AttrsInterner() });
    const p = path(fromEbgp);
    const a = ex.export('10.0.0.0/24', p);
    expect(a).to.not.equal(undefined);
    expect(ex.export('10.0.1.0/24', p)).to.equal(a);
  });

  it('applies the export policy after the rules, and a MED the policy sets toward eBGP is kept', () => {
    const policy = compilePolicy(
      {
        defaultResult: 'accept',
        terms: [
          { match: { prefixList: [{ prefix: '10.9.0.0/16', le: 32 }] }, result: 'reject' },
          { actions: { setMed: 77, setLocalPref: 900 }, result: 'accept' },
        ],
      },
      { localAs: LOCAL_AS },
    );
    const ex = new PathExporter(ebgpT2, local, { policy });
    const p = path(fromEbgp, { med: 5 });
    expect(ex.export('10.9.1.0/24', p)).to.equal(undefined);
    const a = ex.export('10.0.0.0/24', p);
    expect(a).to.include({ med: 77, localPref: undefined });
    expect(a?.asPath).to.deep.equal([seq(LOCAL_AS, 65001)]);
  });

  it('exports nothing that the rules refuse, whatever the policy', () => {
    const ex = new PathExporter(ibgpT, local, { policy: compilePolicy({ defaultResult: 'accept', terms: [] }, { localAs: LOCAL_AS }) });
    expect(ex.export('10.0.0.0/24', path(fromIbgp, { asPath: [] }))).to.equal(undefined);
  });
});

describe('exportDelta (export without an Adj-RIB-Out)', () => {
  const ex = new PathExporter(ebgpT2, local, { interner: new AttrsInterner() });
  const viaA = path(fromEbgp, { nextHops: ['192.0.2.1'] });
  // Another eBGP peer whose path exports to the very same attributes (next hop self, same AS path).
  const viaB = path(peer('tor3', { peerAs: 65001, routerId: '10.0.0.7' }), { nextHops: ['192.0.2.3'] });
  const viaC = path(fromEbgp, { asPath: [seq(65001, 65009)] });
  const noExport = path(fromEbgp, { communities: [WellKnownCommunity.NoExport] });
  const P = '10.0.0.0/24';
  const ch = (best: Path | undefined, previous: Path | undefined): RibChange => ({
    prefix: P,
    kind: best === undefined ? RibChangeKind.Withdrawn : previous === undefined ? RibChangeKind.Added : RibChangeKind.Changed,
    best,
    previous,
    reason: BestPathReason.OnlyPath,
    multipathChanged: true,
  });

  const cases: { name: string; change: RibChange; want: 'advertise' | 'withdraw' | 'nothing' }[] = [
    { name: 'new best: advertise', change: ch(viaA, undefined), want: 'advertise' },
    { name: 'best gone: withdraw', change: ch(undefined, viaA), want: 'withdraw' },
    { name: 'different attributes: advertise', change: ch(viaC, viaA), want: 'advertise' },
    { name: 'a different path exporting the same attributes: nothing', change: ch(viaB, viaA), want: 'nothing' },
    { name: 'now not exportable: withdraw', change: ch(noExport, viaA), want: 'withdraw' },
    { name: 'never exported and still not: nothing', change: ch(undefined, noExport), want: 'nothing' },
    { name: 'multipath-only change: nothing', change: { ...ch(viaA, viaA), kind: RibChangeKind.Multipath }, want: 'nothing' },
  ];
  it('compares by content when the exporter does not intern', () => {
    const plain = new PathExporter(ebgpT2, local);
    expect(plain.export(P, viaA)).to.not.equal(plain.export(P, viaB));
    expect(exportDelta(plain, ch(viaB, viaA))).to.equal(undefined);
  });

  for (const c of cases) {
    it(c.name, () => {
      const d = exportDelta(ex, c.change);
      const got = d === undefined ? 'nothing' : d === null ? 'withdraw' : 'advertise';
      expect(got).to.equal(c.want);
      if (d) expect(d).to.equal(ex.export(P, c.change.best!));
    });
  }
});
