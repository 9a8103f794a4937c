/**
 * BGPPeer selection and validation (agent/k8s/bgp-peers.ts) and the merge
 * of cluster peers with the file (agent/k8s/merge-peers.ts), down to the
 * session plan the agent's diffConfig derives from it.
 */
import { expect } from 'chai';
import { selectBgpPeers, validateBgpPeer } from '../../agent/k8s/bgp-peers.js';
import { applyClusterPeers, formatOrigin, type ClusterPeers } from '../../agent/k8s/merge-peers.js';
import type { BgpPeerObject, BgpPeerSpec } from '../../agent/k8s/types.js';
import { diffConfig, effectivePeers } from '../../agent/config/index.js';
import { parseOk, yaml } from '../../agent/config/test-fixtures.js';

const FILE = parseOk(yaml`
  node:
    name: node-a
    asn: 65001
    routerId: 192.0.2.1
    sourceAddress: 192.0.2.1
  bgp:
    holdTimeSec: 30
    nodeToNodeMesh:
      members:
        - { address: 192.0.2.3, name: node-c }
    peers:
      - { address: 198.51.100.1, asn: 65100, description: tor }
`);

function peer(name: string, spec: Partial<BgpPeerSpec> & { address: string; asn: number }): BgpPeerObject {
  return { metadata: { name }, spec };
}

describe('k8s BGPPeer: selectBgpPeers', () => {
  const objects = [
    peer('all-nodes', { address: '198.51.100.10', asn: 65100 }),
    peer('only-a', { address: '198.51.100.11', asn: 65100, node: 'node-a' }),
    peer('only-b', { address: '198.51.100.12', asn: 65100, node: 'node-b' }),
    peer('rack-r1', { address: '198.51.100.13', asn: 65100, nodeSelector: 'rack == "r1"' }),
    peer('rack-r2', { address: '198.51.100.14', asn: 65100, nodeSelector: 'rack == "r2"' }),
    peer('a-and-r2', { address: '198.51.100.15', asn: 65100, node: 'node-a', nodeSelector: 'rack == "r2"' }),
    peer('has-tor', { address: '198.51.100.16', asn: 65100, nodeSelector: 'has(tor)' }),
  ];
  const table: { name: string; node: string; labels: Record<string, string>; want: string[] }[] = [
    { name: 'node-a in r1', node: 'node-a', labels: { rack: 'r1' }, want: ['all-nodes', 'only-a', 'rack-r1'] },
    { name: 'node-a in r2', node: 'node-a', labels: { rack: 'r2' }, want: ['a-and-r2', 'all-nodes', 'only-a', 'rack-r2'] },
    { name: 'node-b in r1 with a tor label', node: 'node-b', labels: { rack: 'r1', tor: 'x' }, want: ['all-nodes', 'has-tor', 'only-b', 'rack-r1'] },
    { name: 'node-z without labels', node: 'node-z', labels: {}, want: ['all-nodes'] },
  ];
  for (const c of table) {
    it(c.name, () => {
      const r = selectBgpPeers(objects, c.node, c.labels);
      expect(r.selected.map((s) => s.name)).to.deep.equal(c.want);
      expect(r.problems).to.deep.equal([]);
    });
  }

  it('ignores a BGPPeer with a bad selector, and says so', () => {
    const r = selectBgpPeers([peer('bad', { address: '198.51.100.1', asn: 1, nodeSelector: 'rack ==' })], 'node-a', {});
    expect(r.selected).to.deep.equal([]);
    expect(r.problems).to.have.length(1);
    expect(r.problems[0]).to.match(/^BGPPeer bad: spec.nodeSelector: /);
  });
});

describe('k8s BGPPeer: validateBgpPeer (the file\'s rules)', () => {
  it('accepts a peer and resolves it like the file would', () => {
    const v = validateBgpPeer('p', { address: '2001:DB8::1', asn: 65100, holdTimeSec: 9, families: ['ipv6'] }, FILE);
    expect(v.ok).to.equal(true);
    if (v.ok) expect(v.peer).to.deep.include({ address: '2001:db8::1', asn: 65100, holdTimeSec: 9, families: ['ipv6'] });
  });

  const bad: { name: string; spec: BgpPeerSpec; path: string }[] = [
    { name: 'a bad address', spec: { address: '198.51.100.300', asn: 1 }, path: 'spec.address' },
    { name: 'this node\'s own address', spec: { address: '192.0.2.1', asn: 1 }, path: 'spec.address' },
    { name: 'AS_TRANS', spec: { address: '198.51.100.2', asn: 23456 }, path: 'spec.asn' },
    { name: 'a keepalive above a third of the inherited hold time', spec: { address: '198.51.100.2', asn: 1, keepaliveSec: 20 }, path: 'spec.keepaliveSec' },
    { name: 'an unknown family', spec: { address: '198.51.100.2', asn: 1, families: ['ipv5'] }, path: 'spec.families[0]' },
    {
      name: 'a policy the speaker would refuse',
      spec: { address: '198.51.100.2', asn: 1, import: { defaultResult: 'maybe' } },
      path: 'spec.import.defaultResult',
    },
    {
      name: 'a TCP-MD5 password (not supported: the router would drop the session silently)',
      spec: { address: '198.51.100.2', asn: 1, password: { secretKeyRef: { name: 's', key: 'k' } } },
      path: 'spec.password',
    },
  ];
  for (const c of bad) {
    it(`refuses ${c.name} at ${c.path}`, () => {
      const v = validateBgpPeer('p', c.spec, FILE);
      expect(v.ok).to.equal(false);
      if (!v.ok) expect(v.problems.join('\n')).to.include(`BGPPeer p: ${c.path}: `);
    });
  }
});

describe('k8s merge: applyClusterPeers', () => {
  const cluster = (over: Partial<ClusterPeers> = {}): ClusterPeers => ({ meshEnabled: undefined, meshMembers: [], bgpPeers: [], ...over });
  const member = (name: string, address: string, asn = 65001) => ({ name, address, asn, addressFrom: 'InternalIP' as const });

  it('adds Node members and BGPPeers after the file\'s, each with its origin', () => {
    const m = applyClusterPeers(FILE, cluster({
      meshMembers: [member('node-b', '192.0.2.2')],
      bgpPeers: [{ name: 'tor2', spec: { address: '198.51.100.2', asn: 65200 } }],
    }));
    const eff = effectivePeers(m.config).peers;
    expect(eff.map((p) => [p.address, p.source, formatOrigin(m.origins.get(p.address)!)])).to.deep.equal([
      ['192.0.2.3', 'mesh', 'file'],
      ['192.0.2.2', 'mesh', 'node/node-b'],
      ['198.51.100.1', 'explicit', 'file'],
      ['198.51.100.2', 'explicit', 'bgppeer/tor2'],
    ]);
    expect(m.problems).to.deep.equal([]);
    expect(Object.isFrozen(m.config.bgp.peers)).to.equal(true);
  });

  it('the file wins: a BGPPeer at a file peer\'s address is ignored', () => {
    const m = applyClusterPeers(FILE, cluster({ bgpPeers: [{ name: 'dup', spec: { address: '198.51.100.1', asn: 1 } }] }));
    expect(m.config.bgp.peers.map((p) => [p.address, p.asn])).to.deep.equal([['198.51.100.1', 65100]]);
    expect(m.origins.get('198.51.100.1')).to.deep.equal({ kind: 'file' });
    expect(m.problems[0]).to.include('BGPPeer dup: 198.51.100.1 is already a peer in the configuration file');
  });

  it('the file wins: a Node listed in the file keeps the file\'s address', () => {
    const m = applyClusterPeers(FILE, cluster({ meshMembers: [member('node-c', '192.0.2.33')] }));
    expect(m.config.bgp.nodeToNodeMesh.members.map((x) => x.address)).to.deep.equal(['192.0.2.3']);
    expect(m.problems[0]).to.include('node node-c: the configuration file lists it at 192.0.2.3');
  });

  it('a BGPPeer at a Node member\'s address replaces that member', () => {
    const m = applyClusterPeers(FILE, cluster({
      meshMembers: [member('node-b', '192.0.2.2')],
      bgpPeers: [{ name: 'rr', spec: { address: '192.0.2.2', asn: 65001, description: 'route reflector' } }],
    }));
    const eff = effectivePeers(m.config);
    expect(eff.peers.filter((p) => p.address === '192.0.2.2').map((p) => p.source)).to.deep.equal(['explicit']);
    expect(m.origins.get('192.0.2.2')).to.deep.equal({ kind: 'bgppeer', name: 'rr' });
  });

  it('of two BGPPeers with one address the first by name stays', () => {
    const m = applyClusterPeers(FILE, cluster({
      bgpPeers: [{ name: 'a', spec: { address: '198.51.100.9', asn: 1 } }, { name: 'b', spec: { address: '198.51.100.9', asn: 2 } }],
    }));
    expect(m.config.bgp.peers.filter((p) => p.address === '198.51.100.9').map((p) => p.asn)).to.deep.equal([1]);
    expect(m.problems[0]).to.include("BGPPeer b: 198.51.100.9 is already BGPPeer a's peer");
  });

  it('an invalid BGPPeer is left out with its reasons', () => {
    const m = applyClusterPeers(FILE, cluster({ bgpPeers: [{ name: 'bad', spec: { address: 'nope', asn: 1 } }] }));
    expect(m.config.bgp.peers).to.have.length(1);
    expect(m.problems[0]).to.match(/^BGPPeer bad: spec.address: .*; ignored$/);
  });

  const meshTable: { name: string; file: boolean; cluster: boolean | undefined; on: boolean }[] = [
    { name: 'file on, cluster unset', file: true, cluster: undefined, on: true },
    { name: 'file on, cluster on', file: true, cluster: true, on: true },
    { name: 'file on, cluster off', file: true, cluster: false, on: false },
    { name: 'file off, cluster on', file: false, cluster: true, on: false },
  ];
  for (const c of meshTable) {
    it(`mesh: ${c.name} -> ${c.on ? 'on' : 'off'}`, () => {
      const file = c.file ? FILE : parseOk(yaml`
        node: { name: node-a, asn: 65001, routerId: 192.0.2.1 }
        bgp: { nodeToNodeMesh: { enabled: false } }
      `);
      const m = applyClusterPeers(file, cluster({ meshEnabled: c.cluster, meshMembers: [member('node-b', '192.0.2.2')] }));
      expect(m.config.bgp.nodeToNodeMesh.enabled).to.equal(c.on);
      expect(effectivePeers(m.config).peers.some((p) => p.address === '192.0.2.2')).to.equal(c.on);
    });
  }

  it('a node joining or leaving is exactly one session added or removed (diffConfig)', () => {
    const before = applyClusterPeers(FILE, cluster({ meshMembers: [member('node-b', '192.0.2.2')] })).config;
    const after = applyClusterPeers(FILE, cluster({ meshMembers: [member('node-b', '192.0.2.2'), member('node-d', '192.0.2.4')] })).config;
    const join = diffConfig(before, after);
    expect(join.peersAdded.map((p) => p.key)).to.deep.equal(['192.0.2.4']);
    expect(join.peersRemoved).to.deep.equal([]);
    expect(join.peersChanged).to.deep.equal([]);
    expect(join.restartRequired).to.deep.equal([]);
    const leave = diffConfig(after, before);
    expect(leave.peersRemoved.map((p) => p.key)).to.deep.equal(['192.0.2.4']);
    expect(leave.peersAdded).to.deep.equal([]);
  });

  it('a node\'s ASN annotation changing resets only that session', () => {
    const before = applyClusterPeers(FILE, cluster({ meshMembers: [member('node-b', '192.0.2.2'), member('node-d', '192.0.2.4')] })).config;
    const after = applyClusterPeers(FILE, cluster({ meshMembers: [member('node-b', '192.0.2.2', 65009), member('node-d', '192.0.2.4')] })).config;
    const d = diffConfig(before, after);
    expect(d.peersChanged.map((c) => [c.key, c.resetRequired])).to.deep.equal([['192.0.2.2', true]]);
    expect(d.peersAdded).to.deep.equal([]);
    expect(d.peersRemoved).to.deep.equal([]);
  });
});
