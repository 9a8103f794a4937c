/**
 * Running commands for the lab: argv arrays only (never a shell string),
 * with a timeout, and an error that carries the command and what it said.
 */
import { execFile } from 'node:child_process';
import { TortieError } from '../lib/errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** SIGKILL after this long. Default 20 s. */
  timeoutMs?: number;
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** A command exited non-zero, timed out or could not start. */
export class LabCommandError extends TortieError {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string,
    cause?: unknown,
  ) {
    const why = exitCode === null ? 'failed to run' : `exited with ${exitCode}`;
    const said = (stderr.trim() || stdout.trim()).slice(0, 2000);
    super('ERR_LAB_COMMAND', `${argv.map(quote).join(' ')} ${why}${said ? `: ${said}` : ''}`, { cause });
    this.name = 'LabCommandError';
  }
}

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const argv = [cmd, ...args];
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? 20_000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, encoding: 'utf8', env: opts.env ?? process.env, cwd: opts.cwd },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr });
        const code = typeof err.code === 'number' ? err.code : null;
        reject(new LabCommandError(argv, code, stdout, stderr || (code === null ? err.message : ''), err));
      },
    );
    child.stdin?.end(opts.input);
  });
}

/** Runs a command inside a network namespace (`ip netns exec`). */
export function runIn(ns: string, cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], opts);
}

export function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * Splits a command line like a POSIX shell would for words and quotes
 * (no variables, globs or operators): `ip addr add "a b"` → [ip, addr, add, a b].
 */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let q: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === q) q = undefined;
      else if (c === '\\' && q === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      q = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (q) throw new TortieError('ERR_LAB_COMMAND_SYNTAX', `unterminated ${q} in: ${line}`);
  if (inWord) out.push(cur);
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it returns a value other than undefined; fails after `timeoutMs` with the last error. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 200,
  /** Checked before each attempt: a message ends the wait at once with that error. */
  failFast?: () => string | undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const fatal = failFast?.();
    if (fatal !== undefined) throw new TortieError('ERR_LAB_ABORTED', `gave up waiting for ${what}: ${fatal}`);
    try {
      const v = await probe();
      if (v !== undefined) return v;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const why = last instanceof Error ? `: ${last.message}` : '';
      throw new TortieError('ERR_LAB_TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${what}${why}`, { cause: last });
    }
    await sleep(intervalMs);
  }
}
