/**
 * IPPool objects merged into the node's IP pools (agent/k8s/ip-pools.ts):
 * the file's rules decide, the file wins, and a change reaches the agent as
 * a live IPAM change (diffConfig.ipamChanged), never a restart.
 */
import { expect } from 'chai';
import { diffConfig } from '../../agent/config/index.js';
import { parseOk, yaml } from '../../agent/config/test-fixtures.js';
import { clusterIpPools, mergeIpPools } from '../../agent/k8s/ip-pools.js';
import { applyClusterPeers, EMPTY_CLUSTER_PEERS } from '../../agent/k8s/merge-peers.js';

const FILE = parseOk(yaml`
  node: { name: node-a, asn: 65001, routerId: 192.0.2.1 }
  ipam:
    pools:
      - { name: file-v4, cidr: 10.244.0.0/16 }
`);

const pool = (name: string, spec: Record<string, unknown>) => ({ metadata: { name }, spec });

describe('k8s IPPool: mergeIpPools', () => {
  it('adds valid IPPools after the file\'s pools, sorted by name, with defaults filled', () => {
    const m = mergeIpPools(FILE, clusterIpPools([pool('v6', { cidr: 'fd00:244::/64' }), pool('b-v4', { cidr: '10.245.0.0/16', blockSize: 28, nodeSelector: 'zone == "b"' })]));
    expect(m.problems).to.deep.equal([]);
    expect(m.pools.map((p) => [p.name, p.cidr, p.blockSize, p.nodeSelector, p.disabled])).to.deep.equal([
      ['file-v4', '10.244.0.0/16', 26, 'all()', false],
      ['b-v4', '10.245.0.0/16', 28, 'zone == "b"', false],
      ['v6', 'fd00:244::/64', 122, 'all()', false],
    ]);
    expect([...m.fromCluster]).to.deep.equal(['b-v4', 'v6']);
  });

  const refused: { name: string; objects: ReturnType<typeof pool>[]; has: string }[] = [
    { name: 'a name the file uses', objects: [pool('file-v4', { cidr: '10.246.0.0/16' })], has: 'IPPool file-v4: the configuration file has a pool of that name, which wins' },
    { name: 'a CIDR overlapping a file pool', objects: [pool('x', { cidr: '10.244.128.0/17' })], has: 'IPPool x: spec.cidr: 10.244.128.0/17 overlaps pool file-v4' },
    { name: 'a CIDR overlapping an earlier IPPool', objects: [pool('a', { cidr: '10.250.0.0/16' }), pool('b', { cidr: '10.250.0.0/24' })], has: 'IPPool b: spec.cidr: 10.250.0.0/24 overlaps pool a' },
    { name: 'host bits', objects: [pool('x', { cidr: '10.247.0.1/16' })], has: 'IPPool x: spec.cidr: ' },
    { name: 'a block size out of range', objects: [pool('x', { cidr: '10.247.0.0/16', blockSize: 12 })], has: 'IPPool x: spec.blockSize: ' },
    { name: 'a selector that does not parse', objects: [pool('x', { cidr: '10.247.0.0/16', nodeSelector: 'zone ==' })], has: 'IPPool x: spec.nodeSelector: ' },
    { name: 'a CIDR that is not a string', objects: [pool('x', { cidr: 42 })], has: 'IPPool x: spec.cidr: ' },
  ];
  for (const c of refused) {
    it(`leaves out ${c.name}, with the file's reason`, () => {
      const m = mergeIpPools(FILE, clusterIpPools(c.objects));
      expect(m.problems.join('\n')).to.include(c.has);
      expect(m.problems.every((p) => p.endsWith('; ignored') || p.endsWith('which wins'))).to.equal(true);
      expect(m.pools.map((p) => p.name)).to.include('file-v4');
      expect(m.pools.length).to.equal(c.objects.length === 2 ? 2 : 1);
    });
  }

  it('of two overlapping IPPools the older stays, whatever the names', () => {
    const older = { metadata: { name: 'z-old', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { cidr: '10.250.0.0/16' } };
    const newer = { metadata: { name: 'a-new', creationTimestamp: '2026-06-01T00:00:00Z' }, spec: { cidr: '10.250.0.0/24' } };
    const m = mergeIpPools(FILE, clusterIpPools([newer, older]));
    expect(m.pools.map((p) => p.name)).to.deep.equal(['file-v4', 'z-old']);
    expect(m.problems.join('\n')).to.include('IPPool a-new: spec.cidr: 10.250.0.0/24 overlaps pool z-old');
  });

  it('skips objects without a name or a spec', () => {
    expect(clusterIpPools([{ metadata: {}, spec: { cidr: '10.9.0.0/16' } }, { metadata: { name: 'x' } }])).to.deep.equal([]);
  });

  it('reaches the agent as a live IPAM change, not a restart', () => {
    const before = applyClusterPeers(FILE, EMPTY_CLUSTER_PEERS).config;
    const after = applyClusterPeers(FILE, { ...EMPTY_CLUSTER_PEERS, ipPools: clusterIpPools([pool('v6', { cidr: 'fd00:244::/64' })]) }).config;
    const d = diffConfig(before, after);
    expect(d.ipamChanged).to.equal(true);
    expect(d.restartRequired).to.deep.equal([]);
    expect(after.ipam.pools.map((p) => p.name)).to.deep.equal(['file-v4', 'v6']);
  });
});
