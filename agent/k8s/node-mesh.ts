/**
 * The node-to-node mesh from Node objects. Every Node with a BGP address is
 * a member: the tortie.io/bgp-address annotation, else the first InternalIP
 * inside the configured CIDRs (in CIDR order), else, with no CIDRs
 * configured, the first IPv4 InternalIP (or the first InternalIP). Its AS is
 * the tortie.io/asn annotation, else the cluster default. Pure.
 */
import { isMulticastOrBroadcast, isUnspecified, parseIpAddress, parseIpPrefix, type IpAddress } from '../config/ip.js';
import { ANNOTATION_ASN, ANNOTATION_BGP_ADDRESS, type NodeObject } from './types.js';

export interface ClusterMeshMember {
  /** Canonical address. */
  readonly address: string;
  readonly asn: number;
  /** The Node's name. */
  readonly name: string;
  /** Where the address came from. */
  readonly addressFrom: 'annotation' | 'InternalIP';
}

export interface MeshInput {
  /** This node's name: it is reported as `self`, never as a member. */
  readonly selfName: string;
  /** Prefixes an InternalIP must fall in (e.g. the subnet of the BGP interface). Empty: any. */
  readonly cidrs: readonly string[];
  /** The AS of nodes without an annotation. */
  readonly defaultAsn: number;
}

export interface MeshResult {
  /** Sorted by node name. */
  readonly members: readonly ClusterMeshMember[];
  /** This node as the other nodes see it, if it has a BGP address. */
  readonly self?: ClusterMeshMember;
  /** This node's labels (BGPPeer node selectors match on them). */
  readonly selfLabels: Readonly<Record<string, string>>;
  /** True when a Node object with our name exists. */
  readonly selfFound: boolean;
  /** One line per node left out for a reason worth telling (bad annotation, duplicate address). */
  readonly problems: readonly string[];
  /** Nodes with no usable address at all (not a problem: they are just not in the mesh). */
  readonly withoutAddress: readonly string[];
}

const ASN_MAX = 0xffffffff;
const AS_TRANS = 23456;

/** Parses the tortie.io/asn annotation; a reason when it is not a usable AS. */
export function parseAsnAnnotation(text: string): { ok: true; asn: number } | { ok: false; reason: string } {
  const t = text.trim();
  if (!/^[0-9]{1,10}$/.test(t)) return { ok: false, reason: `${ANNOTATION_ASN} ${JSON.stringify(text)} is not an AS number` };
  const asn = Number(t);
  if (asn < 1 || asn > ASN_MAX) return { ok: false, reason: `${ANNOTATION_ASN} ${t} is out of range (1..${ASN_MAX})` };
  if (asn === AS_TRANS) return { ok: false, reason: `${ANNOTATION_ASN} ${t} is AS_TRANS (RFC 6793), not a real AS` };
  return { ok: true, asn };
}

function usable(a: IpAddress): boolean {
  return !isUnspecified(a) && !isMulticastOrBroadcast(a);
}

interface Range {
  v6: boolean;
  len: number;
  bytes: Uint8Array;
}

/** Parses the configured CIDRs; throws RangeError on a bad one (the caller validated them). */
export function parseCidrs(cidrs: readonly string[]): Range[] {
  return cidrs.map((c) => {
    const p = parseIpPrefix(c);
    if (!p.ok) throw new RangeError(`node address CIDR: ${p.reason}`);
    const slash = p.value.text.indexOf('/');
    const a = parseIpAddress(p.value.text.slice(0, slash));
    if (!a.ok) throw new RangeError(`node address CIDR: ${a.reason}`);
    return { v6: p.value.v6, len: p.value.len, bytes: a.value.bytes };
  });
}

function inRange(a: IpAddress, r: Range): boolean {
  if (a.v6 !== r.v6) return false;
  for (let bit = 0; bit < r.len; bit++) {
    const i = bit >> 3;
    const m = 0x80 >> (bit & 7);
    if ((a.bytes[i] & m) !== (r.bytes[i] & m)) return false;
  }
  return true;
}

type Pick = { ok: true; member: Omit<ClusterMeshMember, 'name'> } | { ok: false; problem?: string };

function pickAddress(node: NodeObject, ranges: readonly Range[], defaultAsn: number): Pick {
  const ann = node.metadata?.annotations ?? {};
  let asn = defaultAsn;
  const asnText = ann[ANNOTATION_ASN];
  if (asnText !== undefined) {
    const a = parseAsnAnnotation(asnText);
    if (!a.ok) return { ok: false, problem: a.reason };
    asn = a.asn;
  }
  const annotated = ann[ANNOTATION_BGP_ADDRESS];
  if (annotated !== undefined) {
    const a = parseIpAddress(annotated);
    if (!a.ok) return { ok: false, problem: `${ANNOTATION_BGP_ADDRESS}: ${a.reason}` };
    if (!usable(a.value)) return { ok: false, problem: `${ANNOTATION_BGP_ADDRESS} ${a.value.text} cannot be a BGP neighbour` };
    return { ok: true, member: { address: a.value.text, asn, addressFrom: 'annotation' } };
  }
  const internal: IpAddress[] = [];
  for (const addr of node.status?.addresses ?? []) {
    if (addr.type !== 'InternalIP') continue;
    const a = parseIpAddress(addr.address);
    if (a.ok && usable(a.value)) internal.push(a.value);
  }
  let chosen: IpAddress | undefined;
  if (ranges.length > 0) {
    for (const r of ranges) {
      chosen = internal.find((a) => inRange(a, r));
      if (chosen) break;
    }
  } else {
    chosen = internal.find((a) => !a.v6) ?? internal[0];
  }
  if (!chosen) return { ok: false };
  return { ok: true, member: { address: chosen.text, asn, addressFrom: 'InternalIP' } };
}

/** The mesh members (and this node's own view) from the Node objects. */
export function meshFromNodes(nodes: readonly NodeObject[], input: MeshInput): MeshResult {
  const ranges = parseCidrs(input.cidrs);
  const sorted = nodes
    .filter((n) => typeof n.metadata?.name === 'string' && n.metadata.name !== '')
    .slice()
    .sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : a.metadata!.name! > b.metadata!.name! ? 1 : 0));
  const members: ClusterMeshMember[] = [];
  const problems: string[] = [];
  const withoutAddress: string[] = [];
  const byAddress = new Map<string, string>();
  let self: ClusterMeshMember | undefined;
  let selfLabels: Readonly<Record<string, string>> = {};
  let selfFound = false;
  for (const n of sorted) {
    const name = n.metadata!.name!;
    const isSelf = name === input.selfName;
    if (isSelf) {
      selfFound = true;
      selfLabels = n.metadata?.labels ?? {};
    }
    const pick = pickAddress(n, ranges, input.defaultAsn);
    if (!pick.ok) {
      if (pick.problem !== undefined) problems.push(`node ${name}: ${pick.problem}; left out of the mesh`);
      else withoutAddress.push(name);
      continue;
    }
    const member: ClusterMeshMember = { ...pick.member, name };
    const holder = byAddress.get(member.address);
    if (holder !== undefined) {
      problems.push(`node ${name}: BGP address ${member.address} is also node ${holder}'s; left out of the mesh`);
      continue;
    }
    byAddress.set(member.address, name);
    if (isSelf) self = member;
    else members.push(member);
  }
  return {
    members, selfLabels, selfFound, problems, withoutAddress,
    ...(self ? { self } : {}),
  };
}
