/**
 * Messages captured from real BIRD 2, FRR, GoBGP and ExaBGP sessions
 * (tools/capture-vectors.ts → test/vectors/captured/*.json) must decode
 * without error and re-encode byte for byte.
 *
 * A second table checks that the committed corpus still covers what it was
 * captured for, so that a re-capture that loses, say, add-path or the
 * link-local next hop fails here instead of silently thinning the vectors.
 */
import { expect } from 'chai';
import {
  type BgpMessage,
  type PathAttribute,
  AttrFlag,
  AttrType,
  CapabilityCode,
  MessageType,
  RouteRefreshSubtype,
  capabilitiesOf,
  endOfRibFamily,
  IPV4_UNICAST,
  IPV6_UNICAST,
} from '../../bgp/codec/index.js';
import type { VectorFile } from '../support/bgp-capture.js';
import { loadCapturedFiles, roundTrip } from '../support/captured-vectors.js';

const files = loadCapturedFiles();

describe('captured vectors from real BGP daemons', () => {
  it('has vector files from BIRD, FRR and GoBGP sessions', () => {
    const sources = files.map((f) => f.file.source).join('\n');
    for (const daemon of ['bird2 ', 'frr ', 'gobgp ']) expect(sources, daemon).to.include(daemon);
    for (const { name, file } of files) {
      expect(file.messages.length, name).to.be.greaterThan(3);
      expect(file.captured, name).to.match(/^\d{4}-\d{2}-\d{2}$/);
    }
  });

  for (const { name, file } of files) {
    describe(`${name}: ${file.source}`, () => {
      file.messages.forEach((msg, i) => {
        it(`#${i} ${msg.dir} ${msg.note}`, () => {
          const { problems } = roundTrip(file, msg);
          expect(problems, `${name} #${i} ${msg.dir} ${msg.type}\n${problems.join('\n')}`).to.deep.equal([]);
        });
      });
    });
  }
});

// ---------------------------------------------------------------- corpus coverage

type Decoded = { file: VectorFile; msg: BgpMessage };

function decodedCorpus(): Decoded[] {
  const out: Decoded[] = [];
  for (const { file } of files) {
    for (const m of file.messages) {
      const { decoded } = roundTrip(file, m);
      if (decoded) out.push({ file, msg: decoded });
    }
  }
  return out;
}

function attrs(d: Decoded): PathAttribute[] {
  return d.msg.type === MessageType.Update ? d.msg.attributes : [];
}

const hasAttr = (type: number) => (d: Decoded) => attrs(d).some((a) => a.type === type);

const COVERAGE: { what: string; found: (d: Decoded) => boolean }[] = [
  { what: 'OPEN', found: (d) => d.msg.type === MessageType.Open },
  { what: 'KEEPALIVE', found: (d) => d.msg.type === MessageType.Keepalive },
  { what: 'NOTIFICATION Cease with a shutdown communication', found: (d) => d.msg.type === MessageType.Notification && d.msg.code === 6 && d.msg.data.length > 1 },
  { what: 'ROUTE-REFRESH request', found: (d) => d.msg.type === MessageType.RouteRefresh && d.msg.subtype === RouteRefreshSubtype.Normal },
  { what: 'ROUTE-REFRESH BoRR', found: (d) => d.msg.type === MessageType.RouteRefresh && d.msg.subtype === RouteRefreshSubtype.BeginningOfRouteRefresh },
  { what: 'ROUTE-REFRESH EoRR', found: (d) => d.msg.type === MessageType.RouteRefresh && d.msg.subtype === RouteRefreshSubtype.EndOfRouteRefresh },
  { what: 'End-of-RIB IPv4', found: (d) => d.msg.type === MessageType.Update && endOfRibFamily(d.msg) === IPV4_UNICAST },
  { what: 'End-of-RIB IPv6', found: (d) => d.msg.type === MessageType.Update && endOfRibFamily(d.msg) === IPV6_UNICAST },
  { what: 'IPv4 withdrawal', found: (d) => d.msg.type === MessageType.Update && d.msg.withdrawn.length > 0 },
  { what: 'MP_UNREACH_NLRI with prefixes', found: (d) => attrs(d).some((a) => a.type === AttrType.MpUnreachNlri && a.withdrawn.length > 0) },
  { what: 'MP_REACH_NLRI with a link-local next hop', found: (d) => attrs(d).some((a) => a.type === AttrType.MpReachNlri && a.nextHops.length === 2) },
  { what: 'MP_REACH_NLRI with a global next hop only', found: (d) => attrs(d).some((a) => a.type === AttrType.MpReachNlri && a.nextHops.length === 1) },
  { what: 'add-path IPv4 NLRI', found: (d) => d.msg.type === MessageType.Update && d.msg.nlri.some((n) => n.pathId !== undefined) },
  { what: 'add-path IPv6 NLRI', found: (d) => attrs(d).some((a) => a.type === AttrType.MpReachNlri && a.nlri.some((n) => n.pathId !== undefined)) },
  { what: 'MED', found: hasAttr(AttrType.MultiExitDisc) },
  { what: 'LOCAL_PREF', found: hasAttr(AttrType.LocalPref) },
  { what: 'ATOMIC_AGGREGATE', found: hasAttr(AttrType.AtomicAggregate) },
  { what: 'AGGREGATOR', found: hasAttr(AttrType.Aggregator) },
  { what: 'COMMUNITIES', found: hasAttr(AttrType.Communities) },
  { what: 'ORIGINATOR_ID', found: hasAttr(AttrType.OriginatorId) },
  { what: 'CLUSTER_LIST', found: hasAttr(AttrType.ClusterList) },
  { what: 'EXTENDED_COMMUNITIES (route target)', found: hasAttr(AttrType.ExtendedCommunities) },
  { what: 'AS4_PATH', found: hasAttr(AttrType.As4Path) },
  { what: 'AS4_AGGREGATOR', found: hasAttr(AttrType.As4Aggregator) },
  { what: 'LARGE_COMMUNITY', found: hasAttr(AttrType.LargeCommunity) },
  { what: 'unknown optional transitive attribute with Partial set', found: (d) => attrs(d).some((a) => a.type === 'unknown' && (a.flags & AttrFlag.Optional) !== 0 && (a.flags & AttrFlag.Transitive) !== 0 && (a.flags & AttrFlag.Partial) !== 0) },
  { what: 'a 2-octet-AS session UPDATE', found: (d) => d.msg.type === MessageType.Update && !d.file.sessionOptions.fourOctetAs },
  { what: 'an extended-message session', found: (d) => d.file.sessionOptions.extendedMessage },
  { what: 'OPEN with add-path', found: (d) => d.msg.type === MessageType.Open && capabilitiesOf(d.msg).some((c) => c.code === CapabilityCode.AddPath) },
  { what: 'OPEN with graceful restart', found: (d) => d.msg.type === MessageType.Open && capabilitiesOf(d.msg).some((c) => c.code === CapabilityCode.GracefulRestart) },
  { what: 'OPEN with long-lived graceful restart', found: (d) => d.msg.type === MessageType.Open && capabilitiesOf(d.msg).some((c) => c.code === CapabilityCode.LongLivedGracefulRestart) },
  { what: 'OPEN with FQDN', found: (d) => d.msg.type === MessageType.Open && capabilitiesOf(d.msg).some((c) => c.code === CapabilityCode.Fqdn) },
  { what: 'OPEN with AS_TRANS in My AS', found: (d) => d.msg.type === MessageType.Open && d.msg.myAs === 23456 },
];

describe('captured vectors cover', () => {
  let corpus: Decoded[] = [];
  before(() => {
    corpus = decodedCorpus();
  });
  for (const { what, found } of COVERAGE) {
    it(what, () => {
      expect(corpus.some(found), `no captured message has ${what}`).to.equal(true);
    });
  }
});
