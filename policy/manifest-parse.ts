/**
 * Kubernetes YAML (or JSON) manifests -> the policy input model. Reads
 * Namespaces, Pods (labels, container ports, status.podIPs, hostNetwork)
 * and networking.k8s.io/v1 NetworkPolicies, also inside `kind: List`;
 * every other kind is ignored. No I/O: text in, objects and issues out.
 *
 * Problems are reported as `file:line:col: path: message`, and handled
 * fail-closed:
 *   - a document that is not valid YAML contributes nothing (the source
 *     keeps the file's last good version, see manifest-source.ts);
 *   - a NetworkPolicy with a malformed rule keeps isolating the pods it
 *     selects but allows nothing (its rules are dropped); without a
 *     usable metadata.name or spec.podSelector it is dropped;
 *   - semantic checks (ports, CIDRs, selectors) are validate.ts's, with
 *     the same fail-closed handling per rule.
 */
import { isMap, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
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

export interface ManifestIssue {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Object, e.g. `NetworkPolicy x/deny-all`, when known. */
  readonly object?: string;
  readonly path: string;
  readonly message: string;
}

export interface ManifestObjects {
  readonly namespaces: NamespaceInfo[];
  readonly pods: PodInfo[];
  readonly policies: NetworkPolicyInfo[];
}

export interface ParsedManifests extends ManifestObjects {
  readonly issues: ManifestIssue[];
  /** False when some document did not parse as YAML at all. */
  readonly syntaxOk: boolean;
}

type Json = unknown;

class BadField extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

const isObj = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

function obj(v: Json, path: string): Record<string, Json> {
  if (!isObj(v)) throw new BadField(path, `expected a mapping, got ${kindOf(v)}`);
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

function kindOf(v: Json): string {
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
  const s = optStr(v, path);
  return s as Protocol | undefined;
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
  if (o.podSelector !== undefined) out.podSelector = selector(o.podSelector, `${path}.podSelector`);
  if (o.namespaceSelector !== undefined) out.namespaceSelector = selector(o.namespaceSelector, `${path}.namespaceSelector`);
  if (o.ipBlock !== undefined) {
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

interface Ctx {
  file: string;
  doc: Document;
  lc: LineCounter;
  issues: ManifestIssue[];
  out: ManifestObjects;
}

function report(ctx: Ctx, basePath: (string | number)[], path: string, message: string, object?: string): void {
  // Find the deepest node on the path for a position.
  const segs = [...basePath, ...path.split(/\.|\[|\]/).filter((s) => s !== '').map((s) => (/^\d+$/.test(s) ? Number(s) : s))];
  let node: Node | undefined;
  for (let n = segs.length; n >= 0 && !node; n--) {
    const got = ctx.doc.getIn(segs.slice(0, n), true) as Node | undefined;
    if (got && typeof got === 'object' && 'range' in got) node = got;
  }
  const offset = node?.range?.[0] ?? 0;
  const { line, col } = ctx.lc.linePos(offset);
  ctx.issues.push({ file: ctx.file, line, column: col, ...(object ? { object } : {}), path, message });
}

function handleObject(ctx: Ctx, v: Json, base: (string | number)[]): void {
  if (!isObj(v)) {
    if (v !== null && v !== undefined) report(ctx, base, '', `expected a Kubernetes object, got ${kindOf(v)}`);
    return;
  }
  const kind = v.kind;
  if (kind === 'List') {
    list(v.items, 'items').forEach((item, i) => handleObject(ctx, item, [...base, 'items', i]));
    return;
  }
  if (kind !== 'Namespace' && kind !== 'Pod' && kind !== 'NetworkPolicy') return;
  let meta: Record<string, Json>;
  let name: string;
  try {
    meta = obj(v.metadata, 'metadata');
    name = str(meta.name, 'metadata.name');
  } catch (err) {
    if (err instanceof BadField) report(ctx, base, err.path, `${err.message}; ${kind} ignored`);
    return;
  }
  const namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
  const label = kind === 'Namespace' ? `Namespace ${name}` : `${kind} ${namespace}/${name}`;
  try {
    if (kind === 'Namespace') {
      ctx.out.namespaces.push({ name, labels: labels(meta.labels, 'metadata.labels') });
      return;
    }
    if (kind === 'Pod') {
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
      if (single !== undefined && !ips.includes(single)) ips.unshift(single);
      ctx.out.pods.push({
        namespace,
        name,
        labels: labels(meta.labels, 'metadata.labels'),
        ports,
        ...(ips.length ? { ips } : {}),
        ...(spec.hostNetwork === true ? { hostNetwork: true } : {}),
      });
      return;
    }
    // NetworkPolicy
    const spec = obj(v.spec, 'spec');
    if (spec.podSelector === undefined || spec.podSelector === null) throw new BadField('spec.podSelector', 'required (use {} to select every pod)');
    const podSelector = selector(spec.podSelector, 'spec.podSelector');
    const policyTypes = list(spec.policyTypes, 'spec.policyTypes').map((t, i) => str(t, `spec.policyTypes[${i}]`) as PolicyType);
    try {
      const ingress: IngressRule[] = rules(spec.ingress, 'spec.ingress', 'from').map((r) => ({ ...(r.peers ? { from: r.peers } : {}), ...(r.ports ? { ports: r.ports } : {}) }));
      const egress: EgressRule[] = rules(spec.egress, 'spec.egress', 'to').map((r) => ({ ...(r.peers ? { to: r.peers } : {}), ...(r.ports ? { ports: r.ports } : {}) }));
      ctx.out.policies.push({ namespace, name, podSelector, ...(policyTypes.length ? { policyTypes } : {}), ingress, egress });
    } catch (err) {
      if (!(err instanceof BadField)) throw err;
      // Fail closed: keep isolating what it selects, allow nothing.
      const types: PolicyType[] = policyTypes.length ? policyTypes : ['Ingress', ...(spec.egress !== undefined && spec.egress !== null ? (['Egress'] as const) : [])];
      report(ctx, base, err.path, `${err.message}; its rules are ignored (the pods it selects stay isolated)`, label);
      ctx.out.policies.push({ namespace, name, podSelector, policyTypes: types, ingress: [], egress: [] });
    }
  } catch (err) {
    if (!(err instanceof BadField)) throw err;
    report(ctx, base, err.path, `${err.message}; ${label} ignored`, label);
  }
}

/** Parses one file's text (any number of `---` documents). */
export function parseManifests(file: string, text: string): ParsedManifests {
  const lc = new LineCounter();
  const out: ManifestObjects = { namespaces: [], pods: [], policies: [] };
  const issues: ManifestIssue[] = [];
  let syntaxOk = true;
  for (const doc of parseAllDocuments(text, { lineCounter: lc, prettyErrors: false })) {
    if (!('errors' in doc)) continue;
    if (doc.errors.length > 0) {
      syntaxOk = false;
      for (const e of doc.errors) {
        const { line, col } = lc.linePos(e.pos[0]);
        issues.push({ file, line, column: col, path: '', message: `YAML: ${e.message.split('\n')[0]}` });
      }
      continue;
    }
    const ctx: Ctx = { file, doc, lc, issues, out };
    const root = doc.contents;
    const value = doc.toJS() as Json;
    // An empty document (only comments, or a stray `---`) is nothing.
    if (root === null || value === null || value === undefined) continue;
    if (!isMap(root) && !isSeq(root)) {
      report(ctx, [], '', 'expected a Kubernetes object');
      continue;
    }
    handleObject(ctx, value, []);
  }
  return { ...out, issues, syntaxOk };
}
