/**
 * Names of our chains and sets. Every one starts with TORTIE- and is either
 * fixed or a kind tag plus a 16-hex-digit hash of what it stands for, so it
 * is stable across restarts and across unrelated changes.
 *
 * Limits: iptables chain names hold 28 characters, ipset names 31.
 */
import type { Family } from './cidr.js';
import { hash64 } from './hash.js';

export const PREFIX = 'TORTIE-';

/** Entry chains, jumped to once from the built-in chain of the same name. */
export const CHAIN_FORWARD = 'TORTIE-FORWARD';
export const CHAIN_INPUT = 'TORTIE-INPUT';
/** Pod traffic in FORWARD: conntrack, then egress of the sender and ingress of the receiver. */
export const CHAIN_POD_FORWARD = 'TORTIE-POD-FWD';
/** Pod-to-node traffic in INPUT: only programmed interfaces with their own source addresses. */
export const CHAIN_POD_INPUT = 'TORTIE-POD-INPUT';
/** Roots of the two dispatch trees: by incoming (egress) and outgoing (ingress) interface. */
export const CHAIN_FROM = 'TORTIE-FROM';
export const CHAIN_TO = 'TORTIE-TO';

export const BUILTIN_JUMPS: readonly { builtin: 'FORWARD' | 'INPUT'; target: string }[] = [
  { builtin: 'FORWARD', target: CHAIN_FORWARD },
  { builtin: 'INPUT', target: CHAIN_INPUT },
];

const dispatchNames = new Map<string, string>();

/** Dispatch sub-chain for interfaces starting with prefix + `chars` (memoised: called per pod per compile). */
export function dispatchChain(root: typeof CHAIN_FROM | typeof CHAIN_TO, chars: string): string {
  const key = `${root}|${chars}`;
  let name = dispatchNames.get(key);
  if (name === undefined) {
    let tag = '';
    for (const ch of chars) tag += ch.charCodeAt(0).toString(16).padStart(2, '0');
    name = `${root}-${tag}`;
    if (dispatchNames.size < 200_000) dispatchNames.set(key, name);
  }
  return name;
}

/** Per-pod chains: PI = ingress (traffic to the pod), PE = egress (from it). */
export function podChain(direction: 'ingress' | 'egress', podKey: string): string {
  return `${PREFIX}${direction === 'ingress' ? 'PI' : 'PE'}-${hash64(`pod|${podKey}`)}`;
}

/** Per-policy chains; `variant` distinguishes named-port resolutions (empty when none). */
export function policyChain(direction: 'ingress' | 'egress', policyKey: string, variant: string): string {
  return `${PREFIX}${direction === 'ingress' ? 'NI' : 'NE'}-${hash64(`policy|${direction}|${policyKey}|${variant}`)}`;
}

/** A peer set (pods: hash:ip) named by the canonical key of what selects its members. */
export function peerSetName(family: Family, key: string): string {
  return `${PREFIX}S${family}-${hash64(key)}`;
}

/** An ipBlock set (hash:net with nomatch excepts). */
export function netSetName(family: Family, key: string): string {
  return `${PREFIX}N${family}-${hash64(key)}`;
}

/** (pod address, host interface) of every programmed pod: hash:net,iface. */
export function ifaceSetName(family: Family): string {
  return `${PREFIX}IF${family}`;
}

/** The node's own addresses (hash:ip). */
export function nodeSetName(family: Family): string {
  return `${PREFIX}NODE${family}`;
}

export function isOurs(name: string): boolean {
  return name.startsWith(PREFIX);
}

/** The family of one of our set names (S4/N4/IF4/NODE4 vs …6). */
export function setFamilyOf(name: string): 4 | 6 {
  const m = /^TORTIE-(?:S|N|IF|NODE)([46])/.exec(name);
  return m?.[1] === '6' ? 6 : 4;
}
