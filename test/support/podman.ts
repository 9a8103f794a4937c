/**
 * A private podman (Debian's 4.3, rootful, CNI network backend) for the
 * runtime tests: podman's second way of driving CNI plugins, next to
 * containerd's CRI.
 *
 * podman has no daemon, so each command is a new process. To run them all
 * "on the node", a holder process (`sleep infinity`, started by PID like
 * any other) keeps one mount namespace alive, set up by node-mount-ns.ts:
 * the node netns's own /sys, the machine's cgroups, and private binds for
 * every path podman 4.3 uses outside its --root/--runroot (/run/netns, where
 * it mounts pod netns; runc's /run/runc; libcni's /var/lib/cni; the SHM
 * lock in /dev/shm; the image caches under /var/lib/containers and
 * /var/cache/containers). Every podman command enters that namespace
 * (`nsenter --target <holder> --mount --net`). Nothing of it reaches the
 * machine except empty mount points (standard paths, created if missing),
 * and it all vanishes with the holder.
 *
 * Settings from notes.md: network_backend "cni", cgroup_manager "cgroupfs",
 * events_logger "file", and default_ulimits low enough for runc here.
 * Storage is vfs (no overlay mounts to leak), and the containers' cgroups go
 * below a test-only cgroup parent.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TortieError } from '../../lib/errors.js';
import { requireCommands, run, waitFor, type Netns, type RunResult, type Topology, type TrackedProcess } from './netns.js';
import {
  cgroupsBelow,
  inCgroupBelow,
  killPids,
  pidsWhere,
  readMountInfo,
  removeCgroupTree,
  signalPid,
  spawnInNodeMountNs,
  stopProcess,
} from './node-mount-ns.js';

export interface PodmanOptions {
  topo: Topology;
  /** The namespace podman (and so every CNI plugin it runs) lives in: the containers' "node". */
  ns: Netns;
  /** An empty directory that belongs to this instance. */
  dir: string;
  cniBinDir?: string;
  cniConfDir?: string;
  /** Directories put first on podman's PATH, which CNI plugins inherit (Node 24 for the tortie bundles). */
  pathPrefix?: readonly string[];
}

/** What `podman inspect` tells us about one running container. */
export interface PodmanContainer {
  name: string;
  id: string;
  ip: string;
  /** NetworkSettings.SandboxKey: the netns path in podman's mount namespace. */
  netns: string;
  pid: number;
}

interface InspectJson {
  Id: string;
  State: { Pid: number; Running: boolean };
  NetworkSettings: { SandboxKey: string; Networks?: Record<string, { IPAddress?: string }> };
}

let instanceCounter = 0;

export class Podman {
  readonly dir: string;
  readonly root: string;
  readonly runroot: string;
  readonly cniBinDir: string;
  readonly cniConfDir: string;
  /** Given to `podman run --cgroup-parent`: every container cgroup goes below it. */
  readonly cgroupParent: string;
  /** The process that holds podman's mount namespace. */
  readonly holder: TrackedProcess;
  readonly env: NodeJS.ProcessEnv;

  private constructor(f: {
    dir: string;
    cniBinDir: string;
    cniConfDir: string;
    cgroupParent: string;
    holder: TrackedProcess;
    env: NodeJS.ProcessEnv;
  }) {
    this.dir = f.dir;
    this.root = join(f.dir, 'root');
    this.runroot = join(f.dir, 'runroot');
    this.cniBinDir = f.cniBinDir;
    this.cniConfDir = f.cniConfDir;
    this.cgroupParent = f.cgroupParent;
    this.holder = f.holder;
    this.env = f.env;
  }

  /** Private host paths, as podman sees them: our directory → its target. */
  private static binds(dir: string): { source: string; target: string }[] {
    const priv = join(dir, 'private');
    return [
      { source: join(priv, 'run-netns'), target: '/run/netns' },
      { source: join(priv, 'run-runc'), target: '/run/runc' },
      { source: join(priv, 'cni-cache'), target: '/var/lib/cni' },
      { source: join(priv, 'dev-shm'), target: '/dev/shm' },
      { source: join(priv, 'var-lib-containers'), target: '/var/lib/containers' },
      { source: join(priv, 'var-cache-containers'), target: '/var/cache/containers' },
    ];
  }

  static async start(opts: PodmanOptions): Promise<Podman> {
    requireCommands(['podman', 'conmon', 'runc', 'sleep']);
    const dir = opts.dir;
    const cniBinDir = opts.cniBinDir ?? join(dir, 'cni/bin');
    const cniConfDir = opts.cniConfDir ?? join(dir, 'cni/net.d');
    for (const d of [join(dir, 'root'), join(dir, 'runroot'), join(dir, 'tmp'), cniBinDir, cniConfDir]) mkdirSync(d, { recursive: true });
    const confFile = join(dir, 'containers.conf');
    writeFileSync(confFile, containersConf({ dir, cniBinDir, cniConfDir }));
    const env: NodeJS.ProcessEnv = {
      PATH: [...(opts.pathPrefix ?? []), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(':'),
      HOME: '/root',
      TMPDIR: join(dir, 'tmp'),
      CONTAINERS_CONF: confFile,
    };
    const binds = Podman.binds(dir);
    const holder = spawnInNodeMountNs(opts.ns, join(dir, 'cgroup-move'), binds, ['sleep', 'infinity'], join(dir, 'holder.log'), env);
    opts.topo.processes.push(holder);
    const cgroupParent = `/tortie-pm-${process.pid.toString(36)}-${instanceCounter++}`;
    const pm = new Podman({ dir, cniBinDir, cniConfDir, cgroupParent, holder, env });
    opts.topo.defer(() => pm.reapLeftovers());
    // The namespace is ready once the last bind is in place.
    const lastTarget = Podman.binds(dir).at(-1)?.target ?? '/';
    await waitFor(
      'podman mount namespace',
      () => Promise.resolve(readMountInfo(`/proc/${holder.pid}/mountinfo`).some((m) => m.mountPoint === lastTarget) ? true : undefined),
      {
        timeoutMs: 10_000,
        intervalMs: 50,
        failFast: () => (holder.running ? undefined : `the mount set-up failed:\n${holder.logTail(20)}`),
      },
    );
    const backend = (await pm.podman(['info', '--format', '{{.Host.NetworkBackend}}'])).stdout.trim();
    if (backend !== 'cni') throw new TortieError('ERR_TEST_PODMAN', `podman uses the ${backend} network backend, not cni`);
    return pm;
  }

  /** Runs `podman <args…>` in the node's namespaces with our storage and config. */
  podman(args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
    if (!this.holder.running) throw new TortieError('ERR_TEST_PODMAN', 'the podman namespace holder is not running');
    return run(
      'nsenter',
      ['--target', String(this.holder.pid), '--mount', '--net', '--', 'podman', '--root', this.root, '--runroot', this.runroot, '--storage-driver', 'vfs', ...args],
      { env: this.env, timeoutMs },
    );
  }

  /** Imports a root filesystem tarball as image `ref` with the given entrypoint (podman import, as notes.md says). */
  async importImage(rootfsTar: string, ref: string, entrypoint: readonly string[]): Promise<void> {
    await this.podman(['import', '--change', `ENTRYPOINT ${JSON.stringify(entrypoint)}`, rootfsTar, ref]);
  }

  /** `podman run -d` on CNI network `network`; returns what inspect says. */
  async runContainer(name: string, image: string, network: string): Promise<PodmanContainer> {
    await this.podman(['run', '-d', '--name', name, '--network', network, '--cgroup-parent', this.cgroupParent, image]);
    return this.inspect(name, network);
  }

  async inspect(name: string, network: string): Promise<PodmanContainer> {
    const [info] = JSON.parse((await this.podman(['inspect', '--type', 'container', name])).stdout) as InspectJson[];
    if (!info) throw new TortieError('ERR_TEST_PODMAN', `podman inspect ${name} returned nothing`);
    return {
      name,
      id: info.Id,
      ip: info.NetworkSettings.Networks?.[network]?.IPAddress ?? '',
      netns: info.NetworkSettings.SandboxKey,
      pid: info.State.Pid,
    };
  }

  /** Names of the containers podman knows (running or not). */
  async containerNames(): Promise<string[]> {
    const out = (await this.podman(['ps', '-a', '--format', '{{.Names}}'])).stdout;
    return out.split('\n').filter(Boolean).sort();
  }

  /** A path in podman's mount namespace, as the test process can open it. */
  hostPath(path: string): string {
    if (!this.holder.running) throw new TortieError('ERR_TEST_PODMAN', 'the podman namespace holder is not running');
    return `/proc/${this.holder.pid}/root${path}`;
  }

  /** Files in podman's /run/netns (ours: a bind of a directory under `dir`). */
  netnsEntries(): string[] {
    try {
      return readdirSync(join(this.dir, 'private/run-netns')).sort();
    } catch {
      return [];
    }
  }

  /**
   * podman's container netns mounts ("/run/netns/netns-<uuid>") in its mount
   * namespace. Only that name: the namespace is a slave of the machine's, so
   * netns that other tests mount on the machine show up here too.
   */
  netnsMounts(): string[] {
    if (!this.holder.running) return [];
    return readMountInfo(`/proc/${this.holder.pid}/mountinfo`)
      .filter((m) => m.fsType === 'nsfs' && m.mountPoint.startsWith('/run/netns/netns-'))
      .map((m) => m.mountPoint)
      .sort();
  }

  /** conmon processes started for our containers: their command line names our own runroot or root. */
  conmonPids(): number[] {
    return pidsWhere((argv) => (argv[0]?.endsWith('conmon') ?? false) && argv.some((a) => a.startsWith(this.runroot) || a.startsWith(this.root)));
  }

  cgroupLeftovers(): string[] {
    return cgroupsBelow(this.cgroupParent);
  }

  /** Removes every container (CNI DEL runs for each). Errors are returned, not thrown: for after() hooks. */
  async removeAll(): Promise<string[]> {
    if (!this.holder.running) return [];
    try {
      await this.podman(['rm', '--all', '--force', '--time', '0']);
      return [];
    } catch (err) {
      return [String(err)];
    }
  }

  stop(): Promise<void> {
    return stopProcess(this.holder, 5_000);
  }

  /**
   * Last cleanup: the containers' processes (in our cgroup parent) and
   * conmons, by PID; then the holder, whose mount namespace takes every
   * private mount with it; then our cgroups. Never throws.
   */
  async reapLeftovers(): Promise<void> {
    // Signals first, before any await: from the topology's exit hook only this part runs.
    const inCgroup = pidsWhere(() => true).filter((pid) => inCgroupBelow(pid, this.cgroupParent));
    for (const pid of inCgroup) signalPid(pid, 'SIGKILL');
    const conmons = this.conmonPids();
    for (const pid of conmons) signalPid(pid, 'SIGTERM');

    await killPids(inCgroup, 0);
    await killPids(conmons, 2_000);
    await this.stop();
    removeCgroupTree(this.cgroupParent);
  }
}

function q(s: string): string {
  return JSON.stringify(s);
}

/** containers.conf (TOML) for our podman. */
export function containersConf(c: { dir: string; cniBinDir: string; cniConfDir: string }): string {
  return `[containers]
# runc cannot raise rlimits here (notes.md).
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
# conmon stays in the holder's cgroup; containers go below --cgroup-parent.
cgroups = "no-conmon"

[network]
network_backend = "cni"
cni_plugin_dirs = [${q(c.cniBinDir)}]
network_config_dir = ${q(c.cniConfDir)}

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = ${q(join(c.dir, 'events.log'))}
tmp_dir = ${q(join(c.dir, 'tmp'))}
`;
}
