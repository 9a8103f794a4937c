/**
 * `policy show <ns>/<pod>`: which policies select a pod in each direction,
 * and what they let through, in words and with the chains that implement
 * it. Pure: works on a Compiled value.
 */
import type { Compiled } from './compile.js';
import type { IrPod } from './ir.js';
import type { NetworkPolicyPort, Protocol } from './model.js';
import { podChain } from './names.js';
import { resolveNamedPort, type NormPod } from './pods.js';
import type { RuleSpec } from './rules.js';
import { matchesSelector } from './selector.js';
import type { CompileIssue } from './validate.js';

export interface RuleExplanation {
  /** Index of the rule in spec.ingress / spec.egress. */
  readonly index: number;
  /** Who: `any` or one line per peer. */
  readonly peers: readonly string[];
  /** What: `any` or one line per port entry. */
  readonly ports: readonly string[];
  /** Set when the rule allows nothing here (invalid, or no port applies). */
  readonly note?: string;
}

export interface PolicyExplanation {
  readonly policy: string;
  /** The policy chain this pod jumps to (local pods only). */
  readonly chain?: string;
  readonly rules: readonly RuleExplanation[];
}

export interface DirectionExplanation {
  /** False: no policy selects the pod in this direction, so everything is allowed. */
  readonly isolated: boolean;
  /** The pod chain (local, isolated pods only). */
  readonly chain?: string;
  readonly policies: readonly PolicyExplanation[];
}

export interface PodExplanation {
  readonly pod: string;
  /** Wired on this node (has an attachment we dispatch on). */
  readonly local: boolean;
  readonly ifName?: string;
  readonly ips: readonly string[];
  readonly ingress: DirectionExplanation;
  readonly egress: DirectionExplanation;
  readonly issues: readonly CompileIssue[];
}

const protoOf = (p: { protocol?: Protocol }): Protocol => p.protocol ?? 'TCP';

function describePort(p: NetworkPolicyPort, direction: 'ingress' | 'egress', pod: NormPod): string {
  const proto = protoOf(p);
  if (p.port === undefined) return `${proto} (all ports)`;
  if (typeof p.port === 'number') return p.endPort !== undefined && p.endPort !== p.port ? `${proto}/${p.port}-${p.endPort}` : `${proto}/${p.port}`;
  if (direction === 'egress') return `${proto}/${p.port} (named: the number it has on each destination pod)`;
  const n = resolveNamedPort(pod.ports, p.port, proto);
  return n === undefined ? `${proto}/${p.port} (named: not on this pod, matches nothing)` : `${proto}/${p.port} (named: ${n} on this pod)`;
}

function explainRule(c: Compiled, r: RuleSpec, direction: 'ingress' | 'egress', pod: NormPod): RuleExplanation {
  if (!r.valid) return { index: r.index, peers: [], ports: [], note: 'invalid rule: allows nothing (see issues)' };
  const peers =
    r.peers === 'any'
      ? ['any']
      : r.peers.map((p) => {
          if (p.kind === 'block') return p.describe;
          const pods = c.resolved.selectionPods(p.key);
          const ips = pods.flatMap((x) => x.ips);
          const shown = ips.slice(0, 8).join(', ') + (ips.length > 8 ? `, … (${ips.length} addresses)` : '');
          return `${p.describe}: ${pods.length} pod(s)${ips.length ? ` [${shown}]` : ''}`;
        });
  const ports = r.ports === 'any' ? ['any'] : r.ports.map((p) => describePort(p, direction, pod));
  let note: string | undefined;
  if (r.ports !== 'any' && direction === 'ingress' && r.ports.every((p) => typeof p.port === 'string' && resolveNamedPort(pod.ports, p.port, protoOf(p)) === undefined)) {
    note = 'no listed port applies to this pod: allows nothing here';
  }
  return { index: r.index, peers, ports, ...(note ? { note } : {}) };
}

export function explainPod(c: Compiled, key: string): PodExplanation | undefined {
  const pod = c.resolved.pods.get(key);
  if (!pod) return undefined;
  const ir: IrPod | undefined = c.resolved.ir.pods.get(key);
  const selecting = [...c.resolved.policies.values()].filter((rp) => rp.namespace === pod.namespace && matchesSelector(rp.policy.podSelector, pod.labels));
  const dir = (direction: 'ingress' | 'egress'): DirectionExplanation => {
    const pols = selecting.filter((rp) => (direction === 'ingress' ? rp.ingress : rp.egress));
    const chains = direction === 'ingress' ? ir?.ingress : ir?.egress;
    return {
      isolated: pols.length > 0,
      ...(ir && chains ? { chain: podChain(direction, key) } : {}),
      policies: pols.map((rp, i) => ({
        policy: rp.key,
        ...(chains ? { chain: chains[i] } : {}),
        rules: (direction === 'ingress' ? rp.ingressRules : rp.egressRules).map((r) => explainRule(c, r, direction, pod)),
      })),
    };
  };
  const names = new Set(selecting.map((rp) => rp.key));
  const issues = c.issues.filter((i) => (i.kind === 'Pod' && i.key === key) || (i.kind === 'NetworkPolicy' && names.has(i.key)));
  return {
    pod: key,
    local: ir !== undefined,
    ...(pod.ifName !== undefined ? { ifName: pod.ifName } : {}),
    ips: pod.ips,
    ingress: dir('ingress'),
    egress: dir('egress'),
    issues,
  };
}
