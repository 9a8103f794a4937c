/**
 * The IPAM part of the control API (version 1): request and response
 * shapes of /v1/ipam/*. The agent serves them, tortie-ipam and tortiectl
 * call them. Type-only: importing this costs a bundle nothing.
 *
 *   POST /v1/ipam/assign        IpamAssignRequest  -> IpamAssignResponse
 *   POST /v1/ipam/release       IpamReleaseRequest -> IpamReleaseResponse   (404 when nothing matched)
 *   GET  /v1/ipam/allocations   ?handle=H          -> IpamAllocationsResponse (404 when the handle holds nothing)
 *   GET  /v1/ipam/show          [?allocations=1]   -> IpamShowView
 *   GET  /v1/ipam/check                            -> IpamCheckView (liveness from each allocation's netns)
 *   POST /v1/ipam/check         IpamCheckRequest   -> IpamCheckView (liveness from the given attachments)
 *   POST /v1/ipam/gc            IpamGcRequest      -> IpamGcResponse
 *   GET  /v1/ipam/status                           -> IpamStatusView
 */

export type IpamFamilyName = 'ipv4' | 'ipv6';

/** One attachment: what CNI calls (containerID, ifname). */
export interface IpamAttachment {
  containerId: string;
  ifname: string;
}

export interface IpamAssignRequest {
  /** The handle; or give containerId and ifname and the agent builds "<containerId>/<ifname>". */
  handle?: string;
  containerId?: string;
  ifname?: string;
  namespace?: string;
  pod?: string;
  netns?: string;
  /** The CNI network name. */
  network?: string;
  /** Default: every family this node has an eligible pool for. */
  families?: IpamFamilyName[];
  /** Only these pools. */
  pools?: string[];
  /** Fixed addresses (at most one per family), e.g. from the CNI `ips` capability or CNI_ARGS IP=. */
  ips?: string[];
}

export interface IpamAddressView {
  address: string;
  family: IpamFamilyName;
  /** The host prefix: "10.244.0.5/32", "fd00::5/128". */
  cidr: string;
  block: string;
  pool: string;
  /** From another node's block (advertised as a host route). */
  borrowed: boolean;
}

export interface IpamAssignResponse {
  handle: string;
  ips: IpamAddressView[];
}

export interface IpamReleaseRequest {
  handle?: string;
  containerId?: string;
  ifname?: string;
  ip?: string;
}

export interface IpamReleasedView {
  address: string;
  handle: string;
  block: string;
  node: string;
}

export interface IpamReleaseResponse {
  released: IpamReleasedView[];
}

export interface IpamAllocationView {
  address: string;
  family: IpamFamilyName;
  handle: string;
  block: string;
  /** The block's node. */
  blockNode: string | null;
  /** The node the address is used on. */
  node: string;
  pool: string;
  borrowed: boolean;
  assignedAt: string;
  namespace?: string;
  pod?: string;
  containerId?: string;
  ifname?: string;
  netns?: string;
  network?: string;
}

export interface IpamAllocationsResponse {
  allocations: IpamAllocationView[];
}

export interface IpamPoolView {
  name: string;
  cidr: string;
  family: IpamFamilyName;
  blockSize: number;
  nodeSelector: string;
  disabled: boolean;
  selectsThisNode: boolean;
  /** Numbers that can exceed 2^53 (IPv6) are decimal strings. */
  blocks: { total: string; claimed: number; thisNode: number };
  addresses: { total: string; inClaimedBlocks: number; used: number; reserved: string };
  /** used / inClaimedBlocks, in percent (0 when nothing is claimed). */
  blockUtilizationPct: number;
  /** The last time this node found the pool exhausted, until an assign from it succeeds again. */
  lastError?: { at: string; code: string; message: string };
}

export interface IpamBlockView {
  cidr: string;
  pool: string;
  /** The node the block belongs to (null: none). */
  node: string | null;
  size: number;
  used: number;
  free: number;
  cooling: number;
  reserved: number;
  /** Addresses of this block used by other nodes (borrowed from it). */
  lentOut: number;
  claimedAt: string;
  /** The block lies in no configured pool (a pool was removed or changed). */
  orphanPool?: boolean;
}

export interface IpamBorrowedView {
  address: string;
  block: string;
  blockNode: string | null;
  node: string;
  handle: string;
}

export interface IpamNodeView {
  name: string;
  lastSeen: string;
  blocks: number;
}

export interface IpamShowView {
  node: string;
  datastore: { kind: string; location: string };
  strictAffinity: boolean;
  releaseCooldownSec: number;
  gcGraceSec: number;
  reservations: string[];
  pools: IpamPoolView[];
  blocks: IpamBlockView[];
  /** Addresses used on a node other than their block's. */
  borrowed: IpamBorrowedView[];
  nodes: IpamNodeView[];
  /** Every allocation, with ?allocations=1. */
  allocations?: IpamAllocationView[];
  /** Prefixes this node advertises for IPAM: its blocks, and host routes for borrowed addresses. */
  originated: string[];
  /** This agent's allocator since it started: batches planned, block writes, CAS conflicts, unknown outcomes, retries, full re-reads. */
  stats: { batches: number; writes: number; conflicts: number; unknownOutcomes: number; retries: number; lists: number; backoffs?: number };
}

export interface IpamCheckRequest {
  /** The attachments that are alive on this node; when given, everything else of this node's is a leak. */
  attachments?: IpamAttachment[];
  network?: string;
}

export interface IpamLeakView {
  address: string;
  handle: string;
  node: string;
  reason: string;
  namespace?: string;
  pod?: string;
  assignedAt: string;
}

export interface IpamOrphanBlockView {
  cidr: string;
  node: string | null;
  used: number;
  reason: string;
}

export interface IpamCheckView {
  node: string;
  checkedAt: string;
  allocations: number;
  /** How liveness was decided: "attachments" (given) or "netns" (each allocation's namespace path). */
  basis: 'attachments' | 'netns';
  /** How "node gone" was decided: "cluster" (the cluster's node list) or "records" (node records not refreshed for 10 minutes; also when absent, from older agents). */
  nodeBasis?: 'cluster' | 'records';
  leaks: IpamLeakView[];
  orphanedBlocks: IpamOrphanBlockView[];
  /** Allocations whose liveness could not be decided (no netns recorded, basis netns). */
  unknown: number;
  ok: boolean;
}

export interface IpamGcRequest {
  /** CNI 1.1 `cni.dev/valid-attachments`. */
  validAttachments: IpamAttachment[];
  network?: string;
  /** Overrides ipam.gcGraceSec for this call. */
  graceSec?: number;
}

export interface IpamGcResponse {
  released: IpamReleasedView[];
  releasedBlocks: string[];
  /** This node's allocations still held afterwards. */
  kept: number;
}

export interface IpamStatusView {
  /** True when this node can get an address in at least one family. */
  ready: boolean;
  families: IpamFamilyName[];
  message: string;
}
