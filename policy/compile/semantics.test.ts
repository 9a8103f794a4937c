/**
 * networking.k8s.io/v1 semantics, end to end without root: each case
 * compiles a cluster with some policies, loads the result into an
 * in-memory netfilter and walks packets through it. One row per feature;
 * the expectations are written from the Kubernetes API documentation, not
 * from the compiler.
 */
import { expect } from 'chai';
import type { ClusterState, NetworkPolicyInfo, PodInfo } from './model.js';
import { simulate, type Packet } from '../testing/packet-sim.js';
import { SimCluster, type Endpoint, type ProbeOptions } from '../testing/sim-cluster.js';

const NODE4 = '192.0.2.10';
const NODE6 = '2001:db8:ffff::10';
const EXT = { ip: '203.0.113.5' };
const EXT6 = { ip: '2001:db8:9999::5' };

const PORTS = [
  { name: 'serve-80-tcp', containerPort: 80, protocol: 'TCP' as const },
  { name: 'serve-81-tcp', containerPort: 81, protocol: 'TCP' as const },
  { name: 'serve-80-udp', containerPort: 80, protocol: 'UDP' as const },
  { name: 'serve-81-udp', containerPort: 81, protocol: 'UDP' as const },
  { name: 'serve-80-sctp', containerPort: 80, protocol: 'SCTP' as const },
];

function pod(ns: string, name: string, nsIdx: number, podIdx: number, extra: Partial<PodInfo> = {}): PodInfo {
  const ip4 = `10.0.${nsIdx}.${podIdx + 1}`;
  const ip6 = `fd00::${nsIdx}:${podIdx + 1}`;
  return {
    namespace: ns,
    name,
    labels: { pod: name, ...(extra.labels ?? {}) },
    ports: extra.ports ?? PORTS,
    attachment: { ifName: `tt${nsIdx}${podIdx}${ns}${name}0f`, ips: [ip4, ip6] },
    ...(extra.hostNetwork ? { hostNetwork: true } : {}),
  };
}

function cluster(policies: NetworkPolicyInfo[]): ClusterState {
  return {
    namespaces: [
      { name: 'x', labels: { ns: 'x', team: 'red' } },
      { name: 'y', labels: { ns: 'y', team: 'blue' } },
      { name: 'z', labels: { ns: 'z' } },
    ],
    pods: [
      pod('x', 'a', 0, 0, { labels: { app: 'web', tier: 'front' }, ports: [...PORTS, { name: 'http', containerPort: 80 }] }),
      pod('x', 'b', 0, 1, { labels: { app: 'api' } }),
      pod('x', 'c', 0, 2, { labels: { app: 'web' }, ports: [...PORTS, { name: 'http', containerPort: 8080 }] }),
      pod('y', 'a', 1, 0, { labels: { app: 'web' } }),
      pod('y', 'b', 1, 1, { labels: { app: 'api', tier: 'front' } }),
      pod('y', 'c', 1, 2, {}),
      pod('z', 'a', 2, 0, {}),
      pod('z', 'b', 2, 1, { labels: { app: 'db' } }),
      pod('z', 'c', 2, 2, {}),
      // A pod on another node: a peer, never programmed here.
      { namespace: 'r', name: 'remote', labels: { pod: 'remote', app: 'web' }, ips: ['10.9.0.1', 'fd00::9:1'], ports: [{ name: 'http', containerPort: 9000 }] },
      // Host-network pods are neither isolated nor peers.
      { namespace: 'x', name: 'hostnet', labels: { pod: 'hostnet', app: 'web' }, ips: ['192.0.2.10'], hostNetwork: true },
    ],
    policies,
  };
}

type Check = [from: Endpoint, to: Endpoint, allowed: boolean, opts?: ProbeOptions];

interface Case {
  name: string;
  policies: NetworkPolicyInfo[];
  checks: Check[];
}

const np = (ns: string, name: string, rest: Omit<NetworkPolicyInfo, 'namespace' | 'name'>): NetworkPolicyInfo => ({ namespace: ns, name, ...rest });
const denyIngress = (ns: string): NetworkPolicyInfo => np(ns, 'deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] });
const TCP81: ProbeOptions = { port: 81 };
const UDP80: ProbeOptions = { proto: 'udp', port: 80 };
const SCTP80: ProbeOptions = { proto: 'sctp', port: 80 };

const CASES: Case[] = [
  {
    name: 'no policy: everything is allowed',
    policies: [],
    checks: [['x/a', 'y/b', true], ['y/b', 'x/a', true, UDP80], [EXT, 'x/a', true], ['x/a', EXT, true], ['x/a', 'z/c', true, { family: 6 }]],
  },
  {
    name: 'deny all ingress isolates the namespace only for ingress',
    policies: [denyIngress('x')],
    checks: [['y/a', 'x/a', false], ['x/b', 'x/a', false], [EXT, 'x/c', false], ['x/a', 'y/a', true], ['x/a', EXT, true], ['y/a', 'z/a', true], ['y/a', 'x/a', false, { family: 6 }]],
  },
  {
    name: 'deny all egress isolates only egress',
    policies: [np('x', 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] })],
    checks: [['x/a', 'y/a', false], ['x/a', 'x/b', false], ['x/a', EXT, false], ['y/a', 'x/a', true], [EXT, 'x/b', true]],
  },
  {
    name: 'podSelector matchLabels selects the target pods',
    policies: [np('x', 'web-deny', { podSelector: { matchLabels: { app: 'web' } }, ingress: [] })],
    checks: [['y/a', 'x/a', false], ['y/a', 'x/c', false], ['y/a', 'x/b', true]],
  },
  {
    name: 'allow from pods in the same namespace (podSelector only peer)',
    policies: [np('x', 'same-ns', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] })],
    checks: [['x/b', 'x/a', true], ['x/c', 'x/a', true, UDP80], ['y/a', 'x/a', false], [EXT, 'x/a', false], ['r/remote', 'x/a', false]],
  },
  {
    name: 'matchExpressions In',
    policies: [np('x', 'in', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'c'] }] } }] }] })],
    checks: [['x/b', 'x/a', true], ['x/c', 'x/a', true], ['y/b', 'x/a', false]],
  },
  {
    name: 'matchExpressions NotIn (absent key also matches)',
    policies: [np('x', 'notin', { podSelector: { matchLabels: { pod: 'b' } }, ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] } }] }] })],
    checks: [['x/a', 'x/b', false], ['x/c', 'x/b', true], ['x/b', 'x/b', true]],
  },
  {
    name: 'matchExpressions Exists and DoesNotExist',
    policies: [
      np('y', 'exists', { podSelector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] } }] }] }),
    ],
    checks: [['y/c', 'y/b', true], ['z/a', 'y/b', true], ['x/b', 'y/b', false], ['x/b', 'y/a', true]],
  },
  {
    name: 'namespaceSelector only: every pod of the selected namespaces',
    policies: [np('x', 'from-blue', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'blue' } } }] }] })],
    checks: [['y/a', 'x/a', true], ['y/c', 'x/b', true], ['z/a', 'x/a', false], ['x/b', 'x/a', false]],
  },
  {
    name: 'namespaceSelector by kubernetes.io/metadata.name (set automatically)',
    policies: [np('x', 'from-z', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'z' } } }] }] })],
    checks: [['z/a', 'x/a', true], ['y/a', 'x/a', false]],
  },
  {
    name: 'namespaceSelector and podSelector in one peer: intersection',
    policies: [np('x', 'and', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { app: 'api' } } }] }] })],
    checks: [['y/b', 'x/a', true], ['y/a', 'x/a', false], ['x/b', 'x/a', false]],
  },
  {
    name: 'namespaceSelector and podSelector as two peers: union',
    policies: [np('x', 'or', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }, { podSelector: { matchLabels: { app: 'api' } } }] }] })],
    checks: [['y/a', 'x/a', true], ['y/b', 'x/a', true], ['x/b', 'x/a', true], ['x/c', 'x/a', false], ['z/b', 'x/a', false]],
  },
  {
    name: 'empty namespaceSelector means every namespace',
    policies: [np('x', 'all-ns-api', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'api' } } }] }] })],
    checks: [['y/b', 'x/a', true], ['x/b', 'x/a', true], ['z/b', 'x/a', false]],
  },
  {
    name: 'ipBlock with except',
    policies: [np('x', 'block', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.1.0/24'] } }] }] })],
    checks: [['x/b', 'x/a', true], ['z/a', 'x/a', true], ['y/a', 'x/a', false], [EXT, 'x/a', false], ['r/remote', 'x/a', false], ['z/a', 'x/a', false, { family: 6 }]],
  },
  {
    name: 'ipBlock 0.0.0.0/0 except: the /0 is split for ipset, the except still holds',
    policies: [np('x', 'world', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.2.0/24', '203.0.113.0/24'] } }] }] })],
    checks: [['x/a', 'y/a', true], ['x/a', 'r/remote', true], ['x/a', 'z/a', false], ['x/a', EXT, false], ['x/a', { ip: '198.51.100.1' }, true], ['x/a', 'y/a', false, { family: 6 }]],
  },
  {
    name: 'IPv6 ipBlock applies to IPv6 only',
    policies: [np('x', 'v6', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: 'fd00::1:0/112' } }] }] })],
    checks: [['y/a', 'x/a', true, { family: 6 }], ['y/a', 'x/a', false], ['z/a', 'x/a', false, { family: 6 }], [EXT6, 'x/a', false, { family: 6 }]],
  },
  {
    name: 'numeric ports: only the listed port and protocol',
    policies: [np('x', 'port80', { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] })],
    checks: [['y/a', 'x/a', true], ['y/a', 'x/a', false, TCP81], ['y/a', 'x/a', false, UDP80], [EXT, 'x/a', true]],
  },
  {
    name: 'protocol without port: every port of that protocol',
    policies: [np('x', 'udp', { podSelector: {}, ingress: [{ ports: [{ protocol: 'UDP' }] }] })],
    checks: [['y/a', 'x/a', true, UDP80], ['y/a', 'x/a', true, { proto: 'udp', port: 5353 }], ['y/a', 'x/a', false]],
  },
  {
    name: 'endPort: a range of ports',
    policies: [np('x', 'range', { podSelector: {}, ingress: [{ ports: [{ protocol: 'TCP', port: 80, endPort: 90 }] }] })],
    checks: [['y/a', 'x/a', true], ['y/a', 'x/a', true, TCP81], ['y/a', 'x/a', true, { port: 90 }], ['y/a', 'x/a', false, { port: 91 }], ['y/a', 'x/a', false, { port: 79 }]],
  },
  {
    name: 'SCTP port',
    policies: [np('x', 'sctp', { podSelector: {}, ingress: [{ ports: [{ protocol: 'SCTP', port: 80 }] }] })],
    checks: [['y/a', 'x/a', true, SCTP80], ['y/a', 'x/a', false], ['y/a', 'x/a', false, UDP80]],
  },
  {
    name: 'named port resolves on the destination pod (ingress)',
    policies: [np('x', 'named', { podSelector: {}, ingress: [{ ports: [{ port: 'serve-81-tcp' }, { protocol: 'UDP', port: 'serve-80-udp' }] }] })],
    checks: [['y/a', 'x/a', true, TCP81], ['y/a', 'x/a', false], ['y/a', 'x/b', true, UDP80], ['y/a', 'x/b', false, { proto: 'udp', port: 81 }]],
  },
  {
    name: 'named port with a different number on different pods',
    policies: [np('x', 'http', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ ports: [{ port: 'http' }] }] })],
    checks: [['y/a', 'x/a', true, { port: 80 }], ['y/a', 'x/a', false, { port: 8080 }], ['y/a', 'x/c', true, { port: 8080 }], ['y/a', 'x/c', false, { port: 80 }]],
  },
  {
    name: 'named port the pod does not have: the rule allows nothing',
    policies: [np('y', 'missing', { podSelector: { matchLabels: { pod: 'c' } }, ingress: [{ ports: [{ port: 'http' }] }] })],
    checks: [['x/a', 'y/c', false], ['x/a', 'y/c', false, { port: 8080 }]],
  },
  {
    name: 'named port protocol must match the container port',
    policies: [np('x', 'proto-mismatch', { podSelector: {}, ingress: [{ ports: [{ protocol: 'UDP', port: 'serve-80-tcp' }] }] })],
    checks: [['y/a', 'x/a', false, UDP80], ['y/a', 'x/a', false]],
  },
  {
    name: 'egress named port resolves per destination pod',
    policies: [np('y', 'egress-http', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'http' }] }] })],
    checks: [['y/a', 'x/a', true, { port: 80 }], ['y/a', 'x/c', true, { port: 8080 }], ['y/a', 'x/a', false, { port: 8080 }], ['y/a', 'x/c', false, { port: 80 }], ['y/a', 'r/remote', true, { port: 9000 }], ['y/a', 'x/b', false, { port: 80 }], ['y/a', EXT, false, { port: 80 }]],
  },
  {
    name: 'egress named port with an ipBlock peer: pods inside the block only',
    policies: [np('y', 'egress-block-http', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/24' } }], ports: [{ port: 'http' }] }] })],
    checks: [['y/a', 'x/a', true, { port: 80 }], ['y/a', 'x/c', true, { port: 8080 }], ['y/a', 'r/remote', false, { port: 9000 }], ['y/a', { ip: '10.0.0.200' }, false, { port: 80 }]],
  },
  {
    name: 'policyTypes defaulting: egress rules present means Egress too',
    policies: [np('x', 'default-types', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [], egress: [{ to: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] })],
    checks: [['x/a', 'x/b', true], ['x/a', 'x/c', false], ['x/c', 'x/a', false]],
  },
  {
    name: 'policyTypes defaulting: an empty egress list does not isolate egress',
    policies: [np('x', 'ingress-only', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [], egress: [] })],
    checks: [['x/a', 'x/c', true], ['x/c', 'x/a', false]],
  },
  {
    name: 'explicit Egress with no rules denies all egress',
    policies: [np('x', 'deny-egress-a', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'] })],
    checks: [['x/a', 'x/b', false], ['x/b', 'x/a', true]],
  },
  {
    name: 'union of policies selecting the same pod',
    policies: [
      np('x', 'p1', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] }),
      np('x', 'p2', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'c' } } }], ports: [{ port: 81 }] }] }),
    ],
    checks: [['x/b', 'x/a', true], ['x/c', 'x/a', true, TCP81], ['x/c', 'x/a', false], ['y/a', 'x/a', false]],
  },
  {
    name: 'both egress of the sender and ingress of the receiver are required',
    policies: [np('x', 'a-egress-b', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] }), np('x', 'b-deny', { podSelector: { matchLabels: { pod: 'b' } }, ingress: [] })],
    checks: [['x/a', 'x/b', false], ['x/a', 'x/c', false]],
  },
  {
    name: 'replies to allowed connections pass; INVALID is dropped',
    policies: [denyIngress('x'), np('x', 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] })],
    checks: [['y/a', 'x/a', true, { ct: 'ESTABLISHED' }], ['x/a', 'y/a', true, { ct: 'ESTABLISHED' }], ['x/a', 'y/a', true, { ct: 'RELATED' }], ['y/a', 'z/a', false, { ct: 'INVALID' }], ['y/a', 'x/a', false]],
  },
  {
    name: 'traffic from the node is always allowed (OUTPUT, and FORWARD from a node address)',
    policies: [denyIngress('x')],
    checks: [['node', 'x/a', true], [{ ip: NODE4 }, 'x/a', true], [{ ip: NODE6 }, 'x/a', true, { family: 6 }], ['x/a', 'node', true]],
  },
  {
    name: 'pod to its node is always allowed, even when egress-isolated',
    policies: [np('x', 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] })],
    checks: [['x/a', 'node', true], ['x/a', 'node', true, { family: 6 }], ['x/a', 'y/a', false]],
  },
  {
    name: 'INPUT: a pod cannot spoof another source address',
    policies: [],
    checks: [['x/a', 'node', false, { src: '10.0.1.1' }], ['x/a', 'node', true]],
  },
  {
    name: 'traffic not touching a pod interface is left alone',
    policies: [denyIngress('x'), np('x', 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] })],
    checks: [[EXT, { ip: '198.51.100.7' }, true], [EXT, 'node', true]],
  },
  {
    name: 'a policy in another namespace does not select pods here',
    policies: [np('y', 'deny', { podSelector: {}, ingress: [] })],
    checks: [['z/a', 'x/a', true], ['z/a', 'y/a', false]],
  },
  {
    name: 'host-network pods are not peers of podSelector',
    policies: [np('y', 'from-web', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'web' } } }] }] })],
    checks: [['x/a', 'y/b', true], ['r/remote', 'y/b', true], [{ ip: '192.0.2.11' }, 'y/b', false]],
  },
  {
    name: 'an invalid rule allows nothing, the policy still isolates (fail-closed)',
    policies: [np('x', 'broken', { podSelector: {}, ingress: [{ ports: [{ port: 80, endPort: 70 }] }, { from: [{ ipBlock: { cidr: 'not-a-cidr' } }] }] })],
    checks: [['y/a', 'x/a', false], ['y/a', 'x/a', false, { port: 75 }]],
  },
  {
    name: 'unknown policyTypes isolate both directions (fail-closed)',
    policies: [np('x', 'bad-type', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Sideways' as 'Ingress'], ingress: [{}] })],
    checks: [['y/a', 'x/a', false], ['x/a', 'y/a', false], ['y/a', 'x/b', true]],
  },
  {
    name: 'ingress allow-all rule ({}) allows everything to the selected pods',
    policies: [denyIngress('x'), np('x', 'allow-all', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{}] })],
    checks: [['y/a', 'x/a', true], [EXT, 'x/a', true, UDP80], ['y/a', 'x/b', false]],
  },
];

describe('policy semantics (compiled rules walked by a packet simulator)', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const sim = new SimCluster(cluster(c.policies), { ifacePrefix: 'tt', nodeAddresses: [NODE4, NODE6] });
      const wrong: string[] = [];
      for (const [from, to, allowed, opts] of c.checks) {
        const r = sim.probe(from, to, opts);
        if ((r.verdict === 'ACCEPT') !== allowed) {
          wrong.push(`${JSON.stringify(from)} -> ${JSON.stringify(to)} ${JSON.stringify(opts ?? {})}: expected ${allowed ? 'allowed' : 'dropped'}, got ${r.verdict}\n    ${r.trace.join('\n    ')}`);
        }
      }
      expect(wrong, wrong.join('\n')).to.deep.equal([]);
    });
  }

  it('an interface with our prefix that is not programmed is dropped both ways (fail-closed)', () => {
    const sim = new SimCluster(cluster([]), { ifacePrefix: 'tt', nodeAddresses: [NODE4] });
    const base = { family: 4 as const, proto: 'tcp' as const, dport: 80, ct: 'NEW' as const };
    expect(sim.probe('x/a', 'y/a').verdict).to.equal('ACCEPT');
    for (const ifName of ['ttffffnew', 'tt9', 'tt']) {
      const out = simulateVia(sim, 'FORWARD', { ...base, src: '10.0.7.7', dst: '10.0.0.1', inIf: ifName, outIf: sim.compiled.resolved.pods.get('x/a')?.ifName });
      const into = simulateVia(sim, 'FORWARD', { ...base, src: '10.0.0.1', dst: '10.0.7.7', inIf: sim.compiled.resolved.pods.get('x/a')?.ifName, outIf: ifName });
      const toNode = simulateVia(sim, 'INPUT', { ...base, src: '10.0.7.7', dst: NODE4, inIf: ifName });
      expect([out, into, toNode], ifName).to.deep.equal(['DROP', 'DROP', 'DROP']);
    }
  });
});

function simulateVia(sim: SimCluster, hook: 'FORWARD' | 'INPUT', pkt: Packet): string {
  return simulate(sim.nf, hook, pkt).verdict;
}
