/**
 * IPPool objects → the node's IP pools, merged after the file's (the file
 * wins). Each pool is checked by the configuration file's own rules, in the
 * context of the pools already accepted: a pool the file would refuse
 * (a bad CIDR or block size, an overlap, a name used twice) is left out
 * with the file's reason. Pure.
 */
import type { IpamPoolConfig } from '../config/schema.js';
import type { AgentConfig } from '../config/schema.js';
import { parseConfigText } from '../config/load.js';
import type { IpPoolObject } from './types.js';

/** An IPPool as the cluster has it. */
export interface ClusterIpPool {
  readonly name: string;
  readonly spec: Readonly<Record<string, unknown>>;
  /** metadata.creationTimestamp as ms (0 when absent): the older of two overlapping pools stays. */
  readonly createdMs: number;
}

const POOL_FIELDS = ['cidr', 'blockSize', 'nodeSelector', 'disabled'] as const;

/**
 * The IPPools worth merging (named, with a spec), oldest first, then by
 * name: a new pool that overlaps an existing one is the one left out, never
 * the pool whose blocks are in use.
 */
export function clusterIpPools(objects: readonly IpPoolObject[]): ClusterIpPool[] {
  const out: ClusterIpPool[] = [];
  for (const o of objects) {
    const name = o.metadata.name;
    if (name === undefined || o.spec === undefined || o.spec === null) continue;
    const spec: Record<string, unknown> = {};
    for (const k of POOL_FIELDS) if (o.spec[k] !== undefined && o.spec[k] !== null) spec[k] = o.spec[k];
    const t = o.metadata.creationTimestamp;
    const createdMs = t === undefined ? 0 : new Date(t).getTime() || 0;
    out.push({ name, spec, createdMs });
  }
  return out.sort((a, b) => a.createdMs - b.createdMs || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function poolEntry(p: IpamPoolConfig): Record<string, unknown> {
  return { name: p.name, cidr: p.cidr, blockSize: p.blockSize, nodeSelector: p.nodeSelector, disabled: p.disabled };
}

export interface MergedPools {
  readonly pools: readonly IpamPoolConfig[];
  /** Keyed by pool name: where each cluster pool came from. */
  readonly fromCluster: ReadonlySet<string>;
  readonly problems: readonly string[];
}

/** The file's pools, then each valid IPPool that does not clash with them or an earlier IPPool. */
export function mergeIpPools(file: AgentConfig, cluster: readonly ClusterIpPool[]): MergedPools {
  const pools: IpamPoolConfig[] = [...file.ipam.pools];
  const fromCluster = new Set<string>();
  const problems: string[] = [];
  const n = file.node;
  for (const c of cluster) {
    if (file.ipam.pools.some((p) => p.name === c.name)) {
      problems.push(`IPPool ${c.name}: the configuration file has a pool of that name, which wins`);
      continue;
    }
    const entries = [...pools.map(poolEntry), { name: c.name, ...c.spec }];
    const doc = { node: { name: n.name, asn: n.asn, routerId: n.routerId }, ipam: { pools: entries } };
    // JSON is YAML: the file's parser reads it with every rule (overlaps included).
    const r = parseConfigText(JSON.stringify(doc), `IPPool/${c.name}`, { env: {}, hostname: n.name });
    if (!r.ok) {
      const at = `ipam.pools[${entries.length - 1}]`;
      const mine = r.issues.filter((i) => i.path.startsWith(at));
      const shown = mine.length > 0 ? mine : r.issues;
      problems.push(...shown.map((i) => `IPPool ${c.name}: ${i.path.startsWith(at) ? `spec${i.path.slice(at.length)}` : i.path}: ${i.message}; ignored`));
      continue;
    }
    const p = r.config.ipam.pools[entries.length - 1];
    if (p === undefined) continue;
    pools.push(p);
    fromCluster.add(p.name);
  }
  return { pools, fromCluster, problems };
}
