/** The mesh from Node objects (agent/k8s/node-mesh.ts): address and AS choice, self, problems. */
import { expect } from 'chai';
import { meshFromNodes, parseAsnAnnotation } from '../../agent/k8s/node-mesh.js';
import { ANNOTATION_ASN, ANNOTATION_BGP_ADDRESS, type NodeObject } from '../../agent/k8s/types.js';

function node(name: string, internal: string[], annotations: Record<string, string> = {}, labels: Record<string, string> = {}): NodeObject {
  return {
    metadata: { name, annotations, labels },
    status: { addresses: [{ type: 'Hostname', address: name }, ...internal.map((a) => ({ type: 'InternalIP', address: a }))] },
  };
}

describe('k8s node mesh: meshFromNodes', () => {
  const base = { selfName: 'self', cidrs: [] as string[], defaultAsn: 65000 };

  const cases: {
    name: string; nodes: NodeObject[]; cidrs?: string[]; want: { name: string; address: string; asn: number; addressFrom: string }[];
  }[] = [
    {
      name: 'first IPv4 InternalIP when no CIDR is configured',
      nodes: [node('b', ['2001:db8::2', '192.0.2.2', '192.0.2.22'])],
      want: [{ name: 'b', address: '192.0.2.2', asn: 65000, addressFrom: 'InternalIP' }],
    },
    {
      name: 'an IPv6-only node uses its IPv6 InternalIP (canonical text)',
      nodes: [node('b', ['2001:DB8:0:0::2'])],
      want: [{ name: 'b', address: '2001:db8::2', asn: 65000, addressFrom: 'InternalIP' }],
    },
    {
      name: 'the InternalIP inside the configured CIDR',
      nodes: [node('b', ['10.0.0.2', '192.0.2.2'])],
      cidrs: ['192.0.2.0/24'],
      want: [{ name: 'b', address: '192.0.2.2', asn: 65000, addressFrom: 'InternalIP' }],
    },
    {
      name: 'CIDR order is preference order',
      nodes: [node('b', ['10.0.0.2', '2001:db8::2'])],
      cidrs: ['2001:db8::/64', '10.0.0.0/8'],
      want: [{ name: 'b', address: '2001:db8::2', asn: 65000, addressFrom: 'InternalIP' }],
    },
    {
      name: 'no InternalIP in the CIDRs: not a member',
      nodes: [node('b', ['10.0.0.2'])],
      cidrs: ['192.0.2.0/24'],
      want: [],
    },
    {
      name: 'the annotation wins over the InternalIP, and the ASN annotation over the default',
      nodes: [node('b', ['10.0.0.2'], { [ANNOTATION_BGP_ADDRESS]: '198.51.100.7', [ANNOTATION_ASN]: '65007' })],
      cidrs: ['10.0.0.0/8'],
      want: [{ name: 'b', address: '198.51.100.7', asn: 65007, addressFrom: 'annotation' }],
    },
    {
      name: 'sorted by node name, self left out',
      nodes: [node('c', ['192.0.2.3']), node('self', ['192.0.2.1']), node('a', ['192.0.2.9'])],
      want: [
        { name: 'a', address: '192.0.2.9', asn: 65000, addressFrom: 'InternalIP' },
        { name: 'c', address: '192.0.2.3', asn: 65000, addressFrom: 'InternalIP' },
      ],
    },
    {
      name: 'unspecified and multicast InternalIPs are skipped',
      nodes: [node('b', ['0.0.0.0', '224.0.0.5', '192.0.2.2'])],
      want: [{ name: 'b', address: '192.0.2.2', asn: 65000, addressFrom: 'InternalIP' }],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = meshFromNodes(c.nodes, { ...base, cidrs: c.cidrs ?? [] });
      expect(r.members.map((m) => ({ ...m }))).to.deep.equal(c.want);
      expect(r.problems).to.deep.equal([]);
    });
  }

  it('reports self with its labels and address', () => {
    const r = meshFromNodes([node('self', ['192.0.2.1'], {}, { rack: 'r1' })], base);
    expect(r.selfFound).to.equal(true);
    expect(r.selfLabels).to.deep.equal({ rack: 'r1' });
    expect(r.self).to.deep.include({ name: 'self', address: '192.0.2.1' });
    expect(r.members).to.deep.equal([]);
  });

  const bad: { name: string; nodes: NodeObject[]; problem: string }[] = [
    { name: 'a bad address annotation', nodes: [node('b', ['192.0.2.2'], { [ANNOTATION_BGP_ADDRESS]: '192.0.2.300' })], problem: 'node b: tortie.io/bgp-address' },
    { name: 'a prefix as the address annotation', nodes: [node('b', [], { [ANNOTATION_BGP_ADDRESS]: '192.0.2.0/24' })], problem: 'is a prefix' },
    { name: 'a multicast address annotation', nodes: [node('b', [], { [ANNOTATION_BGP_ADDRESS]: '224.0.0.1' })], problem: 'cannot be a BGP neighbour' },
    { name: 'a bad ASN annotation', nodes: [node('b', ['192.0.2.2'], { [ANNOTATION_ASN]: 'AS65001' })], problem: 'node b: tortie.io/asn "AS65001"' },
    { name: 'ASN 0', nodes: [node('b', ['192.0.2.2'], { [ANNOTATION_ASN]: '0' })], problem: 'out of range' },
    {
      name: 'two nodes with one address (the first by name stays)',
      nodes: [node('b', ['192.0.2.2']), node('a', ['192.0.2.2'])],
      problem: "node b: BGP address 192.0.2.2 is also node a's",
    },
  ];
  for (const c of bad) {
    it(`leaves a node out for ${c.name}`, () => {
      const r = meshFromNodes(c.nodes, base);
      expect(r.problems).to.have.length(1);
      expect(r.problems[0]).to.include(c.problem);
      expect(r.members.map((m) => m.name)).to.not.include('b');
    });
  }

  it('lists nodes with no address separately, not as problems', () => {
    const r = meshFromNodes([node('b', [])], base);
    expect(r.withoutAddress).to.deep.equal(['b']);
    expect(r.problems).to.deep.equal([]);
  });

  it('refuses a bad configured CIDR', () => {
    expect(() => meshFromNodes([], { ...base, cidrs: ['10.0.0.1/8'] })).to.throw(RangeError, /host bits/);
  });
});

describe('k8s node mesh: parseAsnAnnotation', () => {
  const table: [string, number | undefined][] = [
    ['65001', 65001], [' 4200000000 ', 4200000000], ['4294967295', 4294967295], ['4294967296', undefined], ['23456', undefined],
    ['-1', undefined], ['1.5', undefined], ['', undefined], ['1', 1],
  ];
  for (const [text, want] of table) {
    it(`${JSON.stringify(text)} -> ${want ?? 'refused'}`, () => {
      const r = parseAsnAnnotation(text);
      expect(r.ok ? r.asn : undefined).to.equal(want);
    });
  }
});
