/**
 * The chains of one family's filter table, built piece by piece as values
 * (rule specs without `-A NAME` and without the hash comment; render.ts
 * adds those). compiler.ts assembles the pieces; the dispatch trees are
 * kept by tables.ts.
 *
 * Which hooks a routed-veth pod's packets pass (no bridge; the host side
 * of the veth is an ordinary routed interface):
 *   pod -> pod on this node, pod -> elsewhere, elsewhere -> pod   FORWARD
 *   pod -> this node                                              INPUT
 *   this node -> pod                                              OUTPUT
 * FORWARD carries policy. INPUT only checks that the interface is
 * programmed and the source address is the pod's own (Kubernetes always
 * allows traffic between a pod and its node). OUTPUT needs nothing: the
 * node may always talk to its pods, and the pod's answers come back
 * through INPUT, where an unprogrammed pod is dropped.
 *
 *   FORWARD --(one jump)--> TORTIE-FORWARD
 *     -i P+ ctstate RELATED,ESTABLISHED -> ACCEPT ; the same for -o P+
 *     -i P+ -g TORTIE-POD-FWD ;  -o P+ -g TORTIE-POD-FWD      (other traffic returns untouched)
 *   TORTIE-POD-FWD (new flows of pods only)
 *     ctstate INVALID -> DROP
 *     -i P+ -j TORTIE-FROM     egress of the sender   (returns only when allowed)
 *     -o P+ -j TORTIE-TO       ingress of the receiver (returns only when allowed)
 *     ACCEPT
 *   TORTIE-FROM / TORTIE-TO: a two-level tree on the two interface
 *     characters after the prefix (hash characters, so evenly spread), then
 *     a leaf with one rule per interface: goto the pod chain, or RETURN when
 *     the pod is not isolated in that direction. Every level ends in DROP:
 *     an interface with our prefix that is not programmed is dropped
 *     (fail-closed). A packet walks ~3 short chains, not one rule per pod.
 *   TORTIE-PI-<pod> / TORTIE-PE-<pod>: clear our mark bit, [ingress: node
 *     addresses RETURN], then for each selecting policy: jump to its chain,
 *     RETURN if the mark is set; finally DROP.
 *   TORTIE-NI-<policy> / TORTIE-NE-<policy>: one MARK rule per allowed
 *     (peer set, port range); peers are ipsets, so a rule costs one lookup.
 *
 *   INPUT --(one jump)--> TORTIE-INPUT: -i P+ -g TORTIE-POD-INPUT
 *   TORTIE-POD-INPUT: [v6: NDP RETURN] ; INVALID DROP ;
 *     (src address, in-interface) in TORTIE-IF<f> -> RETURN ; DROP
 */
import type { Family } from './cidr.js';
import type { IrRule, PortRange } from './ir.js';
import { CHAIN_FORWARD, CHAIN_FROM, CHAIN_INPUT, CHAIN_POD_FORWARD, CHAIN_POD_INPUT, CHAIN_TO, ifaceSetName, setFamilyOf } from './names.js';

/** Chains of one family's filter table: name -> rule specs (without `-A NAME` and comment). */
export type ChainMap = Map<string, readonly string[]>;

/** ICMPv6 neighbour discovery (RFC 4861): router solicitation/advertisement, neighbour solicitation/advertisement. */
const NDP_TYPES = [133, 134, 135, 136];

export function hexMark(bit: number): string {
  return `0x${bit.toString(16)}`;
}

/** The entry chains, the same for every state. */
export function fixedChains(family: Family, prefix: string): ChainMap {
  const P = prefix;
  const podInput: string[] = [];
  if (family === 6) for (const t of NDP_TYPES) podInput.push(`-p ipv6-icmp -m icmp6 --icmpv6-type ${t} -j RETURN`);
  podInput.push('-m conntrack --ctstate INVALID -j DROP', `-m set --match-set ${ifaceSetName(family)} src,src -j RETURN`, '-j DROP');
  return new Map<string, readonly string[]>([
    [
      CHAIN_FORWARD,
      [
        // Replies and the rest of allowed flows: the first rule they meet.
        `-i ${P}+ -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
        `-o ${P}+ -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
        `-i ${P}+ -g ${CHAIN_POD_FORWARD}`,
        `-o ${P}+ -g ${CHAIN_POD_FORWARD}`,
      ],
    ],
    [CHAIN_POD_FORWARD, ['-m conntrack --ctstate INVALID -j DROP', `-i ${P}+ -j ${CHAIN_FROM}`, `-o ${P}+ -j ${CHAIN_TO}`, '-j ACCEPT']],
    [CHAIN_INPUT, [`-i ${P}+ -g ${CHAIN_POD_INPUT}`]],
    [CHAIN_POD_INPUT, podInput],
  ]);
}

/** A pod chain: clear the mark, [node addresses], each policy chain then "allowed?", DROP. */
export function podChainSpecs(policyChains: readonly string[], nodeSet: string | undefined, markBit: number): string[] {
  const mark = hexMark(markBit);
  const rules = [`-j MARK --set-xmark 0x0/${mark}`];
  if (nodeSet) rules.push(`-m set --match-set ${nodeSet} src -j RETURN`);
  for (const pc of policyChains) rules.push(`-j ${pc}`, `-m mark --mark ${mark}/${mark} -j RETURN`);
  rules.push('-j DROP');
  return rules;
}

function portMatch(p: PortRange): string {
  const proto = p.protocol.toLowerCase();
  if (p.from === undefined) return `-p ${proto}`;
  const dport = p.to !== undefined && p.to !== p.from ? `${p.from}:${p.to}` : `${p.from}`;
  return `-p ${proto} -m ${proto} --dport ${dport}`;
}

/** A policy chain for one family: one MARK rule per (peer set of that family, port range). */
export function policyChainRules(rules: readonly IrRule[], direction: 'ingress' | 'egress', family: Family, markBit: number): string[] {
  const dirFlag = direction === 'ingress' ? 'src' : 'dst';
  const mark = `-j MARK --set-xmark ${hexMark(markBit)}/${hexMark(markBit)}`;
  const out: string[] = [];
  for (const r of rules) {
    let peerMatches: string[];
    if (r.peers === 'any') peerMatches = [''];
    else {
      peerMatches = r.peers.filter((s) => setFamilyOf(s) === family).map((s) => `-m set --match-set ${s} ${dirFlag} `);
      // Peers exist, but none in this family: the rule matches nothing here.
      if (peerMatches.length === 0) continue;
    }
    const portMatches = r.ports === 'any' ? [''] : r.ports.map((p) => `${portMatch(p)} `);
    for (const pm of peerMatches) for (const po of portMatches) out.push(`${pm}${po}${mark}`);
  }
  return out;
}
