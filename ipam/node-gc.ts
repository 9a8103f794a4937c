/**
 * Garbage collection of nodes that are gone (in a cluster: no longer in the
 * Kubernetes Node list): their empty blocks are removed, so any node can
 * claim them again, and their node records are removed. Blocks that still
 * hold allocations are kept, affinity and all, and reported: freeing them
 * could hand out the address of a pod that is still running somewhere, so
 * they stay leaks for `tortiectl ipam check` and an operator to decide.
 *
 * Block changes go through the allocator (compare-and-swap, bounded
 * retries, the cache changes only after a write). A node record is removed
 * with one compare-and-swap on the revision just read: if that fails, its
 * agent has just refreshed it, so it is alive and is left alone (no retry).
 */
import { TortieError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { Allocator } from './allocator.js';
import { addressTextAt } from './core/block.js';
import { DatastoreErrorCode, type Datastore } from './core/datastore.js';
import { ipamError, IpamErrorCode } from './core/errors.js';
import { nodeKey, NODES_PREFIX } from './core/keys.js';
import { releaseGoneNodesBlocks, type GoneNodeBlock } from './core/release.js';

export interface ReleaseNodesOptions {
  /** Report what would be done, change nothing. */
  dryRun?: boolean;
  /**
   * Release only these nodes (those of them not in the live list); every
   * other node counts as live. A caller that decided from an earlier dry run
   * passes what it decided on, so a node that appeared since is left alone.
   */
  only?: ReadonlySet<string>;
}

export interface StrandedAllocation {
  address: string;
  handle: string;
  /** The gone node the allocation was made for. */
  node: string;
  block: string;
  namespace?: string;
  pod?: string;
}

export interface ReleaseNodesResult {
  /** Nodes that have blocks, allocations or a node record but are not live (sorted). */
  goneNodes: string[];
  /** Empty blocks of gone nodes, removed (or that would be, in a dry run). */
  releasedBlocks: { cidr: string; node: string }[];
  /** Blocks of gone nodes that still hold allocations: kept, reported by `ipam check`. */
  keptBlocks: { cidr: string; node: string; used: number }[];
  /** Allocations made for gone nodes, wherever they are (also in live nodes' blocks, when borrowed): left in place. */
  strandedAllocations: StrandedAllocation[];
  /** Node records of gone nodes, removed (or that would be). */
  removedNodeRecords: string[];
  dryRun: boolean;
}

export interface NodeGcDeps {
  node: string;
  allocator: Allocator;
  store: Datastore;
  log: Logger;
}

export async function releaseNodesNotIn(d: NodeGcDeps, liveNodes: ReadonlySet<string>, opts: ReleaseNodesOptions = {}): Promise<ReleaseNodesResult> {
  if (liveNodes.size === 0) {
    // An empty list is far more likely a cache not yet synced than a cluster without nodes.
    throw ipamError(IpamErrorCode.BadRequest, 'refusing to release the blocks of every node: the list of live nodes is empty');
  }
  const listed = new Set(liveNodes).add(d.node);
  const only = opts.only;
  const live = { has: (n: string): boolean => listed.has(n) || (only !== undefined && !only.has(n)) };
  const apply = opts.dryRun !== true;
  // Plan on a fresh view of every block: other nodes' blocks are only re-read now and then.
  d.allocator.invalidate();
  const items = await d.allocator.runItems<GoneNodeBlock>('release blocks of gone nodes', (t, pol) => releaseGoneNodesBlocks(t, pol, live, apply), (b) => b.cidr);
  // An item can come twice when a write was retried (the kept ones are planned again): the last word counts.
  const byCidr = new Map(items.map((b) => [b.cidr, b]));
  const releasedBlocks: ReleaseNodesResult['releasedBlocks'] = [];
  const keptBlocks: ReleaseNodesResult['keptBlocks'] = [];
  for (const b of [...byCidr.values()].sort((x, y) => x.cidr.localeCompare(y.cidr))) {
    if (b.action === 'released') releasedBlocks.push({ cidr: b.cidr, node: b.node });
    else keptBlocks.push({ cidr: b.cidr, node: b.node, used: b.used });
  }

  const gone = new Set(items.map((b) => b.node));
  const strandedAllocations: StrandedAllocation[] = [];
  for (const v of d.allocator.blocks.views()) {
    for (const a of v.doc.allocations) {
      if (live.has(a.attrs.node)) continue;
      gone.add(a.attrs.node);
      strandedAllocations.push({
        address: addressTextAt(v.cidr, a.ordinal), handle: a.handle, node: a.attrs.node, block: v.doc.cidr,
        ...(a.attrs.namespace !== undefined ? { namespace: a.attrs.namespace } : {}),
        ...(a.attrs.pod !== undefined ? { pod: a.attrs.pod } : {}),
      });
    }
  }

  const removedNodeRecords: string[] = [];
  // Record keys escape some characters of node names (core/keys.ts): compare keys, report names.
  const liveKeys = new Set([...listed].map(nodeKey));
  const onlyKeys = only !== undefined ? new Set([...only].map(nodeKey)) : undefined;
  for (const e of await d.store.list(NODES_PREFIX)) {
    if (liveKeys.has(e.key) || (onlyKeys !== undefined && !onlyKeys.has(e.key))) continue;
    const v = e.value as { name?: unknown } | null;
    const name = v !== null && typeof v === 'object' && typeof v.name === 'string' ? v.name : e.key.slice(NODES_PREFIX.length);
    gone.add(name);
    if (!apply) {
      removedNodeRecords.push(name);
      continue;
    }
    try {
      await d.store.delete(e.key, e.revision);
      removedNodeRecords.push(name);
    } catch (err) {
      if (!(err instanceof TortieError && err.code === DatastoreErrorCode.Conflict)) throw err;
      d.log.warn({ node: name }, 'the node record of a node not in the live list was just refreshed: its agent runs; left alone');
    }
  }

  const result: ReleaseNodesResult = {
    goneNodes: [...gone].sort(), releasedBlocks, keptBlocks, strandedAllocations, removedNodeRecords, dryRun: !apply,
  };
  if (apply && (releasedBlocks.length > 0 || removedNodeRecords.length > 0 || keptBlocks.length > 0)) {
    d.log.info({
      goneNodes: result.goneNodes, releasedBlocks: releasedBlocks.map((b) => b.cidr), keptBlocks: keptBlocks.map((b) => `${b.cidr} (${b.used} used)`),
      removedNodeRecords,
    }, 'released the blocks of nodes that are gone; blocks still holding addresses are kept (see tortiectl ipam check)');
  }
  return result;
}
