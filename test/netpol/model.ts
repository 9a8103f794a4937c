/**
 * The cluster model of the upstream e2e network policy tests (and of
 * cyclonus): namespaces x, y, z, each with pods a, b, c; each pod serves
 * TCP and UDP (and SCTP where the kernel has it) on ports 80 and 81, with
 * the named container ports serve-80-tcp, serve-81-udp, ….
 * Namespaces carry `ns: <name>`, pods `pod: <name>`, as upstream.
 */
import { stringify } from 'yaml';
import { vethKey, vethName } from '../../cni/spec/naming.js';
import type { Labels, NetworkPolicyInfo, PodInfo, Protocol } from '../../policy/compile/model.js';

export const NAMESPACES = ['x', 'y', 'z'] as const;
export const POD_NAMES = ['a', 'b', 'c'] as const;
export const PORTS = [80, 81] as const;
export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

export type Ns = (typeof NAMESPACES)[number];
export type PodName = (typeof POD_NAMES)[number];

/** x/a, x/b, … z/c in a fixed order (rows and columns of every truth table). */
export const ALL_PODS: readonly string[] = NAMESPACES.flatMap((ns) => POD_NAMES.map((p) => `${ns}/${p}`));

export function containerPorts(): { name: string; containerPort: number; protocol: Protocol }[] {
  return PORTS.flatMap((port) => PROTOCOLS.map((protocol) => ({ name: `serve-${port}-${protocol.toLowerCase()}`, containerPort: port, protocol })));
}

/** Pod addresses: 192.0.2.0/24 and 2001:db8:1::/64 (documentation ranges), one per pod. */
export function podAddresses(key: string): { ip4: string; ip6: string } {
  const i = ALL_PODS.indexOf(key);
  if (i < 0) throw new Error(`not a model pod: ${key}`);
  return { ip4: `192.0.2.${11 + i}`, ip6: `2001:db8:1::${(11 + i).toString(16)}` };
}

/** The node's own address (on its loopback). */
export const NODE_IP4 = '198.51.100.1';
export const NODE_IP6 = '2001:db8:ff::1';

export interface ModelState {
  /** Extra namespace labels (added by "updated namespace" steps). */
  readonly nsLabels?: Readonly<Record<string, Labels>>;
  /** Extra pod labels, by pod key. */
  readonly podLabels?: Readonly<Record<string, Labels>>;
}

export function namespaceLabels(ns: string, s: ModelState = {}): Labels {
  return { ns, ...(s.nsLabels?.[ns] ?? {}) };
}

export function podLabels(key: string, s: ModelState = {}): Labels {
  return { pod: key.split('/')[1], ...(s.podLabels?.[key] ?? {}) };
}

/** The model's pods as the policy input model (without attachments). */
export function modelPods(s: ModelState = {}): PodInfo[] {
  return ALL_PODS.map((key) => {
    const [namespace, name] = key.split('/');
    const a = podAddresses(key);
    return { namespace, name, labels: podLabels(key, s), ports: containerPorts(), ips: [a.ip4, a.ip6] };
  });
}

/** Namespaces and pods as Kubernetes YAML (what the manifest directory holds). */
export function clusterManifest(s: ModelState = {}): string {
  const docs: unknown[] = [];
  for (const ns of NAMESPACES) docs.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: namespaceLabels(ns, s) } });
  for (const p of modelPods(s)) {
    docs.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { namespace: p.namespace, name: p.name, labels: p.labels },
      spec: { containers: [{ name: 'cont', image: 'none', ports: (p.ports ?? []).map((c) => ({ name: c.name, containerPort: c.containerPort, protocol: c.protocol })) }] },
      status: { podIPs: (p.ips ?? []).map((ip) => ({ ip })) },
    });
  }
  return docs.map((d) => stringify(d)).join('---\n');
}

/** NetworkPolicies as Kubernetes YAML. */
export function policiesManifest(policies: readonly NetworkPolicyInfo[]): string {
  if (policies.length === 0) return '# no policies\n';
  return policies
    .map((p) =>
      stringify({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { namespace: p.namespace, name: p.name },
        spec: {
          podSelector: p.podSelector,
          ...(p.policyTypes ? { policyTypes: p.policyTypes } : {}),
          ...(p.ingress ? { ingress: p.ingress } : {}),
          ...(p.egress ? { egress: p.egress } : {}),
        },
      }),
    )
    .join('---\n');
}

/** The host-side veth name the tortie CNI plugin gives a pod: prefix + SHA-1 of "<namespace>.<pod>". */
export const VETH_PREFIX = 'tortie';
export function hostIfName(key: string): string {
  const [namespace, podName] = key.split('/');
  return vethName(VETH_PREFIX, vethKey('', 'eth0', { namespace, podName }));
}
