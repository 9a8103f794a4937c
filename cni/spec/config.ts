/**
 * Network configurations as a plugin receives them on stdin, and
 * configuration lists (conflists) the way a runtime (libcni) turns them into
 * one config per plugin.
 *
 * Codes: JSON that does not parse or is not an object → 6 (failed to
 * decode); a missing or ill-typed well-known field → 7 (invalid network
 * config); an unsupported cniVersion → 1.
 */
import { CniError, CniErrorCode } from './errors.js';
import { decodeDns, decodeResult, encodeResult, type CniDns, type CniResult, type JsonObject, type JsonValue } from './result.js';
import { requireVersion, type CniCommand, type CniVersion } from './version.js';

/** Network names: an alphanumeric first character, then alphanumerics, '_', '.' or '-' (spec). */
export const NETWORK_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** The GC config key listing the attachments that are still in use (CNI 1.1). */
export const VALID_ATTACHMENTS_KEY = 'cni.dev/valid-attachments';

export interface IpamConf {
  type: string;
  [key: string]: unknown;
}

/** One attachment named in `cni.dev/valid-attachments`. */
export interface Attachment {
  containerID: string;
  ifname: string;
}

/** A decoded single-plugin network config. Plugin-specific keys stay in `raw`. */
export interface NetConf {
  cniVersion: CniVersion;
  name: string;
  type: string;
  ipam?: IpamConf;
  dns?: CniDns;
  /** Decoded (canonical) prevResult, when one was given. */
  prevResult?: CniResult;
  runtimeConfig: Record<string, unknown>;
  /** `args` (conventions: `args.cni` carries per-invocation keys). */
  args: Record<string, unknown>;
  capabilities: Record<string, boolean>;
  /** GC only: `cni.dev/valid-attachments`. */
  validAttachments?: Attachment[];
  /** The whole object as received. */
  raw: Record<string, unknown>;
}

export interface ParseNetConfOptions {
  /** The command being run: checks the version defines it. */
  command?: CniCommand;
  /** Require `ipam.type` (plugins that delegate IPAM). Default false. */
  requireIpam?: boolean;
}

function invalid(msg: string, field: string): CniError {
  return new CniError(CniErrorCode.InvalidNetworkConfig, msg, `field: ${field}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses JSON text into an object; code 6 when it is not JSON or not an object. */
export function parseJsonObject(text: string, what = 'network config'): Record<string, unknown> {
  if (text.trim() === '') throw new CniError(CniErrorCode.DecodingFailure, `${what} is empty`, 'stdin carried no data');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CniError(CniErrorCode.DecodingFailure, `${what} is not valid JSON`, err instanceof Error ? err.message : String(err));
  }
  if (!isObject(value)) {
    throw new CniError(CniErrorCode.DecodingFailure, `${what} must be a JSON object`, `got ${Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return value;
}

function optObject(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = o[key];
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw invalid(`${key} must be an object`, key);
  return v;
}

/** Decodes `cni.dev/valid-attachments`. */
export function decodeAttachments(v: unknown): Attachment[] {
  if (!Array.isArray(v)) throw invalid(`${VALID_ATTACHMENTS_KEY} must be an array`, VALID_ATTACHMENTS_KEY);
  return v.map((a, i) => {
    if (!isObject(a) || typeof a.containerID !== 'string' || typeof a.ifname !== 'string') {
      throw invalid(`${VALID_ATTACHMENTS_KEY}[${i}] must be {containerID, ifname} strings`, `${VALID_ATTACHMENTS_KEY}[${i}]`);
    }
    return { containerID: a.containerID, ifname: a.ifname };
  });
}

/** Decodes a network config object (already parsed from JSON). */
export function decodeNetConf(raw: Record<string, unknown>, opts: ParseNetConfOptions = {}): NetConf {
  const cniVersion = requireVersion(raw.cniVersion, opts.command);
  if (raw.name === undefined) throw invalid('name is required', 'name');
  if (typeof raw.name !== 'string' || !NETWORK_NAME_RE.test(raw.name)) {
    throw invalid(`name ${JSON.stringify(raw.name)} must start with a letter or digit and hold only letters, digits, '_', '.' and '-'`, 'name');
  }
  if (typeof raw.type !== 'string' || raw.type === '') throw invalid('type is required and must be a non-empty string', 'type');
  if (/[/\\]/.test(raw.type) || raw.type === '.' || raw.type === '..') throw invalid(`type ${JSON.stringify(raw.type)} may not contain a path`, 'type');

  const conf: NetConf = {
    cniVersion,
    name: raw.name,
    type: raw.type,
    runtimeConfig: optObject(raw, 'runtimeConfig'),
    args: optObject(raw, 'args'),
    capabilities: {},
    raw,
  };

  const caps = optObject(raw, 'capabilities');
  for (const [k, v] of Object.entries(caps)) {
    if (typeof v !== 'boolean') throw invalid(`capabilities.${k} must be a boolean`, `capabilities.${k}`);
    conf.capabilities[k] = v;
  }

  if (raw.ipam !== undefined && raw.ipam !== null) {
    if (!isObject(raw.ipam)) throw invalid('ipam must be an object', 'ipam');
    const t = raw.ipam.type;
    if (typeof t !== 'string' || t === '') throw invalid('ipam.type is required and must be a non-empty string', 'ipam.type');
    if (/[/\\]/.test(t) || t === '.' || t === '..') throw invalid(`ipam.type ${JSON.stringify(t)} may not contain a path`, 'ipam.type');
    conf.ipam = { ...raw.ipam, type: t };
  } else if (opts.requireIpam) {
    throw invalid('ipam is required', 'ipam');
  }

  try {
    const dns = decodeDns(raw.dns);
    if (dns) conf.dns = dns;
  } catch (err) {
    throw invalid(err instanceof Error ? err.message : 'dns is invalid', 'dns');
  }

  if (raw.prevResult !== undefined && raw.prevResult !== null) {
    // The spec: prevResult is in the config's own version.
    if (!isObject(raw.prevResult)) throw new CniError(CniErrorCode.DecodingFailure, 'prevResult must be an object', 'field: prevResult');
    conf.prevResult = decodeResult({ ...raw.prevResult, cniVersion }, cniVersion);
  }

  if (raw[VALID_ATTACHMENTS_KEY] !== undefined) conf.validAttachments = decodeAttachments(raw[VALID_ATTACHMENTS_KEY]);
  return conf;
}

/** Parses and decodes a network config from stdin text. */
export function parseNetConf(text: string, opts: ParseNetConfOptions = {}): NetConf {
  return decodeNetConf(parseJsonObject(text), opts);
}

// ---------------------------------------------------------------- conflists

export interface ConfList {
  cniVersion: CniVersion;
  name: string;
  disableCheck: boolean;
  disableGC: boolean;
  /** The plugin objects as written (each without name/cniVersion of its own). */
  plugins: Record<string, unknown>[];
  raw: Record<string, unknown>;
}

/** Parses a `.conflist` file's text. */
export function parseConfList(text: string): ConfList {
  const raw = parseJsonObject(text, 'network config list');
  const cniVersion = requireVersion(raw.cniVersion);
  if (typeof raw.name !== 'string' || !NETWORK_NAME_RE.test(raw.name)) throw invalid('name is required and must be a valid network name', 'name');
  if (!Array.isArray(raw.plugins) || raw.plugins.length === 0) throw invalid('plugins must be a non-empty array', 'plugins');
  const plugins = raw.plugins.map((p, i) => {
    if (!isObject(p) || typeof p.type !== 'string' || p.type === '') throw invalid(`plugins[${i}] must be an object with a type`, `plugins[${i}]`);
    return p;
  });
  const flag = (k: string): boolean => {
    const v = raw[k];
    if (v === undefined) return false;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    throw invalid(`${k} must be a boolean`, k);
  };
  return { cniVersion, name: raw.name, disableCheck: flag('disableCheck'), disableGC: flag('disableGC'), plugins, raw };
}

/**
 * The stdin of plugin `index` in a conflist, as libcni builds it: the
 * plugin's own keys plus the list's `name` and `cniVersion`, the previous
 * plugin's result as `prevResult` (converted to the list's version), and
 * `runtimeConfig` holding only the capabilities the plugin declares.
 */
export function pluginConfig(
  list: ConfList,
  index: number,
  opts: { prevResult?: CniResult; runtimeConfig?: Record<string, JsonValue>; extra?: JsonObject } = {},
): JsonObject {
  const plugin = list.plugins[index];
  if (plugin === undefined) throw new RangeError(`conflist has no plugin ${index}`);
  const out = { ...(plugin as JsonObject), name: list.name, cniVersion: list.cniVersion } as JsonObject;
  delete out.runtimeConfig;
  const caps = isObject(plugin.capabilities) ? plugin.capabilities : {};
  const rc: JsonObject = {};
  for (const [k, v] of Object.entries(opts.runtimeConfig ?? {})) if (caps[k] === true) rc[k] = v;
  if (Object.keys(rc).length > 0) out.runtimeConfig = rc;
  if (opts.prevResult) {
    const prev = encodeResult(opts.prevResult, list.cniVersion);
    delete prev.cniVersion;
    out.prevResult = { cniVersion: list.cniVersion, ...prev };
  }
  for (const [k, v] of Object.entries(opts.extra ?? {})) out[k] = v;
  return out;
}
