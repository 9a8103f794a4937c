/**
 * Well-formed vectors: each must decode, satisfy its check, re-encode, and
 * come out byte-identical. Options default to a 4-octet-AS iBGP session.
 */
import { expect } from 'chai';
import {
  Afi, AttrType, familyKey, IPV4_UNICAST, IPV6_UNICAST, MessageType, type BgpMessage, type CodecOptions,
  type NotificationMessage, type OpenMessage, type PathAttribute, type UpdateMessage, shutdownCommunication,
} from '../../../bgp/codec/index.js';
import { attr, cap, capParam, msg, open, update } from './hex.js';

export interface ValidVector {
  name: string;
  hex: string;
  opts?: Partial<CodecOptions>;
  check: (m: BgpMessage) => void;
}

function asUpdate(m: BgpMessage): UpdateMessage {
  expect(m.type).to.equal(MessageType.Update);
  const u = m as UpdateMessage;
  expect(u.errors, 'no RFC 7606 problems expected').to.equal(undefined);
  return u;
}

function attrOf<T extends number>(m: BgpMessage, type: T): Extract<PathAttribute, { type: T }> {
  const a = asUpdate(m).attributes.find((x) => x.type === type);
  expect(a, `attribute ${type} present`).to.not.equal(undefined);
  return a as Extract<PathAttribute, { type: T }>;
}

const ORIGIN_IGP = attr(0x40, 1, '00');
const ASPATH_65001 = attr(0x40, 2, '02 01 0000fde9'); // AS_SEQUENCE [65001]
const NH_192_0_2_1 = attr(0x40, 3, 'c0000201');

export const VALID_VECTORS: ValidVector[] = [
  {
    name: 'KEEPALIVE',
    hex: msg(4, ''),
    check: (m) => expect(m.type).to.equal(MessageType.Keepalive),
  },
  {
    name: 'OPEN without optional parameters',
    hex: open(65001, 90, 'c0000201', ''),
    check: (m) => {
      const o = m as OpenMessage;
      expect(o).to.deep.include({ version: 4, myAs: 65001, holdTimeSec: 90, bgpId: '192.0.2.1', params: [] });
    },
  },
  {
    name: 'OPEN with every supported capability in one parameter',
    hex: open(23456, 180, '0a000001', capParam(
      cap(1, '0001 00 01'), // MP IPv4 unicast
      cap(1, '0002 00 01'), // MP IPv6 unicast
      cap(2), // route refresh
      cap(70), // enhanced route refresh
      cap(65, 'fa56ea01'), // 4-octet AS 4200000001
      cap(64, 'c078 0001 01 80 0002 01 00'), // GR: R+N bits, 120 s; v4 forwarding kept, v6 not
      cap(71, '0001 01 80 000e10'), // LLGR v4, F bit, stale 3600 s
      cap(69, '0001 01 03 0002 01 01'), // add-path v4 both, v6 receive
      cap(6), // extended message
      cap(5, '0001 0001 0002'), // extended next hop: IPv4 unicast over IPv6
      cap(73, '05 6e6f646531 0b 6578616d706c652e6e6574'), // FQDN node1 / example.net
      cap(128), // old Cisco route refresh: kept raw
    )),
    check: (m) => {
      const o = m as OpenMessage;
      expect(o.myAs).to.equal(23456);
      const caps = o.params[0] && 'capabilities' in o.params[0] ? o.params[0].capabilities : [];
      expect(caps).to.have.length(12);
      expect(caps[4]).to.deep.equal({ code: 65, asn: 4200000001 });
      expect(caps[5]).to.deep.equal({
        code: 64, restarting: true, notification: true, restartTimeSec: 120,
        families: [{ afi: 1, safi: 1, forwardingPreserved: true }, { afi: 2, safi: 1, forwardingPreserved: false }],
      });
      expect(caps[6]).to.deep.equal({ code: 71, families: [{ afi: 1, safi: 1, forwardingPreserved: true, staleTimeSec: 3600 }] });
      expect(caps[7]).to.deep.equal({ code: 69, entries: [{ afi: 1, safi: 1, mode: 3 }, { afi: 2, safi: 1, mode: 1 }] });
      expect(caps[10]).to.deep.equal({ code: 73, hostname: 'node1', domain: 'example.net' });
      expect(caps[11]).to.deep.include({ code: 'unknown', capCode: 128 });
    },
  },
  {
    name: 'OPEN with one capability per parameter and an unknown parameter type',
    hex: open(65002, 3, 'c6336401', capParam(cap(1, '00010001')) + capParam(cap(65, '0000fdea')) + '0103 aabbcc'),
    check: (m) => {
      const o = m as OpenMessage;
      expect(o.params).to.have.length(3);
      expect(o.params[2]).to.deep.equal({ type: 1, raw: Uint8Array.of(0xaa, 0xbb, 0xcc) });
    },
  },
  {
    name: 'OPEN with RFC 9072 extended optional parameters length',
    hex: msg(1, '04 fde9 005a c0000201  ff ff 000f  02 000c' + cap(1, '00010001') + cap(65, '0000fde9')),
    check: (m) => {
      const o = m as OpenMessage;
      expect(o.extendedParams).to.equal(true);
      expect(o.params).to.have.length(1);
    },
  },
  {
    name: 'NOTIFICATION Hold Timer Expired',
    hex: msg(3, '04 00'),
    check: (m) => expect(m).to.deep.include({ type: MessageType.Notification, code: 4, subcode: 0 }),
  },
  {
    name: 'NOTIFICATION Cease / Administrative Shutdown with an RFC 9003 communication',
    hex: msg(3, '06 02 0b 6d61696e74656e616e6365'), // "maintenance"
    check: (m) => {
      expect(m).to.deep.include({ code: 6, subcode: 2 });
      expect(shutdownCommunication(m as NotificationMessage)).to.deep.equal({ text: 'maintenance' });
    },
  },
  {
    name: 'NOTIFICATION Bad Message Length with data',
    hex: msg(3, '01 02 1001'),
    check: (m) => expect(m).to.deep.include({ code: 1, subcode: 2 }),
  },
  {
    name: 'ROUTE-REFRESH IPv4 unicast',
    hex: msg(5, '0001 00 01'),
    check: (m) => expect(m).to.deep.equal({ type: MessageType.RouteRefresh, afi: 1, subtype: 0, safi: 1 }),
  },
  {
    name: 'ROUTE-REFRESH BoRR IPv6 unicast (RFC 7313)',
    hex: msg(5, '0002 01 01'),
    check: (m) => expect(m).to.deep.include({ afi: 2, subtype: 1, safi: 1 }),
  },
  {
    name: 'ROUTE-REFRESH EoRR IPv4 unicast (RFC 7313)',
    hex: msg(5, '0001 02 01'),
    check: (m) => expect(m).to.deep.include({ afi: 1, subtype: 2, safi: 1 }),
  },
  {
    name: 'UPDATE End-of-RIB IPv4 unicast',
    hex: update('', ''),
    check: (m) => expect(asUpdate(m)).to.deep.include({ withdrawn: [], attributes: [], nlri: [] }),
  },
  {
    name: 'UPDATE End-of-RIB IPv6 unicast',
    hex: update('', attr(0x80, 15, '0002 01')),
    check: (m) => expect(attrOf(m, AttrType.MpUnreachNlri)).to.deep.include({ afi: 2, safi: 1, withdrawn: [] }),
  },
  {
    name: 'UPDATE IPv4 with every well-known and common optional attribute',
    hex: update('',
      ORIGIN_IGP +
      attr(0x40, 2, '02 03 0000fde9 0000fdea fa56ea01  01 02 00000064 000000c8') + // SEQ [65001 65002 4200000001] SET {100 200}
      NH_192_0_2_1 +
      attr(0x80, 4, '00000032') + // MED 50
      attr(0x40, 5, '000000c8') + // LOCAL_PREF 200
      attr(0x40, 6, '') + // ATOMIC_AGGREGATE
      attr(0xc0, 7, '0000fde9 c0000201') + // AGGREGATOR 65001 192.0.2.1
      attr(0xc0, 8, 'fde90064 ffffff01') + // COMMUNITIES 65001:100 no-export
      attr(0x80, 9, '0a000001') + // ORIGINATOR_ID 10.0.0.1
      attr(0x80, 10, '0a000002 0a000003') + // CLUSTER_LIST
      attr(0xc0, 16, '0002fde900000064') + // EXT COMM route-target 65001:100
      attr(0xc0, 32, 'fa56ea01 00000001 00000002'), // LARGE 4200000001:1:2
      '00  08 0a  11 c0a880  20 c6336401'), // 0/0, 10/8, 192.168.128/17, 198.51.100.1/32
    check: (m) => {
      const u = asUpdate(m);
      expect(u.nlri.map((n) => n.prefix)).to.deep.equal(['0.0.0.0/0', '10.0.0.0/8', '192.168.128.0/17', '198.51.100.1/32']);
      expect(attrOf(m, AttrType.AsPath).segments).to.deep.equal([
        { type: 2, asns: [65001, 65002, 4200000001] }, { type: 1, asns: [100, 200] }]);
      expect(attrOf(m, AttrType.NextHop).nextHop).to.equal('192.0.2.1');
      expect(attrOf(m, AttrType.MultiExitDisc).med).to.equal(50);
      expect(attrOf(m, AttrType.LocalPref).localPref).to.equal(200);
      expect(attrOf(m, AttrType.Aggregator)).to.deep.include({ asn: 65001, address: '192.0.2.1' });
      expect(attrOf(m, AttrType.Communities).communities).to.deep.equal([0xfde90064, 0xffffff01]);
      expect(attrOf(m, AttrType.OriginatorId).originatorId).to.equal('10.0.0.1');
      expect(attrOf(m, AttrType.ClusterList).clusterIds).to.deep.equal(['10.0.0.2', '10.0.0.3']);
      expect(attrOf(m, AttrType.ExtendedCommunities).communities[0]).to.deep.include({ type: 0, subtype: 2 });
      expect(attrOf(m, AttrType.LargeCommunity).communities).to.deep.equal([{ global: 4200000001, local1: 1, local2: 2 }]);
    },
  },
  {
    name: 'UPDATE IPv4 withdrawals only',
    hex: update('18 c00002  10 ac10', ''),
    check: (m) => expect(asUpdate(m).withdrawn.map((n) => n.prefix)).to.deep.equal(['192.0.2.0/24', '172.16.0.0/16']),
  },
  {
    name: 'UPDATE IPv6 MP_REACH with global and link-local next hop, MP_UNREACH',
    hex: update('',
      attr(0x90, 14, '0002 01 20 20010db8000000000000000000000001 fe800000000000000000000000000001 00  20 20010db8  40 20010db800010002') +
      attr(0x80, 15, '0002 01 30 20010db80003') +
      ORIGIN_IGP + ASPATH_65001),
    check: (m) => {
      const r = attrOf(m, AttrType.MpReachNlri);
      expect(r.nextHops).to.deep.equal(['2001:db8::1', 'fe80::1']);
      expect(r.nlri.map((n) => n.prefix)).to.deep.equal(['2001:db8::/32', '2001:db8:1:2::/64']);
      expect(attrOf(m, AttrType.MpUnreachNlri).withdrawn.map((n) => n.prefix)).to.deep.equal(['2001:db8:3::/48']);
    },
  },
  {
    name: 'UPDATE on a 2-octet AS session with AS4_PATH and AS4_AGGREGATOR',
    opts: { fourOctetAs: false },
    hex: update('',
      ORIGIN_IGP +
      attr(0x40, 2, '02 02 5ba0 fde9') + // AS_TRANS 65001
      NH_192_0_2_1 +
      attr(0xc0, 7, '5ba0 c0000201') + // AGGREGATOR AS_TRANS
      attr(0xc0, 17, '02 02 fa56ea01 0000fde9') + // AS4_PATH 4200000001 65001
      attr(0xc0, 18, 'fa56ea01 c0000201'), // AS4_AGGREGATOR
      '18 c63364'),
    check: (m) => {
      expect(attrOf(m, AttrType.AsPath).segments[0].asns).to.deep.equal([23456, 65001]);
      expect(attrOf(m, AttrType.As4Path).segments[0].asns).to.deep.equal([4200000001, 65001]);
      expect(attrOf(m, AttrType.As4Aggregator)).to.deep.include({ asn: 4200000001, address: '192.0.2.1' });
      expect(attrOf(m, AttrType.Aggregator).asn).to.equal(23456);
    },
  },
  {
    name: 'UPDATE with confederation segments (RFC 5065)',
    hex: update('', ORIGIN_IGP + attr(0x40, 2, '03 01 0000fc00  04 02 0000fc01 0000fc02  02 01 0000fde9') + NH_192_0_2_1, '18 c00002'),
    check: (m) => expect(attrOf(m, AttrType.AsPath).segments.map((s) => s.type)).to.deep.equal([3, 4, 2]),
  },
  {
    name: 'UPDATE with an unknown optional transitive attribute carrying the Partial bit',
    hex: update('', ORIGIN_IGP + ASPATH_65001 + NH_192_0_2_1 + attr(0xe0, 99, 'deadbeef'), '18 c00002'),
    check: (m) => {
      const u = asUpdate(m);
      expect(u.attributes[3]).to.deep.include({ type: 'unknown', code: 99, flags: 0xe0 });
    },
  },
  {
    name: 'UPDATE with the extended-length flag on a short attribute (kept as received)',
    hex: update('', ORIGIN_IGP + attr(0x50, 2, '02 01 0000fde9') + NH_192_0_2_1, '18 c00002'),
    check: (m) => expect(attrOf(m, AttrType.AsPath).flags).to.equal(0x50),
  },
  {
    name: 'UPDATE with an AS_PATH longer than 255 octets (extended length required)',
    hex: update('', ORIGIN_IGP + attr(0x50, 2, '02 46' + '0000fde9'.repeat(70)) + NH_192_0_2_1, '18 c00002'),
    check: (m) => expect(attrOf(m, AttrType.AsPath).segments[0].asns).to.have.length(70),
  },
  {
    name: 'UPDATE with add-path IPv4 NLRI and withdrawals (RFC 7911)',
    opts: { addPath: new Set([IPV4_UNICAST]) },
    hex: update('00000007 18 c00002', ORIGIN_IGP + ASPATH_65001 + NH_192_0_2_1, '00000001 18 c63364  00000002 18 c63364'),
    check: (m) => {
      const u = asUpdate(m);
      expect(u.withdrawn).to.deep.equal([{ prefix: '192.0.2.0/24', pathId: 7 }]);
      expect(u.nlri).to.deep.equal([{ prefix: '198.51.100.0/24', pathId: 1 }, { prefix: '198.51.100.0/24', pathId: 2 }]);
    },
  },
  {
    name: 'UPDATE with add-path IPv6 MP_REACH',
    opts: { addPath: new Set([IPV6_UNICAST]) },
    hex: update('', attr(0x80, 14, '0002 01 10 20010db8000000000000000000000001 00  0000000a 40 20010db800000001') + ORIGIN_IGP + ASPATH_65001),
    check: (m) => expect(attrOf(m, AttrType.MpReachNlri).nlri).to.deep.equal([{ prefix: '2001:db8:0:1::/64', pathId: 10 }]),
  },
  {
    name: 'UPDATE larger than 4096 octets on an extended-message session (RFC 8654)',
    opts: { extendedMessage: true },
    hex: update('', ORIGIN_IGP + ASPATH_65001 + NH_192_0_2_1, '20 0a000001 '.repeat(1000)),
    check: (m) => expect(asUpdate(m).nlri).to.have.length(1000),
  },
  {
    name: 'UPDATE IPv4 NLRI with an IPv6 next hop (RFC 8950)',
    hex: update('', attr(0x80, 14, '0001 01 10 20010db8000000000000000000000001 00 18 c00002') + ORIGIN_IGP + ASPATH_65001),
    check: (m) => {
      const r = attrOf(m, AttrType.MpReachNlri);
      expect(r).to.deep.include({ afi: Afi.Ipv4, nextHops: ['2001:db8::1'] });
      expect(r.nlri).to.deep.equal([{ prefix: '192.0.2.0/24' }]);
    },
  },
  {
    name: 'UPDATE MP_REACH of an unknown family is kept undecoded',
    hex: update('', attr(0x80, 14, '0001 80 0c 000000000000000000000001 00 7000000001') + ORIGIN_IGP + ASPATH_65001),
    check: (m) => {
      const r = attrOf(m, AttrType.MpReachNlri);
      expect(familyKey(r.afi, r.safi)).to.equal(familyKey(1, 128));
      expect(r.rawNlri).to.have.length(5);
    },
  },
];
