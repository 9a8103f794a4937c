/**
 * CNI ADD results: one canonical in-memory shape (the 1.1.0 one) and the
 * conversions to and from every wire version we speak.
 *
 * Differences between versions (CNI spec, "Result" and the version notes):
 *   - 0.3.1 / 0.4.0: every `ips[]` entry carries `version: "4" | "6"`.
 *   - 1.0.0: `ips[].version` is gone (the family is the address's).
 *   - 1.1.0: adds `interfaces[].mtu`, `socketPath`, `pciID` and
 *     `routes[].mtu`, `advmss`, `priority`, `table`, `scope`.
 * Converting down drops what the older version cannot say; converting up
 * loses nothing.
 */
import { CniError, CniErrorCode } from './errors.js';
import { canonicalCidr, canonicalIp, parseCidr, parseIp } from './ip.js';
import { isSupportedVersion, SUPPORTED_VERSIONS, type CniVersion } from './version.js';

export interface CniInterface {
  name: string;
  mac?: string;
  /** 1.1.0 */
  mtu?: number;
  /** The netns path for interfaces inside the container; absent for host interfaces. */
  sandbox?: string;
  /** 1.1.0 */
  socketPath?: string;
  /** 1.1.0 */
  pciID?: string;
}

export interface CniIpConfig {
  /** CIDR: the address and the prefix length of its subnet ("10.1.2.3/32"). */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
  /** 1.1.0 */
  mtu?: number;
  /** 1.1.0 */
  advmss?: number;
  /** 1.1.0 */
  priority?: number;
  /** 1.1.0 */
  table?: number;
  /** 1.1.0: a route scope number (e.g. 253 link, 0 universe). */
  scope?: number;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** The canonical (1.1.0-shaped) result; `cniVersion` is what it will be printed as. */
export interface CniResult {
  cniVersion: CniVersion;
  interfaces?: CniInterface[];
  ips?: CniIpConfig[];
  routes?: CniRoute[];
  dns?: CniDns;
}

/** A JSON value as a plugin prints it. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

// ---------------------------------------------------------------- decoding

function bad(what: string, path: string): CniError {
  return new CniError(CniErrorCode.DecodingFailure, `invalid result: ${what}`, `at ${path}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optString(o: Record<string, unknown>, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw bad(`${key} must be a string`, `${path}.${key}`);
  return v;
}

function optInt(o: Record<string, unknown>, key: string, path: string, min: number, max: number): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw bad(`${key} must be an integer in ${min}..${max}`, `${path}.${key}`);
  }
  return v;
}

function optStringArray(o: Record<string, unknown>, key: string, path: string): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw bad(`${key} must be an array of strings`, `${path}.${key}`);
  return v;
}

function optArray(o: Record<string, unknown>, key: string, path: string): unknown[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw bad(`${key} must be an array`, `${path}.${key}`);
  return v as unknown[];
}

/** Decodes `dns` (shared by results and network configs). */
export function decodeDns(v: unknown, path = 'dns'): CniDns | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw bad('dns must be an object', path);
  const dns: CniDns = {};
  const nameservers = optStringArray(v, 'nameservers', path);
  const domain = optString(v, 'domain', path);
  const search = optStringArray(v, 'search', path);
  const options = optStringArray(v, 'options', path);
  if (nameservers) dns.nameservers = nameservers;
  if (domain !== undefined) dns.domain = domain;
  if (search) dns.search = search;
  if (options) dns.options = options;
  return dns;
}

/**
 * Decodes a result printed in any supported version into the canonical
 * shape. `version` is the version to decode as; by default the result's own
 * `cniVersion`. Errors carry code 6 (failed to decode content).
 */
export function decodeResult(value: unknown, version?: string): CniResult {
  if (!isObject(value)) throw bad('a result must be a JSON object', 'result');
  const declared = value.cniVersion;
  const v = version ?? declared;
  if (!isSupportedVersion(v)) {
    throw new CniError(
      CniErrorCode.IncompatibleVersion,
      `result has an unsupported cniVersion ${JSON.stringify(v)}`,
      `supported versions: ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  const legacy = v === '0.3.1' || v === '0.4.0';
  const result: CniResult = { cniVersion: v };

  const interfaces = optArray(value, 'interfaces', 'result');
  if (interfaces) {
    result.interfaces = interfaces.map((raw, i) => {
      const path = `interfaces[${i}]`;
      if (!isObject(raw)) throw bad('an interface must be an object', path);
      const name = optString(raw, 'name', path);
      if (name === undefined || name === '') throw bad('interface name is required', `${path}.name`);
      const itf: CniInterface = { name };
      const mac = optString(raw, 'mac', path);
      const sandbox = optString(raw, 'sandbox', path);
      const mtu = optInt(raw, 'mtu', path, 0, 0x7fffffff);
      const socketPath = optString(raw, 'socketPath', path);
      const pciID = optString(raw, 'pciID', path);
      if (mac !== undefined) itf.mac = mac;
      if (mtu !== undefined) itf.mtu = mtu;
      if (sandbox !== undefined) itf.sandbox = sandbox;
      if (socketPath !== undefined) itf.socketPath = socketPath;
      if (pciID !== undefined) itf.pciID = pciID;
      return itf;
    });
  }

  const ips = optArray(value, 'ips', 'result');
  if (ips) {
    const nInterfaces = result.interfaces?.length ?? 0;
    result.ips = ips.map((raw, i) => {
      const path = `ips[${i}]`;
      if (!isObject(raw)) throw bad('an ips entry must be an object', path);
      const address = optString(raw, 'address', path);
      const cidr = address === undefined ? undefined : parseCidr(address);
      if (address === undefined || !cidr) throw bad('address must be a CIDR string', `${path}.address`);
      if (legacy) {
        const family = raw.version;
        // 0.3.x requires "version"; tolerate its absence but not a wrong one.
        if (family !== undefined && family !== String(cidr.address.family)) {
          throw bad(`version ${JSON.stringify(family)} does not match the address family`, `${path}.version`);
        }
      }
      const ip: CniIpConfig = { address };
      const gateway = optString(raw, 'gateway', path);
      if (gateway !== undefined) {
        if (!parseIp(gateway)) throw bad('gateway must be an IP address', `${path}.gateway`);
        ip.gateway = gateway;
      }
      const index = optInt(raw, 'interface', path, 0, 0x7fffffff);
      if (index !== undefined) {
        if (index >= nInterfaces) throw bad(`interface index ${index} is out of range`, `${path}.interface`);
        ip.interface = index;
      }
      return ip;
    });
  }

  const routes = optArray(value, 'routes', 'result');
  if (routes) {
    result.routes = routes.map((raw, i) => {
      const path = `routes[${i}]`;
      if (!isObject(raw)) throw bad('a route must be an object', path);
      const dst = optString(raw, 'dst', path);
      if (dst === undefined || !parseCidr(dst)) throw bad('dst must be a CIDR string', `${path}.dst`);
      const route: CniRoute = { dst };
      const gw = optString(raw, 'gw', path);
      if (gw !== undefined && gw !== '') {
        if (!parseIp(gw)) throw bad('gw must be an IP address', `${path}.gw`);
        route.gw = gw;
      }
      const mtu = optInt(raw, 'mtu', path, 0, 0x7fffffff);
      const advmss = optInt(raw, 'advmss', path, 0, 0x7fffffff);
      const priority = optInt(raw, 'priority', path, 0, 0xffffffff);
      const table = optInt(raw, 'table', path, 0, 0xffffffff);
      const scope = optInt(raw, 'scope', path, 0, 255);
      if (mtu !== undefined) route.mtu = mtu;
      if (advmss !== undefined) route.advmss = advmss;
      if (priority !== undefined) route.priority = priority;
      if (table !== undefined) route.table = table;
      if (scope !== undefined) route.scope = scope;
      return route;
    });
  }

  const dns = decodeDns(value.dns);
  if (dns) result.dns = dns;
  return result;
}

// ---------------------------------------------------------------- encoding

/** The family of an ips entry ("4" or "6"), from its address. */
export function ipFamilyOf(ip: CniIpConfig): '4' | '6' {
  return ip.address.includes(':') ? '6' : '4';
}

/**
 * The result as printed for `version`: the 0.x `ips[].version` added or
 * removed, the 1.1-only fields dropped below 1.1.0, empty lists left out.
 */
export function encodeResult(result: CniResult, version: CniVersion = result.cniVersion): JsonObject {
  const legacy = version === '0.3.1' || version === '0.4.0';
  const v11 = version === '1.1.0';
  const out: JsonObject = { cniVersion: version };
  if (result.interfaces && result.interfaces.length > 0) {
    out.interfaces = result.interfaces.map((itf) => {
      const o: JsonObject = { name: itf.name };
      if (itf.mac !== undefined) o.mac = itf.mac;
      if (v11 && itf.mtu !== undefined) o.mtu = itf.mtu;
      if (itf.sandbox !== undefined) o.sandbox = itf.sandbox;
      if (v11 && itf.socketPath !== undefined) o.socketPath = itf.socketPath;
      if (v11 && itf.pciID !== undefined) o.pciID = itf.pciID;
      return o;
    });
  }
  if (result.ips && result.ips.length > 0) {
    out.ips = result.ips.map((ip) => {
      const o: JsonObject = {};
      if (legacy) o.version = ipFamilyOf(ip);
      if (ip.interface !== undefined) o.interface = ip.interface;
      o.address = ip.address;
      if (ip.gateway !== undefined) o.gateway = ip.gateway;
      return o;
    });
  }
  if (result.routes && result.routes.length > 0) {
    out.routes = result.routes.map((r) => {
      const o: JsonObject = { dst: r.dst };
      if (r.gw !== undefined) o.gw = r.gw;
      if (v11) {
        if (r.mtu !== undefined) o.mtu = r.mtu;
        if (r.advmss !== undefined) o.advmss = r.advmss;
        if (r.priority !== undefined) o.priority = r.priority;
        if (r.table !== undefined) o.table = r.table;
        if (r.scope !== undefined) o.scope = r.scope;
      }
      return o;
    });
  }
  if (result.dns && Object.keys(result.dns).length > 0) {
    const d: JsonObject = {};
    if (result.dns.nameservers) d.nameservers = [...result.dns.nameservers];
    if (result.dns.domain !== undefined) d.domain = result.dns.domain;
    if (result.dns.search) d.search = [...result.dns.search];
    if (result.dns.options) d.options = [...result.dns.options];
    out.dns = d;
  }
  return out;
}

/** Converts a wire result from whatever version it is in to `toVersion`'s wire form. */
export function convertResult(value: unknown, toVersion: CniVersion): JsonObject {
  return encodeResult(decodeResult(value), toVersion);
}

/** A copy of `result` labelled with another version (fields are dropped only when encoded). */
export function withVersion(result: CniResult, version: CniVersion): CniResult {
  return { ...result, cniVersion: version };
}

/** Every address of a result, canonical ("10.0.0.5/32", "fd00::5/128"). */
export function resultAddresses(result: CniResult): string[] {
  return (result.ips ?? []).map((ip) => canonicalCidr(ip.address) ?? ip.address);
}

/** Canonical gateway text or undefined. */
export function resultGateway(ip: CniIpConfig): string | undefined {
  return ip.gateway === undefined ? undefined : (canonicalIp(ip.gateway) ?? ip.gateway);
}
