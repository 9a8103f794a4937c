/**
 * Looking at the host's links and namespaces without starting a process:
 * /proc/net/dev (always this process's netns) for which links exist,
 * /sys/class/net/<link>/ifalias for whose they are, /proc/net/route and
 * /proc/net/ipv6_route for the uplink. Where sysfs does not answer for a
 * link that /proc says exists (sysfs mounted for another netns), callers
 * fall back to `ip -json link show`.
 */
import { CniError, CniErrorCode } from './spec/index.js';
import type { Host } from './host.js';

/** Interface names in /proc/net/dev text. Pure. */
export function parseProcNetDev(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon > 0) names.push(line.slice(0, colon).trim());
  }
  return names;
}

/** Links in this process's netns. */
export function listLinks(host: Host): Set<string> {
  const text = host.readFile('/proc/net/dev');
  if (text === undefined) throw new CniError(CniErrorCode.IoFailure, 'cannot read /proc/net/dev');
  return new Set(parseProcNetDev(text));
}

/** A link's ifalias from sysfs ('' when unset); undefined when sysfs has no such link. */
export function readAliasSysfs(host: Host, link: string): string | undefined {
  const text = host.readFile(`/sys/class/net/${link}/ifalias`);
  return text === undefined ? undefined : text.trim();
}

/** The device of the IPv4 default route in /proc/net/route text (lowest metric). Pure. */
export function defaultRouteDeviceV4(text: string): string | undefined {
  let best: { dev: string; metric: number } | undefined;
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [dev, dest, , flags, , , metric, mask] = f;
    // RTF_UP = 0x1; destination and mask 0 = default.
    if (dest !== '00000000' || mask !== '00000000' || (parseInt(flags, 16) & 1) === 0) continue;
    const m = Number(metric);
    if (!best || m < best.metric) best = { dev: dev, metric: m };
  }
  return best?.dev;
}

/** The device of the IPv6 default route in /proc/net/ipv6_route text (lowest metric). Pure. */
export function defaultRouteDeviceV6(text: string): string | undefined {
  let best: { dev: string; metric: number } | undefined;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [dest, destLen, , , , metric, , , flags, dev] = f;
    if (!/^0{32}$/.test(dest) || destLen !== '00' || dev === 'lo') continue;
    // RTF_UP = 0x1, RTF_REJECT = 0x200.
    const fl = parseInt(flags, 16);
    if ((fl & 1) === 0 || (fl & 0x200) !== 0) continue;
    const m = parseInt(metric, 16);
    if (!best || m < best.metric) best = { dev: dev, metric: m };
  }
  return best?.dev;
}

export interface UplinkMtu {
  mtu: number;
  /** "config", "uplink <dev>" or "default (…)". */
  source: string;
}

export const FALLBACK_MTU = 1500;

/** The MTU of the device of the default route (IPv4 first, then IPv6); 1500 when there is none. */
export function uplinkMtu(host: Host): UplinkMtu {
  const dev = defaultRouteDeviceV4(host.readFile('/proc/net/route') ?? '') ?? defaultRouteDeviceV6(host.readFile('/proc/net/ipv6_route') ?? '');
  if (dev === undefined) return { mtu: FALLBACK_MTU, source: 'default (no default route)' };
  const text = host.readFile(`/sys/class/net/${dev}/mtu`);
  const mtu = text === undefined ? NaN : Number(text.trim());
  if (!Number.isInteger(mtu) || mtu < 576) return { mtu: FALLBACK_MTU, source: `default (cannot read the MTU of ${dev})` };
  return { mtu, source: `uplink ${dev}` };
}

/**
 * Checks that CNI_NETNS names a network namespace other than ours. All
 * namespaces live on the one nsfs filesystem, so a netns file has the same
 * st_dev as /proc/self/ns/net; our own netns has the same inode too.
 * Missing → code 3; not a namespace or our own → code 4.
 */
export function checkNetns(host: Host, netns: string): void {
  const st = host.stat(netns);
  if (st === undefined) {
    throw new CniError(CniErrorCode.UnknownContainer, `network namespace ${netns} does not exist`, `CNI_NETNS=${netns}`);
  }
  const own = host.stat('/proc/self/ns/net');
  if (own !== undefined) {
    if (st.dev !== own.dev || st.isDirectory) {
      throw new CniError(CniErrorCode.InvalidEnvironmentVariables, `CNI_NETNS ${netns} is not a network namespace`, 'invalid variables: CNI_NETNS');
    }
    if (st.ino === own.ino) {
      throw new CniError(CniErrorCode.InvalidEnvironmentVariables, `CNI_NETNS ${netns} is the plugin's own (host) network namespace`, 'invalid variables: CNI_NETNS');
    }
  }
}

/** True when the netns file exists and is a namespace (used by DEL and CHECK to decide what to look at). */
export function netnsUsable(host: Host, netns: string | undefined): boolean {
  if (netns === undefined) return false;
  try {
    checkNetns(host, netns);
    return true;
  } catch {
    return false;
  }
}
