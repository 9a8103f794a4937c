/**
 * Network namespaces for integration tests: a small library that builds a
 * throw-away topology (namespaces joined by veth pairs), runs commands and
 * long-lived processes inside it, and tears all of it down again.
 *
 * Rules it keeps (see ../shared/notes.md and the project's test rules):
 *   - Every namespace gets a unique name `tt<pid base36><counter>`, so
 *     parallel test processes never collide and leftovers are attributable.
 *   - Traffic stays between namespaces we create: veths are created directly
 *     inside them (never in the host namespace) and carry documentation or
 *     ULA addresses only.
 *   - Processes are tracked by the PID we spawned and are only ever signalled
 *     by that PID, and only while we know they are still running.
 *   - `destroy()` is idempotent and safe to call after a half-failed setup.
 *   - Commands are argv arrays (execFile/spawn), never shell strings; state
 *     is read with `ip -json`.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { join } from 'node:path';
import { TortieError } from '../../lib/errors.js';

// ---------------------------------------------------------------- running commands

export interface RunResult {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Kill the command (SIGKILL) after this long. Default 20 s. */
  timeoutMs?: number;
  /** Written to the command's stdin. */
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** A command exited non-zero, timed out or could not be started. */
export class CommandError extends TortieError {
  readonly argv: readonly string[];
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number | null;

  constructor(argv: readonly string[], exitCode: number | null, stdout: string, stderr: string, cause?: unknown) {
    const why = exitCode === null ? 'failed to run' : `exited with ${exitCode}`;
    const said = (stderr.trim() || stdout.trim()).slice(0, 2000);
    super('ERR_TEST_COMMAND', `${argv.map(quoteForDisplay).join(' ')} ${why}${said ? `: ${said}` : ''}`, { cause });
    this.name = 'CommandError';
    this.argv = argv;
    this.stdout = stdout;
    this.stderr = stderr;
    this.exitCode = exitCode;
  }
}

const DEFAULT_RUN_TIMEOUT_MS = 20_000;

/** Runs `cmd args…` to completion; rejects with CommandError unless it exits 0. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const argv = [cmd, ...args];
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      {
        timeout: opts.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS,
        killSignal: 'SIGKILL',
        maxBuffer: 256 * 1024 * 1024,
        encoding: 'utf8',
        env: opts.env ?? process.env,
        cwd: opts.cwd,
      },
      (err, stdout, stderr) => {
        if (err) {
          const code = typeof err.code === 'number' ? err.code : null;
          const stderrText = stderr || (code === null ? err.message : '');
          reject(new CommandError(argv, code, stdout, stderrText, err));
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

function quoteForDisplay(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `probe` until it returns a value other than undefined, or fails with
 * the last error / `describe()` once `timeoutMs` has passed.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  opts: {
    timeoutMs: number;
    intervalMs?: number;
    describe?: () => string;
    /** Checked before every attempt; a returned message ends the wait at once with that error. */
    failFast?: () => string | undefined;
  },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    const fatal = opts.failFast?.();
    if (fatal !== undefined) throw new TortieError('ERR_TEST_ABORTED', `gave up waiting for ${what}: ${fatal}`);
    try {
      const value = await probe();
      if (value !== undefined) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const last = lastError instanceof Error ? `\nlast error: ${lastError.message}` : '';
      const extra = opts.describe ? `\n${opts.describe()}` : '';
      throw new TortieError('ERR_TEST_TIMEOUT', `timed out after ${opts.timeoutMs} ms waiting for ${what}${last}${extra}`, {
        cause: lastError,
      });
    }
    await sleep(opts.intervalMs ?? 200);
  }
}

// ---------------------------------------------------------------- processes

export interface SpawnOptions {
  /** stdout and stderr of the process are appended to this file. Default: discarded. */
  logFile?: string;
  env?: NodeJS.ProcessEnv;
  /** SIGTERM → SIGKILL grace period used by stop(). Default 5 s. */
  stopTimeoutMs?: number;
  /**
   * Give the process a stdin and a stdout pipe (TrackedProcess.stdin/stdout),
   * e.g. to drive it with JSON lines; stderr still goes to `logFile`.
   * Default false: stdin is closed and stdout goes to `logFile`.
   */
  pipeStdio?: boolean;
}

/** A long-lived process we started, known by its PID only. */
export class TrackedProcess {
  readonly pid: number;
  readonly argv: readonly string[];
  readonly logFile: string | undefined;
  private readonly child: ChildProcess;
  private readonly stopTimeoutMs: number;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exitedPromise: Promise<void>;
  private stopping: Promise<void> | undefined;

  constructor(child: ChildProcess, argv: readonly string[], logFile: string | undefined, stopTimeoutMs: number) {
    if (child.pid === undefined) throw new TortieError('ERR_TEST_SPAWN', `could not start ${argv.join(' ')}`);
    this.child = child;
    this.pid = child.pid;
    this.argv = argv;
    this.logFile = logFile;
    this.stopTimeoutMs = stopTimeoutMs;
    this.exitedPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve();
      });
    });
    // An 'error' after spawn (e.g. a failed kill) must not crash the test run.
    child.on('error', () => undefined);
  }

  /** True until the process has exited (and been reaped by Node). */
  get running(): boolean {
    return this.exitInfo === undefined;
  }

  get exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exitInfo;
  }

  /** The process's stdin pipe (only with SpawnOptions.pipeStdio). */
  get stdin(): Writable | null {
    return this.child.stdin;
  }

  /** The process's stdout pipe (only with SpawnOptions.pipeStdio). */
  get stdout(): Readable | null {
    return this.child.stdout;
  }

  /** Resolves when the process exits. */
  exited(): Promise<void> {
    return this.exitedPromise;
  }

  /** Sends `signal` to our PID if (and only if) the process is still ours and running. */
  signal(signal: NodeJS.Signals): boolean {
    if (!this.running) return false;
    try {
      return this.child.kill(signal);
    } catch {
      return false;
    }
  }

  /** SIGTERM, then SIGKILL after the grace period. Idempotent. */
  stop(timeoutMs: number = this.stopTimeoutMs): Promise<void> {
    this.stopping ??= (async () => {
      if (!this.running) return;
      this.signal('SIGTERM');
      // The grace timer is cleared once the process exits, so it does not keep the test run alive.
      const timedOut = await raceTimer(this.exitedPromise, timeoutMs);
      if (timedOut && this.running) {
        this.signal('SIGKILL');
        await raceTimer(this.exitedPromise, 5_000);
      }
    })();
    return this.stopping;
  }

  /** The last `lines` lines of the log file (empty when there is none). */
  logTail(lines = 30): string {
    return logTail(this.logFile, lines);
  }
}

/** Waits for `p` or `ms`, whichever comes first; true when the time ran out. */
async function raceTimer(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), ms)));
  try {
    return await Promise.race([p.then(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function logTail(file: string | undefined, lines = 30): string {
  if (!file) return '';
  try {
    const text = readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------- state via ip -json

export interface IpAddrInfo {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
  scope: string;
  tentative?: boolean;
  dadfailed?: boolean;
}

export interface IpLinkInfo {
  ifindex: number;
  ifname: string;
  operstate: string;
  address?: string;
  addr_info?: IpAddrInfo[];
}

// ---------------------------------------------------------------- namespaces and topology

let nameCounter = 0;
const PID36 = process.pid.toString(36);

/** Next candidate name `tt<pid base36><counter>` (at most 15 characters for any sane PID). */
export function nextNamespaceName(): string {
  return `tt${PID36}${(nameCounter++).toString(36)}`;
}

/** One network namespace belonging to a Topology. */
export class Netns {
  readonly name: string;
  /** The caller's label ("bird", "frr"...), used in messages. */
  readonly label: string;
  private readonly topo: Topology;

  constructor(topo: Topology, name: string, label: string) {
    this.topo = topo;
    this.name = name;
    this.label = label;
  }

  /** Runs a command inside this namespace (`ip netns exec`). */
  exec(cmd: string, args: readonly string[] = [], opts: RunOptions = {}): Promise<RunResult> {
    return run('ip', ['netns', 'exec', this.name, cmd, ...args], opts);
  }

  /** `ip -n <ns> <args…>` */
  ip(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return run('ip', ['-n', this.name, ...args], opts);
  }

  /** `ip -json -n <ns> <args…>`, parsed. */
  async ipJson<T>(args: readonly string[]): Promise<T> {
    const { stdout } = await run('ip', ['-json', '-n', this.name, ...args]);
    return JSON.parse(stdout.trim() === '' ? '[]' : stdout) as T;
  }

  /** Starts a long-lived process inside this namespace; the Topology stops it on destroy(). */
  spawn(cmd: string, args: readonly string[], opts: SpawnOptions = {}): TrackedProcess {
    return this.topo.spawnIn(this, cmd, args, opts);
  }

  /** Sets sysctls inside the namespace, e.g. { 'net.ipv6.conf.all.forwarding': '1' }. */
  async sysctl(values: Record<string, string>): Promise<void> {
    const args = ['-q', '-w', ...Object.entries(values).map(([k, v]) => `${k}=${v}`)];
    await this.exec('sysctl', args);
  }

  /** Addresses on one interface, from `ip -json addr`. */
  async addresses(ifname: string): Promise<IpAddrInfo[]> {
    const links = await this.ipJson<IpLinkInfo[]>(['addr', 'show', 'dev', ifname]);
    return links[0]?.addr_info ?? [];
  }

  /** The interface's IPv6 link-local address (without zone), once usable. */
  async linkLocal(ifname: string): Promise<string | undefined> {
    const addrs = await this.addresses(ifname);
    return addrs.find((a) => a.family === 'inet6' && a.scope === 'link' && !a.tentative)?.local;
  }
}

/** One veth pair between two namespaces. */
export interface VethLink {
  a: { ns: Netns; ifname: string; addresses: string[] };
  b: { ns: Netns; ifname: string; addresses: string[] };
}

export interface LinkOptions {
  /** CIDR addresses for the `a` end, e.g. ['192.0.2.1/24', '2001:db8:1::1/64']. */
  aAddresses?: string[];
  bAddresses?: string[];
  /** Interface names; default `ve<n>a` / `ve<n>b`. */
  aName?: string;
  bName?: string;
  mtu?: number;
}

export interface TopologyOptions {
  /** Keep the temp directory after destroy() (for debugging). Default: env TORTIE_KEEP_TMP=1. */
  keepTmp?: boolean;
}

/** Topologies not yet destroyed: cleaned up synchronously if the process exits first. */
const liveTopologies = new Set<Topology>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const cleanUp = (): void => {
    for (const topo of liveTopologies) topo.destroySync();
  };
  process.once('exit', cleanUp);
  // Ctrl-C or a CI timeout: Node would die without an 'exit' event.
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      cleanUp();
      if (process.listenerCount(signal) === 0) process.exit(code);
    });
  }
}

/**
 * A set of namespaces, links and processes that live and die together.
 * Build it step by step; call destroy() in after()/finally whatever happened.
 */
export class Topology {
  readonly namespaces: Netns[] = [];
  readonly links: VethLink[] = [];
  readonly processes: TrackedProcess[] = [];
  private readonly keepTmp: boolean;
  private tmp: string | undefined;
  private linkCounter = 0;
  private destroying: Promise<void> | undefined;
  private readonly cleanups: (() => void | Promise<void>)[] = [];

  constructor(opts: TopologyOptions = {}) {
    this.keepTmp = opts.keepTmp ?? process.env.TORTIE_KEEP_TMP === '1';
    liveTopologies.add(this);
    installExitHook();
  }

  /**
   * A private temp directory (created on first use, world-traversable so that
   * daemons that drop privileges can reach their own sub-directories).
   */
  get tmpDir(): string {
    if (!this.tmp) {
      this.assertAlive();
      this.tmp = mkdtempSync(join(tmpdir(), `tortie-${PID36}-`));
      chmodSync(this.tmp, 0o755);
    }
    return this.tmp;
  }

  private assertAlive(): void {
    if (this.destroying) throw new TortieError('ERR_TEST_TOPOLOGY', 'topology already destroyed');
  }

  /** Creates a namespace with lo up and IPv6 DAD disabled (so addresses are usable at once). */
  async addNamespace(label: string): Promise<Netns> {
    this.assertAlive();
    let name: string | undefined;
    for (let attempt = 0; attempt < 20 && name === undefined; attempt++) {
      const candidate = nextNamespaceName();
      try {
        await run('ip', ['netns', 'add', candidate]);
        name = candidate;
      } catch (err) {
        // A leftover from an earlier process with the same PID: take the next name.
        if (!(err instanceof CommandError && /exists/i.test(err.stderr))) throw err;
      }
    }
    if (name === undefined) throw new TortieError('ERR_TEST_TOPOLOGY', 'could not find a free namespace name');
    const ns = new Netns(this, name, label);
    this.namespaces.push(ns);
    if (this.destroying) {
      // destroy() ran while we were creating it: it must not outlive the topology.
      await run('ip', ['netns', 'del', name]).catch(() => undefined);
      throw new TortieError('ERR_TEST_TOPOLOGY', 'topology destroyed during setup');
    }
    await ns.ip(['link', 'set', 'lo', 'up']);
    // New interfaces inherit "default": no DAD, so link-local and global v6
    // addresses are never tentative.
    await ns.sysctl({
      'net.ipv6.conf.default.accept_dad': '0',
      'net.ipv6.conf.all.accept_dad': '0',
      'net.ipv6.conf.default.dad_transmits': '0',
    });
    return ns;
  }

  /** Creates a veth pair between `a` and `b` (inside them, never in the host), addresses it and brings it up. */
  async link(a: Netns, b: Netns, opts: LinkOptions = {}): Promise<VethLink> {
    this.assertAlive();
    const n = this.linkCounter++;
    const aName = opts.aName ?? `ve${n}a`;
    const bName = opts.bName ?? `ve${n}b`;
    await a.ip(['link', 'add', aName, 'type', 'veth', 'peer', 'name', bName, 'netns', b.name]);
    const link: VethLink = {
      a: { ns: a, ifname: aName, addresses: opts.aAddresses ?? [] },
      b: { ns: b, ifname: bName, addresses: opts.bAddresses ?? [] },
    };
    this.links.push(link);
    for (const end of [link.a, link.b]) {
      await end.ns.sysctl({ [`net.ipv6.conf.${end.ifname}.accept_dad`]: '0' });
      if (opts.mtu) await end.ns.ip(['link', 'set', end.ifname, 'mtu', String(opts.mtu)]);
      for (const cidr of end.addresses) {
        const v6 = cidr.includes(':');
        await end.ns.ip(['addr', 'add', cidr, 'dev', end.ifname, ...(v6 ? ['nodad'] : [])]);
      }
      await end.ns.ip(['link', 'set', end.ifname, 'up']);
    }
    await this.waitLinkReady(link);
    return link;
  }

  /** Waits until both ends are up with a usable link-local address and no tentative address. */
  private async waitLinkReady(link: VethLink): Promise<void> {
    for (const end of [link.a, link.b]) {
      await waitFor(
        `${end.ns.label}/${end.ifname} to be up`,
        async () => {
          const links = await end.ns.ipJson<IpLinkInfo[]>(['addr', 'show', 'dev', end.ifname]);
          const info = links[0];
          if (!info || info.operstate === 'DOWN') return undefined;
          const addrs = info.addr_info ?? [];
          if (addrs.some((x) => x.tentative || x.dadfailed)) return undefined;
          if (!addrs.some((x) => x.family === 'inet6' && x.scope === 'link')) return undefined;
          return true;
        },
        { timeoutMs: 10_000, intervalMs: 50 },
      );
    }
  }

  /**
   * Registers a cleanup step that destroy() runs after our processes have
   * stopped and before the namespaces go (last registered runs first).
   * Errors in it are ignored.
   */
  defer(fn: () => void | Promise<void>): void {
    this.assertAlive();
    this.cleanups.push(fn);
  }

  /** Used by Netns.spawn. */
  spawnIn(ns: Netns, cmd: string, args: readonly string[], opts: SpawnOptions): TrackedProcess {
    this.assertAlive();
    const argv = ['ip', 'netns', 'exec', ns.name, cmd, ...args];
    // `ip netns exec` execs the command in place, so the PID we get is the command's own.
    let fd: number | undefined;
    if (opts.logFile) fd = openSync(opts.logFile, 'a');
    try {
      const child = spawn(argv[0], argv.slice(1), {
        stdio: opts.pipeStdio ? ['pipe', 'pipe', fd ?? 'ignore'] : ['ignore', fd ?? 'ignore', fd ?? 'ignore'],
        env: opts.env ?? process.env,
        detached: false,
      });
      const proc = new TrackedProcess(child, argv, opts.logFile, opts.stopTimeoutMs ?? 5_000);
      this.processes.push(proc);
      return proc;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /**
   * Stops every process we started (SIGTERM, then SIGKILL), deletes our
   * namespaces and the temp directory. Idempotent, never throws; safe after
   * a setup that failed half-way.
   */
  destroy(): Promise<void> {
    this.destroying ??= (async () => {
      await Promise.all(this.processes.map((p) => p.stop().catch(() => undefined)));
      for (const fn of this.cleanups.splice(0).reverse()) {
        try {
          await fn();
        } catch {
          // best effort
        }
      }
      for (const ns of [...this.namespaces].reverse()) {
        await run('ip', ['netns', 'del', ns.name]).catch(() => undefined);
      }
      this.removeTmp();
      liveTopologies.delete(this);
    })();
    return this.destroying;
  }

  /** Last-resort synchronous cleanup used from process.on('exit'). */
  destroySync(): void {
    for (const p of this.processes) p.signal('SIGKILL');
    for (const fn of this.cleanups.splice(0).reverse()) {
      try {
        void fn();
      } catch {
        // best effort
      }
    }
    for (const ns of this.namespaces) spawnSync('ip', ['netns', 'del', ns.name], { stdio: 'ignore' });
    this.removeTmp();
    liveTopologies.delete(this);
  }

  private removeTmp(): void {
    if (this.tmp && !this.keepTmp) {
      rmSync(this.tmp, { recursive: true, force: true });
      this.tmp = undefined;
    }
  }
}

/** True when running as root (namespaces and daemons need it). */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** The absolute path of `cmd` (searched on PATH unless it contains a slash), or undefined. */
export function findCommand(cmd: string): string | undefined {
  const candidates = cmd.includes('/') ? [cmd] : (process.env.PATH ?? '').split(':').filter(Boolean).map((d) => join(d, cmd));
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Throws a clear error unless every command is on PATH (or is an absolute path that exists). */
export function requireCommands(cmds: readonly string[]): void {
  const missing = cmds.filter((cmd) => findCommand(cmd) === undefined);
  if (missing.length) {
    throw new TortieError('ERR_TEST_PREREQ', `missing commands: ${missing.join(', ')} (run .ci/run as root to install them)`);
  }
}
