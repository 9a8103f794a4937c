/**
 * Real BGP daemons (BIRD 2, FRR, GoBGP, ExaBGP) inside a Topology's
 * namespaces, for interop tests and vector capture.
 *
 * Each start function writes the caller's configuration into a private
 * directory under the topology's temp dir, starts the daemon in the
 * foreground inside the namespace (so the PID we hold is the daemon's own),
 * and waits until its CLI answers. A failure to start names the daemon and
 * includes the tail of its log. `stop()` signals only our PIDs; the
 * Topology also stops them on destroy().
 */
import { chownSync, mkdirSync, rmdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { TortieError } from '../../lib/errors.js';
import {
  type Netns,
  type Topology,
  type TrackedProcess,
  CommandError,
  findCommand,
  run,
  waitFor,
} from './netns.js';

export type DaemonKind = 'bird' | 'frr' | 'gobgp' | 'exabgp';

export const FRR_SBIN = '/usr/lib/frr';
const FRR_USER = 'frr';
const DEFAULT_READY_TIMEOUT_MS = 20_000;

/** Commands each daemon kind needs, for `requireCommands`. */
export const DAEMON_COMMANDS: Readonly<Record<DaemonKind, readonly string[]>> = {
  bird: ['bird', 'birdc'],
  frr: [`${FRR_SBIN}/zebra`, `${FRR_SBIN}/bgpd`, 'vtysh'],
  gobgp: ['gobgpd', 'gobgp'],
  exabgp: ['exabgp', 'exabgpcli', 'mkfifo'],
};

/** A daemon failed to start, died, or its CLI failed. */
export class DaemonError extends TortieError {
  constructor(code: 'ERR_TEST_DAEMON_START' | 'ERR_TEST_DAEMON_CLI', message: string, cause?: unknown) {
    super(code, message, { cause });
    this.name = 'DaemonError';
  }
}

export interface DaemonHandle {
  readonly kind: DaemonKind;
  /** A label for messages and vector sources, e.g. "bird@r1". */
  readonly name: string;
  readonly ns: Netns;
  /** The main daemon's PID (bgpd for FRR). */
  readonly pid: number;
  /** Every PID we started for this daemon (zebra and bgpd for FRR). */
  readonly pids: readonly number[];
  /** Private directory holding config, sockets and logs. */
  readonly dir: string;
  /** Runs the daemon's CLI with `args` and returns its stdout; throws DaemonError on failure. */
  cli(args: readonly string[]): Promise<string>;
  /** Last lines of the daemon's log(s). */
  logTail(lines?: number): string;
  /** True while every process of the daemon runs. */
  readonly running: boolean;
  /** Addresses of the peers whose session is Established. */
  establishedPeers(): Promise<Set<string>>;
  /** Prefixes (canonical text) in the daemon's unicast RIB for a family. */
  ribPrefixes(family: 'ipv4' | 'ipv6'): Promise<Set<string>>;
  /** SIGTERM, then SIGKILL after a timeout; removes what it created outside its dir. Idempotent. */
  stop(): Promise<void>;
  /**
   * Sends `signal` to the main daemon's PID (bgpd for FRR), or with `all` to
   * every PID we started for it; only while it runs. E.g. SIGSTOP/SIGCONT to
   * freeze it, SIGKILL to crash it. True if a signal was sent.
   */
  signal(signal: NodeJS.Signals, all?: boolean): boolean;
  /** Resolves once every process of the daemon has exited. */
  exited(): Promise<void>;
}

export interface StartOptions {
  /** Instance name, unique within the topology; default derived from the namespace. */
  name?: string;
  readyTimeoutMs?: number;
}

let instanceCounter = 0;

function instanceDir(topo: Topology, kind: DaemonKind, name: string): string {
  const dir = join(topo.tmpDir, `${kind}-${name}`);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return dir;
}

/** Common handle plumbing: CLI errors and startup failures carry the log tail. */
abstract class BaseDaemon implements DaemonHandle {
  abstract readonly kind: DaemonKind;
  readonly name: string;
  readonly ns: Netns;
  readonly dir: string;
  protected readonly procs: TrackedProcess[] = [];
  private stopping: Promise<void> | undefined;

  constructor(ns: Netns, name: string, dir: string) {
    this.ns = ns;
    this.name = name;
    this.dir = dir;
  }

  get pid(): number {
    const main = this.procs[this.procs.length - 1];
    if (!main) throw new DaemonError('ERR_TEST_DAEMON_START', `${this.name}: not started`);
    return main.pid;
  }

  get pids(): number[] {
    return this.procs.map((p) => p.pid);
  }

  get running(): boolean {
    return this.procs.length > 0 && this.procs.every((p) => p.running);
  }

  logTail(lines = 30): string {
    return this.procs
      .map((p) => `--- ${p.logFile ?? '(no log)'} (pid ${p.pid}${p.running ? '' : `, exited ${JSON.stringify(p.exit)}`})\n${p.logTail(lines)}`)
      .join('\n');
  }

  protected abstract runCli(args: readonly string[]): Promise<string>;
  abstract establishedPeers(): Promise<Set<string>>;
  abstract ribPrefixes(family: 'ipv4' | 'ipv6'): Promise<Set<string>>;

  async cli(args: readonly string[]): Promise<string> {
    try {
      return await this.runCli(args);
    } catch (err) {
      const detail = err instanceof CommandError ? `${err.message}\n${err.stdout}` : String(err);
      throw new DaemonError('ERR_TEST_DAEMON_CLI', `${this.name}: CLI ${args.join(' ')} failed: ${detail}`, err);
    }
  }

  /** Polls `probe` (which may use the CLI) until it returns true; fails fast if a process dies. */
  protected async waitReady(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    try {
      await waitFor(`${this.name} ${what}`, async () => ((await probe()) ? true : undefined), {
        timeoutMs,
        intervalMs: 150,
        failFast: () => {
          const dead = this.procs.find((p) => !p.running);
          return dead ? `${dead.argv.slice(4).join(' ')} exited: ${JSON.stringify(dead.exit)}` : undefined;
        },
      });
    } catch (err) {
      const dead = this.procs.find((p) => !p.running);
      // If a process died, give it a moment so the log holds its last words.
      if (dead) await new Promise((r) => setTimeout(r, 100));
      throw new DaemonError(
        'ERR_TEST_DAEMON_START',
        `${this.name} (${this.kind}) did not become ready: ${err instanceof Error ? err.message : String(err)}\n${this.logTail(40)}`,
        err,
      );
    }
  }

  signal(signal: NodeJS.Signals, all = false): boolean {
    const targets = all ? this.procs : this.procs.slice(-1);
    let sent = false;
    for (const p of targets) sent = p.signal(signal) || sent;
    return sent;
  }

  async exited(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.exited()));
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      // Reverse start order: bgpd before zebra.
      for (const p of [...this.procs].reverse()) await p.stop();
      this.afterStop();
    })();
    return this.stopping;
  }

  protected afterStop(): void {}
}

// ---------------------------------------------------------------- BIRD 2

export interface BirdHandle extends DaemonHandle {
  readonly kind: 'bird';
  readonly socket: string;
  /** birdc with one command line, e.g. birdc('show protocols all'). */
  birdc(command: string): Promise<string>;
}

class BirdDaemon extends BaseDaemon implements BirdHandle {
  readonly kind = 'bird' as const;
  readonly socket: string;

  constructor(ns: Netns, name: string, dir: string) {
    super(ns, name, dir);
    this.socket = join(dir, 'bird.ctl');
  }

  protected async runCli(args: readonly string[]): Promise<string> {
    const { stdout } = await run('birdc', ['-s', this.socket, ...args], { timeoutMs: 10_000 });
    return stdout;
  }

  birdc(command: string): Promise<string> {
    return this.cli(command.split(/\s+/).filter(Boolean));
  }

  async establishedPeers(): Promise<Set<string>> {
    // BIRD has no JSON output: one block per protocol, the header line at column 0.
    const out = await this.birdc('show protocols all');
    const peers = new Set<string>();
    for (const block of out.split(/\n(?=\S)/)) {
      const state = /BGP state:\s+(\w+)/.exec(block)?.[1];
      const addr = /Neighbor address:\s+(\S+)/.exec(block)?.[1];
      if (state === 'Established' && addr) peers.add(addr.replace(/%.*$/, ''));
    }
    return peers;
  }

  async ribPrefixes(family: 'ipv4' | 'ipv6'): Promise<Set<string>> {
    const out = await this.birdc(`show route table ${family === 'ipv4' ? 'master4' : 'master6'}`);
    const prefixes = new Set<string>();
    for (const line of out.split('\n')) {
      const m = /^([0-9a-f.:]+\/\d+)\s/i.exec(line);
      if (m) prefixes.add(m[1]);
    }
    return prefixes;
  }

  async start(config: string, timeoutMs: number): Promise<void> {
    const conf = join(this.dir, 'bird.conf');
    // Without a log statement a foreground BIRD logs to syslog; we want its words in our log file.
    writeFileSync(conf, /^\s*log\s/m.test(config) ? config : `log stderr all;\n${config}`);
    this.procs.push(
      this.ns.spawn('bird', ['-f', '-c', conf, '-s', this.socket, '-P', join(this.dir, 'bird.pid')], {
        logFile: join(this.dir, 'bird.log'),
      }),
    );
    await this.waitReady(
      'control socket',
      async () => /Daemon is up and running/.test(await this.runCli(['show', 'status'])),
      timeoutMs,
    );
  }
}

/** Starts BIRD 2 (`bird -f`) in `ns` with `config` (a complete bird.conf). */
export async function startBird(topo: Topology, ns: Netns, config: string, opts: StartOptions = {}): Promise<BirdHandle> {
  const name = opts.name ?? `bird@${ns.label}`;
  const d = new BirdDaemon(ns, name, instanceDir(topo, 'bird', safeName(name)));
  await d.start(config, opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  return d;
}

// ---------------------------------------------------------------- FRR (zebra + bgpd)

export interface FrrHandle extends DaemonHandle {
  readonly kind: 'frr';
  /** Directory holding zebra.vty and bgpd.vty. */
  readonly vtyDir: string;
  /** Runs vtysh with one `-c` per command, e.g. vtysh('conf t', 'router bgp 65002', 'no network …'). */
  vtysh(...commands: string[]): Promise<string>;
  /** `show …` with ` json` appended, parsed. */
  showJson<T>(command: string): Promise<T>;
  /**
   * Kills bgpd alone if it still runs (SIGKILL by default: a crash, no
   * NOTIFICATION; `signal('SIGKILL')` beforehand works too) and starts a
   * fresh one with the same configuration while zebra keeps running, as
   * FRR's watchfrr would. Resolves when the new bgpd's vty answers.
   */
  restartBgpd(signal?: NodeJS.Signals): Promise<void>;
}

export interface FrrStartOptions extends StartOptions {
  /** bgpd.conf contents. Should include `no bgp ebgp-requires-policy` for eBGP. */
  bgpdConfig: string;
  /** zebra.conf contents (default: hostname and stdout logging only). */
  zebraConfig?: string;
  /** Keep routes out of the kernel (`bgpd -n`). Default true. */
  noKernel?: boolean;
}

class FrrDaemon extends BaseDaemon implements FrrHandle {
  readonly kind = 'frr' as const;
  readonly vtyDir: string;
  private readonly pathspace: string;

  constructor(ns: Netns, name: string, dir: string, pathspace: string) {
    super(ns, name, dir);
    this.vtyDir = dir;
    this.pathspace = pathspace;
  }

  protected async runCli(args: readonly string[]): Promise<string> {
    // vtysh must not get -N: it would look for the sockets under <vty_socket>/<N>/.
    const { stdout } = await run('vtysh', ['--vty_socket', this.vtyDir, ...args], { timeoutMs: 15_000 });
    return stdout;
  }

  vtysh(...commands: string[]): Promise<string> {
    return this.cli(commands.flatMap((c) => ['-c', c]));
  }

  async showJson<T>(command: string): Promise<T> {
    const out = await this.vtysh(`${command} json`);
    return JSON.parse(out) as T;
  }

  async establishedPeers(): Promise<Set<string>> {
    const nbrs = await this.showJson<Record<string, { bgpState?: string }>>('show bgp neighbors');
    return new Set(Object.entries(nbrs).filter(([, n]) => n.bgpState === 'Established').map(([addr]) => addr));
  }

  async ribPrefixes(family: 'ipv4' | 'ipv6'): Promise<Set<string>> {
    const rib = await this.showJson<{ routes?: Record<string, unknown> }>(`show bgp ${family} unicast`);
    return new Set(Object.keys(rib.routes ?? {}));
  }

  async start(o: FrrStartOptions, timeoutMs: number): Promise<void> {
    const uid = await idOf('-u', FRR_USER);
    const gid = await idOf('-g', FRR_USER);
    chownSync(this.dir, uid, gid);
    const zebraConf = join(this.dir, 'zebra.conf');
    const bgpdConf = join(this.dir, 'bgpd.conf');
    writeFileSync(zebraConf, o.zebraConfig ?? `hostname ${this.pathspace}\n`, { mode: 0o640 });
    writeFileSync(bgpdConf, o.bgpdConfig, { mode: 0o640 });
    chownSync(zebraConf, uid, gid);
    chownSync(bgpdConf, uid, gid);
    const zserv = join(this.dir, 'zserv.api');
    const common = (daemon: string): string[] => [
      '-N', this.pathspace,
      '-u', FRR_USER,
      '-g', FRR_USER,
      '--vty_socket', this.dir,
      '-z', zserv,
      '-i', join(this.dir, `${daemon}.pid`),
      '-f', join(this.dir, `${daemon}.conf`),
      '--log', 'stdout',
    ];
    this.procs.push(this.ns.spawn(`${FRR_SBIN}/zebra`, common('zebra'), { logFile: join(this.dir, 'zebra.log') }));
    await this.waitReady('zebra socket', () => Promise.resolve(existsSync(zserv) && existsSync(join(this.dir, 'zebra.vty'))), timeoutMs);
    this.bgpdArgs = [...common('bgpd'), ...(o.noKernel === false ? [] : ['-n'])];
    this.readyTimeoutMs = timeoutMs;
    await this.startBgpd();
  }

  private bgpdArgs: string[] = [];
  private readyTimeoutMs = DEFAULT_READY_TIMEOUT_MS;

  private async startBgpd(): Promise<void> {
    this.procs.push(this.ns.spawn(`${FRR_SBIN}/bgpd`, this.bgpdArgs, { logFile: join(this.dir, 'bgpd.log') }));
    await this.waitReady(
      'bgpd vty',
      async () => {
        if (!existsSync(join(this.dir, 'bgpd.vty'))) return false;
        const out = await this.runCli(['-d', 'bgpd', '-c', 'show bgp summary json']);
        return out.trim().startsWith('{');
      },
      this.readyTimeoutMs,
    );
  }

  async restartBgpd(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const bgpd = this.procs[this.procs.length - 1];
    if (!bgpd || this.procs.length < 2) throw new DaemonError('ERR_TEST_DAEMON_START', `${this.name}: bgpd not started`);
    bgpd.signal(signal);
    await bgpd.exited();
    this.procs.pop();
    // bgpd's vty socket and pid file stay behind after a crash; the new one replaces them.
    rmSync(join(this.dir, 'bgpd.vty'), { force: true });
    await this.startBgpd();
  }

  protected override afterStop(): void {
    removeFrrPathspaceDir(this.pathspace);
  }
}

/** Starts FRR zebra + bgpd as user frr, with private sockets, pid files and pathspace. */
export async function startFrr(topo: Topology, ns: Netns, opts: FrrStartOptions): Promise<FrrHandle> {
  const name = opts.name ?? `frr@${ns.label}`;
  const pathspace = `${ns.name}f${(instanceCounter++).toString(36)}`;
  const d = new FrrDaemon(ns, name, instanceDir(topo, 'frr', safeName(name)), pathspace);
  // Also when start() fails half-way, the topology removes what -N created.
  topo.defer(() => removeFrrPathspaceDir(pathspace));
  await d.start(opts, opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  return d;
}

/** `-N` makes the daemons create /var/run/frr/<pathspace>; it is ours (unique name) and empty. */
function removeFrrPathspaceDir(pathspace: string): void {
  try {
    rmdirSync(join('/var/run/frr', pathspace));
  } catch {
    // absent or not empty: leave it
  }
}

async function idOf(flag: '-u' | '-g', user: string): Promise<number> {
  const { stdout } = await run('id', [flag, user]);
  const n = Number(stdout.trim());
  if (!Number.isInteger(n)) throw new DaemonError('ERR_TEST_DAEMON_START', `no ${user} user/group (is frr installed?)`);
  return n;
}

// ---------------------------------------------------------------- GoBGP

export interface GobgpHandle extends DaemonHandle {
  readonly kind: 'gobgp';
  readonly apiPort: number;
  /** gobgp CLI with `args`, e.g. gobgp(['global', 'rib', 'add', …]). */
  gobgp(args: readonly string[]): Promise<string>;
  /** gobgp CLI with `-j`, parsed. */
  gobgpJson<T>(args: readonly string[]): Promise<T>;
}

export interface GobgpStartOptions extends StartOptions {
  /** gobgpd configuration (TOML unless configType says otherwise). */
  config: string;
  configType?: 'toml' | 'yaml' | 'json';
  /** gRPC port on 127.0.0.1 inside the namespace; default unique per process. */
  apiPort?: number;
  logLevel?: 'debug' | 'info' | 'warn';
}

class GobgpDaemon extends BaseDaemon implements GobgpHandle {
  readonly kind = 'gobgp' as const;
  readonly apiPort: number;

  constructor(ns: Netns, name: string, dir: string, apiPort: number) {
    super(ns, name, dir);
    this.apiPort = apiPort;
  }

  protected async runCli(args: readonly string[]): Promise<string> {
    // The gRPC endpoint is on the namespace's loopback, so the CLI runs inside it too.
    const { stdout } = await this.ns.exec('gobgp', ['-u', '127.0.0.1', '-p', String(this.apiPort), ...args], {
      timeoutMs: 15_000,
    });
    return stdout;
  }

  gobgp(args: readonly string[]): Promise<string> {
    return this.cli(args);
  }

  async gobgpJson<T>(args: readonly string[]): Promise<T> {
    return JSON.parse(await this.cli([...args, '-j'])) as T;
  }

  async establishedPeers(): Promise<Set<string>> {
    const GOBGP_ESTABLISHED = 6;
    const nbrs = await this.gobgpJson<{ state?: { neighbor_address?: string; session_state?: number | string } }[]>(['neighbor']);
    return new Set(
      nbrs
        .filter((n) => n.state?.session_state === GOBGP_ESTABLISHED || n.state?.session_state === 'ESTABLISHED')
        .map((n) => n.state?.neighbor_address ?? ''),
    );
  }

  async ribPrefixes(family: 'ipv4' | 'ipv6'): Promise<Set<string>> {
    const rib = await this.gobgpJson<Record<string, unknown>>(['global', 'rib', '-a', family]);
    return new Set(Object.keys(rib ?? {}));
  }

  async start(o: GobgpStartOptions, timeoutMs: number): Promise<void> {
    const type = o.configType ?? 'toml';
    const conf = join(this.dir, `gobgpd.${type}`);
    writeFileSync(conf, o.config);
    const args = [
      '-f', conf,
      '-t', type,
      '--api-hosts', `127.0.0.1:${this.apiPort}`,
      '--pprof-disable',
      '-p',
      '-l', o.logLevel ?? 'info',
    ];
    this.procs.push(this.ns.spawn('gobgpd', args, { logFile: join(this.dir, 'gobgpd.log') }));
    await this.waitReady(
      'gRPC API',
      async () => {
        const g = JSON.parse(await this.runCli(['global', '-j'])) as { asn?: number };
        return (g.asn ?? 0) > 0;
      },
      timeoutMs,
    );
  }
}

/** Starts gobgpd in `ns` with its gRPC API on 127.0.0.1:<apiPort> inside the namespace. */
export async function startGobgp(topo: Topology, ns: Netns, opts: GobgpStartOptions): Promise<GobgpHandle> {
  const name = opts.name ?? `gobgp@${ns.label}`;
  const port = opts.apiPort ?? 50051 + (instanceCounter++ % 1000);
  const d = new GobgpDaemon(ns, name, instanceDir(topo, 'gobgp', safeName(name)), port);
  await d.start(opts, opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  return d;
}

// ---------------------------------------------------------------- ExaBGP

export interface ExabgpHandle extends DaemonHandle {
  readonly kind: 'exabgp';
  /** One API command through exabgpcli, e.g. exabgpcli('announce route 203.0.113.0/24 next-hop self'). */
  exabgpcli(command: string): Promise<string>;
}

export interface ExabgpStartOptions extends StartOptions {
  /** exabgp.conf contents (neighbor blocks, static routes, processes). */
  config: string;
  /** Extra environment settings, e.g. { 'exabgp.log.packets': 'true' }. */
  env?: Record<string, string>;
}

class ExabgpDaemon extends BaseDaemon implements ExabgpHandle {
  readonly kind = 'exabgp' as const;
  private readonly pipename: string;
  private env: NodeJS.ProcessEnv = {};

  constructor(ns: Netns, name: string, dir: string, pipename: string) {
    super(ns, name, dir);
    this.pipename = pipename;
  }

  protected async runCli(args: readonly string[]): Promise<string> {
    const { stdout } = await run('exabgpcli', ['--root', this.dir, ...args], { timeoutMs: 15_000, env: this.env });
    if (/could not (find|send|read|communicate)|is not running/i.test(stdout)) {
      throw new DaemonError('ERR_TEST_DAEMON_CLI', stdout.trim());
    }
    return stdout;
  }

  exabgpcli(command: string): Promise<string> {
    return this.cli(command.split(/\s+/).filter(Boolean));
  }

  async establishedPeers(): Promise<Set<string>> {
    const out = await this.exabgpcli('show neighbor summary');
    const peers = new Set<string>();
    for (const line of out.split('\n')) {
      const m = /^(\S+)\s+\d+\s+\S+\s+(\w+)/.exec(line.trim());
      if (m && m[2].toLowerCase() === 'established') peers.add(m[1]);
    }
    return peers;
  }

  ribPrefixes(): Promise<Set<string>> {
    return Promise.reject(new DaemonError('ERR_TEST_DAEMON_CLI', `${this.name}: ExaBGP keeps no RIB to list`));
  }

  async start(o: ExabgpStartOptions, timeoutMs: number): Promise<void> {
    const conf = join(this.dir, 'exabgp.conf');
    writeFileSync(conf, o.config);
    // ExaBGP looks for its CLI pipes under <root>/run/; the name is unique to this instance.
    const runDir = join(this.dir, 'run');
    mkdirSync(runDir, { recursive: true, mode: 0o700 });
    for (const suffix of ['in', 'out']) {
      await run('mkfifo', ['-m', '0600', join(runDir, `${this.pipename}.${suffix}`)]);
    }
    this.env = {
      ...process.env,
      'exabgp.daemon.user': 'root',
      'exabgp.daemon.drop': 'false',
      'exabgp.daemon.daemonize': 'false',
      'exabgp.daemon.pid': join(this.dir, 'exabgp.pid'),
      'exabgp.log.destination': 'stdout',
      'exabgp.api.cli': 'true',
      'exabgp.api.pipename': this.pipename,
      ...o.env,
    };
    this.procs.push(
      this.ns.spawn('exabgp', ['--root', this.dir, conf], { logFile: join(this.dir, 'exabgp.log'), env: this.env }),
    );
    await this.waitReady('CLI pipe', async () => (await this.runCli(['show', 'neighbor', 'summary'])).length >= 0, timeoutMs);
  }
}

/** Starts ExaBGP in `ns`, configured through environment variables, with a private CLI pipe. */
export async function startExabgp(topo: Topology, ns: Netns, opts: ExabgpStartOptions): Promise<ExabgpHandle> {
  const name = opts.name ?? `exabgp@${ns.label}`;
  const pipename = `tortie-${ns.name}-${(instanceCounter++).toString(36)}`;
  const d = new ExabgpDaemon(ns, name, instanceDir(topo, 'exabgp', safeName(name)), pipename);
  await d.start(opts, opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  return d;
}

// ---------------------------------------------------------------- versions

export interface DaemonVersions {
  bird: string;
  frr: string;
  gobgp: string;
  exabgp: string;
}

/** Installed daemon versions ("2.0.12", "8.4.4", …); "missing" when not installed. */
export async function daemonVersions(): Promise<DaemonVersions> {
  const grab = async (cmd: string, args: string[], re: RegExp): Promise<string> => {
    if (!findCommand(cmd)) return 'missing';
    const out = await run(cmd, args).then(
      (r) => r.stdout + r.stderr,
      (e: unknown) => (e instanceof CommandError ? e.stdout + e.stderr : ''),
    );
    return re.exec(out)?.[1] ?? 'unknown';
  };
  return {
    bird: await grab('bird', ['--version'], /BIRD version (\S+)/),
    frr: await grab(`${FRR_SBIN}/bgpd`, ['--version'], /bgpd version (\S+)/),
    gobgp: await grab('gobgpd', ['--version'], /gobgpd version (\S+)/),
    exabgp: await grab('exabgp', ['--version'], /ExaBGP : (\S+)/),
  };
}

function safeName(name: string): string {
  return name.replace(/[^\w.-]+/g, '_');
}
