/**
 * Robustness of tortie's speaker against a misbehaving peer and a
 * connection flood, in namespaces:
 *
 *   [raw peer, AS 65010] ==veth== [tortie, AS 65000] ==veth== [BIRD, AS 65020]
 *                                        ||
 *                                 [flood: 4 addresses, not configured]
 *
 * The raw peer (lib/raw-peer-process.ts) is a real BGP session whose
 * UPDATEs are built byte by byte (lib/craft.ts), so it can send exactly the
 * malformations of RFC 7606 under test. BIRD shows what tortie passes on.
 *
 * Needs root and BIRD: fails, never skips, without them.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IPV4_UNICAST, IPV6_UNICAST, decodeMessage, errorActionName, type UpdateMessage } from '../../bgp/codec/index.js';
import type { PeerStatus } from '../../bgp/speaker/types.js';
import type { RouterSpec } from '../support/daemon-configs.js';
import { Topology, waitFor, type Netns } from '../support/netns.js';
import * as craft from './lib/craft.js';
import { checkPrerequisites } from './lib/group.js';
import { BirdPeer } from './lib/peers.js';
import { RawPeer } from './lib/raw-peer.js';
import { Sampler } from './lib/sampler.js';
import { TortieProcess, type TortieRoute } from './lib/tortie.js';

const TORTIE = '192.0.2.1';
const RAW = '192.0.2.2';
const RAW_ASN = 65010;
const BIRD_TORTIE = '192.0.2.5';
const BIRD = '192.0.2.6';
const BIRD_ASN = 65020;
const FLOOD_TORTIE = '192.0.2.129';
const FLOOD_SOURCES = ['192.0.2.130', '192.0.2.131', '192.0.2.132', '192.0.2.133'];
const BIRD_PREFIX = '198.51.100.0/24';

const P = {
  withdrawn: '203.0.113.0/26',
  control: '203.0.113.64/26',
  goodAggregator: '203.0.113.128/26',
  badAggregator: '203.0.113.192/26',
  v6: '2001:db8:99::/48',
};

/** ORIGIN, AS_PATH and NEXT_HOP of a well-formed UPDATE from the raw peer, plus a community. */
function baseAttrs(originValue = 0): craft.Bytes[] {
  return [craft.origin(originValue), craft.asPath([RAW_ASN]), craft.nextHop(RAW), craft.communities([[RAW_ASN, 7]])];
}

const RX = { fourOctetAs: true, extendedMessage: false, addPath: new Set<number>(), external: true };

/** What tortie's own codec makes of a crafted message: proves the bytes carry the intended fault. */
function codecVerdict(bytes: Uint8Array): string {
  try {
    const m = decodeMessage(bytes, RX) as UpdateMessage;
    return m.errors ? errorActionName(m.errors.action) : 'ok';
  } catch {
    return 'session-reset';
  }
}

describe('robustness: tortie against malformed UPDATEs and a connection flood (root)', function () {
  this.timeout(60_000);
  const topo = new Topology();
  let tortie: TortieProcess;
  let raw: RawPeer;
  let bird: BirdPeer;
  let flood: RawPeer;
  let tortieNs: Netns;

  const tortieLog = (): string => readFileSync(tortie.logFile, 'utf8');
  const peerStatus = (addr: string): Promise<PeerStatus> => tortie.peer(addr);
  const describeAll = (): string => `${tortie.logTail(25)}\n${bird.logTail(10)}\nraw peer events: ${JSON.stringify(raw.events.slice(-10))}`;
  const tortieHas = (prefix: string): Promise<TortieRoute | undefined> => tortie.route(prefix);

  async function rawSession(): Promise<void> {
    await raw.session({ host: TORTIE, localAddress: RAW, asn: RAW_ASN, routerId: RAW, holdTimeSec: 9 });
    await tortie.waitEstablished(RAW);
  }

  before(async function () {
    this.timeout(90_000);
    checkPrerequisites(['bird']);
    tortieNs = await topo.addNamespace('tortie-robust');
    const [rawNs, birdNs, floodNs] = await Promise.all([topo.addNamespace('raw'), topo.addNamespace('bird'), topo.addNamespace('flood')]);
    await topo.link(tortieNs, rawNs, { aAddresses: [`${TORTIE}/30`], bAddresses: [`${RAW}/30`] });
    await topo.link(tortieNs, birdNs, { aAddresses: [`${BIRD_TORTIE}/30`], bAddresses: [`${BIRD}/30`] });
    await topo.link(tortieNs, floodNs, { aAddresses: [`${FLOOD_TORTIE}/25`], bAddresses: FLOOD_SOURCES.map((a) => `${a}/25`) });
    const common = { holdTimeSec: 3, keepaliveSec: 1, connectRetrySec: 1, idleHoldInitialSec: 1 };
    tortie = await TortieProcess.start(tortieNs, {
      speaker: { asn: 65000, routerId: TORTIE, listen: { address: '0.0.0.0', port: 179 } },
      peers: [
        { address: RAW, asn: RAW_ASN, localAddress: TORTIE, passive: true, families: [IPV4_UNICAST, IPV6_UNICAST], ...common },
        { address: BIRD, asn: BIRD_ASN, localAddress: BIRD_TORTIE, families: [IPV4_UNICAST], ...common },
      ],
    }, join(topo.tmpDir, 'tortie.log'));
    const spec: RouterSpec = {
      label: 'bird-monitor',
      asn: BIRD_ASN,
      routerId: BIRD,
      peers: [{ name: 'tortie4', localAddress: BIRD, peerAddress: BIRD_TORTIE, peerAsn: 65000, families: ['ipv4'], holdTimeSec: 3 }],
      routes: [{ prefix: BIRD_PREFIX, communities: [[BIRD_ASN, 1]] }],
    };
    bird = new BirdPeer(topo, birdNs, spec);
    [raw, flood] = await Promise.all([
      RawPeer.start(rawNs, join(topo.tmpDir, 'raw-peer.log')),
      RawPeer.start(floodNs, join(topo.tmpDir, 'flood.log')),
      bird.start(),
    ]);
    await rawSession();
    await tortie.waitEstablished(BIRD);
  });

  after(async function () {
    this.timeout(30_000);
    await topo.destroy();
  });

  describe('malformed UPDATEs (RFC 7606)', () => {
    it('treat-as-withdraw: re-announcing a prefix with ORIGIN 5 withdraws it; the session stays up', async () => {
      const good = craft.update({ attributes: baseAttrs(), nlri: [P.withdrawn, P.control] });
      const bad = craft.update({ attributes: baseAttrs(5), nlri: [P.withdrawn] });
      expect(codecVerdict(good)).to.equal('ok');
      expect(codecVerdict(bad), 'the crafted UPDATE is treat-as-withdraw').to.equal('treat-as-withdraw');

      await raw.send(good);
      await waitFor('tortie and BIRD to have both prefixes', async () => {
        const ok = (await tortieHas(P.withdrawn)) && (await tortieHas(P.control)) && (await bird.route(P.withdrawn, BIRD_TORTIE));
        return ok ? true : undefined;
      }, { timeoutMs: 10_000, describe: describeAll });
      const before = await peerStatus(RAW);
      const eventsBefore = raw.events.length;

      await raw.send(bad);
      await waitFor(`${P.withdrawn} withdrawn at tortie and at BIRD`, async () => {
        const gone = !(await tortieHas(P.withdrawn)) && !(await bird.route(P.withdrawn, BIRD_TORTIE));
        return gone ? true : undefined;
      }, { timeoutMs: 10_000, describe: describeAll });

      const after = await peerStatus(RAW);
      expect(after.state, 'session not reset').to.equal('Established');
      expect(after.flaps, 'no flap').to.equal(before.flaps);
      expect(raw.eventsSince(eventsBefore).filter((e) => e.event === 'notification' || e.event === 'closed'), 'no NOTIFICATION, no close').to.deep.equal([]);
      expect(await tortieHas(P.control), 'the other prefix of the first UPDATE stays').to.not.equal(undefined);
      expect(tortieLog()).to.match(/"msg":"malformed UPDATE handled per RFC 7606".*"action":2/);
    });

    it('attribute discard: a malformed AGGREGATOR is dropped, the route is kept and passed on without it', async () => {
      const goodAgg = craft.update({ attributes: [...baseAttrs(), craft.aggregator(RAW_ASN, RAW)], nlri: [P.goodAggregator] });
      const badAgg = craft.update({ attributes: [...baseAttrs(), craft.aggregator(RAW_ASN, RAW, [0, 0, 0xfe, 0x12, 192])], nlri: [P.badAggregator] });
      expect(codecVerdict(goodAgg)).to.equal('ok');
      expect(codecVerdict(badAgg), 'the crafted UPDATE is attribute-discard').to.equal('attribute-discard');
      const before = await peerStatus(RAW);
      const eventsBefore = raw.events.length;

      await raw.send(goodAgg);
      await raw.send(badAgg);
      const shown = await waitFor('BIRD to show both prefixes', async () => {
        const [g, b] = [await bird.showRoute(P.goodAggregator), await bird.showRoute(P.badAggregator)];
        return g && b ? { g, b } : undefined;
      }, { timeoutMs: 10_000, describe: describeAll });

      // The control: a well-formed AGGREGATOR does reach BIRD, so its absence below means something.
      expect(shown.g, 'well-formed AGGREGATOR passed on').to.match(/BGP\.aggregator:\s+192\.0\.2\.2 AS65010/);
      expect(shown.b, 'malformed AGGREGATOR discarded').to.not.match(/BGP\.aggregator/);
      expect(shown.b, 'the rest of the route intact').to.match(/BGP\.community:.*\(65010,7\)/);
      expect(shown.b).to.match(/BGP\.as_path:\s+65000 65010/);
      const r = await tortieHas(P.badAggregator);
      expect(r?.peer).to.equal(RAW);
      expect(r?.communities).to.include('65010:7');

      const after = await peerStatus(RAW);
      expect(after.state).to.equal('Established');
      expect(after.flaps).to.equal(before.flaps);
      expect(raw.eventsSince(eventsBefore).filter((e) => e.event === 'notification' || e.event === 'closed')).to.deep.equal([]);
      expect(tortieLog()).to.match(/"msg":"malformed UPDATE handled per RFC 7606".*"action":1/);
    });

    it('session reset: MP_REACH_NLRI with a 5-octet IPv6 next hop gets NOTIFICATION 3/1 and drops the session', async () => {
      const bad = craft.update({ attributes: [craft.origin(0), craft.asPath([RAW_ASN]), craft.mpReachIpv6([0x20, 0x01, 0x0d, 0xb8, 0x00], [P.v6])] });
      expect(codecVerdict(bad)).to.equal('session-reset');
      const before = await peerStatus(RAW);
      const birdBefore = await peerStatus(BIRD);
      const eventsBefore = raw.events.length;

      await raw.send(bad);
      const n = await waitFor('the raw peer to receive a NOTIFICATION', () => Promise.resolve(raw.eventsSince(eventsBefore).find((e) => e.event === 'notification')), {
        timeoutMs: 10_000,
        describe: describeAll,
      });
      expect({ code: n.code, subcode: n.subcode }, 'UPDATE Message Error / Malformed Attribute List').to.deep.equal({ code: 3, subcode: 1 });
      const after = await waitFor('tortie to record the reset', async () => {
        const s = await peerStatus(RAW);
        return s.state !== 'Established' ? s : undefined;
      }, { timeoutMs: 10_000, describe: describeAll });
      expect(after.flaps).to.equal(before.flaps + 1);
      expect(after.lastError?.reason).to.equal('update-message-error');
      expect(after.lastError?.notification).to.deep.include({ code: 3, subcode: 1, direction: 'sent' });
      // Its routes go with the session (a NOTIFICATION: no graceful restart)...
      await waitFor('the raw peer\'s routes to go', async () => ((await tortieHas(P.control)) ? undefined : true), { timeoutMs: 10_000, describe: describeAll });
      // ...and the other session is untouched.
      const birdAfter = await peerStatus(BIRD);
      expect(birdAfter.state).to.equal('Established');
      expect(birdAfter.flaps).to.equal(birdBefore.flaps);
    });
  });

  describe('1,000 connection attempts from unconfigured addresses', () => {
    const COUNT = 1000;
    let statusBefore: PeerStatus[];
    let ribBefore: string[];
    let tally: Awaited<ReturnType<RawPeer['flood']>>;
    let established: Sampler<boolean>;
    let rawEvents = 0;

    before(async function () {
      this.timeout(120_000);
      // Re-establish the raw peer (reset by the previous test) and give it a route.
      await rawSession();
      await raw.send(craft.update({ attributes: baseAttrs(), nlri: [P.control] }));
      await waitFor('routes from both peers at tortie and tortie\'s routes at BIRD', async () => {
        const ok = (await tortieHas(P.control)) && (await tortieHas(BIRD_PREFIX)) && (await bird.route(P.control, BIRD_TORTIE));
        return ok ? true : undefined;
      }, { timeoutMs: 15_000, describe: describeAll });
      statusBefore = await tortie.status();
      ribBefore = (await tortie.rib()).map((r) => `${r.prefix} ${r.peer} ${r.nextHops.join(',')} ${r.asPath} ${r.communities.join(',')}`).sort();
      rawEvents = raw.events.length;
      established = new Sampler(async () => (await tortie.status()).every((s) => s.state === 'Established'), 100);
      const t0 = Date.now();
      tally = await flood.flood({ host: FLOOD_TORTIE, sources: FLOOD_SOURCES, count: COUNT, concurrency: 100, timeoutMs: 5_000 });
      process.stderr.write(`      [flood] ${COUNT} connections in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(tally)}\n`);
      await new Promise((r) => setTimeout(r, 1_500)); // one more hold-timer's worth of keepalives
      await established.stop();
    });

    it('every flood connection gets Cease / Connection Rejected or is closed', () => {
      const answered = tally.rejected + tally.closed;
      expect(answered, JSON.stringify(tally)).to.equal(COUNT);
      expect(tally.rejected, `most get the NOTIFICATION: ${JSON.stringify(tally)}`).to.be.greaterThan(COUNT * 0.9);
    });

    it('the configured sessions stay Established throughout, with unchanged flap counts', async () => {
      const samples = established.samples;
      expect(samples.length, 'samples during the flood').to.be.greaterThan(5);
      expect(samples.filter((s) => s.value !== true), `samples with a session not Established: ${JSON.stringify(samples.filter((s) => s.value !== true))}`).to.deep.equal([]);
      const now = await tortie.status();
      for (const b of statusBefore) {
        const a = now.find((x) => x.address === b.address);
        expect(a?.state, b.address).to.equal('Established');
        expect(a?.flaps, `${b.address} flaps`).to.equal(b.flaps);
      }
      expect(raw.eventsSince(rawEvents).filter((e) => e.event === 'notification' || e.event === 'closed'), 'raw peer saw no NOTIFICATION or close').to.deep.equal([]);
      expect(await bird.established(BIRD_TORTIE), 'BIRD still Established').to.equal(true);
    });

    it('the routes are unchanged on tortie and at BIRD', async () => {
      const ribAfter = (await tortie.rib()).map((r) => `${r.prefix} ${r.peer} ${r.nextHops.join(',')} ${r.asPath} ${r.communities.join(',')}`).sort();
      expect(ribAfter).to.deep.equal(ribBefore);
      const r = await bird.route(P.control, BIRD_TORTIE);
      expect(r?.asPath).to.deep.equal([65000, RAW_ASN]);
      expect(tortieLog(), 'tortie counted the rejections').to.match(/"msg":"connection from unconfigured address rejected".*"total":1000/);
    });
  });
});
