import { expect } from 'chai';
import { diffConfig, EXPORT_POLICY_CHANGED, IMPORT_POLICY_CHANGED, type ConfigDiff } from './diff.js';
import { effectivePeers } from './peers.js';
import { parseOk, yaml } from './test-fixtures.js';

interface Parts {
  node?: string;
  bgp?: string;
  mesh?: string;
  peers?: string[];
  communities?: string;
  routes?: string;
  rest?: string;
}

const TOR_A = '{ address: 192.0.2.1, asn: 65100, description: tor-a }';
const TOR_B = '{ address: 192.0.2.2, asn: 65100, description: tor-b }';
const MESH = `
    enabled: true
    members:
      - { address: 192.0.2.11, name: node-a }
      - { address: 192.0.2.12, name: node-b }`;

/** node-a: two ToR peers, one mesh peer (node-b), one pod block; `p` replaces parts. */
function config(p: Parts = {}): string {
  const peers = (p.peers ?? [TOR_A, TOR_B]).map((x) => `\n    - ${x}`).join('');
  return [
    `node: ${p.node ?? '{ name: node-a, asn: 65001, sourceAddress: 192.0.2.11 }'}`,
    `bgp:${p.bgp ?? ''}`,
    `  nodeToNodeMesh:${p.mesh ?? MESH}`,
    `  peers:${peers === '' ? ' []' : peers}`,
    `  communities: ${p.communities ?? '["65001:100", "65001:200"]'}`,
    `routes: ${p.routes ?? '{ originate: [10.244.1.0/26] }'}`,
    p.rest ?? '',
  ].join('\n');
}

const EMPTY: Omit<ConfigDiff, 'empty'> = {
  restartRequired: [],
  peersAdded: [],
  peersRemoved: [],
  peersChanged: [],
  originateAdded: [],
  originateRemoved: [],
  communitiesChanged: false,
  ipamChanged: false,
  other: [],
};

const POLICY = '{ defaultResult: accept, terms: [{ match: { prefixList: [10.0.0.0/8] }, result: reject }] }';

const CASES: { name: string; next: Parts; want: Partial<ConfigDiff> }[] = [
  { name: 'nothing changes', next: {}, want: {} },
  {
    name: 'a description alone does not touch the session',
    next: { peers: ['{ address: 192.0.2.1, asn: 65100, description: tor-a-new }', TOR_B] },
    want: { other: ['peer 192.0.2.1: description tor-a -> tor-a-new'] },
  },
  {
    name: "a peer's hold time (its keepalive follows)",
    next: { peers: ['{ address: 192.0.2.1, asn: 65100, description: tor-a, holdTimeSec: 30 }', TOR_B] },
    want: {
      peersChanged: [{ key: '192.0.2.1', source: 'explicit', reasons: ['holdTimeSec 90 -> 30', 'keepaliveSec 30 -> 10'], resetRequired: true }],
    },
  },
  {
    name: "a peer's AS",
    next: { peers: [TOR_A, '{ address: 192.0.2.2, asn: 65200, description: tor-b }'] },
    want: { peersChanged: [{ key: '192.0.2.2', source: 'explicit', reasons: ['asn 65100 -> 65200'], resetRequired: true }] },
  },
  {
    name: "a peer's families",
    next: { peers: [TOR_A, '{ address: 192.0.2.2, asn: 65100, description: tor-b, families: [ipv4] }'] },
    want: { peersChanged: [{ key: '192.0.2.2', source: 'explicit', reasons: ['families ipv4,ipv6 -> ipv4'], resetRequired: true }] },
  },
  {
    name: 'an import policy asks for a route refresh, not a reset',
    next: { peers: [`{ address: 192.0.2.1, asn: 65100, description: tor-a, import: ${POLICY} }`, TOR_B] },
    want: { peersChanged: [{ key: '192.0.2.1', source: 'explicit', reasons: [IMPORT_POLICY_CHANGED], resetRequired: false }] },
  },
  {
    name: 'an export policy re-advertises, no reset',
    next: { peers: [TOR_A, `{ address: 192.0.2.2, asn: 65100, description: tor-b, export: ${POLICY} }`] },
    want: { peersChanged: [{ key: '192.0.2.2', source: 'explicit', reasons: [EXPORT_POLICY_CHANGED], resetRequired: false }] },
  },
  {
    name: 'a policy change together with a timer change still resets',
    next: { peers: [`{ address: 192.0.2.1, asn: 65100, description: tor-a, keepaliveSec: 10, import: ${POLICY} }`, TOR_B] },
    want: {
      peersChanged: [{ key: '192.0.2.1', source: 'explicit', reasons: ['keepaliveSec 30 -> 10', IMPORT_POLICY_CHANGED], resetRequired: true }],
    },
  },
  {
    name: 'the global hold time changes every peer that inherits it',
    next: { bgp: '\n  holdTimeSec: 60' },
    want: {
      peersChanged: ['192.0.2.12', '192.0.2.1', '192.0.2.2'].map((key) => ({
        key,
        source: key === '192.0.2.12' ? 'mesh' : 'explicit',
        reasons: ['holdTimeSec 90 -> 60', 'keepaliveSec 30 -> 20'],
        resetRequired: true,
      })),
      other: ['bgp.holdTimeSec 90 -> 60', 'bgp.keepaliveSec 30 -> 20'],
    },
  },
  {
    name: 'the hold time alone resets',
    next: { bgp: '\n  holdTimeSec: 120\n  keepaliveSec: 30' },
    want: {
      peersChanged: ['192.0.2.12', '192.0.2.1', '192.0.2.2'].map((key) => ({
        key,
        source: key === '192.0.2.12' ? 'mesh' : 'explicit',
        reasons: ['holdTimeSec 90 -> 120'],
        resetRequired: true,
      })),
      other: ['bgp.holdTimeSec 90 -> 120'],
    },
  },
  {
    name: 'the mesh hold time changes only mesh peers',
    next: { mesh: `${MESH}\n    holdTimeSec: 30` },
    want: {
      peersChanged: [{ key: '192.0.2.12', source: 'mesh', reasons: ['holdTimeSec 90 -> 30', 'keepaliveSec 30 -> 10'], resetRequired: true }],
      other: ['bgp.nodeToNodeMesh.holdTimeSec (unset) -> 30'],
    },
  },
  {
    name: 'connect retry needs no reset',
    next: { bgp: '\n  connectRetrySec: 10' },
    want: {
      peersChanged: ['192.0.2.12', '192.0.2.1', '192.0.2.2'].map((key) => ({
        key,
        source: key === '192.0.2.12' ? 'mesh' : 'explicit',
        reasons: ['connectRetrySec 5 -> 10'],
        resetRequired: false,
      })),
      other: ['bgp.connectRetrySec 5 -> 10'],
    },
  },
  {
    name: 'a peer added and a peer removed',
    next: { peers: [TOR_A, '{ address: "2001:db8::1", asn: 65100 }'] },
    want: { peersAdded: [{ key: '2001:db8::1', source: 'explicit' }], peersRemoved: [{ key: '192.0.2.2', source: 'explicit' }] },
  },
  {
    name: 'a mesh member added',
    next: { mesh: `${MESH}\n      - { address: 192.0.2.13, name: node-c }` },
    want: { peersAdded: [{ key: '192.0.2.13', source: 'mesh' }] },
  },
  {
    name: 'the mesh switched off',
    next: { mesh: MESH.replace('enabled: true', 'enabled: false') },
    want: { peersRemoved: [{ key: '192.0.2.12', source: 'mesh' }], other: ['bgp.nodeToNodeMesh.enabled true -> false'] },
  },
  {
    name: 'a mesh member taken over by an explicit peer with the same parameters',
    next: { peers: [TOR_A, TOR_B, '{ address: 192.0.2.12, asn: 65001 }'] },
    want: { other: ['peer 192.0.2.12: source mesh -> explicit', 'peer 192.0.2.12: description mesh: node-b -> (unset)'] },
  },
  {
    name: 'our AS needs a restart',
    next: { node: '{ name: node-a, asn: 65002, sourceAddress: 192.0.2.11 }' },
    want: {
      restartRequired: ['node.asn 65001 -> 65002'],
      // The mesh member inherits node.asn: it becomes iBGP in the new AS too.
      peersChanged: [{ key: '192.0.2.12', source: 'mesh', reasons: ['asn 65001 -> 65002'], resetRequired: true }],
    },
  },
  {
    name: 'the source address needs a restart and moves every IPv4 session',
    next: { node: '{ name: node-a, asn: 65001, routerId: 192.0.2.11, sourceAddress: 192.0.2.21 }' },
    want: {
      restartRequired: ['node.sourceAddress 192.0.2.11 -> 192.0.2.21'],
      peersChanged: ['192.0.2.12', '192.0.2.1', '192.0.2.2'].map((key) => ({
        key,
        source: key === '192.0.2.12' ? 'mesh' : 'explicit',
        reasons: ['localAddress 192.0.2.11 -> 192.0.2.21'],
        resetRequired: true,
      })),
    },
  },
  {
    name: 'the route protocol needs a restart',
    next: { routes: '{ originate: [10.244.1.0/26], protocol: 202 }' },
    want: { restartRequired: ['routes.protocol 201 -> 202'] },
  },
  {
    name: 'originated prefixes',
    next: { routes: '{ originate: [10.244.2.0/26, "2001:db8:244:1::/122"] }' },
    want: { originateAdded: ['10.244.2.0/26', '2001:db8:244:1::/122'], originateRemoved: ['10.244.1.0/26'] },
  },
  {
    name: 'communities in another order are the same set',
    next: { communities: '["65001:200", "65001:100"]' },
    want: {},
  },
  {
    name: 'a changed community',
    next: { communities: '["65001:100", no-export]' },
    want: { communitiesChanged: true },
  },
  {
    name: 'IPAM pools, affinity and node labels apply live',
    next: { rest: 'ipam: { pools: [{ name: a, cidr: 10.244.0.0/16 }], strictAffinity: false }' },
    want: {
      ipamChanged: true,
      other: ['ipam.pools (none) -> a=10.244.0.0/16/b26[all()]', 'ipam.strictAffinity true -> false'],
    },
  },
  {
    name: 'the IPAM datastore directory needs a restart',
    next: { rest: 'ipam: { datastore: { directory: /srv/ipam } }' },
    want: { restartRequired: ['ipam.datastore.directory /var/lib/tortie/ipam -> /srv/ipam'] },
  },
  {
    name: 'switching Kubernetes on needs a restart; the node GC grace is live',
    next: { rest: 'kubernetes: { enabled: true, kubeconfig: /etc/k.conf, nodeGcGraceSec: 60 }' },
    want: {
      restartRequired: ['kubernetes.enabled false -> true', 'kubernetes.kubeconfig (unset) -> /etc/k.conf'],
      other: ['kubernetes.nodeGcGraceSec 300 -> 60'],
    },
  },
  {
    name: 'log level and metrics port are other changes',
    next: { rest: 'logLevel: debug\nmetrics: { port: 0 }' },
    want: { other: ['metrics.port 9099 -> 0', 'logLevel info -> debug'] },
  },
];

describe('config: diffConfig', () => {
  const base = parseOk(config());

  for (const c of CASES) {
    it(c.name, () => {
      const d = diffConfig(base, parseOk(config(c.next)));
      const want = { ...EMPTY, ...c.want };
      const { empty, ...rest } = d;
      expect(rest).to.deep.equal(want);
      expect(empty).to.equal(JSON.stringify(want) === JSON.stringify(EMPTY));
    });
  }

  it('an IPv6 peer written differently is the same peer', () => {
    const a = parseOk(config({ peers: ['{ address: "2001:db8::1", asn: 65100 }'] }));
    const b = parseOk(config({ peers: ['{ address: "2001:0DB8:0:0::0:1", asn: 65100 }'] }));
    expect(diffConfig(a, b).empty).to.equal(true);
    const c = parseOk(config({ peers: ['{ address: "2001:db8::2", asn: 65100 }'] }));
    expect(diffConfig(a, c)).to.deep.include({ peersAdded: [{ key: '2001:db8::2', source: 'explicit' }], peersRemoved: [{ key: '2001:db8::1', source: 'explicit' }] });
  });

  const NETPOL = 'policy: { enabled: true, manifestDir: /etc/tortie/policy';
  const netpol: { name: string; a: string; b: string; restart: string[]; other: string[] }[] = [
    { name: 'switching NetworkPolicy on needs a restart', a: '', b: `${NETPOL} }`, restart: ['policy.enabled false -> true'], other: [] },
    { name: 'a new veth prefix needs a restart', a: `${NETPOL} }`, b: `${NETPOL}, ifacePrefix: cali }`, restart: ['policy.ifacePrefix tortie -> cali'], other: [] },
    { name: 'the CNI wait applies live', a: `${NETPOL} }`, b: `${NETPOL}, cniWaitMs: 500 }`, restart: [], other: ['policy.cniWaitMs 2000 -> 500'] },
    { name: 'settings of a disabled enforcer are no change', a: 'policy: { backend: nft }', b: 'policy: { backend: legacy }', restart: [], other: [] },
  ];
  for (const c of netpol) {
    it(`NetworkPolicy: ${c.name}`, () => {
      const d = diffConfig(parseOk(config({ rest: c.a })), parseOk(config({ rest: c.b })));
      // Switching on also lists every setting that now matters, as "(unset) -> value".
      const set = (xs: readonly string[]): string[] => xs.filter((x) => !x.includes('(unset) ->'));
      expect(set(d.restartRequired)).to.deep.equal(c.restart);
      expect(set(d.other)).to.deep.equal(c.other);
    });
  }

  it('a policy renamed only is no change', () => {
    const a = parseOk(config({ peers: [`{ address: 192.0.2.1, asn: 65100, import: { name: x, defaultResult: accept } }`] }));
    const b = parseOk(config({ peers: [`{ address: 192.0.2.1, asn: 65100, import: { name: y, defaultResult: accept } }`] }));
    expect(diffConfig(a, b).empty).to.equal(true);
  });
});

describe('config: effectivePeers', () => {
  it('skips this node in the mesh, by address or by name', () => {
    const cfg = parseOk(yaml`
      node: { name: node-b, asn: 65001, routerId: 192.0.2.12, sourceAddress: 192.0.2.12 }
      bgp:
        nodeToNodeMesh:
          members:
            - { address: 192.0.2.11 }
            - { address: 192.0.2.12 }
            - { address: 192.0.2.99, name: node-b }
            - { address: 192.0.2.13, asn: 65003 }
    `);
    expect(effectivePeers(cfg).peers.map((p) => [p.key, p.asn, p.type])).to.deep.equal([
      ['192.0.2.11', 65001, 'ibgp'],
      ['192.0.2.13', 65003, 'ebgp'],
    ]);
  });

  it('an explicit peer wins over a mesh member at the same address, with a warning', () => {
    const cfg = parseOk(yaml`
      node: { asn: 65001, sourceAddress: 192.0.2.11 }
      bgp:
        nodeToNodeMesh:
          holdTimeSec: 30
          members: [{ address: 192.0.2.12, name: node-b }]
        peers: [{ address: 192.0.2.12, asn: 65001, holdTimeSec: 9 }]
    `);
    const { peers, warnings } = effectivePeers(cfg);
    expect(peers.map((p) => [p.key, p.source, p.holdTimeSec, p.keepaliveSec])).to.deep.equal([['192.0.2.12', 'explicit', 9, 3]]);
    expect(warnings).to.deep.equal(['mesh member 192.0.2.12 (node-b) is also an explicit peer; the explicit peer\'s settings apply']);
  });

  const timers: { name: string; bgp: string; mesh: string; want: [number, number] }[] = [
    { name: 'all defaults', bgp: '', mesh: '', want: [90, 30] },
    { name: 'global hold only', bgp: 'holdTimeSec: 60', mesh: '', want: [60, 20] },
    { name: 'global pair', bgp: 'holdTimeSec: 60, keepaliveSec: 5', mesh: '', want: [60, 5] },
    { name: 'mesh hold only: its own third, not the global keepalive', bgp: 'holdTimeSec: 60, keepaliveSec: 15', mesh: 'holdTimeSec: 9', want: [9, 3] },
    { name: 'mesh keepalive only: global hold', bgp: 'holdTimeSec: 60', mesh: 'keepaliveSec: 7', want: [60, 7] },
    { name: 'hold 0 disables keepalives', bgp: '', mesh: 'holdTimeSec: 0', want: [0, 0] },
  ];
  for (const t of timers) {
    it(`mesh timers: ${t.name}`, () => {
      const mesh = `nodeToNodeMesh: { ${t.mesh === '' ? '' : `${t.mesh}, `}members: [{ address: 192.0.2.12 }] }`;
      const cfg = parseOk(yaml`
        node: { asn: 65001, sourceAddress: 192.0.2.11 }
        bgp: { ${t.bgp === '' ? '' : `${t.bgp}, `}${mesh} }
      `);
      const [p] = effectivePeers(cfg).peers;
      expect([p.holdTimeSec, p.keepaliveSec]).to.deep.equal(t.want);
    });
  }

  it('turns gracefulRestart off per peer, and globally', () => {
    const on = parseOk(yaml`
      node: { asn: 65001, sourceAddress: 192.0.2.11 }
      bgp: { peers: [{ address: 192.0.2.1, asn: 65100 }, { address: 192.0.2.2, asn: 65100, gracefulRestart: false }] }
    `);
    expect(effectivePeers(on).peers.map((p) => p.gracefulRestart)).to.deep.equal([true, false]);
    const off = parseOk(yaml`
      node: { asn: 65001, sourceAddress: 192.0.2.11 }
      bgp: { gracefulRestart: { enabled: false }, peers: [{ address: 192.0.2.1, asn: 65100 }] }
    `);
    expect(effectivePeers(off).peers.map((p) => p.gracefulRestart)).to.deep.equal([false]);
  });
});
