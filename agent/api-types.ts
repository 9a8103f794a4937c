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
}

export type PeerType = 'mesh' | 'global' | 'explicit';

export interface SessionView {
  peer: string;
  peerAsn: number;
  type: PeerType;
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
