/**
 * The bench:policy cluster: N pods (all wired on the node under test) in
 * 10 namespaces and M NetworkPolicies, shaped like a real multi-tenant
 * cluster rather than like a worst case:
 *
 *  - namespace i has labels team=t<i%3>, env=prod|dev;
 *  - pod j of a namespace has app=app-<j%apps>, tier=web|api|db, named
 *    ports http (80 or 8080, so named ports resolve differently), metrics
 *    9090, dns 53/UDP;
 *  - policy k of a namespace selects app-k and allows ingress from app-(k-1)
 *    (matchExpressions In) and from web pods of prod namespaces, on http,
 *    9090 and the bench ports 5201-5210 and 7000; egress to app-(k+1) on
 *    http, to 10.0.0.0/8 except 10.1.0.0/16, and DNS to a team namespace.
 *
 * Pod interfaces are named as the CNI plugin names them (prefix + SHA-1 hex).
 */
import { vethKey, vethName } from '../../cni/spec/naming.js';
import type { ClusterState, NamespaceInfo, NetworkPolicyInfo, PodInfo } from '../../policy/compile/model.js';

/** The CNI plugin's default host-veth prefix. */
export const BENCH_PREFIX = 'tortie';
export const IPERF_PORT = 5201;
export const CONN_PORT = 7000;

/** The host veth name the CNI plugin gives pod `key` (namespace/name). */
export function ifNameFor(prefix: string, key: string): string {
  const [namespace, podName] = key.split('/');
  return vethName(prefix, vethKey('', 'eth0', { namespace, podName }));
}

/** 198.18.0.0/15 (RFC 2544, benchmarking) + n. */
export function benchIp(n: number): string {
  return `198.${18 + ((n >> 16) & 1)}.${(n >> 8) & 0xff}.${n & 0xff}`;
}

export interface Scenario {
  state: ClusterState;
  namespaces: NamespaceInfo[];
  pods: PodInfo[];
  policies: NetworkPolicyInfo[];
}

export function buildScenario(podCount: number, policyCount: number, opts: { prefix?: string; namespaces?: number } = {}): Scenario {
  const prefix = opts.prefix ?? BENCH_PREFIX;
  const nsCount = opts.namespaces ?? 10;
  const podsPerNs = Math.ceil(podCount / nsCount);
  const policiesPerNs = Math.ceil(policyCount / nsCount);
  const apps = Math.max(1, policiesPerNs);
  const namespaces: NamespaceInfo[] = [];
  for (let i = 0; i < nsCount; i++) namespaces.push({ name: `ns-${i}`, labels: { team: `t${i % 3}`, env: i % 2 === 0 ? 'prod' : 'dev' } });
  const pods: PodInfo[] = [];
  let n = 1;
  for (let i = 0; i < nsCount && pods.length < podCount; i++) {
    for (let j = 0; j < podsPerNs && pods.length < podCount; j++) {
      const ns = `ns-${i}`;
      const name = `pod-${j}`;
      pods.push(podFor(prefix, ns, name, j, apps, benchIp(n++)));
    }
  }
  const policies: NetworkPolicyInfo[] = [];
  for (let i = 0; i < nsCount && policies.length < policyCount; i++) {
    for (let k = 0; k < policiesPerNs && policies.length < policyCount; k++) policies.push(policyFor(`ns-${i}`, k, apps, i));
  }
  return { state: { namespaces, pods, policies }, namespaces, pods, policies };
}

export function podFor(prefix: string, ns: string, name: string, j: number, apps: number, ip: string): PodInfo {
  return {
    namespace: ns,
    name,
    labels: { app: `app-${j % apps}`, tier: ['web', 'api', 'db'][j % 3], pod: name },
    ports: [
      { name: 'http', containerPort: j % 2 === 0 ? 80 : 8080, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
      { name: 'dns', containerPort: 53, protocol: 'UDP' },
    ],
    attachment: { ifName: ifNameFor(prefix, `${ns}/${name}`), ips: [ip] },
  };
}

export function policyFor(ns: string, k: number, apps: number, nsIndex: number, variant = 0): NetworkPolicyInfo {
  return {
    namespace: ns,
    name: `pol-${k}`,
    podSelector: { matchLabels: { app: `app-${k}` } },
    policyTypes: ['Ingress', 'Egress'],
    ingress: [
      {
        from: [{ podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: [`app-${(k + apps - 1) % apps}`] }] } }],
        ports: [
          { protocol: 'TCP', port: 'http' },
          { protocol: 'TCP', port: 9090 + variant },
          { protocol: 'TCP', port: IPERF_PORT, endPort: IPERF_PORT + 9 },
          { protocol: 'TCP', port: CONN_PORT },
        ],
      },
      { from: [{ namespaceSelector: { matchLabels: { env: 'prod' } }, podSelector: { matchLabels: { tier: 'web' } } }], ports: [{ protocol: 'TCP', port: 'http' }] },
    ],
    egress: [
      { to: [{ podSelector: { matchLabels: { app: `app-${(k + 1) % apps}` } } }], ports: [{ protocol: 'TCP', port: 'http' }, { protocol: 'TCP', port: IPERF_PORT, endPort: IPERF_PORT + 9 }, { protocol: 'TCP', port: CONN_PORT }] },
      { to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }] },
      { to: [{ namespaceSelector: { matchLabels: { team: `t${nsIndex % 3}` } } }], ports: [{ protocol: 'UDP', port: 53 }] },
    ],
  };
}
