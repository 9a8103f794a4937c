/**
 * A NetworkPolicy reduced to what compilation needs, independent of any
 * pod: validated, policy types defaulted, and each peer turned into a
 * selection key (pods) or a parsed block. Computed once per policy object.
 *
 * Peers (networking.k8s.io/v1):
 *   podSelector only         pods of the policy's namespace
 *   namespaceSelector only   every pod of the selected namespaces
 *   both                     the selected pods of the selected namespaces
 *   ipBlock                  the prefix minus its excepts
 * Absent or empty `from`/`to` is every peer; absent or empty `ports` is
 * every port of every protocol.
 */
import { formatCidr, parseCidr, type Cidr } from './cidr.js';
import { policyKey, policyTypesOf, type LabelSelector, type NetworkPolicyInfo, type NetworkPolicyPeer, type NetworkPolicyPort, type Protocol } from './model.js';
import { canonicalSelector } from './selector.js';
import { validatePolicy, type CompileIssue } from './validate.js';

/** What selects the members of a pod peer set. */
export interface PodSelectionSpec {
  readonly key: string;
  readonly describe: string;
  /** The namespace, when the peer has no namespaceSelector. */
  readonly namespace?: string;
  readonly namespaceSelector?: LabelSelector;
  readonly podSelector?: LabelSelector;
}

export type PeerSpec =
  | ({ readonly kind: 'pods' } & PodSelectionSpec)
  | { readonly kind: 'block'; readonly key: string; readonly describe: string; readonly cidr: Cidr; readonly except: readonly Cidr[] };

export interface RuleSpec {
  /** Index in spec.ingress / spec.egress. */
  readonly index: number;
  /** False when validation dropped the rule: it allows nothing. */
  readonly valid: boolean;
  readonly peers: 'any' | readonly PeerSpec[];
  readonly ports: 'any' | readonly NetworkPolicyPort[];
}

export interface PolicySkeleton {
  readonly key: string;
  readonly namespace: string;
  readonly policy: NetworkPolicyInfo;
  readonly ingress: boolean;
  readonly egress: boolean;
  readonly ingressRules: readonly RuleSpec[];
  readonly egressRules: readonly RuleSpec[];
  /** `name/PROTO` of the named ports in valid ingress rules, sorted. */
  readonly ingressNamedPorts: readonly string[];
  /** True when a valid egress rule names a port. */
  readonly egressNamedPorts: boolean;
  readonly issues: readonly CompileIssue[];
}

export const protoOf = (p: { protocol?: Protocol }): Protocol => p.protocol ?? 'TCP';

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The selection key and description of a pod peer of a policy in `policyNs`. */
export function podSelectionOf(policyNs: string, peer: { podSelector?: LabelSelector; namespaceSelector?: LabelSelector }): PodSelectionSpec {
  const nsScope = peer.namespaceSelector === undefined ? `ns:${policyNs}` : `nssel:${canonicalSelector(peer.namespaceSelector)}`;
  const podScope = peer.podSelector === undefined ? '*' : canonicalSelector(peer.podSelector);
  const nsDesc = peer.namespaceSelector === undefined ? `namespace ${policyNs}` : `namespaces matching {${canonicalSelector(peer.namespaceSelector)}}`;
  const podDesc = peer.podSelector === undefined ? 'all pods' : `pods matching {${podScope}}`;
  return {
    key: `pods|${nsScope}|${podScope}`,
    describe: `${podDesc} in ${nsDesc}`,
    ...(peer.namespaceSelector === undefined ? { namespace: policyNs } : { namespaceSelector: peer.namespaceSelector }),
    ...(peer.podSelector !== undefined ? { podSelector: peer.podSelector } : {}),
  };
}

function peerSpecOf(policyNs: string, peer: NetworkPolicyPeer): PeerSpec | undefined {
  if (peer.ipBlock) {
    const cidr = parseCidr(peer.ipBlock.cidr);
    if (!cidr) return undefined;
    const except = (peer.ipBlock.except ?? []).map((e) => parseCidr(e)).filter((c): c is Cidr => c !== undefined);
    const exText = [...new Set(except.map(formatCidr))].sort(cmp);
    return {
      kind: 'block',
      key: `net|${formatCidr(cidr)}|except=${exText.join(',')}`,
      describe: `ipBlock ${formatCidr(cidr)}${exText.length ? ` except ${exText.join(', ')}` : ''}`,
      cidr,
      except,
    };
  }
  return { kind: 'pods', ...podSelectionOf(policyNs, peer) };
}

function ruleSpecs(
  ns: string,
  dir: 'ingress' | 'egress',
  rules: readonly { peers: readonly NetworkPolicyPeer[] | undefined; ports: readonly NetworkPolicyPort[] | undefined }[],
  invalid: ReadonlySet<string>,
): RuleSpec[] {
  return rules.map((r, index) => {
    if (invalid.has(`${dir}/${index}`)) return { index, valid: false, peers: [], ports: [] };
    const list = r.peers ?? [];
    const peers = list.length === 0 ? 'any' : list.map((p) => peerSpecOf(ns, p)).filter((p): p is PeerSpec => p !== undefined);
    const ports = (r.ports ?? []).length === 0 ? 'any' : (r.ports ?? []);
    return { index, valid: true, peers, ports };
  });
}

/** The skeleton of a policy, or undefined (with issues) when it must be dropped entirely. */
export function skeletonOf(raw: NetworkPolicyInfo): { skeleton: PolicySkeleton | undefined; issues: readonly CompileIssue[] } {
  const v = validatePolicy(raw);
  if (!v.policy) return { skeleton: undefined, issues: v.issues };
  const p = v.policy;
  const types = policyTypesOf(p);
  const ingressRules = ruleSpecs(p.namespace, 'ingress', (p.ingress ?? []).map((r) => ({ peers: r.from, ports: r.ports })), v.invalidRules);
  const egressRules = ruleSpecs(p.namespace, 'egress', (p.egress ?? []).map((r) => ({ peers: r.to, ports: r.ports })), v.invalidRules);
  const named = new Set<string>();
  for (const r of ingressRules) if (r.valid && r.ports !== 'any') for (const pt of r.ports) if (typeof pt.port === 'string') named.add(`${pt.port}/${protoOf(pt)}`);
  const egressNamedPorts = egressRules.some((r) => r.valid && r.ports !== 'any' && r.ports.some((pt) => typeof pt.port === 'string'));
  return {
    skeleton: {
      key: policyKey(p),
      namespace: p.namespace,
      policy: p,
      ingress: types.ingress,
      egress: types.egress,
      ingressRules,
      egressRules,
      ingressNamedPorts: [...named].sort(cmp),
      egressNamedPorts,
      issues: v.issues,
    },
    issues: v.issues,
  };
}
