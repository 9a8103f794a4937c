/**
 * A CommandRunner whose commands are started by a small, long-lived helper
 * process instead of by us.
 *
 * Why: starting a process from Node costs a fork of the caller, and that
 * grows with the caller's memory (measured here: 5 ms at 80 MB RSS, 10 ms
 * at 435 MB; an agent holding a full BGP table is far larger). Policy
 * writes start two to four tools in a row for every change, so the agent
 * should not fork itself for them. The helper is a bare `node -e` (about
 * 40 MB) that runs each request with execFile and answers with the
 * result; requests may overlap. If it dies, pending runs fail with
 * ERR_COMMAND_SPAWN and the next run starts a new one.
 *
 * `spawn` (long-lived processes) is passed through to the inner runner.
 * `spawnPersistent` starts a process (from this process, not the helper)
 * that holds the event loop only while ref'd: the restore sessions and
 * spare processes of restore-session.ts, kept between writes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { TortieError } from '../lib/errors.js';
import { argvInNetns, NodeCommandRunner, spawnPiped, type CommandResult, type CommandRunner, type RunOptions, type RunningCommand, type SpawnOptions } from '../agent/kernel/command-runner.js';
import type { PersistentCommand, PersistentSpawner } from './restore-session.js';

const HELPER_SOURCE = `
const { execFile } = require('node:child_process');
const rl = require('node:readline').createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let req;
  try { req = JSON.parse(line); } catch { return; }
  const child = execFile(req.argv[0], req.argv.slice(1), { encoding: 'utf8', maxBuffer: 536870912, timeout: req.timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
    const res = { id: req.id, stdout, stderr, code: 0 };
    if (err) {
      if (typeof err.code === 'number') res.code = err.code;
      else { res.code = null; res.error = err.killed || err.signal ? 'timeout' : String(err.message); }
    }
    process.stdout.write(JSON.stringify(res) + '\\n');
  });
  child.stdin.on('error', () => {});
  if (typeof req.input === 'string') child.stdin.end(req.input); else child.stdin.end();
});
rl.on('close', () => process.exit(0));
`;

interface Pending {
  child: ChildProcess;
  resolve: (r: CommandResult) => void;
  reject: (e: Error) => void;
  argv: readonly string[];
  timeoutMs: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;

export class HelperCommandRunner implements CommandRunner, PersistentSpawner {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly keptProcs = new Set<PersistentCommand>();

  /**
   * @param netns run the helper (and so every command) inside this network namespace
   * @param inner runner for `spawn`, and to start the helper
   */
  constructor(
    private readonly netns?: string,
    private readonly inner: CommandRunner = new NodeCommandRunner(),
  ) {}

  private ensure(): ChildProcess {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return this.child;
    const argv = argvInNetns([process.execPath, '-e', HELPER_SOURCE], this.netns);
    const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'ignore'] });
    child.stdin?.on('error', () => undefined);
    child.on('error', (err) => this.failAll(child, `command helper: ${err.message}`));
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      this.failAll(child, `command helper exited (${code ?? signal ?? '?'})`);
    });
    const rl = createInterface({ input: child.stdout ?? process.stdin });
    rl.on('line', (line) => {
      let res: { id: number; stdout: string; stderr: string; code: number | null; error?: string };
      try {
        res = JSON.parse(line) as typeof res;
      } catch {
        return;
      }
      const p = this.pending.get(res.id);
      if (!p) return;
      this.pending.delete(res.id);
      this.settle(child);
      if (res.error === 'timeout') p.reject(new TortieError('ERR_COMMAND_TIMEOUT', `${p.argv.join(' ')}: killed after ${p.timeoutMs} ms`));
      else if (res.error !== undefined) p.reject(new TortieError('ERR_COMMAND_SPAWN', `${p.argv.join(' ')}: ${res.error}`));
      else p.resolve({ stdout: res.stdout, stderr: res.stderr, code: res.code });
    });
    this.child = child;
    this.idle(child);
    return child;
  }

  /** An idle helper must not keep the process alive on its own; a busy one must. */
  private idle(child: ChildProcess): void {
    child.unref();
    (child.stdout as { unref?: () => void } | null)?.unref?.();
  }

  private busy(child: ChildProcess): void {
    child.ref();
    (child.stdout as { ref?: () => void } | null)?.ref?.();
  }

  private settle(child: ChildProcess): void {
    for (const p of this.pending.values()) if (p.child === child) return;
    this.idle(child);
  }

  /** Fails the runs that were sent to `child`. */
  private failAll(child: ChildProcess, message: string): void {
    for (const [id, p] of this.pending) {
      if (p.child !== child) continue;
      this.pending.delete(id);
      p.reject(new TortieError('ERR_COMMAND_SPAWN', `${p.argv.join(' ')}: ${message}`));
    }
  }

  run(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    if (argv.length === 0) return Promise.reject(new TortieError('ERR_COMMAND_ARGV', 'empty argv'));
    // A per-call netns other than the helper's: run it the ordinary way.
    if (opts.netns !== undefined && opts.netns !== this.netns) return this.inner.run(argv, opts);
    const child = this.ensure();
    const id = this.nextId++;
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise<CommandResult>((resolve, reject) => {
      this.pending.set(id, { child, resolve, reject, argv, timeoutMs });
      this.busy(child);
      child.stdin?.write(`${JSON.stringify({ id, argv, input: opts.input, timeoutMs })}\n`);
    });
  }

  spawn(argv: readonly string[], opts?: SpawnOptions): RunningCommand {
    return this.inner.spawn(argv, opts);
  }

  /** Runs in the helper's namespace unless `opts.netns` names another, as run() does. Ended by close(). */
  spawnPersistent(argv: readonly string[], opts: SpawnOptions = {}): PersistentCommand {
    const cmd = spawnPersistent(argv, {
      ...opts,
      netns: opts.netns ?? this.netns,
      onExit: (st) => {
        this.keptProcs.delete(cmd);
        opts.onExit?.(st);
      },
    });
    this.keptProcs.add(cmd);
    return cmd;
  }

  /** Stops the helper (pending runs fail) and ends the kept processes (their input closes; they exit). */
  close(): void {
    for (const k of this.keptProcs) k.end();
    this.keptProcs.clear();
    const c = this.child;
    this.child = undefined;
    if (!c) return;
    c.stdin?.end();
    this.failAll(c, 'command helper closed');
  }
}

/** A child process with piped stdio whose handles can be unref'd while it waits for input. */
export function spawnPersistent(argv: readonly string[], opts: SpawnOptions = {}): PersistentCommand {
  return spawnPiped(argv, opts);
}
