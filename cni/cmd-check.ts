/**
 * CHECK: compares the attachment with prevResult — the pod interface
 * (kind, state, MAC, MTU, addresses, routes), the host veth (owner alias,
 * state, MAC, MTU, gateway address, /32 and /128 routes with our proto),
 * the host sysctls — and asks the IPAM plugin to CHECK its allocation.
 * One pod batch, one host batch and the IPAM plugin run side by side.
 * Every difference is listed in `details` (code 104); an IPAM failure on
 * its own is passed through with the IPAM plugin's code.
 */
import { CniError, CniErrorCode } from './spec/index.js';
import { diffAttachment, type IpAddrJson, type IpRouteJson } from './check-diff.js';
import { ipamCall, type CommandContext } from './context.js';
import { checkNetns } from './host-links.js';
import { parseJsonLines, requireIpTools, runIpBatch, type BatchResult } from './ip-batch.js';
import { execIpam, requireIpamPlugin } from './ipam-exec.js';
import { readSysctls } from './sysctls.js';
import { hostSysctlsFor, hostVethName } from './wiring-plan.js';

interface Observed {
  link?: IpAddrJson;
  routes: IpRouteJson[];
}

/** Reads `[addr show dev X, route show …]` output; a missing device means "no link". */
function observed(r: BatchResult, side: string): Observed {
  if (!r.ok) {
    if (/does not exist|Cannot find device/i.test(r.failure.message)) return { routes: [] };
    throw new CniError(CniErrorCode.KernelFailed, `${side}: cannot read state: ${r.failure.message}`);
  }
  const [addr, routes] = parseJsonLines(r.stdout);
  const link = Array.isArray(addr) ? (addr[0] as IpAddrJson | undefined) : undefined;
  const out: Observed = { routes: Array.isArray(routes) ? (routes as IpRouteJson[]) : [] };
  if (link !== undefined) out.link = link;
  return out;
}

export async function cmdCheck(ctx: CommandContext): Promise<void> {
  const { host, env, conf } = ctx;
  const prev = conf.net.prevResult;
  if (prev === undefined) throw new CniError(CniErrorCode.InvalidNetworkConfig, 'CHECK needs prevResult', 'field: prevResult');
  const containerId = env.containerId!;
  const ifname = env.ifname!;
  const netns = env.netns!;
  checkNetns(host, netns);
  const tools = requireIpTools(host);
  const ipamBinary = requireIpamPlugin(host, env, conf);
  const hostVeth = prev.interfaces?.find((i) => i.sandbox === undefined && i.name.startsWith(conf.vethPrefix))?.name ?? hostVethName(conf, containerId, ifname);

  const [ipam, hostRun, podRun] = await Promise.allSettled([
    execIpam(ipamCall(ctx), 'CHECK', ipamBinary),
    runIpBatch(host, tools, [`addr show dev ${hostVeth}`, `route show table all dev ${hostVeth}`], { json: true }),
    runIpBatch(host, tools, [`addr show dev ${ifname}`, 'route show table all'], { json: true, netns }),
  ]);
  if (hostRun.status === 'rejected') throw hostRun.reason instanceof Error ? hostRun.reason : new Error(String(hostRun.reason));
  if (podRun.status === 'rejected') throw podRun.reason instanceof Error ? podRun.reason : new Error(String(podRun.reason));
  const h = observed(hostRun.value, 'host');
  const p = observed(podRun.value, 'pod');
  const hasV4 = (prev.ips ?? []).some((ip) => !ip.address.includes(':'));
  const hasV6 = (prev.ips ?? []).some((ip) => ip.address.includes(':'));

  const input: Parameters<typeof diffAttachment>[0] = {
    containerId,
    ifname,
    netns,
    routeProtocol: conf.routeProtocol,
    prev,
    hostVeth,
    hostRoutes: h.routes,
    podRoutes: p.routes,
    sysctls: readSysctls(host, hostSysctlsFor(hostVeth, hasV4, hasV6)),
  };
  if (h.link) input.hostLink = h.link;
  if (p.link) input.podLink = p.link;
  const diffs = diffAttachment(input);

  if (ipam.status === 'rejected') {
    if (diffs.length === 0) throw ipam.reason instanceof Error ? ipam.reason : new Error(String(ipam.reason));
    const reason: unknown = ipam.reason;
    diffs.push(`ipam ${conf.ipam.type}: ${reason instanceof Error ? reason.message : String(reason)}`);
  }
  if (diffs.length > 0) {
    throw new CniError(
      CniErrorCode.CheckFailed,
      `CHECK found ${diffs.length} difference${diffs.length === 1 ? '' : 's'} from prevResult: ${diffs[0]}${diffs.length > 1 ? ' …' : ''}`,
      diffs.join('; '),
    );
  }
}
