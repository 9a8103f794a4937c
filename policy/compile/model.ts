/**
 * The input model of policy compilation: the parts of Kubernetes Namespaces,
 * Pods and networking.k8s.io/v1 NetworkPolicies that enforcement needs, plus
 * the CNI attachment of each pod wired on this node.
 *
 * Field names follow the Kubernetes API so that a manifest or an informer
 * object maps onto them one to one. Everything is read-only data; no I/O.
 */

export type Labels = Readonly<Record<string, string>>;

/** Label selector operators (metav1.LabelSelectorOperator). */
export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values?: readonly string[];
}

/** metav1.LabelSelector. An empty selector (`{}`) selects everything. */
export interface LabelSelector {
  readonly matchLabels?: Labels;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

/** core/v1 Protocol values a NetworkPolicy may name. */
export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

/** One entry of a container's `ports` (core/v1 ContainerPort). */
export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
  /** Default TCP. */
  readonly protocol?: Protocol;
}

/**
 * How a pod is wired on this node: the host-side interface the CNI plugin
 * created (a fixed prefix plus a hash) and the pod's addresses on it.
 */
export interface Attachment {
  readonly ifName: string;
  readonly ips: readonly string[];
}

export interface NamespaceInfo {
  readonly name: string;
  readonly labels?: Labels;
}

export interface PodInfo {
  readonly namespace: string;
  readonly name: string;
  readonly labels?: Labels;
  /** All container ports of all containers (named ports are looked up here). */
  readonly ports?: readonly ContainerPort[];
  /** status.podIPs; merged with the attachment's addresses. */
  readonly ips?: readonly string[];
  /** Host-network pods are neither subject to policy nor pod peers. */
  readonly hostNetwork?: boolean;
  /** Present when the pod is wired on this node. */
  readonly attachment?: Attachment;
}

/** networking/v1 NetworkPolicyPort. `port` is a number or an IANA_SVC_NAME. */
export interface NetworkPolicyPort {
  /** Default TCP. */
  readonly protocol?: Protocol;
  readonly port?: number | string;
  readonly endPort?: number;
}

export interface IPBlock {
  readonly cidr: string;
  readonly except?: readonly string[];
}

/**
 * networking/v1 NetworkPolicyPeer. `namespaceSelector` absent means "the
 * policy's namespace"; present and empty means "every namespace".
 */
export interface NetworkPolicyPeer {
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
  readonly ipBlock?: IPBlock;
}

export interface IngressRule {
  /** Absent or empty: every source. */
  readonly from?: readonly NetworkPolicyPeer[];
  /** Absent or empty: every port and protocol. */
  readonly ports?: readonly NetworkPolicyPort[];
}

export interface EgressRule {
  /** Absent or empty: every destination. */
  readonly to?: readonly NetworkPolicyPeer[];
  readonly ports?: readonly NetworkPolicyPort[];
}

export type PolicyType = 'Ingress' | 'Egress';

export interface NetworkPolicyInfo {
  readonly namespace: string;
  readonly name: string;
  readonly podSelector: LabelSelector;
  /** Absent or empty: defaulted (see policyTypesOf). */
  readonly policyTypes?: readonly PolicyType[];
  readonly ingress?: readonly IngressRule[];
  readonly egress?: readonly EgressRule[];
}

/** Everything the compiler sees at one moment. */
export interface ClusterState {
  readonly namespaces: readonly NamespaceInfo[];
  readonly pods: readonly PodInfo[];
  readonly policies: readonly NetworkPolicyInfo[];
}

/** The label Kubernetes (1.21+) puts on every namespace; we add it too. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export function podKey(p: { namespace: string; name: string }): string {
  return `${p.namespace}/${p.name}`;
}

export function policyKey(p: { namespace: string; name: string }): string {
  return `${p.namespace}/${p.name}`;
}

/**
 * The policy types after API defaulting: as given when non-empty; otherwise
 * Ingress, plus Egress when the policy has at least one egress rule.
 */
export function policyTypesOf(p: NetworkPolicyInfo): { ingress: boolean; egress: boolean } {
  const types = p.policyTypes ?? [];
  if (types.length > 0) return { ingress: types.includes('Ingress'), egress: types.includes('Egress') };
  return { ingress: true, egress: (p.egress ?? []).length > 0 };
}
