/**
 * The objects bench:k8s writes to the API server, as plain API JSON.
 *
 *  - Nodes `bench-node-<i>` with a `tortie.io/bgp-address` in 198.19.0.0/16
 *    (RFC 2544 benchmarking space; inside the agent's namespace the whole
 *    198.18.0.0/15 is an `unreachable` route, so no connect leaves it).
 *  - The NetworkPolicy cluster of bench:policy (bench/policy/scenario.ts:
 *    namespaces with team/env labels, pods with app/tier labels and named
 *    container ports, policies with pod, namespace and ipBlock peers and
 *    named ports), turned into Namespaces, Pods (spread over the Nodes, IPs
 *    in 198.18.0.0/16 set through the status subresource, as a kubelet
 *    would) and networking.k8s.io/v1 NetworkPolicies.
 *
 * The test apiserver is Kubernetes 1.20, which has no NetworkPolicyPort
 * `endPort` (1.21+): a port range becomes its first port.
 */
import { ANNOTATION_BGP_ADDRESS } from '../../agent/k8s/types.js';
import type { NetworkPolicyInfo, NetworkPolicyPort, PodInfo } from '../../policy/compile/model.js';
import { buildScenario } from '../policy/scenario.js';

export const NODE_PREFIX = 'bench-node-';

/** 198.19.0.0/16 + n (n < 65536). */
export function nodeAddress(n: number): string {
  return `198.19.${(n >> 8) & 0xff}.${n & 0xff}`;
}

export interface NodeBody {
  apiVersion: 'v1';
  kind: 'Node';
  metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
}

export function nodeBody(i: number): NodeBody {
  const name = `${NODE_PREFIX}${i}`;
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, rack: `r${i % 20}` }, annotations: { [ANNOTATION_BGP_ADDRESS]: nodeAddress(i) } },
  };
}

export interface LocalPod {
  namespace: string;
  name: string;
  ip: string;
}

export interface PolicyCluster {
  /** Pods on the agent's node (every `nodes`-th): the bench registers their attachments, as the CNI plugin would. */
  local: LocalPod[];
  namespaces: { apiVersion: 'v1'; kind: 'Namespace'; metadata: { name: string; labels: Record<string, string> } }[];
  pods: { body: Record<string, unknown>; namespace: string; name: string; ip: string; status: Record<string, unknown> }[];
  policies: { body: Record<string, unknown>; namespace: string }[];
}

function portsWithoutRange(ports: readonly NetworkPolicyPort[] | undefined): NetworkPolicyPort[] | undefined {
  return ports?.map((p) => ({ ...(p.protocol ? { protocol: p.protocol } : {}), ...(p.port !== undefined ? { port: p.port } : {}) }));
}

function policyBody(p: NetworkPolicyInfo): Record<string, unknown> {
  return {
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy',
    metadata: { name: p.name, namespace: p.namespace },
    spec: {
      podSelector: p.podSelector,
      policyTypes: p.policyTypes,
      ingress: p.ingress?.map((r) => ({ ...r, ports: portsWithoutRange(r.ports) })),
      egress: p.egress?.map((r) => ({ ...r, ports: portsWithoutRange(r.ports) })),
    },
  };
}

function podBody(p: PodInfo, nodeName: string): Record<string, unknown> {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: p.name, namespace: p.namespace, labels: p.labels },
    spec: {
      nodeName,
      containers: [{ name: 'app', image: 'registry.example/app:1.0', ports: p.ports?.map((x) => ({ ...x })) }],
    },
  };
}

/**
 * `pods` pods in `namespaces` namespaces and `policies` NetworkPolicies,
 * pods spread over `nodes` Nodes, where `localNode` (the agent's) takes the
 * place of bench-node-0.
 */
export function policyCluster(pods: number, policies: number, namespaces: number, nodes: number, localNode: string): PolicyCluster {
  const s = buildScenario(pods, policies, { namespaces });
  const n = Math.max(1, nodes);
  const nodeOf = (i: number): string => (i % n === 0 ? localNode : `${NODE_PREFIX}${i % n}`);
  return {
    local: s.pods.filter((_, i) => i % n === 0).map((p) => ({ namespace: p.namespace, name: p.name, ip: p.attachment?.ips[0] ?? '' })),
    namespaces: s.namespaces.map((n) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: n.name, labels: { ...n.labels } } })),
    pods: s.pods.map((p, i) => {
      const ip = p.attachment?.ips[0] ?? '';
      return {
        namespace: p.namespace, name: p.name, ip, body: podBody(p, nodeOf(i)),
        status: { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } },
      };
    }),
    policies: s.policies.map((p) => ({ namespace: p.namespace, body: policyBody(p) })),
  };
}
