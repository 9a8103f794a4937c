/**
 * Delegation to the IPAM plugin by the CNI exec protocol: find
 * `ipam.type` in CNI_PATH, run it with our environment (CNI_COMMAND set to
 * the delegated command) and our config on stdin, read its result or its
 * CNI error.
 *
 * Version fallback: an IPAM plugin that does not speak 1.1.0 (Debian's
 * host-local 1.1.1 stops at 1.0.0) answers a 1.1.0 config with error 1. For
 * ADD, DEL and CHECK, whose semantics 1.1.0 did not change, we retry once
 * with cniVersion 1.0.0 and convert its result. GC and STATUS are only
 * delegated to plugins whose VERSION lists 1.1.0 (see ipamSupports11).
 */
import {
  CniError,
  CniErrorCode,
  decodeResult,
  decodeVersionResult,
  delegateEnv,
  isCniErrorResult,
  type CniCommand,
  type CniEnv,
  type CniResult,
} from './spec/index.js';
import type { Host } from './host.js';
import { runTortieIpamInProcess, TORTIE_IPAM_TYPE } from './ipam-inprocess.js';
import { delegateConfig, type TortieConf } from './plugin-config.js';

/** The marker `binary` for tortie-ipam run in-process (ipam-inprocess.ts). */
export const IN_PROCESS = '(in-process tortie-ipam)';

function inProcess(conf: TortieConf): boolean {
  return conf.ipamInProcess && conf.ipam.type === TORTIE_IPAM_TYPE;
}

/** The first `<dir>/<type>` in CNI_PATH that is an executable file. */
export function findPlugin(host: Host, path: readonly string[], type: string): string | undefined {
  for (const dir of path) {
    const candidate = `${dir.replace(/\/+$/, '')}/${type}`;
    if (host.isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** The IPAM binary to run: IN_PROCESS for in-process tortie-ipam, else its path in CNI_PATH (code 101 when absent). */
export function requireIpamPlugin(host: Host, env: CniEnv, conf: TortieConf): string {
  return inProcess(conf) ? IN_PROCESS : requirePlugin(host, env, conf.ipam.type);
}

export function requirePlugin(host: Host, env: CniEnv, type: string): string {
  const found = findPlugin(host, env.path, type);
  if (found === undefined) {
    throw new CniError(CniErrorCode.IpamNotFound, `IPAM plugin ${JSON.stringify(type)} not found in CNI_PATH`, `CNI_PATH=${env.path.join(':')}`);
  }
  return found;
}

export interface IpamCall {
  host: Host;
  env: CniEnv;
  conf: TortieConf;
}

interface RawOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function runOnce(call: IpamCall, binary: string, command: CniCommand, cniVersion?: string): Promise<RawOutcome> {
  const input = JSON.stringify(delegateConfig(call.conf, cniVersion));
  const env = delegateEnv(call.host.env, command);
  const r = binary === IN_PROCESS ? await runTortieIpamInProcess(env, input) : await call.host.exec(binary, [], { input, env });
  if (r.spawnError !== undefined) {
    throw new CniError(CniErrorCode.IpamFailed, `could not run IPAM plugin ${binary}: ${r.spawnError}`);
  }
  if (r.timedOut) throw new CniError(CniErrorCode.IpamFailed, `IPAM plugin ${call.conf.ipam.type} ${command} timed out`, r.stderr.trim());
  return r;
}

function failureOf(call: IpamCall, command: CniCommand, r: RawOutcome): CniError {
  const type = call.conf.ipam.type;
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.stdout);
  } catch {
    parsed = undefined;
  }
  if (isCniErrorResult(parsed)) return CniError.fromResult(parsed, `ipam ${type} ${command}: `);
  const said = (r.stderr.trim() || r.stdout.trim()).slice(0, 2000);
  return new CniError(CniErrorCode.IpamFailed, `IPAM plugin ${type} ${command} failed (exit ${r.code ?? 'signal'}) without a CNI error`, said);
}

/**
 * Runs the IPAM plugin for `command`. ADD returns its decoded result;
 * the other commands return undefined. Failures are CniErrors: the IPAM
 * plugin's own (message prefixed "ipam <type> <command>: "), or 100/101.
 */
export async function execIpam(call: IpamCall, command: CniCommand, binary?: string): Promise<CniResult | undefined> {
  const bin = binary ?? requireIpamPlugin(call.host, call.env, call.conf);
  let r = await runOnce(call, bin, command);
  if (r.code !== 0 && call.conf.net.cniVersion === '1.1.0' && (command === 'ADD' || command === 'DEL' || command === 'CHECK')) {
    const err = failureOf(call, command, r);
    if (err.cniCode === CniErrorCode.IncompatibleVersion) r = await runOnce(call, bin, command, '1.0.0');
  }
  if (r.code !== 0) throw failureOf(call, command, r);
  if (command !== 'ADD') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(r.stdout);
  } catch (err) {
    throw new CniError(CniErrorCode.IpamFailed, `IPAM plugin ${call.conf.ipam.type} printed no JSON result`, err instanceof Error ? err.message : String(err));
  }
  const v = typeof value === 'object' && value !== null && 'cniVersion' in value ? undefined : call.conf.net.cniVersion;
  try {
    return decodeResult(value, v);
  } catch (err) {
    if (err instanceof CniError) throw new CniError(err.cniCode, `IPAM plugin ${call.conf.ipam.type}: ${err.message}`, err.details);
    throw err;
  }
}

/** True when the IPAM plugin's VERSION lists 1.1.0 (so it knows GC and STATUS). */
export async function ipamSupports11(call: IpamCall, binary: string): Promise<boolean> {
  const input = JSON.stringify({ cniVersion: '1.1.0' });
  const env = delegateEnv(call.host.env, 'VERSION');
  const r = binary === IN_PROCESS ? await runTortieIpamInProcess(env, input) : await call.host.exec(binary, [], { input, env, timeoutMs: 30_000 });
  if (r.code !== 0) return false;
  try {
    return decodeVersionResult(JSON.parse(r.stdout))?.supportedVersions.includes('1.1.0') ?? false;
  } catch {
    return false;
  }
}
