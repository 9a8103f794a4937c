/** Defaults, values from the environment, canonical forms, and what valid files load to. */
import { expect } from 'chai';
import { IPV4_UNICAST, IPV6_UNICAST } from '../../bgp/codec/index.js';
import { compilePolicy } from '../../bgp/rib/policy.js';
import { effectivePeers } from './peers.js';
import { expectIssues, parse, parseOk, yaml } from './test-fixtures.js';

const NODE = 'node: { asn: 65001, sourceAddress: 192.0.2.10 }';

describe('config: defaults and canonical values', () => {
  const MINIMAL = yaml`
    node:
      asn: 65001
      sourceAddress: 192.0.2.10
  `;

  it('fills every default', () => {
    const cfg = parseOk(MINIMAL);
    expect(cfg).to.deep.equal({
      node: { name: 'test-host', labels: {}, asn: 65001, routerId: '192.0.2.10', routerIdFrom: 'sourceAddress', sourceAddress: '192.0.2.10' },
      bgp: {
        listen: { enabled: true, address: '::', port: 179 },
        holdTimeSec: 90,
        keepaliveSec: 30,
        connectRetrySec: 5,
        gracefulRestart: { enabled: true, restartTimeSec: 120, staleTimeSec: 360, deferralSec: 60 },
        maxPaths: 8,
        nodeToNodeMesh: { enabled: true, members: [] },
        peers: [],
        communities: [],
        largeCommunities: [],
      },
      routes: { originate: [], protocol: 201, table: 254 },
      ipam: {
        pools: [], reservations: [], strictAffinity: true, releaseCooldownSec: 30, gcGraceSec: 60,
        datastore: { type: 'local', directory: '/var/lib/tortie/ipam' },
      },
      policy: {
        enabled: false, ifacePrefix: 'tortie', backend: 'auto', families: ['ipv4', 'ipv6'], markBit: 0x100000,
        nodeAddresses: ['192.0.2.10'], cniWaitMs: 2000, resyncIntervalSec: 300,
      },
      kubernetes: { enabled: false, nodeAddressCidrs: [], nodeGcGraceSec: 300 },
      paths: { stateDir: '/var/lib/tortie', controlSocket: '/run/tortie/tortie.sock' },
      metrics: { address: '127.0.0.1', port: 9099 },
      health: { address: '127.0.0.1', port: 9098, readinessGraceSec: 30 },
      logLevel: 'info',
    });
  });

  it('is deeply frozen', () => {
    const cfg = parseOk(yaml`
      ${NODE}
      bgp: { peers: [{ address: 192.0.2.1, asn: 65100, families: [ipv4] }] }
    `);
    expect(Object.isFrozen(cfg)).to.equal(true);
    expect(Object.isFrozen(cfg.bgp.peers)).to.equal(true);
    expect(Object.isFrozen(cfg.bgp.peers[0])).to.equal(true);
    expect(Object.isFrozen(cfg.bgp.peers[0].families)).to.equal(true);
    expect(() => {
      (cfg.node as { asn: number }).asn = 1;
    }).to.throw(TypeError);
  });

  const names: { name: string; text: string; env: Record<string, string>; want: { name: string; routerId: string; from: string } }[] = [
    { name: 'name from the host, router ID from sourceAddress', text: MINIMAL, env: {}, want: { name: 'test-host', routerId: '192.0.2.10', from: 'sourceAddress' } },
    {
      name: 'name and router ID from the environment',
      text: MINIMAL,
      env: { NODE_NAME: 'node-x', TORTIE_ROUTER_ID: '198.51.100.7' },
      want: { name: 'node-x', routerId: '198.51.100.7', from: 'env' },
    },
    {
      name: 'the file wins over the environment',
      text: yaml`
        node: { name: node-f, asn: 65001, routerId: 203.0.113.1, sourceAddress: 192.0.2.10 }
      `,
      env: { NODE_NAME: 'node-x', TORTIE_ROUTER_ID: '198.51.100.7' },
      want: { name: 'node-f', routerId: '203.0.113.1', from: 'file' },
    },
    {
      name: 'an empty NODE_NAME counts as unset',
      text: MINIMAL,
      env: { NODE_NAME: '  ' },
      want: { name: 'test-host', routerId: '192.0.2.10', from: 'sourceAddress' },
    },
  ];
  for (const c of names) {
    it(c.name, () => {
      const cfg = parseOk(c.text, { env: c.env, hostname: 'test-host' });
      expect({ name: cfg.node.name, routerId: cfg.node.routerId, from: cfg.node.routerIdFrom }).to.deep.equal(c.want);
    });
  }

  it('reports a bad TORTIE_ROUTER_ID at node.routerId', () => {
    const r = parse(yaml`
      node:
        asn: 65001
    `, { env: { TORTIE_ROUTER_ID: '2001:db8::1' }, hostname: 'h' });
    expect(r.ok).to.equal(false);
    if (!r.ok) expectIssues(r.issues, [{ line: 2, column: 3, path: 'node.routerId', message: 'TORTIE_ROUTER_ID="2001:db8::1" from the environment is not an IPv4 address' }]);
  });

  it('turns Kubernetes on by default inside a pod (KUBERNETES_SERVICE_HOST), and then takes the kubernetes datastore and policy without a directory', () => {
    const text = yaml`
      ${NODE}
      ipam: { datastore: { type: kubernetes } }
      policy: { enabled: true }
      kubernetes: { nodeAddressCidrs: [192.0.2.0/24, "2001:db8::/64"] }
    `;
    const cfg = parseOk(text, { env: { KUBERNETES_SERVICE_HOST: '10.96.0.1' }, hostname: 'h' });
    expect(cfg.kubernetes).to.deep.equal({ enabled: true, nodeAddressCidrs: ['192.0.2.0/24', '2001:db8::/64'], nodeGcGraceSec: 300 });
    expect(cfg.ipam.datastore.type).to.equal('kubernetes');
    expect(cfg.policy.enabled).to.equal(true);
    expect(cfg.policy.manifestDir).to.equal(undefined);
    // The same file outside a pod: both need a source.
    const r = parse(text, { env: {}, hostname: 'h' });
    expect(r.ok).to.equal(false);
    if (!r.ok) expect(r.issues.map((i) => i.path)).to.deep.equal(['ipam.datastore.type', 'policy.enabled']);
    // Explicitly off wins over the environment.
    const off = parseOk(yaml`
      ${NODE}
      kubernetes: { enabled: false, kubeconfig: /etc/kubernetes/tortie.conf }
    `, { env: { KUBERNETES_SERVICE_HOST: '10.96.0.1' }, hostname: 'h' });
    expect(off.kubernetes).to.deep.equal({ enabled: false, kubeconfig: '/etc/kubernetes/tortie.conf', nodeAddressCidrs: [], nodeGcGraceSec: 300 });
  });

  it('canonicalizes addresses and prefixes', () => {
    const cfg = parseOk(yaml`
      node: { asn: 65001, sourceAddress: 192.0.2.10, sourceAddressV6: "2001:DB8:0:0::10" }
      bgp:
        listen: { address: "0:0::0" }
        peers: [{ address: "2001:0db8:0000:0000:0000:0000:0000:00FF", asn: 65100 }]
        nodeToNodeMesh: { members: [{ address: "2001:db8:0:0:1::1" }] }
      routes:
        originate: ["2001:DB8:244:1:0:0:0:0/122", 10.244.1.0/26]
      metrics: { address: "::1", port: 0 }
    `);
    expect(cfg.node.sourceAddressV6).to.equal('2001:db8::10');
    expect(cfg.bgp.listen.address).to.equal('::');
    expect(cfg.bgp.peers[0].address).to.equal('2001:db8::ff');
    expect(cfg.bgp.nodeToNodeMesh.members[0]).to.deep.equal({ address: '2001:db8::1:0:0:1', asn: 65001 });
    expect(cfg.routes.originate).to.deep.equal(['2001:db8:244:1::/122', '10.244.1.0/26']);
    expect(cfg.metrics).to.deep.equal({ address: '::1', port: 0 });
  });

  it('parses communities to values and keeps policies as PolicyDef', () => {
    const cfg = parseOk(yaml`
      ${NODE}
      bgp:
        communities: ["65000:100", no-export]
        largeCommunities: ["65000:1:2"]
        peers:
          - address: 192.0.2.1
            asn: 65100
            import:
              defaultResult: reject
              terms:
                - name: pods
                  match: { prefixList: [{ prefix: 10.244.0.0/16, le: 26 }, 10.0.0.0/8], communities: ["65100:1"] }
                  actions: { setLocalPref: 200, addCommunities: [no-export], prependAs: { count: 2 } }
                  result: accept
    `);
    expect(cfg.bgp.communities).to.deep.equal([65000 * 65536 + 100, 0xffffff01]);
    expect(cfg.bgp.largeCommunities).to.deep.equal([{ global: 65000, local1: 1, local2: 2 }]);
    const def = cfg.bgp.peers[0].import;
    expect(def).to.deep.equal({
      defaultResult: 'reject',
      terms: [{
        name: 'pods',
        match: { prefixList: [{ prefix: '10.244.0.0/16', le: 26 }, { prefix: '10.0.0.0/8' }], communities: ['65100:1'] },
        actions: { setLocalPref: 200, addCommunities: ['no-export'], prependAs: { count: 2 } },
        result: 'accept',
      }],
    });
    if (def !== undefined) expect(() => compilePolicy(def, { localAs: 65001 })).not.to.throw();
  });

  it('resolves peers: families, TTL, timers, source addresses', () => {
    const cfg = parseOk(yaml`
      node: { asn: 65001, sourceAddress: 192.0.2.10, sourceAddressV6: "2001:db8::10" }
      bgp:
        holdTimeSec: 60
        peers:
          - { address: 192.0.2.1, asn: 65100 }
          - { address: "2001:db8::1", asn: 65001, families: [ipv6], holdTimeSec: 9, multihop: 3, passive: true }
    `);
    const [a, b] = effectivePeers(cfg).peers;
    expect(a).to.include({ type: 'ebgp', ttl: 1, port: 179, holdTimeSec: 60, keepaliveSec: 20, localAddress: '192.0.2.10', passive: false });
    expect(a.families).to.deep.equal([IPV4_UNICAST, IPV6_UNICAST]);
    expect(b).to.include({ type: 'ibgp', ttl: 3, holdTimeSec: 9, keepaliveSec: 3, localAddress: '2001:db8::10', passive: true });
    expect(b.families).to.deep.equal([IPV6_UNICAST]);
  });
});

