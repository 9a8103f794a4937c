/**
 * CHECK's comparison, pure: what prevResult (and the routed design) says
 * the attachment should look like, against what `ip -json -details -N`
 * and /proc/sys show. Returns one line per difference, each naming the
 * side, the object and both values; empty when everything agrees.
 */
import {
  attachmentAlias,
  canonicalCidr,
  canonicalIp,
  parseCidr,
  type CniResult,
} from './spec/index.js';
import { GATEWAY_V4, GATEWAY_V6, hostSysctlsFor } from './wiring-plan.js';

/** The parts of `ip -json -details -N addr show` we read. */
export interface IpAddrJson {
  ifname?: string;
  flags?: string[];
  mtu?: number;
  address?: string;
  ifalias?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: { family?: string; local?: string; prefixlen?: number; scope?: string }[];
}

/** The parts of `ip -json -details -N route show` we read. */
export interface IpRouteJson {
  type?: string;
  dst?: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  table?: string;
}

export interface CheckInput {
  containerId: string;
  ifname: string;
  netns: string;
  routeProtocol: number;
  prev: CniResult;
  hostVeth: string;
  /** undefined: the link does not exist. */
  hostLink?: IpAddrJson;
  /** `route show table all dev <veth>` on the host. */
  hostRoutes: IpRouteJson[];
  podLink?: IpAddrJson;
  /** `route show table all` in the pod. */
  podRoutes: IpRouteJson[];
  /** Host sysctl path → value (undefined: unreadable). */
  sysctls: ReadonlyMap<string, string | undefined>;
}

/** "10.0.0.5" / "default" / "fd00::5" from ip → canonical CIDR, using `family` for "default". */
function routeDst(dst: string | undefined, v6Hint: boolean): string | undefined {
  if (dst === undefined) return undefined;
  if (dst === 'default') return v6Hint ? '::/0' : '0.0.0.0/0';
  if (dst.includes('/')) return canonicalCidr(dst);
  const ip = canonicalIp(dst);
  if (ip === undefined) return undefined;
  return `${ip}/${ip.includes(':') ? 128 : 32}`;
}

function isMainTable(r: IpRouteJson): boolean {
  return r.table === undefined || r.table === '254' || r.table === 'main';
}

function globalAddresses(link: IpAddrJson): string[] {
  return (link.addr_info ?? [])
    .filter((a) => (a.family === 'inet' || a.family === 'inet6') && a.scope !== 'link' && a.scope !== '253' && a.local !== undefined)
    .map((a) => canonicalCidr(`${a.local}/${a.prefixlen ?? (a.family === 'inet' ? 32 : 128)}`) ?? `${a.local}`);
}

function isUp(link: IpAddrJson): boolean {
  return (link.flags ?? []).includes('UP');
}

export function diffAttachment(input: CheckInput): string[] {
  const diffs: string[] = [];
  const { prev, ifname, hostVeth } = input;
  const pod = `pod ${ifname}`;
  const hostName = `host ${hostVeth}`;

  // ---- what prevResult says
  const interfaces = prev.interfaces ?? [];
  const podIndex = interfaces.findIndex((i) => i.name === ifname && i.sandbox !== undefined);
  const podItf = podIndex >= 0 ? interfaces[podIndex] : undefined;
  if (podItf === undefined) diffs.push(`prevResult: no interface ${ifname} with a sandbox`);
  else if (podItf.sandbox !== input.netns) diffs.push(`prevResult: ${ifname} sandbox is ${podItf.sandbox}, CNI_NETNS is ${input.netns}`);
  const hostItf = interfaces.find((i) => i.sandbox === undefined && i.name === hostVeth);
  const ips = (prev.ips ?? []).filter((ip) => ip.interface === undefined || ip.interface === podIndex);
  const wantAddrs = ips.map((ip) => canonicalCidr(ip.address) ?? ip.address);
  const hasV4 = wantAddrs.some((a) => !a.includes(':'));
  const hasV6 = wantAddrs.some((a) => a.includes(':'));
  if (wantAddrs.length === 0) diffs.push('prevResult: no address for the pod interface');

  // ---- pod side
  const podLink = input.podLink;
  if (podLink === undefined) {
    diffs.push(`${pod}: does not exist in ${input.netns}`);
  } else {
    if (podLink.linkinfo?.info_kind !== undefined && podLink.linkinfo.info_kind !== 'veth') {
      diffs.push(`${pod}: is a ${podLink.linkinfo.info_kind}, want a veth`);
    }
    if (!isUp(podLink)) diffs.push(`${pod}: is down`);
    if (podItf?.mac !== undefined && podLink.address?.toLowerCase() !== podItf.mac.toLowerCase()) {
      diffs.push(`${pod}: mac is ${podLink.address}, prevResult says ${podItf.mac}`);
    }
    if (podItf?.mtu !== undefined && podLink.mtu !== podItf.mtu) diffs.push(`${pod}: mtu is ${podLink.mtu}, prevResult says ${podItf.mtu}`);
    const have = globalAddresses(podLink);
    for (const a of wantAddrs) if (!have.includes(a)) diffs.push(`${pod}: address ${a} is missing`);
    for (const a of have) if (!wantAddrs.includes(a)) diffs.push(`${pod}: unexpected address ${a}`);

    const podRoutes = input.podRoutes.filter(isMainTable);
    const findRoute = (dst: string, gw: string | undefined): IpRouteJson | undefined =>
      podRoutes.find((r) => {
        const v6 = (r.gateway ?? r.dst ?? '').includes(':');
        if (routeDst(r.dst, v6) !== dst) return false;
        if (gw === undefined) return r.gateway === undefined;
        return r.gateway !== undefined && canonicalIp(r.gateway) === canonicalIp(gw);
      });
    for (const r of prev.routes ?? []) {
      const dst = canonicalCidr(r.dst) ?? r.dst;
      const found = findRoute(dst, r.gw);
      if (!found) diffs.push(`${pod}: route ${dst}${r.gw ? ` via ${r.gw}` : ''} is missing`);
      else if (found.dev !== undefined && found.dev !== ifname) diffs.push(`${pod}: route ${dst} goes out of ${found.dev}, want ${ifname}`);
    }
    if (hasV4 && !findRoute(`${GATEWAY_V4}/32`, undefined)) diffs.push(`${pod}: link route ${GATEWAY_V4} dev ${ifname} scope link is missing`);
  }

  // ---- host side
  const hostLink = input.hostLink;
  if (hostLink === undefined) {
    diffs.push(`${hostName}: does not exist`);
    return diffs;
  }
  if (hostItf === undefined) diffs.push(`prevResult: no host interface ${hostVeth}`);
  const alias = attachmentAlias(input.containerId, ifname);
  if ((hostLink.ifalias ?? '') !== alias) diffs.push(`${hostName}: ifalias is ${JSON.stringify(hostLink.ifalias ?? '')}, want ${JSON.stringify(alias)}`);
  if (!isUp(hostLink)) diffs.push(`${hostName}: is down`);
  if (hostItf?.mac !== undefined && hostLink.address?.toLowerCase() !== hostItf.mac.toLowerCase()) {
    diffs.push(`${hostName}: mac is ${hostLink.address}, prevResult says ${hostItf.mac}`);
  }
  if (podLink !== undefined && hostLink.mtu !== podLink.mtu) diffs.push(`${hostName}: mtu ${hostLink.mtu} differs from ${pod}'s ${podLink.mtu}`);
  const hostAddrs = (hostLink.addr_info ?? []).filter((a) => a.family === 'inet');
  for (const a of hostAddrs) diffs.push(`${hostName}: unexpected IPv4 address ${a.local}/${a.prefixlen}`);
  if (hasV6) {
    const gw = (hostLink.addr_info ?? []).some((a) => a.family === 'inet6' && a.local !== undefined && canonicalIp(a.local) === GATEWAY_V6);
    if (!gw) diffs.push(`${hostName}: gateway address ${GATEWAY_V6}/64 is missing`);
  }

  const proto = String(input.routeProtocol);
  for (const a of wantAddrs) {
    const p = parseCidr(a);
    if (!p) continue;
    const host = `${canonicalIp(a.slice(0, a.indexOf('/')))}/${p.address.family === 4 ? 32 : 128}`;
    const route = input.hostRoutes.find((r) => isMainTable(r) && routeDst(r.dst, p.address.family === 6) === host && (r.type === undefined || r.type === 'unicast' || r.type === '1'));
    if (!route) {
      diffs.push(`${hostName}: route ${host} dev ${hostVeth} proto ${proto} is missing`);
      continue;
    }
    if (route.protocol !== undefined && route.protocol !== proto) diffs.push(`${hostName}: route ${host} has proto ${route.protocol}, want ${proto}`);
    if (route.gateway !== undefined) diffs.push(`${hostName}: route ${host} goes via ${route.gateway}, want a link route`);
  }

  for (const s of hostSysctlsFor(hostVeth, hasV4, hasV6)) {
    const v = input.sysctls.get(s.path);
    if (v !== s.value) diffs.push(`${hostName}: ${s.path.replace('/proc/sys/', '').replace(/\//g, '.')} is ${v ?? 'unreadable'}, want ${s.value}`);
  }
  return diffs;
}

