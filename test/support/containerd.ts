/**
 * A private containerd (Debian's 1.6, with its CRI plugin) for the runtime
 * tests. Everything it owns lives under one test directory: root, state,
 * sockets, its config.toml, the CNI conf and bin dirs it reads, and the pod
 * netns mounts (`netns_mounts_under_state_dir`). Pod cgroups go under a
 * test-only cgroup parent. It never touches a system containerd: it has its
 * own socket path. The only things outside its directory are the shim
 * sockets containerd 1.6 always puts in /run/containerd/s/<hash of our
 * socket path> (removed with the shims, and the directories with them if we
 * created them) and the empty mount point /var/lib/cni, created if missing
 * (libcni's cache is bind-mounted there from our directory, inside
 * containerd's mount namespace only).
 *
 * It runs inside a network namespace the test creates, so the host side of
 * every pod (veths, routes) lands in that namespace, never on the machine's
 * real network. It also gets a private mount namespace (a slave of the
 * host's) with that netns's own /sys, which is what a plugin on a real node
 * sees. The pod netns mounts therefore exist only in containerd's mount
 * namespace, and vanish with it; `hostPath()` reaches them from the test
 * through /proc/<containerd pid>/root.
 *
 * The process is known by the PID we spawned and only signalled by it;
 * shims and sandbox processes it leaves behind are found through the pid
 * files in its own state dir, checked against /proc, then killed by PID.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TortieError } from '../../lib/errors.js';
import { CriClient, GrpcError } from './cri/cri-client.js';
import { run, sleep, waitFor, type Netns, type RunResult, type Topology, type TrackedProcess } from './netns.js';
import {
  cgroupsBelow,
  inCgroupBelow,
  isAlive,
  killPids,
  pidsWhere,
  readMountInfo,
  removeCgroupTree,
  removeEmptyDirs,
  signalPid,
  spawnInNodeMountNs,
  stopProcess,
} from './node-mount-ns.js';

export { stopProcess } from './node-mount-ns.js';

/** Where containerd 1.6 puts runtime v2 shim sockets, whatever its config says (shallowest first). */
const SHIM_RUN_DIRS = ['/run/containerd', '/run/containerd/s'];

/** The containerd namespace the CRI plugin uses. */
export const CRI_NAMESPACE = 'k8s.io';

export interface ContainerdOptions {
  topo: Topology;
  /** The namespace containerd (and so every CNI plugin it runs) lives in: the pods' "node". */
  ns: Netns;
  /** An empty directory that belongs to this instance (root, state, sockets, logs go below it). */
  dir: string;
  /** Image reference for sandbox_image; import it with importImage() before the first RunPodSandbox. */
  sandboxImage: string;
  /** CNI bin_dir and conf_dir; default <dir>/cni/bin and <dir>/cni/net.d (created). */
  cniBinDir?: string;
  cniConfDir?: string;
  /**
   * Directories put first on containerd's PATH, which CNI plugins inherit.
   * The tortie bundles start with `#!/usr/bin/env node` and need Node 24.
   */
  pathPrefix?: readonly string[];
  /** containerd log level. Default "info". */
  logLevel?: 'debug' | 'info' | 'warn';
  /** How long to wait for the CRI API to answer. Default 30 s. */
  startTimeoutMs?: number;
}

let instanceCounter = 0;

/** One running containerd. Create with Containerd.start(). */
export class Containerd {
  readonly dir: string;
  readonly root: string;
  readonly state: string;
  readonly socket: string;
  readonly configFile: string;
  readonly logFile: string;
  readonly cniBinDir: string;
  readonly cniConfDir: string;
  /** Give this to PodSandboxConfig.linux.cgroupParent: every pod cgroup goes below it. */
  readonly cgroupParent: string;
  readonly proc: TrackedProcess;
  readonly ns: Netns;
  readonly env: NodeJS.ProcessEnv;
  /** /run/containerd dirs that did not exist before we started: removed again if empty (no mount point: safe). */
  private readonly createdRunDirs: string[];

  private constructor(fields: {
    dir: string;
    cniBinDir: string;
    cniConfDir: string;
    cgroupParent: string;
    proc: TrackedProcess;
    ns: Netns;
    env: NodeJS.ProcessEnv;
    createdRunDirs: string[];
  }) {
    this.createdRunDirs = fields.createdRunDirs;
    this.dir = fields.dir;
    this.root = join(fields.dir, 'root');
    this.state = join(fields.dir, 'state');
    this.socket = join(fields.dir, 'containerd.sock');
    this.configFile = join(fields.dir, 'config.toml');
    this.logFile = join(fields.dir, 'containerd.log');
    this.cniBinDir = fields.cniBinDir;
    this.cniConfDir = fields.cniConfDir;
    this.cgroupParent = fields.cgroupParent;
    this.proc = fields.proc;
    this.ns = fields.ns;
    this.env = fields.env;
  }

  /** Writes the config, starts containerd in `opts.ns`, waits for the CRI API. Cleanup is registered on `opts.topo`. */
  static async start(opts: ContainerdOptions): Promise<Containerd> {
    const dir = opts.dir;
    const cniBinDir = opts.cniBinDir ?? join(dir, 'cni/bin');
    const cniConfDir = opts.cniConfDir ?? join(dir, 'cni/net.d');
    for (const d of [join(dir, 'root'), join(dir, 'state'), cniBinDir, cniConfDir]) mkdirSync(d, { recursive: true });
    // containerd 1.6 puts shim sockets in /run/containerd/s whatever its config says.
    const createdRunDirs = SHIM_RUN_DIRS.filter((d) => !existsSync(d));
    // libcni keeps its result cache in /var/lib/cni, and containerd 1.6 has no setting for it.
    const binds = [{ source: join(dir, 'cni-cache'), target: '/var/lib/cni' }];
    const cgroupParent = `/tortie-rt-${process.pid.toString(36)}-${instanceCounter++}`;
    const configFile = join(dir, 'config.toml');
    writeFileSync(configFile, containerdConfig({ dir, cniBinDir, cniConfDir, sandboxImage: opts.sandboxImage, logLevel: opts.logLevel ?? 'info' }));

    // The small environment a runtime started by an init system has: no proxy
    // or CA variables from this shell (NODE_EXTRA_CA_CERTS slows every Node start).
    const env: NodeJS.ProcessEnv = {
      PATH: [...(opts.pathPrefix ?? []), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(':'),
      HOME: '/root',
    };
    const proc = spawnInNodeMountNs(opts.ns, join(dir, 'cgroup-move'), binds, ['containerd', '--config', configFile], join(dir, 'containerd.log'), env);
    // The topology stops it (by PID) with its other processes, SIGKILLs it if the test process dies.
    opts.topo.processes.push(proc);
    const cd = new Containerd({ dir, cniBinDir, cniConfDir, cgroupParent, proc, ns: opts.ns, env, createdRunDirs });
    // Runs after the topology has stopped containerd itself (processes first, then deferred steps).
    opts.topo.defer(() => cd.reapLeftovers());

    const cri = new CriClient(cd.socket, { timeoutMs: 2_000 });
    try {
      await waitFor(
        'containerd CRI API',
        async () => {
          if (!existsSync(cd.socket)) return undefined;
          return cri.version();
        },
        {
          timeoutMs: opts.startTimeoutMs ?? 30_000,
          intervalMs: 100,
          failFast: () => (proc.running ? undefined : `containerd exited (${JSON.stringify(proc.exit)}):\n${proc.logTail(40)}`),
          describe: () => `containerd log:\n${proc.logTail(40)}`,
        },
      );
    } finally {
      cri.close();
    }
    return cd;
  }

  /** A CRI client on this containerd's socket; close() it when done. */
  cri(timeoutMs = 60_000): CriClient {
    return new CriClient(this.socket, { timeoutMs });
  }

  /** `ctr --address <our socket> --namespace k8s.io <args…>` */
  ctr(args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
    return run('ctr', ['--address', this.socket, '--namespace', CRI_NAMESPACE, ...args], { timeoutMs });
  }

  /** Imports an OCI archive into the CRI namespace. */
  async importImage(archive: string): Promise<void> {
    // Unpack for the snapshotter CRI uses (ctr's own default is overlayfs).
    await this.ctr(['images', 'import', '--snapshotter', 'native', archive]);
  }

  /** Where containerd keeps the pod netns mounts (netns_mounts_under_state_dir). */
  get netnsDir(): string {
    return join(this.state, 'io.containerd.grpc.v1.cri/netns');
  }

  /**
   * A path inside containerd's mount namespace, as the test process can open
   * it: the pod netns bind mounts exist only there.
   */
  hostPath(pathInContainerd: string): string {
    if (!this.proc.running) throw new TortieError('ERR_TEST_CONTAINERD', 'containerd is not running');
    return `/proc/${this.proc.pid}/root${pathInContainerd}`;
  }

  /** Names in the netns directory (one per pod whose netns is still mounted or not yet cleaned). */
  netnsEntries(): string[] {
    try {
      return readdirSync(this.netnsDir).sort();
    } catch {
      return [];
    }
  }

  /** Mount points of network namespaces (nsfs) in containerd's mount namespace. */
  netnsMounts(): string[] {
    if (!this.proc.running) return [];
    return readMountInfo(`/proc/${this.proc.pid}/mountinfo`)
      .filter((m) => m.fsType === 'nsfs' && m.mountPoint.startsWith(this.dir))
      .map((m) => m.mountPoint)
      .sort();
  }

  /** Every mount below our directory in containerd's mount namespace (rootfs, shm, netns…). */
  mountsBelowDir(): string[] {
    if (!this.proc.running) return [];
    return readMountInfo(`/proc/${this.proc.pid}/mountinfo`)
      .filter((m) => m.mountPoint.startsWith(`${this.dir}/`))
      .map((m) => `${m.fsType} ${m.mountPoint}`)
      .sort();
  }

  /** Tasks (sandboxes, containers) the runtime v2 shims still hold, from containerd's state dir. */
  taskDirs(): string[] {
    const base = join(this.state, 'io.containerd.runtime.v2.task', CRI_NAMESPACE);
    try {
      return readdirSync(base).map((id) => join(base, id));
    } catch {
      return [];
    }
  }

  /**
   * Stops and removes every sandbox through CRI, as the kubelet would, so
   * CNI DEL runs for each while the rest of the node (agent) still lives.
   * Errors are collected, not thrown: this is for after() hooks.
   */
  async removeAllSandboxes(): Promise<string[]> {
    if (!this.proc.running) return [];
    const problems: string[] = [];
    const cri = this.cri(30_000);
    try {
      for (const sb of await cri.listPodSandbox()) {
        await cri.stopPodSandbox(sb.id).catch((err: unknown) => problems.push(`stop ${sb.id}: ${String(err)}`));
        await cri.removePodSandbox(sb.id).catch((err: unknown) => problems.push(`remove ${sb.id}: ${String(err)}`));
      }
    } catch (err) {
      problems.push(`list: ${err instanceof GrpcError ? err.message : String(err)}`);
    } finally {
      cri.close();
    }
    return problems;
  }

  /**
   * Stops containerd: SIGTERM to our PID, SIGKILL after `graceMs`. Unlike
   * TrackedProcess.stop() it leaves no timer behind, so a test file run on
   * its own exits as soon as it is done. Idempotent.
   */
  stop(graceMs = 10_000): Promise<void> {
    return stopProcess(this.proc, graceMs);
  }

  /**
   * Last cleanup, after containerd itself has stopped: kill the sandbox
   * processes and shims its state dir still names (by PID, after checking
   * /proc says they are ours), then remove our cgroups. Never throws.
   */
  async reapLeftovers(): Promise<void> {
    // Signals first, before any await: if the test process is dying, the
    // topology's exit hook runs this without waiting, and only this part runs.
    // The sandbox processes first (each one's pid namespace dies with it).
    const inits = this.taskDirs()
      .map((task) => readPid(join(task, 'init.pid')))
      .filter((pid): pid is number => pid !== undefined && inCgroupBelow(pid, this.cgroupParent));
    for (const pid of inits) signalPid(pid, 'SIGKILL');
    // SIGTERM lets a shim remove its socket in /run/containerd/s.
    const shimSockets = this.taskDirs().flatMap((task) => readShimSocket(join(task, 'address')) ?? []);
    const shims = this.shimPids();
    for (const pid of shims) signalPid(pid, 'SIGTERM');

    await this.stop();
    for (let i = 0; i < 50 && inits.some(isAlive); i++) await sleep(100);
    await killPids(shims, 3_000);
    for (const sock of shimSockets) rmSync(sock, { force: true });
    removeCgroupTree(this.cgroupParent);
    // Deepest first; rmdir fails (and we leave it) if anything else put a file there.
    removeEmptyDirs(this.createdRunDirs);
  }

  /**
   * The live shims containerd started for us: 1.6 leaves no pid file for
   * them, so they are the processes whose command line names our own socket
   * (`containerd-shim-runc-v2 … -address <our socket>`), a path no other
   * process can have.
   */
  shimPids(): number[] {
    return pidsWhere((argv) => {
      const at = argv.indexOf('-address');
      return (argv[0]?.endsWith('containerd-shim-runc-v2') ?? false) && at >= 0 && argv[at + 1] === this.socket;
    });
  }

  /** The cgroup directories that still exist below our parent, in any hierarchy. */
  cgroupLeftovers(): string[] {
    return cgroupsBelow(this.cgroupParent);
  }
}

/**
 * The shim's socket path from a task's `address` file ("unix:///run/containerd/s/<hash>"),
 * only when it has the shape containerd 1.6 gives it.
 */
function readShimSocket(file: string): string | undefined {
  try {
    const m = /^unix:\/\/(\/run\/containerd\/s\/[0-9a-f]{64})$/.exec(readFileSync(file, 'utf8').trim());
    return m?.[1];
  } catch {
    return undefined;
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** TOML string: JSON's escaping is a subset TOML basic strings accept. */
function q(s: string): string {
  return JSON.stringify(s);
}

/**
 * containerd config (version 2). Only what the tests need; plugins that would
 * write outside our directory (opt: /opt/containerd) or probe for storage we
 * do not use are disabled.
 */
export function containerdConfig(c: { dir: string; cniBinDir: string; cniConfDir: string; sandboxImage: string; logLevel: string }): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = ${q(join(c.dir, 'root'))}
state = ${q(join(c.dir, 'state'))}
disabled_plugins = [
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = ${q(join(c.dir, 'containerd.sock'))}

[ttrpc]
  address = ${q(join(c.dir, 'containerd.sock.ttrpc'))}

[debug]
  address = ${q(join(c.dir, 'debug.sock'))}
  level = ${q(c.logLevel)}

[metrics]
  address = ""

[${cri}]
  sandbox_image = ${q(c.sandboxImage)}
  # The machine lacks CAP_SYS_RESOURCE (notes.md).
  restrict_oom_score_adj = true
  # Pod netns mounts under our state dir, not /var/run/netns.
  netns_mounts_under_state_dir = true
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true

  [${cri}.cni]
    bin_dir = ${q(c.cniBinDir)}
    conf_dir = ${q(c.cniConfDir)}
    # CRI loads only the first conflist in name order.
    max_conf_num = 1

  [${cri}.containerd]
    # No overlay mounts to leak: the sandbox image is 2 MB, a copy is cheap.
    snapshotter = "native"
    default_runtime_name = "runc"

    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [${cri}.containerd.runtimes.runc.options]
        Root = ${q(join(c.dir, 'state/runc'))}
`;
}
