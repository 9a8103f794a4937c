/**
 * Speakers talking to each other over loopback addresses (127.0.0.x): route
 * exchange, export rules, withdrawals, graceful restart and unconfigured
 * connections. No root needed.
 */
import { expect } from 'chai';
import { connect } from 'node:net';
import { IPV4_UNICAST, IPV6_UNICAST, MessageFramer, decodeMessage, DEFAULT_CODEC_OPTIONS, MessageType, type BgpMessage } from '../codec/index.js';
import { memoryLogger } from '../../lib/log.js';
import { BgpSpeaker } from './speaker.js';
import type { PeerConfig, SpeakerConfig } from './types.js';
import { waitUntil as waitFor } from '../../test/support/wait.js';

interface Node {
  sp: BgpSpeaker;
  addr: string;
  port: number;
}

describe('bgp/speaker: speakers over loopback', function () {
  this.timeout(20000);
  let nodes: Node[] = [];
  afterEach(async () => {
    for (const n of nodes) await n.sp.abort();
    nodes = [];
  });

  async function node(addr: string, asn: number, extra: Partial<SpeakerConfig> = {}): Promise<Node> {
    const sp = new BgpSpeaker({ asn, routerId: addr.replace(/^127\./, '10.'), listen: { address: addr, port: 0 }, nextHops: { ipv6: `2001:db8::${addr.split('.')[3]}` }, ...extra }, memoryLogger());
    await sp.start();
    const n = { sp, addr, port: sp.listenPort! };
    nodes.push(n);
    return n;
  }

  function peer(a: Node, b: Node, asn: number, extra: Partial<PeerConfig> = {}): void {
    a.sp.addPeer({ address: b.addr, port: b.port, asn, localAddress: a.addr, connectRetrySec: 1, ...extra });
  }

  function established(...ns: Node[]): boolean {
    return ns.every((n) => n.sp.peerStatus().every((p) => p.state === 'Established'));
  }

  it('exchanges IPv4 and IPv6 routes over eBGP with the right next hop and AS path, and withdraws them', async () => {
    const a = await node('127.0.0.11', 65001);
    const b = await node('127.0.0.12', 65002);
    peer(a, b, 65002);
    peer(b, a, 65001, { passive: true });
    await waitFor(() => established(a, b), 5000, 'Established');
    a.sp.originate('10.1.0.0/26');
    a.sp.originate('2001:db8:1::/122');
    await waitFor(() => b.sp.locRib.best('10.1.0.0/26') !== undefined && b.sp.locRib.best('2001:db8:1::/122') !== undefined, 3000, 'routes at b');
    const p4 = b.sp.locRib.best('10.1.0.0/26')!;
    expect(p4.attrs.nextHops).to.deep.equal(['127.0.0.11']);
    expect(p4.attrs.asPath).to.deep.equal([{ type: 2, asns: [65001] }]);
    expect(b.sp.locRib.best('2001:db8:1::/122')!.attrs.nextHops).to.deep.equal(['2001:db8::11']);
    expect(b.sp.peerStatus()[0]).to.deep.include({ prefixesAccepted: 2, state: 'Established' });
    expect(a.sp.peerStatus()[0].prefixesAdvertised).to.equal(2);
    a.sp.withdrawOrigin('10.1.0.0/26');
    await waitFor(() => b.sp.locRib.best('10.1.0.0/26') === undefined, 3000, 'withdrawal at b');
    expect(b.sp.locRib.best('2001:db8:1::/122')).to.not.equal(undefined);
  });

  it('does not pass iBGP-learned routes to another iBGP peer, but passes them to eBGP', async () => {
    const a = await node('127.0.0.21', 65000);
    const b = await node('127.0.0.22', 65000);
    const c = await node('127.0.0.23', 65000);
    const d = await node('127.0.0.24', 65009);
    peer(a, b, 65000); peer(b, a, 65000, { passive: true });
    peer(b, c, 65000); peer(c, b, 65000, { passive: true });
    peer(b, d, 65009); peer(d, b, 65000, { passive: true });
    await waitFor(() => established(a, b, c, d), 6000, 'Established');
    a.sp.originate('10.2.0.0/26');
    await waitFor(() => d.sp.locRib.best('10.2.0.0/26') !== undefined, 3000, 'route at d');
    expect(b.sp.locRib.best('10.2.0.0/26')!.attrs.localPref).to.equal(100);
    expect(d.sp.locRib.best('10.2.0.0/26')!.attrs.asPath).to.deep.equal([{ type: 2, asns: [65000] }]);
    expect(d.sp.locRib.best('10.2.0.0/26')!.attrs.nextHops).to.deep.equal(['127.0.0.22']);
    await new Promise((r) => setTimeout(r, 300));
    expect(c.sp.locRib.best('10.2.0.0/26'), 'iBGP to iBGP must not be re-advertised').to.equal(undefined);
  });

  it('keeps a restarting peer\'s routes as stale, then refreshes them and sweeps the rest after End-of-RIB', async () => {
    const a = await node('127.0.0.31', 65001);
    const b = await node('127.0.0.32', 65002);
    peer(a, b, 65002);
    peer(b, a, 65001, { passive: true });
    await waitFor(() => established(a, b), 5000, 'Established');
    a.sp.originate('10.3.0.0/26');
    a.sp.originate('10.3.0.64/26');
    await waitFor(() => b.sp.locRib.best('10.3.0.64/26') !== undefined, 3000, 'routes at b');
    // a "crashes": connections drop with no NOTIFICATION.
    await a.sp.abort();
    nodes = nodes.filter((n) => n !== a);
    await waitFor(() => b.sp.peerStatus()[0].prefixesStale === 2, 3000, 'routes marked stale');
    expect(b.sp.locRib.best('10.3.0.0/26')?.stale).to.equal(true);
    // a comes back on the same address with only one of the two prefixes.
    const a2 = await node('127.0.0.31', 65001, { gracefulRestart: { restarting: true, deferralSec: 5 } });
    a2.sp.originate('10.3.0.0/26');
    peer(a2, b, 65002);
    await waitFor(() => b.sp.locRib.best('10.3.0.64/26') === undefined, 8000, 'stale route swept');
    expect(b.sp.locRib.best('10.3.0.0/26')?.stale).to.equal(false);
    expect(b.sp.peerStatus()[0].prefixesStale).to.equal(0);
  });

  it('rejects a connection from an unconfigured address with Cease / Connection Rejected', async () => {
    const a = await node('127.0.0.41', 65001);
    const got = await new Promise<BgpMessage[]>((resolve) => {
      const s = connect({ host: a.addr, port: a.port, localAddress: '127.0.0.42' });
      const fr = new MessageFramer();
      const msgs: BgpMessage[] = [];
      s.on('data', (d: Buffer) => { for (const f of fr.push(d)) msgs.push(decodeMessage(f, DEFAULT_CODEC_OPTIONS)); });
      s.on('close', () => resolve(msgs));
      s.on('error', () => resolve(msgs));
    });
    expect(got).to.have.length(1);
    expect(got[0]).to.deep.include({ type: MessageType.Notification, code: 6, subcode: 5 });
    expect(a.sp.rejectedConnections).to.equal(1);
  });

  it('asks for a route refresh when the import policy changes, and applies the new policy to what comes back', async () => {
    const a = await node('127.0.0.61', 65001);
    const b = await node('127.0.0.62', 65002);
    peer(a, b, 65002);
    peer(b, a, 65001, { passive: true });
    await waitFor(() => established(a, b), 5000, 'Established');
    a.sp.originate('10.6.0.0/26');
    a.sp.originate('10.6.1.0/26');
    await waitFor(() => b.sp.locRib.best('10.6.1.0/26') !== undefined, 3000, 'routes at b');
    const refreshesBefore = a.sp.peerStatus()[0].messagesIn;
    b.sp.setPeerPolicies('127.0.0.61', {
      importPolicy: { defaultResult: 'accept', terms: [{ match: { prefixList: [{ prefix: '10.6.1.0/26' }] }, result: 'reject' }] },
    });
    await waitFor(() => b.sp.locRib.best('10.6.1.0/26') === undefined, 3000, 'the newly rejected prefix to go');
    expect(b.sp.locRib.best('10.6.0.0/26')).to.not.equal(undefined);
    expect(a.sp.peerStatus()[0].messagesIn, 'a received the ROUTE-REFRESH').to.be.greaterThan(refreshesBefore);
    expect(b.sp.peerStatus()[0]).to.deep.include({ state: 'Established', flaps: 0, prefixesAccepted: 1 });
  });

  it('negotiates only the common families', async () => {
    const a = await node('127.0.0.51', 65001);
    const b = await node('127.0.0.52', 65002);
    peer(a, b, 65002, { families: [IPV4_UNICAST] });
    peer(b, a, 65001, { passive: true, families: [IPV4_UNICAST, IPV6_UNICAST] });
    await waitFor(() => established(a, b), 5000, 'Established');
    expect(b.sp.peerStatus()[0].families).to.deep.equal(['ipv4-unicast']);
  });
});
