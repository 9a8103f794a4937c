/**
 * Running a container runtime as if the test's "node" network namespace
 * were the host: the process gets that netns and a private mount namespace
 * (a slave of the machine's, so the test's files stay visible) in which
 *   - /sys is a fresh sysfs of the node netns, so /sys/class/net shows the
 *     node's links as it would on a real host (the tortie plugin reads it);
 *   - the machine's cgroup hierarchies are moved back under that /sys
 *     (runc needs them; `ip netns exec` loses them, so it is not used);
 *   - paths the runtime insists on using outside its own directories
 *     (libcni's cache /var/lib/cni, podman's /run/netns, runc's /run/runc…)
 *     are bind mounts of directories under the test's own directory.
 * Everything mounted there exists only in that mount namespace and
 * disappears with its last process. Only the empty mount points are created
 * on the machine (`mkdir -p`) where they are missing, and they stay: they
 * are the standard paths of those tools, and removing one would detach the
 * bind mount of a runtime another test run still has there.
 *
 * Also: small process and cgroup helpers shared by containerd.ts and
 * podman.ts (by PID only, never by name).
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { TrackedProcess, type Netns } from './netns.js';

/** A directory of ours that the runtime sees at `target`. */
export interface PrivateBind {
  source: string;
  target: string;
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The shell set-up run between `unshare` and the runtime; ends by exec'ing the command ("$@"). */
export function mountSetupScript(scratchDir: string, binds: readonly PrivateBind[]): string {
  const lines = [
    'set -e',
    `mkdir -p ${shQuote(scratchDir)}`,
    // -n: record nothing in the machine's /run/mount/utab.
    `mount -n --rbind /sys/fs/cgroup ${shQuote(scratchDir)}`,
    'mount -n -t sysfs sysfs /sys',
    `mount -n --move ${shQuote(scratchDir)} /sys/fs/cgroup`,
  ];
  for (const b of binds) {
    lines.push(`mkdir -p ${shQuote(b.source)} ${shQuote(b.target)}`, `mount -n --bind ${shQuote(b.source)} ${shQuote(b.target)}`);
  }
  lines.push('exec "$@"');
  return lines.join('\n');
}

/**
 * Starts argv in `ns`'s network namespace and a private mount namespace set
 * up as above. nsenter, unshare and sh all exec, so the PID we get is the
 * command's own. stdout and stderr go to `logFile`.
 */
export function spawnInNodeMountNs(
  ns: Netns,
  scratchDir: string,
  binds: readonly PrivateBind[],
  argv: readonly string[],
  logFile: string,
  env: NodeJS.ProcessEnv,
): TrackedProcess {
  for (const b of binds) mkdirSync(b.source, { recursive: true });
  const full = ['nsenter', `--net=/run/netns/${ns.name}`, '--', 'unshare', '--mount', '--propagation', 'slave', '--',
    'sh', '-c', mountSetupScript(scratchDir, binds), 'sh', ...argv];
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(full[0] ?? 'nsenter', full.slice(1), { stdio: ['ignore', fd, fd], env });
    return new TrackedProcess(child, full, logFile, 10_000);
  } finally {
    closeSync(fd);
  }
}

/** rmdir each directory, deepest first, where it is (still) empty. Best effort. */
export function removeEmptyDirs(dirs: readonly string[]): void {
  for (const d of [...dirs].sort((x, y) => y.length - x.length)) {
    try {
      rmdirSync(d);
    } catch {
      // not empty, or gone
    }
  }
}

// ---------------------------------------------------------------- processes

/**
 * SIGTERM to the process's PID, SIGKILL after `graceMs`; resolves once it has
 * exited. Leaves no timer running (TrackedProcess.stop() keeps the event loop
 * alive for its whole grace period).
 */
export async function stopProcess(proc: TrackedProcess, graceMs: number): Promise<void> {
  if (!proc.running) return;
  proc.signal('SIGTERM');
  if (!(await exitsWithin(proc, graceMs))) {
    proc.signal('SIGKILL');
    await exitsWithin(proc, 5_000);
  }
}

/** Resolves true when `proc` exits within `ms`, false otherwise; clears its timer either way. */
async function exitsWithin(proc: TrackedProcess, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      proc.exited().then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** True while the process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/s.test(stat);
  } catch {
    return false;
  }
}

export function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Live processes whose argv satisfies `match` (the caller matches a path only it owns). */
export function pidsWhere(match: (argv: string[]) => boolean): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (match(argv) && isAlive(pid)) out.push(pid);
    } catch {
      // gone
    }
  }
  return out;
}

/** SIGTERM, then SIGKILL after `graceMs`, to each PID; waits (bounded) for them to go. */
export async function killPids(pids: readonly number[], graceMs: number): Promise<void> {
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  for (const pid of pids) signalPid(pid, 'SIGTERM');
  for (let waited = 0; waited < graceMs && pids.some(isAlive); waited += 100) await sleep(100);
  for (const pid of pids.filter(isAlive)) signalPid(pid, 'SIGKILL');
  for (let i = 0; i < 50 && pids.some(isAlive); i++) await sleep(100);
}

/** True when the process sits in a cgroup below `parent` in any hierarchy. */
export function inCgroupBelow(pid: number, parent: string): boolean {
  try {
    const cgroups = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    return cgroups.split('\n').some((line) => line.split(':')[2]?.startsWith(`${parent}/`));
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- mounts and cgroups

export interface MountInfo {
  mountPoint: string;
  fsType: string;
}

/** /proc/<pid>/mountinfo: field 5 (mount point, octal-escaped) and the type after the " - " separator. */
export function readMountInfo(file: string): MountInfo[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [left, right] = line.split(' - ');
    const mountPoint = left?.split(' ')[4];
    const fsType = right?.split(' ')[0];
    if (mountPoint !== undefined && fsType !== undefined) out.push({ mountPoint: unescape(mountPoint), fsType });
  }
  return out;
}

function cgroupMounts(): string[] {
  return readMountInfo('/proc/self/mountinfo')
    .filter((m) => m.fsType === 'cgroup' || m.fsType === 'cgroup2')
    .map((m) => m.mountPoint);
}

/** rmdir (never rm -r: this is cgroupfs) `parent` in every hierarchy, deepest first. Best effort. */
export function removeCgroupTree(parent: string): void {
  for (const mount of cgroupMounts()) removeDirTree(join(mount, parent));
}

/** Cgroup directories still below `parent`, in any hierarchy. */
export function cgroupsBelow(parent: string): string[] {
  const out: string[] = [];
  for (const mount of cgroupMounts()) {
    const base = join(mount, parent);
    try {
      for (const e of readdirSync(base, { withFileTypes: true })) if (e.isDirectory()) out.push(join(base, e.name));
    } catch {
      // none
    }
  }
  return out;
}

function removeDirTree(dir: string): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) removeDirTree(join(dir, e.name));
  try {
    rmdirSync(dir);
  } catch {
    // busy or gone: best effort
  }
}
