/**
 * One NetworkPolicy direction -> its policy chain in the intermediate form
 * (rules of peer sets and port ranges), and the sets those rules need.
 *
 * Named ports resolve on the destination pod:
 *  - ingress: the destination is the selected pod, so the chain is built
 *    per resolution (`variant`) of the policy's named ports on that pod;
 *    a rule whose listed ports all fail to resolve allows nothing;
 *  - egress: each destination pod, so every named port splits the rule's
 *    peers (their selections, or every pod for "any peer", or the pods
 *    inside an ipBlock) into one set per number the name has on them. A
 *    named port never matches a destination that is not a pod.
 */
import { cidrContainsIp, familyOf, formatCidr, hashNetEntries, parseIp, type Family } from './cidr.js';
import type { IrPolicyChain, IrRule, PortRange, SetSource } from './ir.js';
import type { Protocol } from './model.js';
import { netSetName, peerSetName, policyChain } from './names.js';
import { resolveNamedPort, type PodIp } from './pods.js';
import { cmp, protoOf, type PeerSpec, type PolicySkeleton, type RuleSpec } from './rules.js';
import type { Selection } from './selection.js';

/** The selection of every pod (candidates of a named port with "any" peers). */
export const ALL_PODS = 'pods|all';

function numericRange(port: number | undefined, endPort: number | undefined, protocol: Protocol): PortRange {
  return port === undefined ? { protocol } : { protocol, from: port, to: endPort ?? port };
}

/** ipset prints host prefixes without their length. */
function stripHostLen(net: string): string {
  if (net.endsWith('/32') && familyOf(net) === 4) return net.slice(0, -3);
  if (net.endsWith('/128')) return net.slice(0, -4);
  return net;
}

/** hash:net members of an ipBlock: the prefix (a /0 split in two /1), excepts as nomatch. */
export function blockEntries(peer: Extract<PeerSpec, { kind: 'block' }>): string[] {
  const entries = new Map<string, boolean>();
  for (const e of hashNetEntries(peer.cidr)) entries.set(stripHostLen(e), false);
  for (const ex of peer.except) {
    const t = stripHostLen(formatCidr(ex));
    // An except equal to a /1 half of a split /0 simply removes that half.
    if (entries.get(t) === false) entries.delete(t);
    else entries.set(t, true);
  }
  return [...entries.entries()].map(([net, nomatch]) => (nomatch ? `${net} nomatch` : net)).sort(cmp);
}

/** True for an address inside an ipBlock and outside its excepts. */
export function blockFilter(peer: Extract<PeerSpec, { kind: 'block' }>): (ip: PodIp) => boolean {
  return (ip) => {
    const a = parseIp(ip.text);
    return a !== undefined && cidrContainsIp(peer.cidr, a) && !peer.except.some((e) => cidrContainsIp(e, a));
  };
}

/** Selection keys whose pods are the candidates for an egress rule's named ports. */
export function namedCandidateKeys(r: RuleSpec): string[] {
  if (!r.valid || r.ports === 'any' || !r.ports.some((p) => typeof p.port === 'string')) return [];
  if (r.peers === 'any') return [ALL_PODS];
  return r.peers.map((p) => (p.kind === 'pods' ? p.key : `podsin|${p.key}`));
}

/** Set names of a rule's peers (no named-port filtering); records their sources. */
function peerSets(r: RuleSpec, families: readonly Family[], sets: Map<string, SetSource>): 'any' | string[] {
  if (r.peers === 'any') return 'any';
  const out: string[] = [];
  for (const p of r.peers) {
    if (p.kind === 'pods') {
      for (const fam of families) {
        const name = peerSetName(fam, p.key);
        out.push(name);
        sets.set(name, { kind: 'selection', name, family: fam, selection: p.key, describe: p.describe });
      }
    } else {
      const name = netSetName(p.cidr.family, p.key);
      out.push(name);
      sets.set(name, { kind: 'block', name, family: p.cidr.family, key: p.key, describe: p.describe, entries: blockEntries(p) });
    }
  }
  return out;
}

/** The ingress chain of `sk` for one resolution of its named ports. */
export function buildIngressChain(sk: PolicySkeleton, variant: string, resolution: ReadonlyMap<string, number | undefined>, families: readonly Family[]): IrPolicyChain {
  const rules: IrRule[] = [];
  const sets = new Map<string, SetSource>();
  for (const r of sk.ingressRules) {
    if (!r.valid) continue;
    let ports: 'any' | PortRange[] = 'any';
    if (r.ports !== 'any') {
      ports = [];
      for (const p of r.ports) {
        if (typeof p.port === 'string') {
          const n = resolution.get(`${p.port}/${protoOf(p)}`);
          if (n !== undefined) ports.push({ protocol: protoOf(p), from: n, to: n });
        } else ports.push(numericRange(p.port, p.endPort, protoOf(p)));
      }
      // Ports were listed but none applies to this pod: the rule allows nothing here.
      if (ports.length === 0) continue;
    }
    rules.push({ peers: peerSets(r, families, sets), ports });
  }
  return { name: policyChain('ingress', sk.key, variant), policy: sk.key, direction: 'ingress', rules, sets: [...sets.values()] };
}

/** What an egress chain depends on besides the policy: the versions of its named-port candidate selections. */
export function egressDeps(sk: PolicySkeleton, selections: ReadonlyMap<string, Selection>): string {
  if (!sk.egressNamedPorts) return '';
  const keys = new Set<string>();
  for (const r of sk.egressRules) for (const k of namedCandidateKeys(r)) keys.add(k);
  return [...keys].map((k) => `${k}@${selections.get(k)?.version ?? -1}`).join(';');
}

/** The egress chain of `sk`. */
export function buildEgressChain(sk: PolicySkeleton, selections: ReadonlyMap<string, Selection>, families: readonly Family[]): IrPolicyChain {
  const rules: IrRule[] = [];
  const sets = new Map<string, SetSource>();
  for (const r of sk.egressRules) {
    if (!r.valid) continue;
    if (r.ports === 'any') {
      rules.push({ peers: peerSets(r, families, sets), ports: 'any' });
      continue;
    }
    const numeric: PortRange[] = [];
    const named: { name: string; protocol: Protocol }[] = [];
    for (const p of r.ports) {
      if (typeof p.port === 'string') named.push({ name: p.port, protocol: protoOf(p) });
      else numeric.push(numericRange(p.port, p.endPort, protoOf(p)));
    }
    if (numeric.length > 0) rules.push({ peers: peerSets(r, families, sets), ports: numeric });
    for (const { name, protocol } of named) {
      const byNumber = new Map<number, string[]>();
      for (const key of namedCandidateKeys(r)) {
        const sel = selections.get(key);
        if (!sel) continue;
        const numbers = new Set<number>();
        for (const pod of sel.pods()) {
          const n = resolveNamedPort(pod.ports, name, protocol);
          if (n !== undefined) numbers.add(n);
        }
        for (const n of numbers) {
          for (const fam of families) {
            const setName = peerSetName(fam, `${key}|port=${name}/${protocol}=${n}`);
            sets.set(setName, { kind: 'selection', name: setName, family: fam, selection: key, describe: `${sel.describe} where port ${name}/${protocol} is ${n}`, port: { name, protocol, number: n } });
            let acc = byNumber.get(n);
            if (!acc) byNumber.set(n, (acc = []));
            acc.push(setName);
          }
        }
      }
      for (const n of [...byNumber.keys()].sort((a, b) => a - b)) rules.push({ peers: byNumber.get(n) ?? [], ports: [{ protocol, from: n, to: n }] });
    }
  }
  return { name: policyChain('egress', sk.key, ''), policy: sk.key, direction: 'egress', rules, sets: [...sets.values()] };
}
