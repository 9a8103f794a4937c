/**
 * The whole file: a parsed YAML document in, an AgentConfig (defaults
 * applied) or the list of every problem out. Pure: the environment and the
 * host name come in as arguments.
 */
import { isMap, isNode, type Node } from 'yaml';
import { readBgp } from './bgp-section.js';
import { IPAM_FIELDS, readIpam, readLabels } from './ipam-section.js';
import { ENV_KUBERNETES_SERVICE_HOST, KUBERNETES_FIELDS, readKubernetes } from './kubernetes-section.js';
import { POLICY_FIELDS, readPolicy } from './policy-section.js';
import { readAddress, readAsn, readPort, readPrefixNode, Seen, UINT32_MAX } from './common.js';
import { parseIpAddress } from './ip.js';
import {
  DEFAULTS, ENV_NODE_NAME, ENV_ROUTER_ID, LOG_LEVELS, RESERVED_ROUTE_PROTOCOLS, RESERVED_ROUTE_TABLES, type AgentConfig,
  type EndpointConfig, type NodeConfig, type PathsConfig, type RoutesConfig,
} from './schema.js';
import type { Fields, Reader } from './yaml-reader.js';

/** Where defaults outside the file come from. */
export interface ConfigEnv {
  env: Readonly<Record<string, string | undefined>>;
  hostname: string;
}

export const TOP_FIELDS = ['node', 'bgp', 'routes', 'ipam', 'policy', 'kubernetes', 'paths', 'metrics', 'health', 'logLevel'] as const;
const NODE_FIELDS = ['name', 'asn', 'routerId', 'sourceAddress', 'sourceAddressV6', 'labels'] as const;
const ROUTES_FIELDS = ['originate', 'protocol', 'table'] as const;
const PATHS_FIELDS = ['stateDir', 'controlSocket'] as const;
const ENDPOINT_FIELDS = ['address', 'port'] as const;
const HEALTH_FIELDS = [...ENDPOINT_FIELDS, 'readinessGraceSec'] as const;
/** An hour: longer would keep a broken node out of rotation for no reason. */
const MAX_READINESS_GRACE_SEC = 3600;
/** sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

/** Builds the configuration; returns undefined when any issue was recorded in `r`. */
export function buildConfig(r: Reader, root: Node, env: ConfigEnv): AgentConfig | undefined {
  const top = r.fields(root, '', TOP_FIELDS);
  if (top === undefined) return undefined;
  if (!top.has('node')) top.require('node', 'at least node.asn');
  const node = readNodeSection(top, env);
  const own = [node.sourceAddress, node.sourceAddressV6].filter((a): a is string => a !== undefined);
  const bgp = readBgp(r, top.get('bgp'), { asn: node.asn, ownAddresses: own });
  const routes = readRoutes(top.fields('routes', ROUTES_FIELDS));
  const paths = readPaths(top.fields('paths', PATHS_FIELDS));
  const kubernetes = readKubernetes(top.fields('kubernetes', KUBERNETES_FIELDS), (env.env[ENV_KUBERNETES_SERVICE_HOST] ?? '') !== '');
  const ipam = readIpam(top.fields('ipam', IPAM_FIELDS), paths.stateDir, kubernetes.enabled);
  const policy = readPolicy(top.fields('policy', POLICY_FIELDS), own, kubernetes.enabled);
  const metrics = readEndpoint(top.fields('metrics', ENDPOINT_FIELDS), DEFAULTS.metrics);
  const healthFields = top.fields('health', HEALTH_FIELDS);
  const health = {
    ...readEndpoint(healthFields, DEFAULTS.health),
    readinessGraceSec: healthFields?.int('readinessGraceSec', 0, MAX_READINESS_GRACE_SEC) ?? DEFAULTS.health.readinessGraceSec,
  };
  const logLevel = top.oneOf('logLevel', LOG_LEVELS) ?? DEFAULTS.logLevel;
  checkPortClashes(r, root, [
    ...(bgp.listen.enabled ? [{ path: ['bgp', 'listen'], ...bgp.listen }] : []),
    { path: ['metrics'], ...metrics },
    { path: ['health'], ...health },
  ]);
  if (r.issues.length > 0 || node.asn === undefined || node.routerId === undefined) return undefined;
  return deepFreeze({ node: { ...node, asn: node.asn, routerId: node.routerId }, bgp, routes, ipam, policy, kubernetes, paths, metrics, health, logLevel });
}

type NodeDraft = Omit<NodeConfig, 'asn' | 'routerId'> & { asn?: number; routerId?: string };

function readNodeSection(top: Fields, env: ConfigEnv): NodeDraft {
  const f = top.fields('node', NODE_FIELDS);
  const where = f ?? top;
  if (f !== undefined) f.require('asn', 'this node\'s AS number');
  const asn = f !== undefined ? readAsn(f, 'asn') : undefined;

  let name = f?.str('name');
  if (name !== undefined && name.trim() === '') {
    f?.report('name', 'is empty');
    name = undefined;
  }
  name ??= nonEmpty(env.env[ENV_NODE_NAME]) ?? env.hostname;

  const v4Hint = '; put an IPv6 source address in node.sourceAddressV6';
  const src4 = f !== undefined ? readAddress(f, 'sourceAddress', { family: 'ipv4', specified: true, unicast: true, familyHint: v4Hint }) : undefined;
  const src6 = f !== undefined ? readAddress(f, 'sourceAddressV6', { family: 'ipv6', specified: true, unicast: true }) : undefined;

  let routerId: string | undefined;
  let routerIdFrom: NodeConfig['routerIdFrom'] = 'file';
  if (f?.has('routerId') === true) {
    routerId = readRouterId(f);
  } else if (nonEmpty(env.env[ENV_ROUTER_ID]) !== undefined) {
    routerIdFrom = 'env';
    const text = env.env[ENV_ROUTER_ID] ?? '';
    const p = parseIpAddress(text);
    const problem = !p.ok ? 'is not an IP address' : p.value.v6 ? 'is not an IPv4 address' : p.value.text === '0.0.0.0' ? 'must not be 0.0.0.0' : undefined;
    if (p.ok && problem === undefined) routerId = p.value.text;
    else where.reader.report(where.node, 'node.routerId', `${ENV_ROUTER_ID}=${JSON.stringify(text)} from the environment ${problem ?? 'is not valid'}`);
  } else if (src4 !== undefined) {
    routerIdFrom = 'sourceAddress';
    routerId = src4.text;
  } else if (f !== undefined) {
    f.reader.report(f.node, 'node.routerId', `is required: set node.routerId, the environment variable ${ENV_ROUTER_ID}, or an IPv4 node.sourceAddress`);
  }
  const labels = f !== undefined ? readLabels(f.reader, f.get('labels'), f.at('labels')) : {};
  return {
    name,
    labels,
    ...(asn !== undefined ? { asn } : {}),
    ...(routerId !== undefined ? { routerId } : {}),
    routerIdFrom,
    ...(src4 !== undefined ? { sourceAddress: src4.text } : {}),
    ...(src6 !== undefined ? { sourceAddressV6: src6.text } : {}),
  };
}

function readRouterId(f: Fields): string | undefined {
  const a = readAddress(f, 'routerId', { family: 'ipv4', familyHint: ' (a router ID is a 32-bit identifier written as IPv4)' });
  if (a?.text === '0.0.0.0') {
    f.report('routerId', 'router ID 0.0.0.0 is not allowed (the BGP identifier must be non-zero)');
    return undefined;
  }
  return a?.text;
}

function nonEmpty(s: string | undefined): string | undefined {
  return s !== undefined && s.trim() !== '' ? s.trim() : undefined;
}

function readRoutes(f: Fields | undefined): RoutesConfig {
  const originate: string[] = [];
  if (f !== undefined) {
    const seen = new Seen(f.reader);
    for (const item of f.list('originate') ?? []) {
      if (item.node === undefined) {
        f.reader.report(item.at, item.path, 'is empty; expected a CIDR prefix');
        continue;
      }
      const p = readPrefixNode(f.reader, item.node, item.path);
      if (p !== undefined && seen.add(p, item.node, item.path, (first) => `${p} is listed twice (also ${first})`)) originate.push(p);
    }
  }
  const protocol = f?.int('protocol', 1, 255, (v) => `protocol ${v} is out of range (1..255)`);
  const owner = protocol !== undefined ? RESERVED_ROUTE_PROTOCOLS.get(protocol) : undefined;
  if (owner !== undefined) {
    f?.report('protocol', `protocol ${protocol} is reserved for ${owner}; choose an unused number (the default is ${DEFAULTS.routeProtocol})`);
  }
  const table = f?.int('table', 1, UINT32_MAX, (v) => `table ${v} is out of range (1..${UINT32_MAX})`);
  const tableName = table !== undefined ? RESERVED_ROUTE_TABLES.get(table) : undefined;
  if (tableName !== undefined) f?.report('table', `table ${table} is the kernel's ${tableName} table`);
  return { originate, protocol: protocol ?? DEFAULTS.routeProtocol, table: table ?? DEFAULTS.routeTable };
}

function readPath(f: Fields | undefined, name: string): string | undefined {
  const s = f?.str(name, 'a path');
  if (s === undefined) return undefined;
  if (!s.startsWith('/')) {
    f?.report(name, `${JSON.stringify(s)} is not an absolute path`);
    return undefined;
  }
  return s;
}

function readPaths(f: Fields | undefined): PathsConfig {
  const stateDir = readPath(f, 'stateDir');
  const controlSocket = readPath(f, 'controlSocket');
  if (controlSocket !== undefined) {
    const bytes = new TextEncoder().encode(controlSocket).length;
    if (bytes > MAX_SOCKET_PATH_BYTES) f?.report('controlSocket', `is ${bytes} bytes long; a unix socket path can have at most ${MAX_SOCKET_PATH_BYTES}`);
  }
  return { stateDir: stateDir ?? DEFAULTS.stateDir, controlSocket: controlSocket ?? DEFAULTS.controlSocket };
}

function readEndpoint(f: Fields | undefined, d: EndpointConfig): EndpointConfig {
  const address = f !== undefined ? readAddress(f, 'address', { unicast: true }) : undefined;
  const port = f !== undefined ? readPort(f, 'port', 0) : undefined;
  return { address: address?.text ?? d.address, port: port ?? d.port };
}

interface Bound {
  path: string[];
  address: string;
  port: number;
}

/** Two TCP listeners on one port must not overlap in address. Reported at the later one's port. */
function checkPortClashes(r: Reader, root: Node, bound: readonly Bound[]): void {
  const wildcard = (a: string): boolean => a === '0.0.0.0' || a === '::';
  for (let i = 0; i < bound.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = bound[j];
      const b = bound[i];
      if (a.port === 0 || a.port !== b.port) continue;
      if (a.address !== b.address && !wildcard(a.address) && !wildcard(b.address)) continue;
      // Report at whichever of the two the file sets (the later one when both are).
      const [at, other] = nodeAt(root, [...b.path, 'port']) !== undefined || nodeAt(root, [...a.path, 'port']) === undefined ? [b, a] : [a, b];
      const where = nodeAt(root, [...at.path, 'port']) ?? nodeAt(root, at.path) ?? root;
      r.report(where, [...at.path, 'port'].join('.'), `port ${at.port} is also used by ${other.path.join('.')} ([${other.address}]:${other.port})`);
    }
  }
}

/** The value node at a path of keys, when every step is a mapping. */
function nodeAt(root: Node, path: readonly string[]): Node | undefined {
  let n: unknown = root;
  for (const k of path) {
    if (!isMap(n)) return undefined;
    n = n.get(k, true);
  }
  return isNode(n) ? n : undefined;
}

export function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
