/**
 * Runs a synthetic table through the receive and send paths once, in
 * scratch tables, so V8 has compiled them before the first real table
 * arrives. After an agent restart the peers send their whole tables at
 * once; without this, the first few hundred milliseconds of that burst run
 * in the interpreter. Costs about 0.1 s at start-up.
 */
import {
  AttrType, DEFAULT_CODEC_OPTIONS, decodeMessage, IPV4_UNICAST, IPV6_UNICAST, packUpdates, type FamilyKey,
  type Nlri, type PathAttribute, type UpdateMessage,
} from '../codec/index.js';
import {
  AdjRibIn, AttrsInterner, exportDelta, LocRib, PathExporter, pathAttrsFromUpdate, type PeerInfo,
} from '../rib/index.js';
import { PeerOutput } from './peer-out.js';

export function warmUp(prefixes = 20000): void {
  const opts = DEFAULT_CODEC_OPTIONS;
  const attrs: PathAttribute[] = [
    { type: AttrType.Origin, flags: 0x40, origin: 0 },
    { type: AttrType.AsPath, flags: 0x40, segments: [{ type: 2, asns: [64999] }] },
    { type: AttrType.NextHop, flags: 0x40, nextHop: '192.0.2.1' },
  ];
  const v4: Nlri[] = [];
  const v6: Nlri[] = [];
  for (let i = 0; i < prefixes; i++) {
    v4.push({ prefix: `${100 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}.0/24` });
    if (i % 8 === 0) v6.push({ prefix: `2001:db8:${(i >>> 8).toString(16)}:${(i & 255).toString(16)}::/64` });
  }
  const wire = [
    ...packUpdates(IPV4_UNICAST, attrs, v4, opts),
    ...packUpdates(IPV6_UNICAST, attrs.slice(0, 2), v6, opts, ['2001:db8::1']),
  ];
  const rib = new LocRib({});
  const interner = new AttrsInterner();
  const peer: PeerInfo = { peerId: 'warm-up', address: '192.0.2.1', routerId: '192.0.2.1', peerAs: 64999, localAs: 64998, ibgp: false, isLocal: false, rrClient: false };
  const adjIn = new AdjRibIn(peer, rib);
  const exporters = new Map<FamilyKey, PathExporter>([IPV4_UNICAST, IPV6_UNICAST].map((f) => [f, new PathExporter({
    peerId: 'warm-up-out', peerAs: 64997, localAs: 64998, ibgp: false, rrClient: false, nextHopSelf: false,
    selfNextHops: f === IPV4_UNICAST ? ['192.0.2.2'] : ['2001:db8::2'],
  }, { asn: 64998, routerId: '192.0.2.2' }, { interner })]));
  const out = new PeerOutput(opts, [IPV4_UNICAST, IPV6_UNICAST]);
  for (let round = 0; round < 2; round++) {
    for (const m of wire) {
      const u = decodeMessage(m, opts) as UpdateMessage;
      for (const a of u.attributes) {
        if (a.type !== AttrType.MpReachNlri) continue;
        const pa = pathAttrsFromUpdate(u.attributes, IPV6_UNICAST, { interner });
        for (const n of a.nlri) {
          const c = adjIn.accept(n.prefix, adjIn.pathFor(pa));
          const d = c ? exportDelta(exporters.get(IPV6_UNICAST)!, c) : undefined;
          if (d !== undefined) out.queue(n.prefix, IPV6_UNICAST, d);
        }
      }
      if (u.nlri.length > 0) {
        const pa = pathAttrsFromUpdate(u.attributes, IPV4_UNICAST, { interner });
        for (const n of u.nlri) {
          const c = adjIn.accept(n.prefix, adjIn.pathFor(pa));
          const d = c ? exportDelta(exporters.get(IPV4_UNICAST)!, c) : undefined;
          if (d !== undefined) out.queue(n.prefix, IPV4_UNICAST, d);
        }
      }
    }
    while (!out.flush({ write: () => true })) { /* drain */ }
    for (const c of adjIn.clear()) exportDelta(exporters.get(c.prefix.includes(':') ? IPV6_UNICAST : IPV4_UNICAST)!, c);
  }
}
