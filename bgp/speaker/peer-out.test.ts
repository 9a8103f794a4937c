/**
 * PeerOutput: changed prefixes in, packed UPDATEs out, only as fast as the
 * sink takes them (back-pressure), always with the current state.
 */
import { expect } from 'chai';
import { AttrType, decodeMessage, DEFAULT_CODEC_OPTIONS, IPV4_UNICAST, IPV6_UNICAST, Origin, type UpdateMessage } from '../codec/index.js';
import { makePathAttrs, type PathAttrs } from '../rib/index.js';
import { PeerOutput } from './peer-out.js';

const A = makePathAttrs({ origin: Origin.Igp, asPath: [{ type: 2, asns: [65001] }], nextHops: ['192.0.2.1'] });
const A6 = makePathAttrs({ origin: Origin.Igp, asPath: [{ type: 2, asns: [65001] }], nextHops: ['2001:db8::1'] });

function decodeAll(msgs: Uint8Array[]): UpdateMessage[] {
  return msgs.map((m) => decodeMessage(m, DEFAULT_CODEC_OPTIONS) as UpdateMessage);
}

describe('bgp/speaker: PeerOutput', () => {
  it('stops writing as soon as the sink is full and keeps the rest queued, then finishes later', () => {
    const state = new Map<string, PathAttrs>();
    for (let i = 0; i < 100_000; i++) state.set(`${10 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}.0/24`, A);
    const out = new PeerOutput(DEFAULT_CODEC_OPTIONS, [IPV4_UNICAST]);
    for (const [p, a] of state) out.queue(p, IPV4_UNICAST, a);
    const written: Uint8Array[] = [];
    let room = 3; // the sink takes three messages, then reports it is full
    const done = out.flush({ write: (b) => { written.push(b); return --room > 0; } });
    expect(done).to.equal(false);
    // At most one batch is encoded per flush; what is left stays as prefixes, not as messages.
    const sent = decodeAll(written).reduce((n, u) => n + u.nlri.length, 0);
    expect(sent).to.be.at.most(20_000);
    expect(out.size).to.equal(100_000 - sent);
    // The sink drains: further flushes send the rest, then End-of-RIB.
    out.queueEndOfRib(IPV4_UNICAST);
    const rest: Uint8Array[] = [];
    let guard = 0;
    while (!out.flush({ write: (b) => { rest.push(b); return true; } })) if (++guard > 100) throw new Error('never finished');
    const all = decodeAll([...written, ...rest]);
    expect(all.reduce((n, u) => n + u.nlri.length, 0)).to.equal(100_000);
    const last = all[all.length - 1];
    expect(last).to.deep.include({ withdrawn: [], attributes: [], nlri: [] }); // End-of-RIB comes last
    expect(Math.max(...written.map((b) => b.length))).to.be.at.most(4096);
  });

  it('keeps the order of changes, so a prefix that changed twice before the flush ends in its last state', () => {
    const out = new PeerOutput(DEFAULT_CODEC_OPTIONS, [IPV4_UNICAST]);
    out.queue('10.0.0.0/24', IPV4_UNICAST, A); // announced...
    out.queue('10.0.1.0/24', IPV4_UNICAST, A);
    out.queue('10.0.0.0/24', IPV4_UNICAST, null); // ...then withdrawn, before any flush
    out.queue('10.0.2.0/24', IPV4_UNICAST, A);
    const msgs: Uint8Array[] = [];
    expect(out.flush({ write: (b) => { msgs.push(b); return true; } })).to.equal(true);
    // Apply the messages in order, as a peer does.
    const rib = new Set<string>();
    for (const u of decodeAll(msgs)) {
      for (const n of u.withdrawn) rib.delete(n.prefix);
      for (const n of u.nlri) rib.add(n.prefix);
    }
    expect([...rib].sort()).to.deep.equal(['10.0.1.0/24', '10.0.2.0/24']);
    expect(msgs).to.have.length(3); // runs: announce 2, withdraw 1, announce 1
  });

  it('packs IPv6 into MP_REACH_NLRI with the attribute set\'s next hop and withdraws through MP_UNREACH_NLRI', () => {
    const out = new PeerOutput(DEFAULT_CODEC_OPTIONS, [IPV6_UNICAST]);
    out.queue('2001:db8:1::/48', IPV6_UNICAST, A6);
    out.queue('2001:db8:2::/48', IPV6_UNICAST, null);
    const msgs: Uint8Array[] = [];
    out.flush({ write: (b) => { msgs.push(b); return true; } });
    const attrs = decodeAll(msgs).flatMap((u) => u.attributes);
    const reach = attrs.find((a) => a.type === AttrType.MpReachNlri);
    const unreach = attrs.find((a) => a.type === AttrType.MpUnreachNlri);
    expect(reach).to.deep.include({ nextHops: ['2001:db8::1'], nlri: [{ prefix: '2001:db8:1::/48' }] });
    expect(unreach).to.deep.include({ withdrawn: [{ prefix: '2001:db8:2::/48' }] });
  });
});
