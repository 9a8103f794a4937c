/**
 * What ADD does to the kernel, as data: the host-side and pod-side `ip`
 * batches, the host sysctls, and the CNI result describing the outcome.
 * Pure: the commands run it (cmd-add.ts), tests read it as golden text.
 *
 * The routed design (docs: ../shared/design.md, "Pod wiring"):
 *   host:  <prefix><hash> veth, no IPv4 address, fe80::1/64 as its only
 *          IPv6 address (the pods' IPv6 gateway), proxy_arp=1,
 *          proxy_delay=0, forwarding=1, and `podIP/32 dev veth scope link
 *          proto <ours>` (and /128).
 *   pod:   CNI_IFNAME with an explicit MAC, podIP/32 (and /128, nodad),
 *          `169.254.1.1 dev eth0 scope link`, `default via 169.254.1.1`,
 *          and `default via fe80::1 dev eth0` for IPv6.
 */
import {
  attachmentAlias,
  canonicalCidr,
  formatIp,
  hostPrefix,
  parseCidr,
  podMac as derivePodMac,
  vethKey,
  vethName,
  type CniDns,
  type CniResult,
  type CniRoute,
  type CniVersion,
  type IpAddress,
} from './spec/index.js';
import type { TortieConf } from './plugin-config.js';

/** The pods' IPv4 gateway: answered by proxy ARP on the host veth. */
export const GATEWAY_V4 = '169.254.1.1';
/** The pods' IPv6 gateway: a link-local address on the host veth itself. */
export const GATEWAY_V6 = 'fe80::1';

/** The MAC of every host veth is derived like the pod's, from the attachment plus ":host". */
export function hostMacFor(containerId: string, ifname: string): string {
  return derivePodMac(containerId, `${ifname}:host`);
}

export interface Attachment {
  containerId: string;
  ifname: string;
  netns: string;
}

export interface HostSysctl {
  path: string;
  value: string;
}

export interface WiringInput {
  conf: TortieConf;
  attachment: Attachment;
  /** The pod's addresses, from IPAM (their prefix lengths are ignored: pods get /32 and /128). */
  addresses: IpAddress[];
  /** IPAM routes other than defaults; installed in the pod via our gateway of their family. */
  extraRoutes: CniRoute[];
  dns?: CniDns;
  mtu: number;
  /** A host link of the veth's name exists and belongs to a stale attachment: delete it first. */
  replaceStaleVeth: boolean;
  /** The version the result will be printed as. */
  cniVersion: CniVersion;
}

export interface WiringPlan {
  hostVeth: string;
  hostMac: string;
  podMac: string;
  alias: string;
  mtu: number;
  hasV4: boolean;
  hasV6: boolean;
  hostLines: string[];
  podLines: string[];
  /** Per-veth sysctls (written after the host batch; they vanish with the link). */
  hostSysctls: HostSysctl[];
  /** Node-wide forwarding switches that must be on (set only if off; never undone). */
  globalSysctls: HostSysctl[];
  result: CniResult;
}

/** The host veth name of an attachment. */
export function hostVethName(conf: TortieConf, containerId: string, ifname: string): string {
  return vethName(conf.vethPrefix, vethKey(containerId, ifname, conf.k8s));
}

export function hostSysctlsFor(veth: string, hasV4: boolean, hasV6: boolean): HostSysctl[] {
  const out: HostSysctl[] = [];
  if (hasV4) {
    out.push({ path: `/proc/sys/net/ipv4/conf/${veth}/forwarding`, value: '1' });
    out.push({ path: `/proc/sys/net/ipv4/conf/${veth}/proxy_arp`, value: '1' });
    out.push({ path: `/proc/sys/net/ipv4/neigh/${veth}/proxy_delay`, value: '0' });
  }
  if (hasV6) out.push({ path: `/proc/sys/net/ipv6/conf/${veth}/forwarding`, value: '1' });
  return out;
}

export function globalSysctlsFor(hasV4: boolean, hasV6: boolean): HostSysctl[] {
  return [
    ...(hasV4 ? [{ path: '/proc/sys/net/ipv4/ip_forward', value: '1' }] : []),
    ...(hasV6 ? [{ path: '/proc/sys/net/ipv6/conf/all/forwarding', value: '1' }] : []),
  ];
}

function isDefault(dst: string): boolean {
  const p = parseCidr(dst);
  return p !== undefined && p.prefixLen === 0;
}

export function planWiring(input: WiringInput): WiringPlan {
  const { conf, attachment: att, mtu } = input;
  const hostVeth = hostVethName(conf, att.containerId, att.ifname);
  const podMac = conf.podMac ?? derivePodMac(att.containerId, att.ifname);
  const hostMac = hostMacFor(att.containerId, att.ifname);
  const alias = attachmentAlias(att.containerId, att.ifname);
  const v4 = input.addresses.filter((a) => a.family === 4);
  const v6 = input.addresses.filter((a) => a.family === 6);
  const hasV4 = v4.length > 0;
  const hasV6 = v6.length > 0;
  const proto = conf.routeProtocol;

  const hostLines: string[] = [];
  if (input.replaceStaleVeth) hostLines.push(`link del dev ${hostVeth}`);
  hostLines.push(
    `link add name ${hostVeth} address ${hostMac} mtu ${mtu} type veth peer name ${att.ifname} address ${podMac} mtu ${mtu} netns ${att.netns}`,
  );
  hostLines.push(`link set dev ${hostVeth} alias ${alias}${hasV6 ? ' addrgenmode none' : ''}`);
  hostLines.push(`link set dev ${hostVeth} up`);
  if (hasV6) hostLines.push(`addr add ${GATEWAY_V6}/64 dev ${hostVeth} nodad`);
  for (const a of v4) hostLines.push(`route replace ${hostPrefix(a)} dev ${hostVeth} proto ${proto} scope link`);
  for (const a of v6) hostLines.push(`route replace ${hostPrefix(a)} dev ${hostVeth} proto ${proto}`);

  const podLines: string[] = [];
  for (const a of v4) podLines.push(`addr add ${hostPrefix(a)} dev ${att.ifname}`);
  for (const a of v6) podLines.push(`addr add ${hostPrefix(a)} dev ${att.ifname} nodad`);
  podLines.push(`link set dev ${att.ifname} up`);
  const routes: CniRoute[] = [];
  if (hasV4) {
    podLines.push(`route add ${GATEWAY_V4} dev ${att.ifname} scope link`);
    podLines.push(`route add default via ${GATEWAY_V4} dev ${att.ifname}`);
    routes.push({ dst: '0.0.0.0/0', gw: GATEWAY_V4 });
  }
  if (hasV6) {
    podLines.push(`route add default via ${GATEWAY_V6} dev ${att.ifname}`);
    routes.push({ dst: '::/0', gw: GATEWAY_V6 });
  }
  for (const r of input.extraRoutes) {
    const dst = canonicalCidr(r.dst);
    if (dst === undefined || isDefault(dst)) continue;
    const v6Route = dst.includes(':');
    if (v6Route ? !hasV6 : !hasV4) continue;
    const gw = v6Route ? GATEWAY_V6 : GATEWAY_V4;
    if (routes.some((x) => x.dst === dst)) continue;
    podLines.push(`route add ${dst} via ${gw} dev ${att.ifname}`);
    routes.push({ dst, gw });
  }

  const result: CniResult = {
    cniVersion: input.cniVersion,
    interfaces: [
      { name: hostVeth, mac: hostMac, mtu },
      { name: att.ifname, mac: podMac, mtu, sandbox: att.netns },
    ],
    ips: [
      ...v4.map((a) => ({ address: hostPrefix(a), gateway: GATEWAY_V4, interface: 1 })),
      ...v6.map((a) => ({ address: hostPrefix(a), gateway: GATEWAY_V6, interface: 1 })),
    ],
    routes,
  };
  if (input.dns) result.dns = input.dns;

  return {
    hostVeth,
    hostMac,
    podMac,
    alias,
    mtu,
    hasV4,
    hasV6,
    hostLines,
    podLines,
    hostSysctls: hostSysctlsFor(hostVeth, hasV4, hasV6),
    globalSysctls: globalSysctlsFor(hasV4, hasV6),
    result,
  };
}

/** Display helper for messages. */
export function describeAddresses(addresses: IpAddress[]): string {
  return addresses.map((a) => formatIp(a)).join(', ');
}
