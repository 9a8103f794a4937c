/**
 * The Kubernetes objects tortie reads, as far as it reads them: our CRDs in
 * group tortie.io (deploy/crds/ holds their OpenAPI schemas; keep the two in
 * step) and the annotations we look for on Node objects.
 */

export const TORTIE_GROUP = 'tortie.io';
export const TORTIE_VERSION = 'v1alpha1';
export const TORTIE_API_VERSION = `${TORTIE_GROUP}/${TORTIE_VERSION}`;

/** Node annotation: the node's BGP address (one IPv4 or IPv6 address). Wins over the InternalIP. */
export const ANNOTATION_BGP_ADDRESS = 'tortie.io/bgp-address';
/** Node annotation: the node's AS number. Wins over BGPConfiguration.spec.asNumber. */
export const ANNOTATION_ASN = 'tortie.io/asn';
/** Pod annotation: the addresses a pod asks for (read by the IPAM service through KubePolicySource.pod()). */
export const ANNOTATION_IP_ADDRS = 'tortie.io/ip-addrs';

/** The one BGPConfiguration object that holds the cluster defaults. */
export const BGP_CONFIGURATION_DEFAULT = 'default';

/** A CRD's names, as the API paths use them. */
export interface CrdNames {
  readonly kind: string;
  readonly plural: string;
}

export const CRD = {
  BGPPeer: { kind: 'BGPPeer', plural: 'bgppeers' },
  BGPConfiguration: { kind: 'BGPConfiguration', plural: 'bgpconfigurations' },
  IPPool: { kind: 'IPPool', plural: 'ippools' },
  IPAMBlock: { kind: 'IPAMBlock', plural: 'ipamblocks' },
  IPAMNode: { kind: 'IPAMNode', plural: 'ipamnodes' },
} as const satisfies Record<string, CrdNames>;

/** The API path of a cluster-scoped tortie.io collection, e.g. /apis/tortie.io/v1alpha1/bgppeers. */
export function crdPath(c: CrdNames): string {
  return `/apis/${TORTIE_GROUP}/${TORTIE_VERSION}/${c.plural}`;
}

export interface ObjectMeta {
  readonly name?: string;
  readonly namespace?: string;
  readonly resourceVersion?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly deletionTimestamp?: Date | string;
  readonly creationTimestamp?: Date | string;
}

/** A secret holding a TCP-MD5 password. The speaker cannot do TCP-MD5: a BGPPeer with one is left out, with a problem that says so. */
export interface SecretKeyRef {
  readonly name: string;
  readonly key: string;
  /** Defaults to the agent's own namespace. */
  readonly namespace?: string;
}

/**
 * BGPPeer.spec. The peer fields are those of a `bgp.peers[]` entry in the
 * configuration file (docs/config.md) and are validated by the same code;
 * `node`, `nodeSelector` and `password` say where and how it applies.
 */
export interface BgpPeerSpec {
  /** Only on the node with this name. */
  readonly node?: string;
  /** Only on nodes whose labels match (the IP pool selector language, e.g. `rack == "r1"`). Absent: all nodes. */
  readonly nodeSelector?: string;
  readonly address: string;
  readonly asn: number;
  readonly port?: number;
  readonly passive?: boolean;
  readonly multihop?: number;
  readonly families?: readonly string[];
  readonly holdTimeSec?: number;
  readonly keepaliveSec?: number;
  readonly description?: string;
  readonly nextHopSelf?: boolean;
  readonly gracefulRestart?: boolean;
  readonly password?: { readonly secretKeyRef: SecretKeyRef };
  readonly import?: unknown;
  readonly export?: unknown;
}

export interface BgpPeerObject {
  readonly metadata: ObjectMeta;
  readonly spec: BgpPeerSpec;
}

/** BGPConfiguration.spec (object name "default"): cluster-wide defaults. */
export interface BgpConfigurationSpec {
  /** The node-to-node mesh; default true. The file can still turn it off for one node. */
  readonly nodeToNodeMeshEnabled?: boolean;
  /** The AS of nodes without a tortie.io/asn annotation. */
  readonly asNumber?: number;
}

export interface BgpConfigurationObject {
  readonly metadata: ObjectMeta;
  readonly spec?: BgpConfigurationSpec;
}

/** The parts of a core/v1 Node that the mesh reads. */
export interface NodeObject {
  readonly metadata?: ObjectMeta;
  readonly status?: { readonly addresses?: readonly { readonly type: string; readonly address: string }[] };
}

/** IPPool.spec: an `ipam.pools[]` entry of the configuration file (name = the object's name), validated by the same code. */
export interface IpPoolSpec {
  readonly cidr?: unknown;
  readonly blockSize?: unknown;
  readonly nodeSelector?: unknown;
  readonly disabled?: unknown;
}

export interface IpPoolObject {
  readonly metadata: ObjectMeta;
  readonly spec?: IpPoolSpec;
}
