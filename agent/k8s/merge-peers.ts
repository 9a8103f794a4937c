/**
 * The file's configuration plus what the cluster says → the configuration
 * the agent runs, and where each peer came from. The result is an ordinary
 * AgentConfig, so the agent's own `effectivePeers` and `diffConfig` turn a
 * cluster change into exactly the sessions to add, remove or reset.
 *
 * Rules (the file wins on every conflict):
 *   - The mesh runs when the file's `nodeToNodeMesh.enabled` and the
 *     cluster's BGPConfiguration `nodeToNodeMeshEnabled` (default true) are
 *     both on.
 *   - Node members are added after the file's members. A Node whose name or
 *     address is already a file member is left out.
 *   - BGPPeer peers are added after the file's peers. One whose address is
 *     a file peer or a file mesh member is left out; of two BGPPeers with one
 *     address, the first by name stays. A BGPPeer at a Node member's address
 *     replaces that member (an explicit peer wins over the mesh, as in the file).
 *   - A BGPPeer the file's rules refuse is left out, with the reasons.
 * Pure.
 */
import type { AgentConfig, MeshMember, PeerDef } from '../config/schema.js';
import { deepFreeze } from '../config/validate.js';
import { validateBgpPeer, type SelectedBgpPeer } from './bgp-peers.js';
import { mergeIpPools, type ClusterIpPool } from './ip-pools.js';
import type { ClusterMeshMember } from './node-mesh.js';

/** Where a peer came from; `tortiectl bgp sessions` shows it. */
export type PeerOrigin =
  | { readonly kind: 'file' }
  | { readonly kind: 'node'; readonly node: string }
  | { readonly kind: 'bgppeer'; readonly name: string };

/** What the cluster contributes (ClusterSource emits this). */
export interface ClusterPeers {
  /** BGPConfiguration default's nodeToNodeMeshEnabled; undefined when unset or absent. */
  readonly meshEnabled: boolean | undefined;
  /** Other nodes (never this one), sorted by name. */
  readonly meshMembers: readonly ClusterMeshMember[];
  /** BGPPeers that select this node, sorted by name, not yet validated. */
  readonly bgpPeers: readonly SelectedBgpPeer[];
  /** IPPool objects, sorted by name, not yet validated; absent: none. */
  readonly ipPools?: readonly ClusterIpPool[];
}

export const EMPTY_CLUSTER_PEERS: ClusterPeers = Object.freeze({ meshEnabled: undefined, meshMembers: [], bgpPeers: [] });

export interface MergedConfig {
  readonly config: AgentConfig;
  /** Keyed by peer address (the PeerKey of effectivePeers). */
  readonly origins: ReadonlyMap<string, PeerOrigin>;
  /** Cluster peers left out, and why. */
  readonly problems: readonly string[];
}

const FILE: PeerOrigin = Object.freeze({ kind: 'file' });

/** `origin` as one word for tables: "file", "node/<name>", "bgppeer/<name>". */
export function formatOrigin(o: PeerOrigin): string {
  switch (o.kind) {
    case 'file':
      return 'file';
    case 'node':
      return `node/${o.node}`;
    case 'bgppeer':
      return `bgppeer/${o.name}`;
  }
}

export function applyClusterPeers(file: AgentConfig, cluster: ClusterPeers): MergedConfig {
  const origins = new Map<string, PeerOrigin>();
  const problems: string[] = [];
  const fileMesh = file.bgp.nodeToNodeMesh;
  const meshOn = fileMesh.enabled && cluster.meshEnabled !== false;

  for (const m of fileMesh.members) origins.set(m.address, FILE);
  for (const p of file.bgp.peers) origins.set(p.address, FILE);
  const fileMemberNames = new Map(fileMesh.members.filter((m) => m.name !== undefined).map((m) => [m.name!, m.address]));

  // BGPPeers first: they decide which Node members they replace.
  const crdPeers: PeerDef[] = [];
  const crdAddresses = new Map<string, string>();
  for (const b of cluster.bgpPeers) {
    const v = validateBgpPeer(b.name, b.spec, file);
    if (!v.ok) {
      problems.push(...v.problems.map((p) => `${p}; ignored`));
      continue;
    }
    const addr = v.peer.address;
    if (origins.get(addr)?.kind === 'file') {
      problems.push(`BGPPeer ${b.name}: ${addr} is already a peer in the configuration file, which wins`);
      continue;
    }
    const first = crdAddresses.get(addr);
    if (first !== undefined) {
      problems.push(`BGPPeer ${b.name}: ${addr} is already BGPPeer ${first}'s peer; ignored`);
      continue;
    }
    crdAddresses.set(addr, b.name);
    crdPeers.push(v.peer);
    origins.set(addr, { kind: 'bgppeer', name: b.name });
  }

  const clusterMembers: MeshMember[] = [];
  if (meshOn) {
    for (const m of cluster.meshMembers) {
      const fileAddr = fileMemberNames.get(m.name);
      if (fileAddr !== undefined) {
        if (fileAddr !== m.address) problems.push(`node ${m.name}: the configuration file lists it at ${fileAddr}, which wins over ${m.address}`);
        continue;
      }
      if (origins.get(m.address)?.kind === 'file') continue;
      if (crdAddresses.has(m.address)) continue;
      clusterMembers.push({ address: m.address, asn: m.asn, name: m.name });
      origins.set(m.address, { kind: 'node', node: m.name });
    }
  }

  const pools = mergeIpPools(file, cluster.ipPools ?? []);
  problems.push(...pools.problems);

  const config: AgentConfig = deepFreeze({
    ...file,
    ipam: { ...file.ipam, pools: pools.pools },
    bgp: {
      ...file.bgp,
      nodeToNodeMesh: { ...fileMesh, enabled: meshOn, members: [...fileMesh.members, ...clusterMembers] },
      peers: [...file.bgp.peers, ...crdPeers],
    },
  });
  return { config, origins, problems };
}
