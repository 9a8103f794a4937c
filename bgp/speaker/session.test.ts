/**
 * PeerSession over loopback TCP: two of our sessions talk to each other, or
 * one talks to a hand-driven raw peer. No root needed.
 */
import { expect } from 'chai';
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import {
  CeaseSubcode, decodeMessage, DEFAULT_CODEC_OPTIONS, encodeMessage, IPV4_UNICAST, IPV6_UNICAST, makeOpen,
  MessageFramer, MessageType, CapabilityCode, type BgpMessage,
} from '../codec/index.js';
import { memoryLogger } from '../../lib/log.js';
import { PeerSession, type SessionConfig, type SessionEvents, type DownInfo } from './session.js';
import { waitUntil as waitFor } from '../../test/support/wait.js';

function listen(onSocket: (s: Socket) => void): Promise<Server> {
  return new Promise((resolve) => {
    const srv = createServer(onSocket);
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

function config(asn: number, routerId: string, peerAsn: number, port: number, passive: boolean, extra: Partial<SessionConfig['fsm']> = {}): SessionConfig {
  return {
    address: '127.0.0.1',
    port,
    asn: peerAsn,
    localAsn: asn,
    fsm: { passive, connectRetrySec: 1, idleHoldInitialSec: 1, holdTimeSec: 9, keepaliveSec: 3, ...extra },
    capabilities: {
      asn, routerId, holdTimeSec: extra.holdTimeSec ?? 9, families: [IPV4_UNICAST, IPV6_UNICAST],
      addPathReceive: [], extendedMessage: true,
    },
  };
}


function events(): SessionEvents & { downs: DownInfo[]; ups: number } {
  const e = {
    downs: [] as DownInfo[],
    ups: 0,
    established(): void { e.ups++; },
    down(_s: PeerSession, info: DownInfo): void { e.downs.push(info); },
    update(): void { /* none */ },
    routeRefresh(): void { /* none */ },
    writable(): void { /* none */ },
  };
  return e;
}

describe('bgp/speaker: PeerSession over loopback', function () {
  this.timeout(20000);
  const cleanup: (() => void)[] = [];
  afterEach(() => {
    while (cleanup.length) cleanup.pop()!();
  });

  async function pair(aAsn: number, bAsn: number, bExpectsAsn = aAsn): Promise<{ a: PeerSession; b: PeerSession; ea: ReturnType<typeof events>; eb: ReturnType<typeof events> }> {
    const eb = events();
    const b = new PeerSession(config(bAsn, '10.0.0.2', bExpectsAsn, 1, true), eb, memoryLogger());
    const srv = await listen((s) => b.acceptIncoming(s));
    const port = (srv.address() as AddressInfo).port;
    const ea = events();
    const a = new PeerSession(config(aAsn, '10.0.0.1', bAsn, port, false), ea, memoryLogger());
    cleanup.push(() => { a.dispose(); b.dispose(); srv.close(); });
    b.start();
    a.start();
    return { a, b, ea, eb };
  }

  it('establishes eBGP with a 4-octet ASN and negotiates both families', async () => {
    const { a, b } = await pair(4200000001, 65002);
    await waitFor(() => a.isEstablished && b.isEstablished, 5000, 'Established');
    expect(a.negotiated?.peerAsn).to.equal(65002);
    expect(b.negotiated?.peerAsn).to.equal(4200000001);
    expect(a.negotiated?.families).to.deep.equal([IPV4_UNICAST, IPV6_UNICAST]);
    expect(a.negotiated?.fourOctetAs).to.equal(true);
    expect(a.negotiated?.extendedMessage).to.equal(true);
    expect(a.negotiated?.rx.external).to.equal(true);
  });

  it('an administrative stop reaches the peer as Cease with the shutdown communication', async () => {
    const { a, b, eb } = await pair(65001, 65001);
    await waitFor(() => a.isEstablished && b.isEstablished, 5000, 'Established');
    a.stop(CeaseSubcode.AdministrativeShutdown, 'planned maintenance');
    await waitFor(() => eb.downs.length === 1, 3000, 'peer sees the session go down');
    expect(b.lastError?.reason).to.equal('notification-received');
    expect(b.lastError?.notification).to.deep.include({ code: 6, subcode: 2, direction: 'received', text: 'planned maintenance' });
    expect(a.lastError?.notification).to.deep.include({ code: 6, subcode: 2, direction: 'sent' });
  });

  it('a peer with the wrong AS gets OPEN Message Error / Bad Peer AS', async () => {
    const { a, b } = await pair(65001, 65002, 65099);
    await waitFor(() => a.lastError !== undefined, 5000, 'a refusal');
    expect(b.lastError?.notification).to.deep.include({ code: 2, subcode: 2, direction: 'sent' });
    expect(a.lastError?.notification).to.deep.include({ code: 2, subcode: 2, direction: 'received' });
    expect(b.lastError?.detail).to.equal('bad peer AS 65001, expected 65099');
    expect(a.isEstablished).to.equal(false);
  });

  it('a peer that goes silent is declared down when the hold timer expires', async () => {
    // A raw peer: answers OPEN and one KEEPALIVE, then says nothing more.
    const got: BgpMessage[] = [];
    const srv = await listen((s) => {
      const fr = new MessageFramer();
      s.on('data', (c: Buffer) => {
        for (const f of fr.push(c)) {
          const m = decodeMessage(f, DEFAULT_CODEC_OPTIONS);
          got.push(m);
          if (m.type === MessageType.Open) {
            s.write(encodeMessage(makeOpen({ myAs: 65002, holdTimeSec: 3, bgpId: '10.0.0.9', capabilities: [{ code: CapabilityCode.FourOctetAs, asn: 65002 }] }), DEFAULT_CODEC_OPTIONS));
            s.write(encodeMessage({ type: MessageType.Keepalive }, DEFAULT_CODEC_OPTIONS));
          }
        }
      });
      s.on('error', () => undefined);
    });
    const port = (srv.address() as AddressInfo).port;
    const e = events();
    const a = new PeerSession(config(65001, '10.0.0.1', 65002, port, false, { idleHoldInitialSec: 30 }), e, memoryLogger());
    cleanup.push(() => { a.dispose(); srv.close(); });
    a.start();
    await waitFor(() => a.isEstablished, 5000, 'Established');
    expect(a.negotiated?.holdTimeSec).to.equal(3);
    const t0 = Date.now();
    await waitFor(() => e.downs.length === 1, 6000, 'hold timer expiry');
    expect(Date.now() - t0).to.be.within(1500, 4500);
    expect(e.downs[0].reason).to.be.a('number');
    expect(a.lastError?.reason).to.equal('hold-timer-expired');
    await waitFor(() => got.some((m) => m.type === MessageType.Notification), 2000, 'the NOTIFICATION to arrive');
    expect(got.find((m) => m.type === MessageType.Notification)).to.deep.include({ code: 4, subcode: 0 });
  });

  it('Regression: a peer that connects to us during our idle-hold back-off is accepted, not rejected', async () => {
    // Found by the ExaBGP interop test: ExaBGP only connects out, so our own
    // connects are refused and we sit in Idle for the (growing) back-off;
    // every connection it made then got Cease / Connection Rejected.
    const closed = await listen((s) => s.destroy());
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const ea = events();
    const a = new PeerSession(config(65001, '10.0.0.1', 65002, deadPort, false, { idleHoldInitialSec: 1 }), ea, memoryLogger());
    const srv = await listen((s) => a.acceptIncoming(s));
    const port = (srv.address() as AddressInfo).port;
    const eb = events();
    const b = new PeerSession(config(65002, '10.0.0.2', 65001, port, false), eb, memoryLogger());
    cleanup.push(() => { a.dispose(); b.dispose(); srv.close(); });
    a.start();
    await waitFor(() => a.lastError?.reason === 'tcp-connection-failed', 3000, 'our connect to fail');
    expect(a.stateName).to.equal('Idle');
    b.start();
    await waitFor(() => a.isEstablished && b.isEstablished, 5000, 'Established through the peer-initiated connection');
    // The idle-hold timer that was cut short must not fire later (in Established, an FSM Error).
    await new Promise((r) => setTimeout(r, 1500));
    expect(a.isEstablished).to.equal(true);
    expect(ea.downs).to.have.length(0);
    expect(eb.downs).to.have.length(0);
  });

  it('refuses an incoming connection while Idle with Cease / Connection Rejected', async () => {
    const e = events();
    const s = new PeerSession(config(65001, '10.0.0.1', 65002, 1, true), e, memoryLogger());
    const srv = await listen((sock) => s.acceptIncoming(sock));
    cleanup.push(() => { s.dispose(); srv.close(); });
    const port = (srv.address() as AddressInfo).port;
    const got = await new Promise<BgpMessage[]>((resolve) => {
      const c = connect(port, '127.0.0.1');
      const fr = new MessageFramer();
      const msgs: BgpMessage[] = [];
      c.on('data', (d: Buffer) => { for (const f of fr.push(d)) msgs.push(decodeMessage(f, DEFAULT_CODEC_OPTIONS)); });
      c.on('close', () => resolve(msgs));
      c.on('error', () => resolve(msgs));
    });
    expect(got).to.have.length(1);
    expect(got[0]).to.deep.include({ type: MessageType.Notification, code: 6, subcode: 5 });
  });
});
