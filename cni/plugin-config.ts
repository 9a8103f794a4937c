/**
 * The tortie plugin's own network config: the generic NetConf (cni/spec)
 * plus the fields only tortie reads. Pure.
 *
 *   {
 *     "cniVersion": "1.1.0", "name": "k8s-pod-network", "type": "tortie",
 *     "mtu": 1500,              // optional: default is the uplink's MTU
 *     "vethPrefix": "tortie",   // optional: host veth = prefix + hash, ≤ 15 chars
 *     "routeProtocol": 201,     // optional: `proto` of the host /32 and /128 routes (same as the agent's)
 *     "ipamInProcess": true,    // optional: run tortie-ipam's code in-process instead of exec'ing it
 *     "policy": { "socket": "/run/tortie/tortie.sock", "waitMs": 2000 },   // optional; false: never tell the agent
 *     "ipam": { "type": "tortie-ipam", ... }   // optional: tortie-ipam by default
 *   }
 */
import { DEFAULTS, RESERVED_ROUTE_PROTOCOLS } from '../agent/config/schema.js';
import {
  CniError,
  CniErrorCode,
  k8sIdentityFrom,
  normaliseMac,
  vethPrefixProblem,
  type CniEnv,
  type IpamConf,
  type K8sIdentity,
  type NetConf,
} from './spec/index.js';

export const DEFAULT_VETH_PREFIX = 'tortie';
export const DEFAULT_IPAM_TYPE = 'tortie-ipam';
export const DEFAULT_ROUTE_PROTOCOL: number = DEFAULTS.routeProtocol;
/** Smallest MTU we accept (IPv6 needs 1280; IPv4's 68 is of no practical use for pods). */
export const MIN_MTU = 576;
export const MAX_MTU = 65535;

export interface TortieConf {
  net: NetConf;
  /** `ipam`, or `{type: "tortie-ipam"}` when the config has none. */
  ipam: IpamConf;
  vethPrefix: string;
  /** Explicit MTU; undefined means "the uplink's". */
  mtu?: number;
  routeProtocol: number;
  /** runtimeConfig.mac (the "mac" capability): the pod interface's MAC. */
  podMac?: string;
  /** CNI_ARGS first, then `args.cni`, then runtimeConfig (the same K8S_* keys). */
  k8s: K8sIdentity;
  /** Run tortie-ipam's code in this process instead of exec'ing it (ipam-inprocess.ts). Default true. */
  ipamInProcess: boolean;
  /**
   * Where to report the pod's attachment for NetworkPolicy, and how long ADD
   * waits for its rules; undefined: never. Default: the agent's socket (the
   * one tortie-ipam uses), 2000 ms. No agent there, or one that does not
   * enforce policy, means nothing to do.
   */
  policy?: { socket: string; waitMs: number };
}

export const DEFAULT_AGENT_SOCKET = '/run/tortie/tortie.sock';
export const DEFAULT_POLICY_WAIT_MS = 2000;

function invalid(msg: string, field: string): CniError {
  return new CniError(CniErrorCode.InvalidNetworkConfig, msg, `field: ${field}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function decodeTortieConf(net: NetConf, env?: Pick<CniEnv, 'k8s'>): TortieConf {
  const raw = net.raw;
  const conf: TortieConf = {
    net,
    ipam: net.ipam ?? { type: DEFAULT_IPAM_TYPE },
    vethPrefix: DEFAULT_VETH_PREFIX,
    routeProtocol: DEFAULT_ROUTE_PROTOCOL,
    k8s: {},
    ipamInProcess: true,
  };

  if (raw.ipamInProcess !== undefined) {
    if (typeof raw.ipamInProcess !== 'boolean') throw invalid('ipamInProcess must be a boolean', 'ipamInProcess');
    conf.ipamInProcess = raw.ipamInProcess;
  }

  if (raw.vethPrefix !== undefined) {
    if (typeof raw.vethPrefix !== 'string') throw invalid('vethPrefix must be a string', 'vethPrefix');
    const problem = vethPrefixProblem(raw.vethPrefix);
    if (problem !== undefined) throw invalid(`vethPrefix ${JSON.stringify(raw.vethPrefix)} ${problem}`, 'vethPrefix');
    conf.vethPrefix = raw.vethPrefix;
  }

  if (raw.mtu !== undefined && raw.mtu !== 0) {
    if (typeof raw.mtu !== 'number' || !Number.isInteger(raw.mtu) || raw.mtu < MIN_MTU || raw.mtu > MAX_MTU) {
      throw invalid(`mtu must be an integer in ${MIN_MTU}..${MAX_MTU} (0 or absent: the uplink's), got ${JSON.stringify(raw.mtu)}`, 'mtu');
    }
    conf.mtu = raw.mtu;
  }

  if (raw.routeProtocol !== undefined) {
    const p = raw.routeProtocol;
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 255) {
      throw invalid(`routeProtocol must be an integer in 1..255, got ${JSON.stringify(p)}`, 'routeProtocol');
    }
    const owner = RESERVED_ROUTE_PROTOCOLS.get(p);
    if (owner !== undefined) throw invalid(`routeProtocol ${p} is reserved for ${owner}`, 'routeProtocol');
    conf.routeProtocol = p;
  }

  const ipamSocket = conf.ipam.type === 'tortie-ipam' && typeof conf.ipam.socket === 'string' ? conf.ipam.socket : undefined;
  conf.policy = { socket: ipamSocket ?? DEFAULT_AGENT_SOCKET, waitMs: DEFAULT_POLICY_WAIT_MS };
  if (raw.policy === false) {
    delete conf.policy;
  } else if (raw.policy !== undefined) {
    if (!isObject(raw.policy)) throw invalid('policy must be an object ({socket, waitMs}) or false', 'policy');
    const { socket, waitMs } = raw.policy;
    if (socket !== undefined) {
      if (typeof socket !== 'string' || !socket.startsWith('/')) throw invalid('policy.socket must be an absolute path', 'policy.socket');
      conf.policy.socket = socket;
    }
    if (waitMs !== undefined) {
      if (typeof waitMs !== 'number' || !Number.isInteger(waitMs) || waitMs < 0 || waitMs > 60_000) throw invalid('policy.waitMs must be an integer in 0..60000', 'policy.waitMs');
      conf.policy.waitMs = waitMs;
    }
  }

  const mac = net.runtimeConfig.mac;
  if (mac !== undefined) {
    const normal = typeof mac === 'string' ? normaliseMac(mac) : undefined;
    if (normal === undefined) throw invalid(`runtimeConfig.mac ${JSON.stringify(mac)} is not a unicast MAC address`, 'runtimeConfig.mac');
    conf.podMac = normal;
  }

  const argsCni = isObject(net.args.cni) ? net.args.cni : {};
  conf.k8s = { ...k8sIdentityFrom(net.runtimeConfig), ...k8sIdentityFrom(argsCni), ...(env?.k8s ?? {}) };
  return conf;
}

/** The config a delegate (IPAM) gets on stdin: ours as received, `ipam` filled in, version overridable. */
export function delegateConfig(conf: TortieConf, cniVersion?: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...conf.net.raw, ipam: conf.ipam };
  if (cniVersion !== undefined) out.cniVersion = cniVersion;
  return out;
}
