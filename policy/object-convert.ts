/**
 * One Kubernetes object (as JSON: a parsed manifest document, a watch
 * event's object, or a client-node model with the same field names) ->
 * the policy input model. Both policy sources use it, so a manifest and the
 * same object served by the API server convert identically:
 * manifest-parse.ts (a directory of YAML) and agent/k8s/policy-source.ts
 * (informers).
 *
 * Reads Namespaces (labels), Pods (labels, container ports, status.podIPs /
 * podIP, hostNetwork) and networking.k8s.io/v1 NetworkPolicies; every other
 * kind converts to nothing. Pure, no I/O; never throws for bad input.
 *
 * Handling is fail-closed, and each problem is one issue with the field's
 * path (the manifest parser turns that path into a line and column):
 *   - without a usable metadata.name the object is ignored;
 *   - a malformed Namespace or Pod field ignores that object;
 *   - a NetworkPolicy without a usable spec.podSelector is ignored; with a
 *     malformed rule it keeps isolating the pods it selects but allows
 *     nothing (its rules are dropped).
 * Semantic checks (ports, CIDRs, selector operators) are compile/validate.ts's.
 *
 * Pods in phase Succeeded or Failed keep no addresses: their IPs may already
 * belong to a new pod, which must not be allowed as the finished one.
 */
import type {
  ContainerPort,
  EgressRule,
  IngressRule,
  IPBlock,
  LabelSelector,
  LabelSelectorRequirement,
  NamespaceInfo,
  NetworkPolicyInfo,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  PodInfo,
  PolicyType,
  Protocol,
  SelectorOperator,
} from './compile/model.js';

/** A problem with one object: `path` is the field (e.g. `spec.ingress[0].ports[1].port`), '' for the whole object. */
export interface ConvertIssue {
  readonly path: string;
  readonly message: string;
  /** e.g. `NetworkPolicy x/deny-all`, when the object's name is known. */
  readonly object?: string;
}

/**
 * What one object converted to: at most one of namespace, pod and policy
 * (none for another kind, or an object refused), and the issue that came up.
 * A NetworkPolicy kept fail-closed has both `policy` and `issue`.
 */
export interface Converted {
  readonly namespace?: NamespaceInfo;
  readonly pod?: PodInfo;
  readonly policy?: NetworkPolicyInfo;
  readonly issue?: ConvertIssue;
}

/** The kinds converted. */
export const POLICY_KINDS = ['Namespace', 'Pod', 'NetworkPolicy'] as const;
export type PolicyKind = (typeof POLICY_KINDS)[number];

type Json = unknown;

class BadField extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

export const isJsonObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

function obj(v: Json, path: string): Record<string, Json> {
  if (!isJsonObject(v)) throw new BadField(path, `expected a mapping, got ${kindOf(v)}`);
  return v;
}

function optObj(v: Json, path: string): Record<string, Json> | undefined {
  return v === undefined || v === null ? undefined : obj(v, path);
}

function list(v: Json, path: string): Json[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new BadField(path, `expected a list, got ${kindOf(v)}`);
  return v as Json[];
}

function str(v: Json, path: string): string {
  if (typeof v !== 'string') throw new BadField(path, `expected a string, got ${kindOf(v)}`);
  return v;
}

function optStr(v: Json, path: string): string | undefined {
  return v === undefined || v === null ? undefined : str(v, path);
}

function int(v: Json, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new BadField(path, `expected an integer, got ${kindOf(v)}`);
  return v;
}

/** "a list", "a mapping", `string "x"`: for messages. */
export function kindOf(v: Json): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function labels(v: Json, path: string): Record<string, string> {
  const o = optObj(v, path) ?? {};
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(o)) {
    // Kubernetes label values are strings; YAML may have read `true` or `1`.
    if (typeof val === 'string') out[k] = val;
    else if (typeof val === 'number' || typeof val === 'boolean') out[k] = String(val);
    else throw new BadField(`${path}.${k}`, `expected a string label value, got ${kindOf(val)}`);
  }
  return out;
}

function selector(v: Json, path: string): LabelSelector {
  const o = optObj(v, path) ?? {};
  const matchExpressions = list(o.matchExpressions, `${path}.matchExpressions`).map((e, i): LabelSelectorRequirement => {
    const at = `${path}.matchExpressions[${i}]`;
    const r = obj(e, at);
    const values = r.values === undefined || r.values === null ? undefined : list(r.values, `${at}.values`).map((x, j) => (typeof x === 'number' || typeof x === 'boolean' ? String(x) : str(x, `${at}.values[${j}]`)));
    return { key: str(r.key, `${at}.key`), operator: str(r.operator, `${at}.operator`) as SelectorOperator, ...(values ? { values } : {}) };
  });
  const ml = o.matchLabels === undefined || o.matchLabels === null ? undefined : labels(o.matchLabels, `${path}.matchLabels`);
  return { ...(ml ? { matchLabels: ml } : {}), ...(matchExpressions.length ? { matchExpressions } : {}) };
}

function protocol(v: Json, path: string): Protocol | undefined {
  return optStr(v, path) as Protocol | undefined;
}

function policyPort(v: Json, path: string): NetworkPolicyPort {
  const o = obj(v, path);
  let port: number | string | undefined;
  if (typeof o.port === 'number') port = int(o.port, `${path}.port`);
  else if (o.port !== undefined && o.port !== null) port = str(o.port, `${path}.port`);
  const proto = protocol(o.protocol, `${path}.protocol`);
  const endPort = o.endPort === undefined || o.endPort === null ? undefined : int(o.endPort, `${path}.endPort`);
  return { ...(proto ? { protocol: proto } : {}), ...(port !== undefined ? { port } : {}), ...(endPort !== undefined ? { endPort } : {}) };
}

function peer(v: Json, path: string): NetworkPolicyPeer {
  const o = obj(v, path);
  const out: { podSelector?: LabelSelector; namespaceSelector?: LabelSelector; ipBlock?: IPBlock } = {};
  // Present-but-empty (`podSelector: {}`) differs from absent: keep the difference.
  if (o.podSelector !== undefined && o.podSelector !== null) out.podSelector = selector(o.podSelector, `${path}.podSelector`);
  if (o.namespaceSelector !== undefined && o.namespaceSelector !== null) out.namespaceSelector = selector(o.namespaceSelector, `${path}.namespaceSelector`);
  if (o.ipBlock !== undefined && o.ipBlock !== null) {
    const b = obj(o.ipBlock, `${path}.ipBlock`);
    const except = list(b.except, `${path}.ipBlock.except`).map((e, i) => str(e, `${path}.ipBlock.except[${i}]`));
    out.ipBlock = { cidr: str(b.cidr, `${path}.ipBlock.cidr`), ...(except.length ? { except } : {}) };
  }
  return out;
}

function rules(v: Json, path: string, peersKey: 'from' | 'to'): { peers: NetworkPolicyPeer[] | undefined; ports: NetworkPolicyPort[] | undefined }[] {
  return list(v, path).map((r, i) => {
    const at = `${path}[${i}]`;
    const o = optObj(r, at) ?? {};
    const peers = o[peersKey] === undefined || o[peersKey] === null ? undefined : list(o[peersKey], `${at}.${peersKey}`).map((p, j) => peer(p, `${at}.${peersKey}[${j}]`));
    const ports = o.ports === undefined || o.ports === null ? undefined : list(o.ports, `${at}.ports`).map((p, j) => policyPort(p, `${at}.ports[${j}]`));
    return { peers, ports };
  });
}

function convertPod(v: Record<string, Json>, meta: Record<string, Json>, namespace: string, name: string): PodInfo {
  const spec = optObj(v.spec, 'spec') ?? {};
  const status = optObj(v.status, 'status') ?? {};
  const ports: ContainerPort[] = [];
  list(spec.containers, 'spec.containers').forEach((c, i) => {
    const co = obj(c, `spec.containers[${i}]`);
    list(co.ports, `spec.containers[${i}].ports`).forEach((p, j) => {
      const at = `spec.containers[${i}].ports[${j}]`;
      const po = obj(p, at);
      const pname = optStr(po.name, `${at}.name`);
      const proto = protocol(po.protocol, `${at}.protocol`);
      ports.push({ containerPort: int(po.containerPort, `${at}.containerPort`), ...(pname ? { name: pname } : {}), ...(proto ? { protocol: proto } : {}) });
    });
  });
  const ips = list(status.podIPs, 'status.podIPs').map((e, i) => str(obj(e, `status.podIPs[${i}]`).ip, `status.podIPs[${i}].ip`));
  const single = optStr(status.podIP, 'status.podIP');
  if (single !== undefined && single !== '' && !ips.includes(single)) ips.unshift(single);
  const finished = status.phase === 'Succeeded' || status.phase === 'Failed';
  return {
    namespace,
    name,
    labels: labels(meta.labels, 'metadata.labels'),
    ports,
    ...(ips.length && !finished ? { ips } : {}),
    ...(spec.hostNetwork === true ? { hostNetwork: true } : {}),
  };
}

function convertPolicy(spec: Record<string, Json>, namespace: string, name: string, label: string): Converted {
  if (spec.podSelector === undefined || spec.podSelector === null) throw new BadField('spec.podSelector', 'required (use {} to select every pod)');
  const podSelector = selector(spec.podSelector, 'spec.podSelector');
  const policyTypes = list(spec.policyTypes, 'spec.policyTypes').map((t, i) => str(t, `spec.policyTypes[${i}]`) as PolicyType);
  try {
    const ingress: IngressRule[] = rules(spec.ingress, 'spec.ingress', 'from').map((r) => ({ ...(r.peers ? { from: r.peers } : {}), ...(r.ports ? { ports: r.ports } : {}) }));
    const egress: EgressRule[] = rules(spec.egress, 'spec.egress', 'to').map((r) => ({ ...(r.peers ? { to: r.peers } : {}), ...(r.ports ? { ports: r.ports } : {}) }));
    return { policy: { namespace, name, podSelector, ...(policyTypes.length ? { policyTypes } : {}), ingress, egress } };
  } catch (err) {
    if (!(err instanceof BadField)) throw err;
    // Fail closed: keep isolating what it selects, allow nothing.
    const types: PolicyType[] = policyTypes.length ? policyTypes : ['Ingress', ...(spec.egress !== undefined && spec.egress !== null ? (['Egress'] as const) : [])];
    return {
      policy: { namespace, name, podSelector, policyTypes: types, ingress: [], egress: [] },
      issue: { path: err.path, message: `${err.message}; its rules are ignored (the pods it selects stay isolated)`, object: label },
    };
  }
}

/**
 * Converts one object. `kind` is read from the object; an object without
 * one (client-node's list items lose it) takes `kindHint`. A namespaced
 * object without metadata.namespace is in `default`, as kubectl would put it.
 */
export function convertObject(v: Json, kindHint?: PolicyKind): Converted {
  if (!isJsonObject(v)) return {};
  const kind = typeof v.kind === 'string' && v.kind !== '' ? v.kind : kindHint;
  if (kind !== 'Namespace' && kind !== 'Pod' && kind !== 'NetworkPolicy') return {};
  let meta: Record<string, Json>;
  let name: string;
  try {
    meta = obj(v.metadata, 'metadata');
    name = str(meta.name, 'metadata.name');
  } catch (err) {
    if (err instanceof BadField) return { issue: { path: err.path, message: `${err.message}; ${kind} ignored` } };
    return { issue: { path: '', message: `${String(err)}; ${kind} ignored` } };
  }
  const namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
  const label = kind === 'Namespace' ? `Namespace ${name}` : `${kind} ${namespace}/${name}`;
  try {
    if (kind === 'Namespace') return { namespace: { name, labels: labels(meta.labels, 'metadata.labels') } };
    if (kind === 'Pod') return { pod: convertPod(v, meta, namespace, name) };
    return convertPolicy(obj(v.spec, 'spec'), namespace, name, label);
  } catch (err) {
    const path = err instanceof BadField ? err.path : '';
    const message = err instanceof Error ? err.message : String(err);
    return { issue: { path, message: `${message}; ${label} ignored`, object: label } };
  }
}
