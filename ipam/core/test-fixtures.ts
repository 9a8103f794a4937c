/** Helpers for the IPAM core tests: policies, and a table that commits like the allocator does. */
import { parseAddressOrCidr } from './ip.js';
import type { IpamPolicy } from './policy.js';
import { poolFromSpec, type PoolSpec } from './pool.js';
import { BlockCache, WorkingSet } from './table.js';

export interface PolicyInput {
  node?: string;
  labels?: Record<string, string>;
  pools?: (Partial<PoolSpec> & { cidr: string })[];
  reservations?: string[];
  strictAffinity?: boolean;
  cooldownMs?: number;
}

export function policy(p: PolicyInput = {}): IpamPolicy {
  return {
    node: p.node ?? 'node-a',
    labels: p.labels ?? {},
    pools: (p.pools ?? [{ cidr: '10.0.0.0/24' }]).map((s, i) => poolFromSpec({
      name: s.name ?? `p${i}`, cidr: s.cidr, blockSize: s.blockSize ?? 26, nodeSelector: s.nodeSelector ?? 'all()', disabled: s.disabled ?? false,
    })),
    reservations: (p.reservations ?? []).map((r) => {
      const c = parseAddressOrCidr(r);
      if (!c.ok) throw new Error(c.reason);
      return c.cidr;
    }),
    strictAffinity: p.strictAffinity ?? true,
    cooldownMs: p.cooldownMs ?? 0,
  };
}

/** A cache plus working sets that "commit" straight into it. */
export class TestTable {
  readonly cache = new BlockCache();
  private rev = 0;

  /** Runs `fn` on a working set and commits its changes (unless it throws). */
  step<R>(fn: (t: WorkingSet) => R): R {
    const ws = new WorkingSet(this.cache);
    const r = fn(ws);
    for (const [cidr, doc] of ws.changes()) {
      if (doc === null) this.cache.delete(cidr);
      else this.cache.set(doc, String(++this.rev));
    }
    return r;
  }

  view(): WorkingSet {
    return new WorkingSet(this.cache);
  }
}
