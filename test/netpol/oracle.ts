/**
 * An independent reading of networking.k8s.io/v1, packet by packet: may
 * this pod reach that pod on this protocol and port? Written directly from
 * the API documentation and sharing no code with policy/compile, so that
 * it can check both the compiler (offline) and the hand-written
 * expectations of the conformance cases (as cyclonus checks its cases
 * against its own model).
 */
import { cidrContainsIp, parseCidr, parseIp } from '../../policy/compile/cidr.js';
import type { LabelSelector, Labels, NetworkPolicyInfo, NetworkPolicyPeer, NetworkPolicyPort, Protocol } from '../../policy/compile/model.js';
import { ALL_PODS, containerPorts, namespaceLabels, podAddresses, podLabels, type ModelState } from './model.js';

function selectorMatches(sel: LabelSelector, labels: Labels): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = k(labels, e.key);
    const val = has ? labels[e.key] : undefined;
    const vals = e.values ?? [];
    if (e.operator === 'In' && !(has && vals.includes(val ?? ''))) return false;
    if (e.operator === 'NotIn' && has && vals.includes(val ?? '')) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function k(labels: Labels, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(labels, key);
}

function nsLabels(ns: string, s: ModelState): Labels {
  // The API server labels every namespace with its name.
  return { ...namespaceLabels(ns, s), 'kubernetes.io/metadata.name': ns };
}

function types(p: NetworkPolicyInfo): { ingress: boolean; egress: boolean } {
  if (p.policyTypes && p.policyTypes.length > 0) return { ingress: p.policyTypes.includes('Ingress'), egress: p.policyTypes.includes('Egress') };
  return { ingress: true, egress: (p.egress ?? []).length > 0 };
}

function peerMatches(peer: NetworkPolicyPeer, policyNs: string, other: string, s: ModelState): boolean {
  if (peer.ipBlock) {
    const ip = parseIp(podAddresses(other).ip4);
    const cidr = parseCidr(peer.ipBlock.cidr);
    if (!ip || !cidr || !cidrContainsIp(cidr, ip)) return false;
    return !(peer.ipBlock.except ?? []).some((e) => {
      const c = parseCidr(e);
      return c !== undefined && cidrContainsIp(c, ip);
    });
  }
  const [ns] = other.split('/');
  const nsOk = peer.namespaceSelector === undefined ? ns === policyNs : selectorMatches(peer.namespaceSelector, nsLabels(ns, s));
  const podOk = peer.podSelector === undefined || selectorMatches(peer.podSelector, podLabels(other, s));
  return nsOk && podOk;
}

function portMatches(entry: NetworkPolicyPort, proto: Protocol, port: number): boolean {
  const eproto = entry.protocol ?? 'TCP';
  if (eproto !== proto) return false;
  if (entry.port === undefined) return true;
  if (typeof entry.port === 'number') return port >= entry.port && port <= (entry.endPort ?? entry.port);
  // A named port: looked up on the destination pod's containers (every model pod has the same ones), same protocol.
  const cp = containerPorts().find((c) => c.name === entry.port && c.protocol === proto);
  return cp !== undefined && cp.containerPort === port;
}

function ruleMatches(peers: readonly NetworkPolicyPeer[] | undefined, ports: readonly NetworkPolicyPort[] | undefined, policyNs: string, other: string, proto: Protocol, port: number, s: ModelState): boolean {
  const peerOk = !peers || peers.length === 0 || peers.some((p) => peerMatches(p, policyNs, other, s));
  const portOk = !ports || ports.length === 0 || ports.some((e) => portMatches(e, proto, port));
  return peerOk && portOk;
}

export function oracleAllows(policies: readonly NetworkPolicyInfo[], s: ModelState, from: string, to: string, proto: Protocol, port: number): boolean {
  const selects = (p: NetworkPolicyInfo, pod: string): boolean => p.namespace === pod.split('/')[0] && selectorMatches(p.podSelector, podLabels(pod, s));
  const egressPols = policies.filter((p) => selects(p, from) && types(p).egress);
  const egressOk = egressPols.length === 0 || egressPols.some((p) => (p.egress ?? []).some((r) => ruleMatches(r.to, r.ports, p.namespace, to, proto, port, s)));
  const ingressPols = policies.filter((p) => selects(p, to) && types(p).ingress);
  const ingressOk = ingressPols.length === 0 || ingressPols.some((p) => (p.ingress ?? []).some((r) => ruleMatches(r.from, r.ports, p.namespace, from, proto, port, s)));
  return egressOk && ingressOk;
}

/** The oracle's whole truth table for one protocol and port. */
export function oracleTable(policies: readonly NetworkPolicyInfo[], s: ModelState, proto: Protocol, port: number): { get(from: string, to: string): boolean } {
  const t = new Map<string, boolean>();
  for (const f of ALL_PODS) for (const to of ALL_PODS) t.set(`${f}>${to}`, oracleAllows(policies, s, f, to, proto, port));
  return { get: (from, to) => t.get(`${from}>${to}`) ?? false };
}
