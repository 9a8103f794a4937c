/**
 * Validation of NetworkPolicies, following the API server's rules for the
 * fields enforcement depends on. Objects from an API server are already
 * valid; manifests from a directory may not be.
 *
 * What an invalid part does (fail-closed, never fail-open):
 *   - an invalid rule is dropped: it allows nothing, while the policy still
 *     isolates the pods it selects in its directions;
 *   - invalid policyTypes isolate both directions and allow nothing;
 *   - an invalid spec.podSelector drops the whole policy, since which pods
 *     it isolates is then unknown. The issue is reported.
 */
import { parseCidr, cidrContainsCidr } from './cidr.js';
import { PROTOCOLS, policyKey, type LabelSelector, type NetworkPolicyInfo, type NetworkPolicyPeer, type NetworkPolicyPort } from './model.js';

/** Something wrong with one input object; compilation goes on without the broken part. */
export interface CompileIssue {
  readonly kind: 'NetworkPolicy' | 'Pod';
  /** namespace/name of the object. */
  readonly key: string;
  /** Field path inside the object, e.g. `spec.ingress[0].ports[1].endPort`. */
  readonly path: string;
  readonly code: CompileIssueCode;
  readonly message: string;
}

export type CompileIssueCode =
  | PolicyIssueCode
  /** An address in status.podIPs or the attachment does not parse. */
  | 'ERR_POLICY_POD_BAD_IP'
  /** The attachment's interface does not carry our prefix, so no dispatch rule can see it. */
  | 'ERR_POLICY_POD_IFACE_PREFIX'
  /** Two pods claim the same host interface; the first by key wins. */
  | 'ERR_POLICY_POD_IFACE_DUPLICATE';

export type PolicyIssueCode =
  | 'ERR_POLICY_INVALID_SELECTOR'
  | 'ERR_POLICY_INVALID_PORT'
  | 'ERR_POLICY_INVALID_PROTOCOL'
  | 'ERR_POLICY_INVALID_PEER'
  | 'ERR_POLICY_INVALID_CIDR'
  | 'ERR_POLICY_INVALID_TYPE';

const OPERATORS = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist']);

/** IANA_SVC_NAME (RFC 6335 §5.1): 1-15 of [a-z0-9-], a letter somewhere, no leading, trailing or double hyphen. */
export function isPortName(name: string): boolean {
  return /^[a-z0-9](?:-?[a-z0-9])*$/.test(name) && name.length <= 15 && /[a-z]/.test(name);
}

function selectorProblems(sel: LabelSelector, path: string): string[] {
  const out: string[] = [];
  (sel.matchExpressions ?? []).forEach((req, i) => {
    const at = `${path}.matchExpressions[${i}]`;
    const values = req.values ?? [];
    if (!OPERATORS.has(req.operator)) out.push(`${at}.operator: unknown operator ${JSON.stringify(req.operator)}`);
    else if ((req.operator === 'In' || req.operator === 'NotIn') && values.length === 0) out.push(`${at}.values: must be non-empty for ${req.operator}`);
    else if ((req.operator === 'Exists' || req.operator === 'DoesNotExist') && values.length > 0) out.push(`${at}.values: must be empty for ${req.operator}`);
    if (typeof req.key !== 'string' || req.key === '') out.push(`${at}.key: required`);
  });
  return out;
}

function portProblems(p: NetworkPolicyPort, path: string): { code: PolicyIssueCode; message: string }[] {
  const out: { code: PolicyIssueCode; message: string }[] = [];
  if (p.protocol !== undefined && !PROTOCOLS.includes(p.protocol)) {
    out.push({ code: 'ERR_POLICY_INVALID_PROTOCOL', message: `${path}.protocol: must be TCP, UDP or SCTP, got ${JSON.stringify(p.protocol)}` });
  }
  if (typeof p.port === 'number') {
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) out.push({ code: 'ERR_POLICY_INVALID_PORT', message: `${path}.port: ${p.port} is not in 1-65535` });
  } else if (typeof p.port === 'string') {
    if (!isPortName(p.port)) out.push({ code: 'ERR_POLICY_INVALID_PORT', message: `${path}.port: ${JSON.stringify(p.port)} is not a valid port name (IANA_SVC_NAME)` });
  }
  if (p.endPort !== undefined) {
    if (typeof p.port !== 'number') out.push({ code: 'ERR_POLICY_INVALID_PORT', message: `${path}.endPort: needs a numeric port` });
    else if (!Number.isInteger(p.endPort) || p.endPort > 65535 || p.endPort < p.port) {
      out.push({ code: 'ERR_POLICY_INVALID_PORT', message: `${path}.endPort: must be between port (${p.port}) and 65535, got ${p.endPort}` });
    }
  }
  return out;
}

function peerProblems(peer: NetworkPolicyPeer, path: string): { code: PolicyIssueCode; message: string }[] {
  const out: { code: PolicyIssueCode; message: string }[] = [];
  const hasSel = peer.podSelector !== undefined || peer.namespaceSelector !== undefined;
  if (peer.ipBlock !== undefined && hasSel) {
    out.push({ code: 'ERR_POLICY_INVALID_PEER', message: `${path}: ipBlock cannot be combined with podSelector or namespaceSelector` });
  }
  if (peer.ipBlock === undefined && !hasSel) {
    out.push({ code: 'ERR_POLICY_INVALID_PEER', message: `${path}: must set podSelector, namespaceSelector or ipBlock` });
  }
  for (const [sel, name] of [[peer.podSelector, 'podSelector'], [peer.namespaceSelector, 'namespaceSelector']] as const) {
    if (sel) for (const m of selectorProblems(sel, `${path}.${name}`)) out.push({ code: 'ERR_POLICY_INVALID_SELECTOR', message: m });
  }
  if (peer.ipBlock) {
    const block = parseCidr(peer.ipBlock.cidr);
    if (!block) {
      out.push({ code: 'ERR_POLICY_INVALID_CIDR', message: `${path}.ipBlock.cidr: ${JSON.stringify(peer.ipBlock.cidr)} is not a CIDR` });
    } else {
      (peer.ipBlock.except ?? []).forEach((e, i) => {
        const ex = parseCidr(e);
        const at = `${path}.ipBlock.except[${i}]`;
        if (!ex) out.push({ code: 'ERR_POLICY_INVALID_CIDR', message: `${at}: ${JSON.stringify(e)} is not a CIDR` });
        else if (!cidrContainsCidr(block, ex) || ex.prefixLen === block.prefixLen) {
          out.push({ code: 'ERR_POLICY_INVALID_CIDR', message: `${at}: ${e} must be a strict subset of ${peer.ipBlock?.cidr ?? ''}` });
        }
      });
    }
  }
  return out;
}

/**
 * Validates a policy. Returns the policy with invalid rules removed (each
 * replaced by a rule that allows nothing), or undefined when the whole
 * policy must be dropped, and the issues found.
 */
export function validatePolicy(p: NetworkPolicyInfo): { policy: NetworkPolicyInfo | undefined; issues: CompileIssue[]; invalidRules: Set<string> } {
  const key = policyKey(p);
  const issues: CompileIssue[] = [];
  const invalidRules = new Set<string>();
  const add = (path: string, code: PolicyIssueCode, message: string): void => {
    issues.push({ kind: 'NetworkPolicy', key, path, code, message });
  };
  let fatal = false;
  for (const m of selectorProblems(p.podSelector, 'spec.podSelector')) {
    add(m.slice(0, m.indexOf(':')), 'ERR_POLICY_INVALID_SELECTOR', m);
    fatal = true;
  }
  let badTypes = false;
  (p.policyTypes ?? []).forEach((t, i) => {
    if (t !== 'Ingress' && t !== 'Egress') {
      add(`spec.policyTypes[${i}]`, 'ERR_POLICY_INVALID_TYPE', `spec.policyTypes[${i}]: must be Ingress or Egress, got ${JSON.stringify(t)}`);
      badTypes = true;
    }
  });
  if (badTypes && !fatal) {
    // Which directions it meant is unknown: isolate both, allow nothing.
    return { policy: { ...p, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [] }, issues, invalidRules };
  }
  const checkRule = (dir: 'ingress' | 'egress', i: number, peers: readonly NetworkPolicyPeer[] | undefined, ports: readonly NetworkPolicyPort[] | undefined): void => {
    const base = `spec.${dir}[${i}]`;
    const problems: { code: PolicyIssueCode; message: string }[] = [];
    (peers ?? []).forEach((peer, j) => problems.push(...peerProblems(peer, `${base}.${dir === 'ingress' ? 'from' : 'to'}[${j}]`)));
    (ports ?? []).forEach((port, j) => problems.push(...portProblems(port, `${base}.ports[${j}]`)));
    for (const pr of problems) add(pr.message.slice(0, pr.message.indexOf(':')), pr.code, pr.message);
    if (problems.length > 0) invalidRules.add(`${dir}/${i}`);
  };
  (p.ingress ?? []).forEach((r, i) => checkRule('ingress', i, r.from, r.ports));
  (p.egress ?? []).forEach((r, i) => checkRule('egress', i, r.to, r.ports));
  return { policy: fatal ? undefined : p, issues, invalidRules };
}
