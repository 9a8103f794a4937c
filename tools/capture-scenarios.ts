/**
 * The capture scenarios of tools/capture-vectors.ts: which daemons run,
 * how they are linked, which sessions they hold (with which options) and
 * which routes each originates. Pure data plus the mapping to the neutral
 * router description of test/support/daemon-configs.ts.
 *
 * Addresses: links use 198.51.100.0/24 and 2001:db8::/32, originated
 * prefixes 203.0.113.0/24 and 2001:db8::/32, router IDs 192.0.2.0/24
 * (documentation ranges only; everything stays inside our namespaces).
 */
import type { Family, PeerSpec, RouterSpec } from '../test/support/daemon-configs.js';
import type { DaemonKind } from '../test/support/daemons.js';
import { TortieError } from '../lib/errors.js';

// ---------------------------------------------------------------- scenario model

export interface RouterDef extends Omit<RouterSpec, 'peers'> {
  kind: DaemonKind;
}

export interface LinkDef {
  a: string;
  b: string;
  aAddresses: string[];
  bAddresses: string[];
}

export interface SessionDef {
  /** Unique id; also the vector file name. */
  id: string;
  a: string;
  b: string;
  aAddress: string;
  bAddress: string;
  families: Family[];
  addPath?: boolean;
  /** This side is a route reflector and the other side its client. */
  reflector?: 'a' | 'b';
  /** This side (BIRD) does not advertise the 4-octet AS capability. */
  as4Off?: 'a' | 'b';
  /** BIRD advertises the extended message capability. */
  extendedMessage?: boolean;
  /** IPv6 next hops announced on an IPv4 session. */
  ipv6NextHop?: { a?: string; b?: string };
  /** Who ends the session with an administrative shutdown (with a message); 'stop' = the daemons' own stop. */
  shutdownBy: 'a' | 'b' | 'stop';
  notes?: string[];
}

export interface Scenario {
  name: string;
  routers: RouterDef[];
  links: LinkDef[];
  sessions: SessionDef[];
}

const RICH = {
  communities: [
    [65001, 100],
    [65001, 200],
  ] as [number, number][],
};

/** eBGP between every pair of BIRD, FRR and GoBGP (IPv4 and IPv6), plus a 2-octet-AS session and ExaBGP. */
export const EBGP_SCENARIO: Scenario = {
  name: 'ebgp',
  routers: [
    {
      label: 'bird',
      kind: 'bird',
      asn: 65001,
      routerId: '192.0.2.1',
      routes: [
        { prefix: '203.0.113.0/28', ...RICH, largeCommunities: [[65001, 1, 2]], routeTargets: [[65001, 100]], med: 50, prepend: 1 },
        { prefix: '203.0.113.16/28', communities: [[65001, 300]], origin: 'incomplete' },
        { prefix: '203.0.113.32/28', communities: [[65001, 400]], withdrawLater: true },
        { prefix: '2001:db8:a1::/48', ...RICH, largeCommunities: [[65001, 6, 1]], routeTargets: [[65001, 600]], med: 60, prepend: 2 },
        { prefix: '2001:db8:a1:ff::/64', communities: [[65001, 666]], withdrawLater: true },
      ],
    },
    {
      label: 'frr',
      kind: 'frr',
      asn: 65002,
      routerId: '192.0.2.2',
      routes: [
        {
          prefix: '203.0.113.64/28',
          communities: [[65002, 100]],
          largeCommunities: [[65002, 1, 2], [65002, 3, 4]],
          routeTargets: [[65002, 100]],
          med: 20,
          prepend: 2,
          origin: 'egp',
        },
        { prefix: '203.0.113.80/28', withdrawLater: true },
        { prefix: '2001:db8:a2::/48', communities: [[65002, 600]], largeCommunities: [[65002, 6, 6]], med: 26 },
        { prefix: '2001:db8:a2:ff::/64', withdrawLater: true },
      ],
      aggregates: ['203.0.113.64/27'],
    },
    {
      label: 'gobgp',
      kind: 'gobgp',
      asn: 4200000003,
      routerId: '192.0.2.3',
      routes: [
        {
          prefix: '203.0.113.128/28',
          communities: [[65003, 100], [65003, 65281]],
          largeCommunities: [[4200000003, 1, 2]],
          routeTargets: [[65003, 100]],
          med: 30,
          origin: 'egp',
          aggregator: { asn: 4200000003, address: '192.0.2.3' },
        },
        // NO_EXPORT (65535:65281): BIRD and FRR keep it to themselves; the mesh still gives everyone the route.
        { prefix: '203.0.113.144/28', communities: [[65003, 144], [65535, 65281]], withdrawLater: true },
        { prefix: '2001:db8:a3::/48', communities: [[65003, 600]], largeCommunities: [[4200000003, 6, 6]], med: 36 },
        { prefix: '2001:db8:a3:ff::/64', withdrawLater: true },
      ],
    },
    {
      label: 'exabgp',
      kind: 'exabgp',
      asn: 65004,
      routerId: '192.0.2.4',
      routes: [
        {
          prefix: '203.0.113.192/28',
          communities: [[65004, 1]],
          med: 40,
          // An unknown optional transitive attribute (255, reserved for development): BIRD passes it on with Partial set.
          rawAttribute: { type: 255, flags: 0xc0, hex: '746f72746965' },
        },
      ],
    },
  ],
  links: [
    { a: 'bird', b: 'frr', aAddresses: ['198.51.100.1/29', '198.51.100.3/29', '2001:db8:12::1/64'], bAddresses: ['198.51.100.2/29', '198.51.100.4/29', '2001:db8:12::2/64'] },
    { a: 'bird', b: 'gobgp', aAddresses: ['198.51.100.9/29', '2001:db8:13::1/64'], bAddresses: ['198.51.100.10/29', '2001:db8:13::2/64'] },
    { a: 'frr', b: 'gobgp', aAddresses: ['198.51.100.17/29', '2001:db8:23::1/64'], bAddresses: ['198.51.100.18/29', '2001:db8:23::2/64'] },
    { a: 'bird', b: 'exabgp', aAddresses: ['198.51.100.25/29'], bAddresses: ['198.51.100.26/29'] },
  ],
  sessions: [
    { id: 'ebgp-bird-frr-v4', a: 'bird', b: 'frr', aAddress: '198.51.100.1', bAddress: '198.51.100.2', families: ['ipv4'], extendedMessage: true, shutdownBy: 'a' },
    { id: 'ebgp-bird-frr-v6', a: 'bird', b: 'frr', aAddress: '2001:db8:12::1', bAddress: '2001:db8:12::2', families: ['ipv6'], extendedMessage: true, shutdownBy: 'b' },
    {
      id: 'ebgp-bird-frr-as2',
      a: 'bird',
      b: 'frr',
      aAddress: '198.51.100.3',
      bAddress: '198.51.100.4',
      families: ['ipv4'],
      as4Off: 'a',
      shutdownBy: 'stop',
      notes: [
        'BIRD runs this session with "enable as4 off": 2-octet AS numbers, so 4-octet ASNs (GoBGP is AS 4200000003) travel as AS_TRANS (23456) in AS_PATH/AGGREGATOR with AS4_PATH/AS4_AGGREGATOR beside them.',
      ],
    },
    { id: 'ebgp-bird-gobgp-v4', a: 'bird', b: 'gobgp', aAddress: '198.51.100.9', bAddress: '198.51.100.10', families: ['ipv4'], shutdownBy: 'b' },
    { id: 'ebgp-bird-gobgp-v6', a: 'bird', b: 'gobgp', aAddress: '2001:db8:13::1', bAddress: '2001:db8:13::2', families: ['ipv6'], shutdownBy: 'a' },
    { id: 'ebgp-frr-gobgp-v4', a: 'frr', b: 'gobgp', aAddress: '198.51.100.17', bAddress: '198.51.100.18', families: ['ipv4'], shutdownBy: 'a' },
    { id: 'ebgp-frr-gobgp-v6', a: 'frr', b: 'gobgp', aAddress: '2001:db8:23::1', bAddress: '2001:db8:23::2', families: ['ipv6'], shutdownBy: 'b' },
    {
      id: 'ebgp-bird-exabgp-v4',
      a: 'bird',
      b: 'exabgp',
      aAddress: '198.51.100.25',
      bAddress: '198.51.100.26',
      families: ['ipv4'],
      shutdownBy: 'a',
      notes: [
        'ExaBGP sends an unknown optional transitive attribute (type 255); BIRD passes it on to its other peers with the Partial bit set.',
        'ExaBGP 4.2.21 was seen answering BIRD\'s Cease (with shutdown communication) with a NOTIFICATION 1/0 whose data is ASCII text: a real peer\'s quirk, kept as a vector.',
      ],
    },
  ],
};

/** iBGP in one AS with FRR as route reflector: add-path, LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST. */
export const IBGP_SCENARIO: Scenario = {
  name: 'ibgp',
  routers: [
    {
      label: 'bird',
      kind: 'bird',
      asn: 65000,
      routerId: '192.0.2.11',
      routes: [
        { prefix: '203.0.113.0/28', communities: [[65000, 1]], largeCommunities: [[65000, 1, 1]], routeTargets: [[65000, 1]], localPref: 200, med: 10 },
        { prefix: '203.0.113.16/28', localPref: 50, withdrawLater: true },
        { prefix: '203.0.113.240/28', communities: [[65000, 240]], localPref: 110 },
        { prefix: '2001:db8:a1::/48', communities: [[65000, 6]], localPref: 260 },
        { prefix: '2001:db8:ff::/48', localPref: 120 },
        { prefix: '2001:db8:a1:ff::/64', withdrawLater: true },
      ],
    },
    {
      label: 'frr',
      kind: 'frr',
      asn: 65000,
      routerId: '192.0.2.12',
      routes: [
        { prefix: '203.0.113.64/28', communities: [[65000, 64]], largeCommunities: [[65000, 64, 64]], localPref: 300, med: 5 },
        { prefix: '203.0.113.240/28', localPref: 130 },
        { prefix: '2001:db8:a2::/48', localPref: 330, routeTargets: [[65000, 2]] },
        { prefix: '2001:db8:ff::/48', localPref: 140 },
      ],
    },
    {
      label: 'gobgp',
      kind: 'gobgp',
      asn: 65000,
      routerId: '192.0.2.13',
      routes: [
        { prefix: '203.0.113.128/28', communities: [[65000, 128]], largeCommunities: [[65000, 128, 1]], localPref: 150, med: 15 },
        { prefix: '203.0.113.144/28', localPref: 90, withdrawLater: true },
        { prefix: '203.0.113.240/28', localPref: 150 },
        { prefix: '2001:db8:a3::/48', localPref: 350, communities: [[65000, 3]] },
        { prefix: '2001:db8:ff::/48', localPref: 160 },
        { prefix: '2001:db8:a3:ff::/64', withdrawLater: true },
      ],
    },
  ],
  links: [
    { a: 'bird', b: 'frr', aAddresses: ['198.51.100.65/29', '2001:db8:45::1/64'], bAddresses: ['198.51.100.66/29', '2001:db8:45::2/64'] },
    { a: 'frr', b: 'gobgp', aAddresses: ['198.51.100.73/29', '2001:db8:56::1/64'], bAddresses: ['198.51.100.74/29', '2001:db8:56::2/64'] },
  ],
  sessions: [
    {
      id: 'ibgp-bird-frr-dual',
      a: 'bird',
      b: 'frr',
      aAddress: '198.51.100.65',
      bAddress: '198.51.100.66',
      families: ['ipv4', 'ipv6'],
      addPath: true,
      reflector: 'b',
      extendedMessage: true,
      ipv6NextHop: { a: '2001:db8:45::1' },
      shutdownBy: 'a',
      notes: [
        'One session over IPv4 carries IPv4 and IPv6 unicast (MP-BGP); add-path is configured both ways, so NLRI of both families carry path identifiers.',
        'FRR is a route reflector: reflected routes carry ORIGINATOR_ID and CLUSTER_LIST.',
      ],
    },
    {
      id: 'ibgp-frr-gobgp-v4',
      a: 'frr',
      b: 'gobgp',
      aAddress: '198.51.100.73',
      bAddress: '198.51.100.74',
      families: ['ipv4'],
      addPath: true,
      reflector: 'a',
      shutdownBy: 'a',
    },
    {
      id: 'ibgp-frr-gobgp-v6',
      a: 'frr',
      b: 'gobgp',
      aAddress: '2001:db8:56::1',
      bAddress: '2001:db8:56::2',
      families: ['ipv6'],
      reflector: 'a',
      shutdownBy: 'b',
    },
  ],
};

export const SCENARIOS: readonly Scenario[] = [EBGP_SCENARIO, IBGP_SCENARIO];

/** The peers a router gets from the scenario's sessions. */
export function peersOf(s: Scenario, label: string): PeerSpec[] {
  const peers: PeerSpec[] = [];
  for (const x of s.sessions) {
    for (const side of ['a', 'b'] as const) {
      if (x[side] !== label) continue;
      const other = side === 'a' ? 'b' : 'a';
      const peerRouter = routerOf(s, x[other]);
      peers.push({
        name: x.id.replace(/-/g, '_'),
        localAddress: side === 'a' ? x.aAddress : x.bAddress,
        peerAddress: side === 'a' ? x.bAddress : x.aAddress,
        peerAsn: peerRouter.asn,
        families: x.families,
        addPath: x.addPath,
        rrClient: x.reflector === side,
        nextHopSelf: x.reflector === side,
        as4: x.as4Off !== side,
        extendedMessage: x.extendedMessage,
        ipv6NextHop: x.ipv6NextHop?.[side],
      });
    }
  }
  return peers;
}

export function routerOf(s: Scenario, label: string): RouterDef {
  const r = s.routers.find((x) => x.label === label);
  if (!r) throw new TortieError('ERR_CAPTURE_SCENARIO', `scenario ${s.name}: no router ${label}`);
  return r;
}

export function routerSpec(s: Scenario, label: string): RouterSpec {
  const r = routerOf(s, label);
  return { label: r.label, asn: r.asn, routerId: r.routerId, routes: r.routes, aggregates: r.aggregates, peers: peersOf(s, label) };
}
