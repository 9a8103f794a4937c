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
 * Each object is converted by object-convert.ts, which the Kubernetes
 * source (agent/k8s/policy-source.ts) uses too; this file adds YAML,
 * `kind: List` and line/column positions.
 */
import { isMap, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import type { NamespaceInfo, NetworkPolicyInfo, PodInfo } from './compile/model.js';
import { convertObject, isJsonObject, kindOf } from './object-convert.js';

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
  if (!isJsonObject(v)) {
    if (v !== null && v !== undefined) report(ctx, base, '', `expected a Kubernetes object, got ${kindOf(v)}`);
    return;
  }
  if (v.kind === 'List') {
    if (v.items !== undefined && v.items !== null && !Array.isArray(v.items)) {
      report(ctx, base, 'items', `expected a list, got ${kindOf(v.items)}`);
      return;
    }
    ((v.items ?? []) as Json[]).forEach((item, i) => handleObject(ctx, item, [...base, 'items', i]));
    return;
  }
  const c = convertObject(v);
  if (c.namespace) ctx.out.namespaces.push(c.namespace);
  if (c.pod) ctx.out.pods.push(c.pod);
  if (c.policy) ctx.out.policies.push(c.policy);
  if (c.issue) report(ctx, base, c.issue.path, c.issue.message, c.issue.object);
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
