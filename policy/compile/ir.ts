/**
 * The intermediate form between the Kubernetes objects and iptables: which
 * local pods are isolated in which direction and by which policy chains,
 * what each policy chain allows (peers as set names, ports as ranges), and
 * the sets with their members. Family-neutral: a set has a family, and a
 * rule is rendered for a family with the peers of that family only.
 */
import type { Family } from './cidr.js';
import type { Protocol } from './model.js';

export type Direction = 'ingress' | 'egress';

export type SetType = 'hash:ip' | 'hash:net' | 'hash:net,iface';

export interface SetDef {
  readonly name: string;
  readonly family: Family;
  readonly type: SetType;
  /** Members exactly as `ipset save` prints them (`10.0.0.0/8`, `10.1.0.0/16 nomatch`, `10.0.0.1,tt0a1b`), sorted. */
  readonly members: readonly string[];
  /** What the set stands for, for `show` and the README. */
  readonly describe: string;
}

/** One port match; `from`/`to` absent means every port of the protocol. */
export interface PortRange {
  readonly protocol: Protocol;
  readonly from?: number;
  readonly to?: number;
}

/** One allow rule of a policy chain. */
export interface IrRule {
  /** 'any' or set names (of any family; rendering picks the family's). */
  readonly peers: 'any' | readonly string[];
  readonly ports: 'any' | readonly PortRange[];
}

/** Where a set's members come from. */
export type SetSource =
  /** hash:ip: addresses of the pods of a selection, optionally only those where a named port has one number. */
  | {
      readonly kind: 'selection';
      readonly name: string;
      readonly family: Family;
      readonly selection: string;
      readonly describe: string;
      readonly port?: { readonly name: string; readonly protocol: Protocol; readonly number: number };
    }
  /** hash:net: an ipBlock, excepts as nomatch entries. */
  | { readonly kind: 'block'; readonly name: string; readonly family: Family; readonly key: string; readonly describe: string; readonly entries: readonly string[] };

export interface IrPolicyChain {
  readonly name: string;
  /** namespace/name of the NetworkPolicy. */
  readonly policy: string;
  readonly direction: Direction;
  readonly rules: readonly IrRule[];
  /** The sets its rules reference. */
  readonly sets: readonly SetSource[];
}

/** A pod wired on this node. */
export interface IrPod {
  readonly key: string;
  readonly ifName: string;
  /** Canonical addresses, both families. */
  readonly ips: readonly string[];
  /** Policy chains in order (sorted by policy key), or undefined when not isolated in that direction. */
  readonly ingress: readonly string[] | undefined;
  readonly egress: readonly string[] | undefined;
  /** namespace/name of the policies selecting it, per direction. */
  readonly ingressPolicies: readonly string[];
  readonly egressPolicies: readonly string[];
  /** Named-port resolution on this pod, `name/PROTO` -> number. */
  readonly namedPorts: Readonly<Record<string, number>>;
}

export interface PolicyIr {
  readonly pods: ReadonlyMap<string, IrPod>;
  readonly policyChains: ReadonlyMap<string, IrPolicyChain>;
  readonly sets: ReadonlyMap<string, SetDef>;
}
