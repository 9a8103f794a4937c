/** Configuration and status shapes of the speaker's public API. */
import type { FamilyKey } from '../codec/index.js';
import type { PolicyDef } from '../rib/index.js';

export interface SpeakerConfig {
  asn: number;
  routerId: string;
  /** Where to accept connections; undefined: no listener (active peers only). */
  listen?: { address: string; port: number };
  /** RFC 4724. Enabled unless `enabled: false`. */
  gracefulRestart?: {
    enabled?: boolean;
    /** What we advertise as our restart time. */
    restartTimeSec?: number;
    /** We are restarting and kept forwarding state (the kernel routes survived). */
    restarting?: boolean;
    /** How long to wait for peers' End-of-RIB before exporting after our restart. */
    deferralSec?: number;
    /** How long to keep a restarting peer's stale routes after it re-established without End-of-RIB. */
    staleTimeSec?: number;
  };
  /** Compile the hot paths before the first table arrives (warm-up.ts); about 0.1 s at start. */
  warmUp?: boolean;
  /** ECMP: equal paths kept per prefix (1 = no multipath). */
  maxPaths?: number;
  multipathRelax?: boolean;
  clusterId?: string;
  hostname?: string;
  /** Next hops to announce for a family when the session's own address is of the other family. */
  nextHops?: { ipv4?: string; ipv6?: string; ipv6LinkLocal?: string };
}

export interface PeerConfig {
  address: string;
  port?: number;
  asn: number;
  localAddress?: string;
  passive?: boolean;
  description?: string;
  families?: FamilyKey[];
  holdTimeSec?: number;
  keepaliveSec?: number;
  connectRetrySec?: number;
  idleHoldInitialSec?: number;
  /** Toward iBGP: replace the next hop with our own address. */
  nextHopSelf?: boolean;
  rrClient?: boolean;
  gracefulRestart?: boolean;
  importPolicy?: PolicyDef;
  exportPolicy?: PolicyDef;
}

export interface PeerStatus {
  address: string;
  asn: number;
  description?: string;
  state: string;
  uptimeSec: number;
  peerRouterId?: string;
  families: string[];
  prefixesReceived: number;
  prefixesAccepted: number;
  prefixesAdvertised: number;
  prefixesStale: number;
  messagesIn: number;
  messagesOut: number;
  updatesIn: number;
  updatesOut: number;
  flaps: number;
  lastError?: {
    reason: string;
    atMs: number;
    detail?: string;
    notification?: { code: number; subcode: number; direction: 'sent' | 'received'; text?: string };
  };
}

/** A change of the best path (and ECMP set) of one prefix, for the FIB. */
export interface BestPathEvent {
  prefix: string;
  /** Next hops to install; empty when the prefix is gone or is our own. */
  nextHops: string[];
  /** True when the best path is locally originated. */
  local: boolean;
  withdrawn: boolean;
  reason: string;
}
