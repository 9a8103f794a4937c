/**
 * The control API's JSON shapes (version 1). The agent serves them on its
 * unix socket; tortiectl and tests read them. Add fields freely; never
 * change the meaning of one.
 */

export const API_VERSION = 'v1';

export interface StatusView {
  version: string;
  node: string;
  asn: number;
  routerId: string;
  startedAt: string;
  uptimeSec: number;
  ready: boolean;
  /** Why the agent is not ready, in plain words; empty when ready. */
  notReady: string[];
  configFile: string;
  configLoadedAt: string;
  lastReload?: { at: string; ok: boolean; message: string };
  sessions: { configured: number; established: number };
  routes: { bgp: number; kernel: number; originated: number; failed: number };
  /** Routes the kernel refused (e.g. an unreachable next hop), at most 20. */
  routeFailures: { prefix: string; error: string }[];
  /** NetworkPolicy enforcement, when enabled. */
  policy?: { backend?: string; error?: string; pods: number; programmed: number };
  /** The Kubernetes API, when the agent talks to one. */
  kubernetes?: KubernetesStatusView;
}

/** What the agent knows of the Kubernetes API (agent/k8s/cluster-source.ts ClusterStatus, in short). */
export interface KubernetesStatusView {
  /** starting, synced, stale (unreachable: the last data stays in use), stopped. */
  state: string;
  stale: boolean;
  /** When the state last changed. */
  since: string;
  server: string;
  /** This node's Node object was found (its labels select BGPPeers and IP pools). */
  selfFound: boolean;
  meshMembers: number;
  bgpPeers: number;
  ipPools: number;
  /** Nodes, BGPPeers or IPPools left out, and why. */
  problems: string[];
  nodesWithoutAddress: string[];
  lastChangeAt?: string;
  changes: number;
  /** The Pods, Namespaces and NetworkPolicies cache (NetworkPolicy's input, pods' IPAM annotations). */
  cache?: { state: string; namespaces: number; pods: number; networkPolicies: number };
  /** IPAM garbage collection of deleted Nodes' blocks (agent/node-gc.ts). */
  ipamNodeGc?: { collector: boolean; waiting: { node: string; goneSince: string }[]; lastRunAt?: string; lastError?: string; releasedBlocks: number };
  /** Per resource: synced, connected, objects, the last error. */
  resources: { resource: string; synced: boolean; connected: boolean; objects: number; lastError?: string }[];
}

export type PeerType = 'mesh' | 'global' | 'explicit';

export interface SessionView {
  peer: string;
  peerAsn: number;
  type: PeerType;
  /** Where the peer comes from: "file", "node/<name>" (a Kubernetes Node), "bgppeer/<name>". */
  source: string;
  description?: string;
  state: string;
  /** ISO time of the last change into or out of Established; undefined when never. */
  since?: string;
  uptimeSec: number;
  peerRouterId?: string;
  families: string[];
  received: number;
  accepted: number;
  advertised: number;
  stale: number;
  flaps: number;
  updatesIn: number;
  updatesOut: number;
  lastError?: {
    /** Plain words: "hold timer expired", "OPEN rejected: bad peer AS 65002, expected 65001". */
    text: string;
    reason: string;
    code?: number;
    subcode?: number;
    direction?: 'sent' | 'received';
    at: string;
  };
}

export interface PathView {
  peer: string;
  nextHops: string[];
  asPath: string;
  origin: string;
  localPref?: number;
  med?: number;
  communities: string[];
  largeCommunities: string[];
  stale: boolean;
}

export interface RouteView {
  prefix: string;
  best?: PathView;
  /** Why the best path won, in words. */
  reason: string;
  multipath: PathView[];
  alternatives: PathView[];
}

// The IPAM endpoints (/v1/ipam/*) have their shapes in ipam/api-types.ts; re-exported here.
export type * from '../ipam/api-types.js';

export interface ApiError {
  error: string;
  code: string;
}

// ------------------------------------------------------------ NetworkPolicy (policy/README.md)

/** What the CNI plugin tells the agent after wiring a pod (POST /v1/policy/attachments). */
export interface PolicyAttachmentRequest {
  namespace: string;
  pod: string;
  /** The host-side veth. */
  ifName: string;
  ips: string[];
  containerId: string;
  /** The pod-side interface (CNI_IFNAME); DEL names it to forget just this attachment. Absent from older plugins. */
  podIfName?: string;
}

export interface PolicyAttachmentResponse {
  /** namespace/pod */
  pod: string;
  /** Where the pod's policy stands right after the call (usually pending: programming is under way). */
  state: PolicyPodState;
}

export interface PolicyDetachResponse {
  /** False when nothing was registered under that container ID (and pod interface, when given): DEL is idempotent. */
  removed: boolean;
  pod?: string;
}

export type PolicyPodState = 'programmed' | 'updating' | 'pending' | 'unknown';

/** GET /v1/policy/wait: always 200; `programmed` says whether the rules landed within the time. */
export interface PolicyWaitResponse {
  pod: string;
  programmed: boolean;
  state: PolicyPodState;
  waitedMs: number;
  /** Set when not programmed: why, in plain words. */
  message?: string;
}

export interface PolicyPodStatusView {
  pod: string;
  state: PolicyPodState;
  ifName?: string;
  ingressIsolated?: boolean;
  egressIsolated?: boolean;
}

export interface PolicyRuleView {
  index: number;
  peers: readonly string[];
  ports: readonly string[];
  note?: string;
}

export interface PolicyDirectionView {
  isolated: boolean;
  chain?: string;
  policies: readonly { policy: string; chain?: string; rules: readonly PolicyRuleView[] }[];
}

/** GET /v1/policy/pods/{ns}/{pod} */
export interface PolicyShowView {
  pod: string;
  local: boolean;
  ifName?: string;
  ips: readonly string[];
  ingress: PolicyDirectionView;
  egress: PolicyDirectionView;
  issues: readonly { message: string }[];
  status: PolicyPodStatusView;
}

/** GET /v1/policy/verify */
export interface PolicyVerifyView {
  ok: boolean;
  backend: string;
  applyPending: boolean;
  tables: readonly {
    family: 4 | 6; missingChains: readonly string[]; extraChains: readonly string[]; differingChains: readonly string[];
    missingJumps: readonly string[]; duplicateJumps: readonly string[];
  }[];
  missingSets: readonly string[];
  extraSets: readonly string[];
  differingSets: readonly { name: string; missingMembers: readonly string[]; extraMembers: readonly string[] }[];
  conflictingSets: readonly string[];
  podsAffected: readonly string[];
  chainsChecked: number;
  rulesChecked: number;
  setsChecked: number;
}

/** GET /v1/policy/status, and `policy` in StatusView. */
export interface PolicyStatusView {
  enabled: boolean;
  /** nft or legacy once started. */
  backend?: string;
  /** Why the enforcer is not enforcing (e.g. ERR_POLICY_BACKEND_MIXED: ...). */
  error?: string;
  manifestDir?: string;
  manifestIssues: readonly string[];
  attachments: number;
  lastApply?: { at: string; ok: boolean; changed: boolean; totalMs: number; error?: string };
  pods: PolicyPodStatusView[];
}
