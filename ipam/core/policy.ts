/**
 * What the planning functions know about the configuration and the node,
 * in one value. Pure.
 */
import type { BlockRules } from './block.js';
import { type Cidr, type Family } from './ip.js';
import { poolSelectsNode, type Pool } from './pool.js';

export interface IpamPolicy extends BlockRules {
  /** This node's name: blocks it claims are affine to it. */
  readonly node: string;
  readonly labels: Readonly<Record<string, string>>;
  /** In configuration order; the order in which pools are tried. */
  readonly pools: readonly Pool[];
  readonly reservations: readonly Cidr[];
  /** When true (the default), never allocate from another node's block. */
  readonly strictAffinity: boolean;
  readonly cooldownMs: number;
}

/** Enabled pools of `family` that select this node, in order; restricted to `names` when given. */
export function eligiblePools(pol: IpamPolicy, family: Family, names?: readonly string[]): Pool[] {
  return pol.pools.filter((p) => p.cidr.family === family && !p.disabled && poolSelectsNode(p, pol.labels) &&
    (names === undefined || names.includes(p.name)));
}

/** The families this node can get addresses in. */
export function availableFamilies(pol: IpamPolicy, names?: readonly string[]): Family[] {
  return ([4, 6] as const).filter((f) => eligiblePools(pol, f, names).length > 0);
}
