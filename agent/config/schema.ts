/**
 * The agent's configuration as the rest of the agent sees it: typed, with
 * every default applied, deeply frozen. docs/config.md documents each field;
 * keep the two in step.
 *
 * Peer fields that inherit from a wider level (timers, passive) stay
 * optional here and are resolved per peer by `effectivePeers` (peers.ts).
 */
import type { LargeCommunity } from '../../bgp/codec/index.js';
import type { PolicyDef } from '../../bgp/rib/policy.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];

/** Address families as written in the file. */
export type FamilyName = 'ipv4' | 'ipv6';
export const FAMILY_NAMES: readonly FamilyName[] = ['ipv4', 'ipv6'];

export interface NodeConfig {
  readonly name: string;
  readonly asn: number;
  /** IPv4 dotted quad: the BGP identifier. */
  readonly routerId: string;
  /** Where `routerId` came from. */
  readonly routerIdFrom: 'file' | 'env' | 'sourceAddress';
  /** Our IPv4 source address toward IPv4 peers, and the IPv4 next hop we announce. */
  readonly sourceAddress?: string;
  /** Our IPv6 source address toward IPv6 peers, and the IPv6 next hop we announce. */
  readonly sourceAddressV6?: string;
  /** Labels that IP pool node selectors match (kubernetes.io/hostname is added from `name`). */
  readonly labels: Readonly<Record<string, string>>;
}

export interface ListenConfig {
  /** false: accept no connections (active peers only). */
  readonly enabled: boolean;
  readonly address: string;
  /** 0: an ephemeral port (tests). */
  readonly port: number;
}

export interface GracefulRestartConfig {
  readonly enabled: boolean;
  readonly restartTimeSec: number;
  readonly staleTimeSec: number;
  readonly deferralSec: number;
}

export interface MeshMember {
  readonly address: string;
  /** Defaults to node.asn. */
  readonly asn: number;
  readonly name?: string;
}

export interface MeshConfig {
  readonly enabled: boolean;
  readonly members: readonly MeshMember[];
  readonly holdTimeSec?: number;
  readonly keepaliveSec?: number;
  readonly passive?: boolean;
}

export interface PeerDef {
  /** Canonical text; the peer's key. */
  readonly address: string;
  readonly asn: number;
  readonly port?: number;
  readonly passive?: boolean;
  /** TTL of our packets toward the peer, 1..255. */
  readonly multihop?: number;
  readonly families?: readonly FamilyName[];
  readonly holdTimeSec?: number;
  readonly keepaliveSec?: number;
  readonly description?: string;
  readonly nextHopSelf?: boolean;
  /** RFC 4724 toward this peer; off only when the global switch is on and this says false. */
  readonly gracefulRestart?: boolean;
  readonly import?: PolicyDef;
  readonly export?: PolicyDef;
}

export interface BgpConfig {
  readonly listen: ListenConfig;
  readonly holdTimeSec: number;
  readonly keepaliveSec: number;
  readonly connectRetrySec: number;
  readonly gracefulRestart: GracefulRestartConfig;
  /** ECMP width: equal paths kept per prefix (1 = no multipath). */
  readonly maxPaths: number;
  readonly nodeToNodeMesh: MeshConfig;
  readonly peers: readonly PeerDef[];
  /** Attached to the prefixes we originate, as uint32 values. */
  readonly communities: readonly number[];
  readonly largeCommunities: readonly LargeCommunity[];
}

export interface RoutesConfig {
  /** Canonical prefixes this node originates (standalone mode: its pod blocks). */
  readonly originate: readonly string[];
  /** The `proto` number on every kernel route we install. */
  readonly protocol: number;
  /** The kernel routing table. */
  readonly table: number;
}

export interface PathsConfig {
  readonly stateDir: string;
  readonly controlSocket: string;
}

export interface EndpointConfig {
  readonly address: string;
  /** 0 disables the endpoint. */
  readonly port: number;
}

export interface HealthConfig extends EndpointConfig {
  /** After start, sessions not up yet (and not failed) hold readiness back this long. */
  readonly readinessGraceSec: number;
}

export interface IpamPoolConfig {
  /** Unique; defaults to "pool-" and the CIDR with dashes. */
  readonly name: string;
  /** Canonical CIDR. */
  readonly cidr: string;
  readonly family: FamilyName;
  /** Prefix length of the blocks the pool is cut into. */
  readonly blockSize: number;
  /** Which nodes may claim blocks (ipam/core/selector.ts syntax). */
  readonly nodeSelector: string;
  /** No new addresses from this pool; existing ones stay. */
  readonly disabled: boolean;
}

export interface IpamDatastoreConfig {
  /** local: files under `directory`; kubernetes: IPAM objects in the API (needs kubernetes.enabled). */
  readonly type: 'local' | 'kubernetes';
  /** Where the local datastore keeps its files. */
  readonly directory: string;
}

export interface IpamConfig {
  readonly pools: readonly IpamPoolConfig[];
  /** Canonical prefixes (a bare address becomes a /32 or /128) never handed out. */
  readonly reservations: readonly string[];
  /** Never allocate from another node's block (no borrowing). */
  readonly strictAffinity: boolean;
  /** A released address is not handed out again for this long (unless nothing else is left). */
  readonly releaseCooldownSec: number;
  /** CNI GC keeps allocations younger than this. */
  readonly gcGraceSec: number;
  readonly datastore: IpamDatastoreConfig;
}

export type PolicyBackendName = 'auto' | 'nft' | 'legacy';
export const POLICY_BACKENDS: readonly PolicyBackendName[] = ['auto', 'nft', 'legacy'];

export interface PolicyConfig {
  /** Enforce NetworkPolicy on this node. Off: nothing of ours is written (and what a previous run wrote is removed). */
  readonly enabled: boolean;
  /** Standalone source: a directory of Kubernetes YAML manifests (required when enabled). */
  readonly manifestDir?: string;
  /** Host-side veth prefix; must equal the CNI plugin's vethPrefix. */
  readonly ifacePrefix: string;
  readonly backend: PolicyBackendName;
  readonly families: readonly FamilyName[];
  /** The mark bit a policy chain uses to say "allowed". */
  readonly markBit: number;
  /** Traffic from these to local pods is always allowed; defaults to node.sourceAddress(V6). */
  readonly nodeAddresses: readonly string[];
  /** How long a CNI ADD waits for the pod's rules. */
  readonly cniWaitMs: number;
  /** Re-read the kernel and repair drift this often (0: never). */
  readonly resyncIntervalSec: number;
}

export interface KubernetesConfig {
  /** Learn mesh members and BGPPeers from the API (and, when selected, keep IPAM and policy there). */
  readonly enabled: boolean;
  /** A kubeconfig file; without it, the pod's service account (in-cluster). */
  readonly kubeconfig?: string;
  /** A node's BGP address is its first InternalIP inside these (tried in order); empty: the first IPv4 InternalIP. */
  readonly nodeAddressCidrs: readonly string[];
  /** A Node deleted for this long loses its IPAM block affinities (and its empty blocks). */
  readonly nodeGcGraceSec: number;
}

export interface AgentConfig {
  readonly node: NodeConfig;
  readonly bgp: BgpConfig;
  readonly routes: RoutesConfig;
  readonly ipam: IpamConfig;
  readonly policy: PolicyConfig;
  readonly kubernetes: KubernetesConfig;
  readonly paths: PathsConfig;
  readonly metrics: EndpointConfig;
  readonly health: HealthConfig;
  readonly logLevel: LogLevel;
}

// ---------------------------------------------------------------- defaults

export const DEFAULTS = Object.freeze({
  listenAddress: '::',
  listenPort: 179,
  holdTimeSec: 90,
  connectRetrySec: 5,
  gracefulRestart: Object.freeze({ enabled: true, restartTimeSec: 120, staleTimeSec: 360, deferralSec: 60 }),
  maxPaths: 8,
  meshEnabled: true,
  peerPort: 179,
  routeProtocol: 201,
  routeTable: 254,
  stateDir: '/var/lib/tortie',
  controlSocket: '/run/tortie/tortie.sock',
  metrics: Object.freeze({ address: '127.0.0.1', port: 9099 }),
  health: Object.freeze({ address: '127.0.0.1', port: 9098, readinessGraceSec: 30 }),
  logLevel: 'info',
  ipamReleaseCooldownSec: 30,
  ipamGcGraceSec: 60,
  policyIfacePrefix: 'tortie',
  policyMarkBit: 0x100000,
  policyCniWaitMs: 2000,
  policyResyncIntervalSec: 300,
  kubernetesNodeGcGraceSec: 300,
});

/** Environment variables that supply defaults. */
export const ENV_NODE_NAME = 'NODE_NAME';
export const ENV_ROUTER_ID = 'TORTIE_ROUTER_ID';

// ---------------------------------------------------------------- kernel route protocol numbers

/**
 * `proto` numbers someone else owns, so ours must not be one of them:
 * linux/rtnetlink.h (RTPROT_*), iproute2's /etc/iproute2/rt_protos, and FRR's
 * zebra/rt_netlink.h (shipped as /etc/iproute2/rt_protos.d/frr.conf).
 */
export const RESERVED_ROUTE_PROTOCOLS: ReadonlyMap<number, string> = new Map([
  [0, 'unspec (kernel)'],
  [1, 'redirect (kernel: ICMP redirects)'],
  [2, 'kernel'],
  [3, 'boot (kernel)'],
  [4, 'static (kernel: administrator routes)'],
  [8, 'gated'],
  [9, 'ra (router advertisements)'],
  [10, 'mrt'],
  [11, 'zebra (FRR)'],
  [12, 'bird (BIRD)'],
  [13, 'dnrouted'],
  [14, 'xorp'],
  [15, 'ntk'],
  [16, 'dhcp'],
  [17, 'mrouted'],
  [18, 'keepalived'],
  [42, 'babel'],
  [99, 'openr'],
  [186, 'bgp (FRR bgpd)'],
  [187, 'isis (FRR)'],
  [188, 'ospf (FRR)'],
  [189, 'rip (FRR)'],
  [190, 'ripng (FRR)'],
  [191, 'nhrp (FRR)'],
  [192, 'eigrp (FRR)'],
  [193, 'ldp (FRR)'],
  [194, 'sharp (FRR)'],
  [195, 'pbr (FRR)'],
  [196, 'static (FRR zebra)'],
  [197, 'openfabric (FRR)'],
  [198, 'srte (FRR)'],
]);

/** Routing tables we refuse: 0 (unspec) and 255 (local). 253 (default) and 254 (main) are fine. */
export const RESERVED_ROUTE_TABLES: ReadonlyMap<number, string> = new Map([
  [0, 'unspec'],
  [255, 'local'],
]);
