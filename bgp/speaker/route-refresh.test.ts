/**
 * Enhanced route refresh (RFC 7313) between a speaker and a hand-driven raw
 * peer over loopback: both roles, checked on the wire. No root needed.
 */
import { expect } from 'chai';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import {
  AttrType, CapabilityCode, DEFAULT_CODEC_OPTIONS, decodeMessage, encodeMessage, IPV4_UNICAST, makeOpen, MessageFramer,
  MessageType, packUpdates, RouteRefreshSubtype, type BgpMessage, type CodecOptions, type PathAttribute,
} from '../codec/index.js';
import { memoryLogger } from '../../lib/log.js';
import { waitUntil } from '../../test/support/wait.js';
import { encodeRouteRefresh } from './peer-out.js';
import { BgpSpeaker } from './speaker.js';

const PEER_AS = 65002;
/** eBGP, 4-octet AS, no add-path: what both sides negotiate here. */
const TX: CodecOptions = { ...DEFAULT_CODEC_OPTIONS, external: true };

/** A raw BGP peer: answers OPEN with route refresh + enhanced route refresh, records what it receives. */
class RawPeer {
  readonly got: BgpMessage[] = [];
  socket: Socket | undefined;
  private server: Server | undefined;

  async listen(address: string): Promise<number> {
    this.server = createServer((s) => this.accept(s));
    await new Promise<void>((resolve) => this.server!.listen(0, address, resolve));
    return (this.server.address() as AddressInfo).port;
  }

  private accept(s: Socket): void {
    this.socket = s;
    const fr = new MessageFramer();
    s.on('error', () => undefined);
    s.on('data', (c: Buffer) => {
      for (const f of fr.push(c)) {
        const m = decodeMessage(f, TX);
        this.got.push(m);
        if (m.type === MessageType.Open) {
          const open = makeOpen({
            myAs: PEER_AS, holdTimeSec: 90, bgpId: '10.9.9.9',
            capabilities: [
              { code: CapabilityCode.FourOctetAs, asn: PEER_AS },
              { code: CapabilityCode.Multiprotocol, afi: 1, safi: 1 },
              { code: CapabilityCode.RouteRefresh },
              { code: CapabilityCode.EnhancedRouteRefresh },
            ],
          });
          s.write(encodeMessage(open, TX));
          s.write(encodeMessage({ type: MessageType.Keepalive }, TX));
        }
      }
    });
  }

  send(bytes: Uint8Array | Uint8Array[]): void {
    for (const b of Array.isArray(bytes) ? bytes : [bytes]) this.socket!.write(b);
  }

  announce(prefixes: string[]): void {
    const attrs: PathAttribute[] = [
      { type: AttrType.Origin, flags: 0x40, origin: 0 },
      { type: AttrType.AsPath, flags: 0x40, segments: [{ type: 2, asns: [PEER_AS] }] },
      { type: AttrType.NextHop, flags: 0x40, nextHop: '127.0.0.72' },
    ];
    this.send(packUpdates(IPV4_UNICAST, attrs, prefixes.map((prefix) => ({ prefix })), TX));
  }

  close(): void {
    this.socket?.destroy();
    this.server?.close();
  }
}

describe('bgp/speaker: enhanced route refresh (RFC 7313)', function () {
  this.timeout(15000);
  let sp: BgpSpeaker | undefined;
  let raw: RawPeer | undefined;
  afterEach(async () => {
    await sp?.abort();
    raw?.close();
    sp = undefined;
    raw = undefined;
  });

  async function setUp(): Promise<{ sp: BgpSpeaker; raw: RawPeer }> {
    raw = new RawPeer();
    const port = await raw.listen('127.0.0.72');
    sp = new BgpSpeaker({ asn: 65001, routerId: '10.0.0.71', listen: { address: '127.0.0.71', port: 0 } }, memoryLogger());
    await sp.start();
    sp.addPeer({ address: '127.0.0.72', port, asn: PEER_AS, localAddress: '127.0.0.71', connectRetrySec: 1, families: [IPV4_UNICAST] });
    await waitUntil(() => sp!.peerStatus()[0]?.state === 'Established', 5000, 'Established');
    return { sp, raw };
  }

  it('answers a refresh with Beginning-of-RR, the table, then End-of-RR', async () => {
    const { sp, raw } = await setUp();
    sp.originate('10.71.0.0/26');
    sp.originate('10.71.0.64/26');
    const isEor = (m: BgpMessage): boolean => m.type === MessageType.Update && m.withdrawn.length === 0 && m.nlri.length === 0 && m.attributes.length === 0;
    await waitUntil(() => raw.got.some(isEor) && raw.got.some((m) => m.type === MessageType.Update && m.nlri.length > 0), 3000, 'initial table');
    raw.got.length = 0;
    raw.send(encodeRouteRefresh(IPV4_UNICAST, RouteRefreshSubtype.Normal, TX));
    const isRr = (m: BgpMessage, sub: RouteRefreshSubtype): boolean => m.type === MessageType.RouteRefresh && m.subtype === sub;
    await waitUntil(() => raw.got.some((m) => isRr(m, RouteRefreshSubtype.EndOfRouteRefresh)), 3000, 'End-of-Route-Refresh');
    const kinds = raw.got.filter((m) => m.type !== MessageType.Keepalive);
    expect(isRr(kinds[0], RouteRefreshSubtype.BeginningOfRouteRefresh), 'first: BoRR').to.equal(true);
    expect(isRr(kinds[kinds.length - 1], RouteRefreshSubtype.EndOfRouteRefresh), 'last: EoRR').to.equal(true);
    const sent = kinds.slice(1, -1).flatMap((m) => (m.type === MessageType.Update ? m.nlri.map((n) => n.prefix) : []));
    expect(sent.sort()).to.deep.equal(['10.71.0.0/26', '10.71.0.64/26']);
    expect(kinds.some(isEor), 'no End-of-RIB inside an enhanced refresh').to.equal(false);
  });

  it('as the receiver, drops what the peer did not re-send between BoRR and EoRR', async () => {
    const { sp, raw } = await setUp();
    raw.announce(['10.72.0.0/26', '10.72.0.64/26', '10.72.0.128/26']);
    await waitUntil(() => sp.locRib.best('10.72.0.128/26') !== undefined, 3000, 'three routes learned');
    raw.send(encodeRouteRefresh(IPV4_UNICAST, RouteRefreshSubtype.BeginningOfRouteRefresh, TX));
    raw.announce(['10.72.0.0/26']);
    await new Promise((r) => setTimeout(r, 200));
    // Before the EoRR, nothing is removed: stale paths still route.
    expect(sp.locRib.best('10.72.0.64/26')?.stale).to.equal(true);
    expect(sp.locRib.best('10.72.0.0/26')?.stale).to.equal(false);
    raw.send(encodeRouteRefresh(IPV4_UNICAST, RouteRefreshSubtype.EndOfRouteRefresh, TX));
    await waitUntil(() => sp.locRib.best('10.72.0.64/26') === undefined && sp.locRib.best('10.72.0.128/26') === undefined, 3000, 'stale routes swept');
    expect(sp.locRib.best('10.72.0.0/26')?.stale).to.equal(false);
    expect(sp.peerStatus()[0]).to.deep.include({ state: 'Established', prefixesAccepted: 1, prefixesStale: 0 });
  });
});
