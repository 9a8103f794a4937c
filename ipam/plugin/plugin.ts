/**
 * tortie-ipam, the CNI IPAM plugin: a thin client of the node's agent.
 * Each command reads top to bottom: environment, config, one call to the
 * agent, a result or a CNI error.
 *
 *   ADD      POST /v1/ipam/assign; prints { ips, routes } in the config's cniVersion
 *   DEL      POST /v1/ipam/release; "not found" is success
 *   CHECK    GET /v1/ipam/allocations; the handle must hold exactly the prevResult's addresses of our families
 *   GC       POST /v1/ipam/gc with cni.dev/valid-attachments
 *   STATUS   GET /v1/ipam/status; error 50 when no address can be given
 *   VERSION  the versions we speak
 *
 * Requested addresses come from runtimeConfig.ips (the "ips" capability),
 * args.cni.ips, and CNI_ARGS IP=a[,b]. The handle is "<CNI_CONTAINERID>/<CNI_IFNAME>".
 *
 * The ipam section of the network config (any other key is refused, CNI error 7):
 *   { "type": "tortie-ipam", "socket": "/run/tortie/tortie.sock", "families": ["ipv4","ipv6"],
 *     "pools": ["name"...], "routes": [{ "dst": "0.0.0.0/0" }], "timeoutMs": 30000 }
 *
 * No Node APIs here: the socket client comes in as `AgentApi`.
 */
import {
  canonicalIp, CniError, CniErrorCode, CURRENT_VERSION, encodeResult, parseCidr, parseCniCommand, parseCniEnv, parseJsonObject,
  parseNetConf, versionResult, type CniEnv, type CniResult, type CniRoute, type EnvMap, type NetConf,
} from '../../cni/spec/index.js';
import type { IpamAllocationsResponse, IpamAssignRequest, IpamAssignResponse, IpamFamilyName, IpamStatusView } from '../api-types.js';
import { handleFor } from '../core/keys.js';
import { AgentUnreachable, type AgentApi, type AgentReply } from './agent-client.js';
import { cniErrorFromAgent, TortieIpamCode } from './cni-errors.js';

export const DEFAULT_SOCKET = '/run/tortie/tortie.sock';
export const DEFAULT_TIMEOUT_MS = 30_000;

export interface PluginOutput {
  stdout: string;
  exitCode: number;
}

/** The `ipam` section, checked. */
export interface TortieIpamConf {
  socket: string;
  timeoutMs: number;
  families?: IpamFamilyName[];
  pools?: string[];
  routes?: CniRoute[];
}

function invalidConf(msg: string, field: string): CniError {
  return new CniError(CniErrorCode.InvalidNetworkConfig, msg, `field: ${field}`);
}

/**
 * The keys of the `ipam` section: `type` (the CNI spec's one key there) and
 * ours. Runtimes put what they add (runtimeConfig, args, prevResult) at the
 * top level, never here, so anything else is a mistake: a misspelt key
 * would otherwise fall back to its default without a word (a wrong
 * `controlSocket` means the default socket).
 */
export const IPAM_CONF_KEYS: readonly string[] = ['type', 'socket', 'timeoutMs', 'families', 'pools', 'routes'];

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** The known key a misspelt one most likely meant: same letters in another case, one that contains it or is in it, or one or two edits away. */
function suggestKey(key: string): string | undefined {
  const k = key.toLowerCase();
  return IPAM_CONF_KEYS.find((c) => c.toLowerCase() === k) ??
    IPAM_CONF_KEYS.find((c) => c !== 'type' && (k.includes(c.toLowerCase()) || c.toLowerCase().includes(k))) ??
    IPAM_CONF_KEYS.find((c) => distance(k, c.toLowerCase()) <= 2);
}

export function readIpamConf(net: NetConf): TortieIpamConf {
  const i = (net.ipam ?? { type: 'tortie-ipam' }) as Record<string, unknown>;
  for (const key of Object.keys(i)) {
    if (IPAM_CONF_KEYS.includes(key)) continue;
    const hint = suggestKey(key);
    throw invalidConf(
      `ipam.${key} is not a tortie-ipam setting${hint !== undefined ? ` (did you mean ipam.${hint}?)` : ''}; the ipam section takes ${IPAM_CONF_KEYS.join(', ')}`,
      `ipam.${key}`,
    );
  }
  const out: TortieIpamConf = { socket: DEFAULT_SOCKET, timeoutMs: DEFAULT_TIMEOUT_MS };
  if (i.socket !== undefined) {
    if (typeof i.socket !== 'string' || !i.socket.startsWith('/')) throw invalidConf('ipam.socket must be an absolute path', 'ipam.socket');
    out.socket = i.socket;
  }
  if (i.timeoutMs !== undefined) {
    if (typeof i.timeoutMs !== 'number' || !Number.isInteger(i.timeoutMs) || i.timeoutMs < 100) throw invalidConf('ipam.timeoutMs must be an integer of at least 100', 'ipam.timeoutMs');
    out.timeoutMs = i.timeoutMs;
  }
  if (i.families !== undefined) {
    if (!Array.isArray(i.families) || i.families.length === 0 || !i.families.every((f) => f === 'ipv4' || f === 'ipv6')) {
      throw invalidConf('ipam.families must be a non-empty list of "ipv4" and "ipv6"', 'ipam.families');
    }
    out.families = i.families as IpamFamilyName[];
  }
  if (i.pools !== undefined) {
    if (!Array.isArray(i.pools) || !i.pools.every((p) => typeof p === 'string')) throw invalidConf('ipam.pools must be a list of pool names', 'ipam.pools');
    out.pools = i.pools;
  }
  if (i.routes !== undefined) {
    if (!Array.isArray(i.routes)) throw invalidConf('ipam.routes must be a list of { dst, gw? }', 'ipam.routes');
    out.routes = (i.routes as unknown[]).map((r, k) => {
      const o = r as Record<string, unknown> | null;
      if (o === null || typeof o !== 'object' || typeof o.dst !== 'string' || parseCidr(o.dst) === undefined) throw invalidConf(`ipam.routes[${k}].dst must be a CIDR`, `ipam.routes[${k}]`);
      if (o.gw !== undefined && (typeof o.gw !== 'string' || canonicalIp(o.gw) === undefined)) throw invalidConf(`ipam.routes[${k}].gw must be an address`, `ipam.routes[${k}]`);
      return { dst: o.dst, ...(typeof o.gw === 'string' ? { gw: o.gw } : {}) };
    });
  }
  return out;
}

/** Requested fixed addresses: runtimeConfig.ips, args.cni.ips, CNI_ARGS IP=. Canonical, without prefix lengths, unique. */
export function requestedIps(net: NetConf, env: CniEnv): string[] {
  const out: string[] = [];
  const add = (text: string, where: string, code: number): void => {
    const bare = text.includes('/') ? (parseCidr(text) === undefined ? undefined : text.slice(0, text.indexOf('/'))) : text;
    const canon = bare === undefined ? undefined : canonicalIp(bare);
    if (canon === undefined) throw new CniError(code, `${where}: ${JSON.stringify(text)} is not an IP address`, `field: ${where}`);
    if (!out.includes(canon)) out.push(canon);
  };
  const list = (v: unknown, where: string): void => {
    if (v === undefined || v === null) return;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw invalidConf(`${where} must be a list of addresses`, where);
    for (const x of v) add(x, where, CniErrorCode.InvalidNetworkConfig);
  };
  list(net.runtimeConfig.ips, 'runtimeConfig.ips');
  const cniArgs = net.args.cni as Record<string, unknown> | undefined;
  if (cniArgs !== undefined && typeof cniArgs === 'object' && cniArgs !== null) list(cniArgs.ips, 'args.cni.ips');
  const ipArg = env.args.IP;
  if (ipArg !== undefined && ipArg !== '') for (const x of ipArg.split(',')) add(x.trim(), 'CNI_ARGS IP', CniErrorCode.InvalidEnvironmentVariables);
  return out;
}

/** The agent's error as a CNI error: its message as it is (it names the pool and the reason), its code in details. */
function agentError(reply: AgentReply, what?: string): CniError {
  const b = (reply.body ?? {}) as { error?: unknown; code?: unknown };
  const code = typeof b.code === 'string' ? b.code : `HTTP_${reply.status}`;
  const message = typeof b.error === 'string' ? b.error : `the agent answered ${reply.status}`;
  return cniErrorFromAgent(code, what === undefined ? message : `${what}: ${message}`);
}

async function call(api: AgentApi, method: 'GET' | 'POST', path: string, body?: unknown): Promise<AgentReply> {
  try {
    return await api.call(method, path, body);
  } catch (err) {
    if (err instanceof AgentUnreachable) {
      throw new CniError(CniErrorCode.TryAgainLater, `${err.message}; is tortie-agent running on this node?`, err.errno === undefined ? undefined : `errno: ${err.errno}`);
    }
    throw err;
  }
}

function defaultRoutes(families: Set<string>): CniRoute[] {
  const out: CniRoute[] = [];
  if (families.has('4')) out.push({ dst: '0.0.0.0/0' });
  if (families.has('6')) out.push({ dst: '::/0' });
  return out;
}

async function cmdAdd(env: CniEnv, net: NetConf, conf: TortieIpamConf, api: AgentApi): Promise<CniResult> {
  const req: IpamAssignRequest = {
    containerId: env.containerId!, ifname: env.ifname!, network: net.name,
    ...(env.netns !== undefined ? { netns: env.netns } : {}),
    ...(env.k8s.namespace !== undefined ? { namespace: env.k8s.namespace } : {}),
    ...(env.k8s.podName !== undefined ? { pod: env.k8s.podName } : {}),
    ...(conf.families !== undefined ? { families: conf.families } : {}),
    ...(conf.pools !== undefined ? { pools: conf.pools } : {}),
  };
  const ips = requestedIps(net, env);
  if (ips.length > 0) req.ips = ips;
  const reply = await call(api, 'POST', '/v1/ipam/assign', req);
  if (reply.status !== 200) throw agentError(reply);
  const r = reply.body as IpamAssignResponse;
  if (!Array.isArray(r.ips) || r.ips.length === 0) throw new CniError(TortieIpamCode.AgentError, 'the agent assigned no address');
  const families = new Set(r.ips.map((a) => (a.family === 'ipv4' ? '4' : '6')));
  const routes = (conf.routes ?? defaultRoutes(families)).filter((rt) => families.has(rt.dst.includes(':') ? '6' : '4'));
  return { cniVersion: net.cniVersion, ips: r.ips.map((a) => ({ address: a.cidr })), routes };
}

async function cmdDel(env: CniEnv, api: AgentApi): Promise<void> {
  const reply = await call(api, 'POST', '/v1/ipam/release', { containerId: env.containerId!, ifname: env.ifname! });
  if (reply.status === 200 || reply.status === 404) return; // not found: already released
  throw agentError(reply, 'release failed');
}

async function cmdCheck(env: CniEnv, net: NetConf, api: AgentApi): Promise<void> {
  const handle = handleFor(env.containerId!, env.ifname!);
  const reply = await call(api, 'GET', `/v1/ipam/allocations?handle=${encodeURIComponent(handle)}`);
  if (reply.status === 404) throw new CniError(TortieIpamCode.CheckFailed, `the agent holds no address for ${handle}`, 'the allocation is missing');
  if (reply.status !== 200) throw agentError(reply, 'check failed');
  const held = (reply.body as IpamAllocationsResponse).allocations.map((a) => a.address);
  if (net.prevResult === undefined) throw new CniError(CniErrorCode.InvalidNetworkConfig, 'CHECK needs prevResult', 'field: prevResult');
  const prev = (net.prevResult.ips ?? []).map((ip) => {
    const p = parseCidr(ip.address);
    return p === undefined ? ip.address : canonicalIp(ip.address.slice(0, ip.address.indexOf('/'))) ?? ip.address;
  });
  const missing = held.filter((a) => !prev.includes(a));
  if (missing.length > 0) {
    throw new CniError(TortieIpamCode.CheckFailed, `prevResult lacks ${missing.join(', ')}, which the agent holds for ${handle}`, `held: ${held.join(', ')}; prevResult: ${prev.join(', ')}`);
  }
  const families = new Set(held.map((a) => (a.includes(':') ? 6 : 4)));
  const extra = prev.filter((a) => families.has(a.includes(':') ? 6 : 4) && !held.includes(a));
  if (extra.length > 0) {
    throw new CniError(TortieIpamCode.CheckFailed, `prevResult has ${extra.join(', ')}, which the agent does not hold for ${handle}`, `held: ${held.join(', ')}; prevResult: ${prev.join(', ')}`);
  }
}

async function cmdGc(net: NetConf, api: AgentApi): Promise<void> {
  const valid = (net.validAttachments ?? []).map((a) => ({ containerId: a.containerID, ifname: a.ifname }));
  if (net.validAttachments === undefined) throw invalidConf('GC needs cni.dev/valid-attachments', 'cni.dev/valid-attachments');
  const reply = await call(api, 'POST', '/v1/ipam/gc', { validAttachments: valid, network: net.name });
  if (reply.status !== 200) throw agentError(reply, 'gc failed');
}

async function cmdStatus(api: AgentApi): Promise<void> {
  let reply: AgentReply;
  try {
    reply = await api.call('GET', '/v1/ipam/status');
  } catch (err) {
    if (err instanceof AgentUnreachable) throw new CniError(CniErrorCode.PluginNotAvailable, `plugin not available: ${err.message}`);
    throw err;
  }
  if (reply.status !== 200) throw new CniError(CniErrorCode.PluginNotAvailable, `plugin not available: the agent answered ${reply.status}`);
  const s = reply.body as IpamStatusView;
  if (!s.ready) throw new CniError(CniErrorCode.PluginNotAvailable, `plugin not available: ${s.message}`);
}

/** Runs one CNI invocation. Never throws: failures become a CNI error on stdout and exit status 1. */
export async function runPlugin(envMap: EnvMap, stdin: string, connect: (conf: TortieIpamConf) => AgentApi): Promise<PluginOutput> {
  let cniVersion: string = CURRENT_VERSION;
  try {
    const command = parseCniCommand(envMap);
    if (command === 'VERSION') {
      let requested: string | undefined;
      try {
        const v = parseJsonObject(stdin).cniVersion;
        requested = typeof v === 'string' ? v : undefined;
      } catch {
        requested = undefined;
      }
      return { stdout: `${JSON.stringify(versionResult(requested))}\n`, exitCode: 0 };
    }
    const env = parseCniEnv(envMap);
    const net = parseNetConf(stdin, { command });
    cniVersion = net.cniVersion;
    const conf = readIpamConf(net);
    const api = connect(conf);
    switch (command) {
      case 'ADD':
        return { stdout: `${JSON.stringify(encodeResult(await cmdAdd(env, net, conf, api), net.cniVersion))}\n`, exitCode: 0 };
      case 'DEL':
        await cmdDel(env, api);
        break;
      case 'CHECK':
        await cmdCheck(env, net, api);
        break;
      case 'GC':
        await cmdGc(net, api);
        break;
      case 'STATUS':
        await cmdStatus(api);
        break;
    }
    return { stdout: '', exitCode: 0 };
  } catch (err) {
    const e = err instanceof CniError ? err : new CniError(CniErrorCode.Internal, err instanceof Error ? err.message : String(err));
    return { stdout: `${JSON.stringify(e.toResult(cniVersion))}\n`, exitCode: 1 };
  }
}
