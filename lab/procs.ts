/**
 * Long-lived lab processes: started detached inside a namespace (so they
 * outlive `lab up`), known by PID plus start time, stopped by that PID only.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { TortieError } from '../lib/errors.js';
import { sleep } from './command.js';
import type { ProcRecord } from './state.js';

/** Field 22 of /proc/PID/stat and the state letter, or undefined when there is no such process. */
export function procStat(pid: number): { startTime: number; state: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) S ppid …": comm may hold spaces and parentheses; split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = rest[0] ?? '?';
  const startTime = Number(rest[19]);
  return { startTime, state };
}

/** True while the recorded process is running (a zombie counts as gone). */
export function isAlive(p: Pick<ProcRecord, 'pid' | 'startTime'>): boolean {
  const s = procStat(p.pid);
  return s !== undefined && s.startTime === p.startTime && s.state !== 'Z' && s.state !== 'X';
}

export interface SpawnSpec {
  node: string;
  name: string;
  ns: string;
  argv: string[];
  log: string;
  pidFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Starts `argv` inside `ns` in its own session, stdout and stderr appended to
 * `log`. `ip netns exec` execs in place, so the PID is the command's own.
 */
export async function spawnDetached(spec: SpawnSpec): Promise<ProcRecord> {
  const fd = openSync(spec.log, 'a');
  let pid: number | undefined;
  try {
    const child = spawn('ip', ['netns', 'exec', spec.ns, ...spec.argv], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: spec.env ?? process.env,
      cwd: spec.cwd,
    });
    child.on('error', () => undefined);
    child.unref();
    pid = child.pid;
  } finally {
    closeSync(fd);
  }
  if (pid === undefined) throw new TortieError('ERR_LAB_SPAWN', `could not start ${spec.argv.join(' ')} in ${spec.ns}`);
  // The start time is fixed at fork; read it while the PID is surely ours.
  const st = procStat(pid);
  if (!st) throw new TortieError('ERR_LAB_SPAWN', `${spec.argv[0]} in ${spec.ns} exited at once; see ${spec.log}`);
  writeFileSync(spec.pidFile, `${pid} ${st.startTime}\n`);
  // `ip netns exec` needs a moment to exec the command: wait (up to 1 s) until it did.
  for (let i = 0; i < 100 && readComm(pid) === 'ip'; i++) await sleep(10);
  return { node: spec.node, name: spec.name, pid, startTime: st.startTime, argv: spec.argv, log: spec.log, pidFile: spec.pidFile };
}

function readComm(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; only while the PID is still the recorded process. */
export async function stopProcess(p: Pick<ProcRecord, 'pid' | 'startTime'>, graceMs = 5_000): Promise<'gone' | 'terminated' | 'killed'> {
  if (!isAlive(p)) return 'gone';
  signal(p, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(p)) return 'terminated';
    await sleep(25);
  }
  signal(p, 'SIGKILL');
  for (let i = 0; i < 200 && isAlive(p); i++) await sleep(25);
  return 'killed';
}

/** Sends a signal to the recorded process if it is still that process. */
export function signal(p: Pick<ProcRecord, 'pid' | 'startTime'>, sig: NodeJS.Signals): boolean {
  if (!isAlive(p)) return false;
  try {
    process.kill(p.pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** Reads a pidfile written by spawnDetached. */
export function readPidFile(file: string): { pid: number; startTime: number } | undefined {
  try {
    const [pid, start] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    if (!Number.isInteger(pid) || !Number.isInteger(start)) return undefined;
    return { pid: pid, startTime: start };
  } catch {
    return undefined;
  }
}
