/**
 * Runs one `ip -batch -` per namespace side: in our own netns directly, in
 * the pod's netns with `ip -n <name>` when CNI_NETNS is a named netns
 * (/var/run/netns/<name> or /run/netns/<name>, what containerd and CRI-O
 * create), else through `nsenter --net=PATH` (util-linux): `ip -n` only takes
 * names under /var/run/netns, and CNI_NETNS may be /proc/<pid>/ns/net.
 * nsenter execs ip in place, so either way a side is one process; `ip -n`
 * saves nsenter's own exec (about 1 ms of CPU and 2 ms of wall time under
 * load, bench/cni/README.md).
 */
import { CniError, CniErrorCode } from './spec/index.js';
import { findTool, type Host } from './host.js';

export interface IpTools {
  ip: string;
  nsenter: string;
}

/** Finds `ip` and `nsenter`; code 50-style failures are the caller's to choose, so this returns what is missing. */
export function findIpTools(host: Host): { tools?: IpTools; missing: string[] } {
  const ip = findTool(host, 'ip');
  const nsenter = findTool(host, 'nsenter');
  const missing = [...(ip ? [] : ['ip (iproute2)']), ...(nsenter ? [] : ['nsenter (util-linux)'])];
  return ip && nsenter ? { tools: { ip, nsenter }, missing } : { missing };
}

/** Like findIpTools, but a missing tool is a CniError (code 103). */
export function requireIpTools(host: Host): IpTools {
  const { tools, missing } = findIpTools(host);
  if (!tools) throw new CniError(CniErrorCode.KernelFailed, `required tools not found: ${missing.join(', ')}`, `PATH=${host.env.PATH ?? ''}`);
  return tools;
}

export interface BatchOptions {
  /** Run inside this netns (a path). Default: our own netns. */
  netns?: string;
  /** `-json -details -N` output (one JSON array per command line). */
  json?: boolean;
  /** `-force`: keep going after a failed line. */
  force?: boolean;
}

export interface BatchFailure {
  /** 0-based index of the failed line, when ip said which. */
  lineIndex?: number;
  line?: string;
  /** What ip printed on stderr (without the "Command failed" trailer). */
  message: string;
  /** nsenter could not enter the netns (it is gone or not a netns). */
  netnsUnusable: boolean;
}

export type BatchResult = { ok: true; stdout: string } | { ok: false; stdout: string; failure: BatchFailure };

/** argv for one batch: [file, ...args]. */
export function batchArgv(tools: IpTools, opts: BatchOptions): string[] {
  const ipArgs = [...(opts.json ? ['-json', '-details', '-N'] : []), ...(opts.force ? ['-force'] : []), '-batch', '-'];
  if (opts.netns === undefined) return [tools.ip, ...ipArgs];
  const name = namedNetns(opts.netns);
  return name !== undefined ? [tools.ip, '-n', name, ...ipArgs] : [tools.nsenter, `--net=${opts.netns}`, tools.ip, ...ipArgs];
}

/** The name of a netns path that `ip -n` can take (directly under /var/run/netns or /run/netns), else undefined. */
export function namedNetns(path: string): string | undefined {
  const m = /^\/(?:var\/)?run\/netns\/([^/]+)$/.exec(path);
  return m && m[1] !== '.' && m[1] !== '..' ? m[1] : undefined;
}

/** Reads ip's stderr after a failed batch (`inNetns`: it ran in the pod's netns, through nsenter or `ip -n`). */
export function parseBatchFailure(stderr: string, lines: readonly string[], inNetns: boolean): BatchFailure {
  const m = /Command failed -:(\d+)/.exec(stderr);
  const message = stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^Command failed -:\d+/.test(l))
    .join('; ');
  const failure: BatchFailure = { message: message || 'ip failed without a message', netnsUnusable: false };
  if (m) {
    const i = Number(m[1]) - 1;
    failure.lineIndex = i;
    if (lines[i] !== undefined) failure.line = lines[i];
  }
  if (inNetns && /^nsenter:|^Cannot open network namespace/m.test(stderr)) failure.netnsUnusable = true;
  return failure;
}

export async function runIpBatch(host: Host, tools: IpTools, lines: readonly string[], opts: BatchOptions = {}): Promise<BatchResult> {
  const [file, ...args] = batchArgv(tools, opts);
  const r = await host.exec(file, args, { input: `${lines.join('\n')}\n`, timeoutMs: 30_000 });
  if (r.code === 0) return { ok: true, stdout: r.stdout };
  if (r.spawnError !== undefined) {
    return { ok: false, stdout: '', failure: { message: `could not run ${file}: ${r.spawnError}`, netnsUnusable: false } };
  }
  const failure = parseBatchFailure(r.timedOut ? `timed out\n${r.stderr}` : r.stderr, lines, opts.netns !== undefined);
  return { ok: false, stdout: r.stdout, failure };
}

/** Splits `-json` batch output into one parsed value per command line. */
export function parseJsonLines(stdout: string): unknown[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as unknown);
}

/** A batch failure as the CNI error the caller reports (code 103, or 102 for "File exists" on link add). */
export function batchError(side: 'host' | 'pod', failure: BatchFailure): CniError {
  const where = failure.line !== undefined ? `\`ip ${failure.line}\`` : 'ip -batch';
  const exists = /File exists/i.test(failure.message) && failure.line?.startsWith('link add ') === true;
  if (exists) {
    return new CniError(CniErrorCode.InterfaceExists, `${side}: ${where} failed: an interface of that name already exists`, failure.message);
  }
  return new CniError(CniErrorCode.KernelFailed, `${side}: ${where} failed: ${failure.message}`, failure.line);
}
