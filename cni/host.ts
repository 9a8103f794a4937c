/**
 * The plugin's one narrow effect interface: run a program, read and write
 * small files (/proc/sys, /proc/net, /sys/class/net), look at paths.
 * `NodeHost` is the real thing; unit tests hand the commands a fake.
 *
 * Reads and writes are synchronous on purpose: they are tiny procfs/sysfs
 * files, and a CNI invocation is a short-lived process that does one thing
 * at a time except where it runs programs side by side.
 */
import { accessSync, constants, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { defaultSpawner, type SyncSpawner } from './spawn-sync.js';

export interface ExecOptions {
  input?: string;
  env?: Readonly<Record<string, string>>;
  /** SIGKILL after this long (the result then has `timedOut`). Default 120 s. */
  timeoutMs?: number;
}

export interface ExecResult {
  /** Exit status; null when killed by a signal or never started. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when the program could not be started (ENOENT, EACCES...). */
  spawnError?: string;
  timedOut?: boolean;
}

export interface FileIdentity {
  dev: number;
  ino: number;
  isFile: boolean;
  isDirectory: boolean;
}

export interface Host {
  exec(file: string, args: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** File contents, or undefined when it cannot be read. */
  readFile(path: string): string | undefined;
  /** Writes (truncating); throws on failure. */
  writeFile(path: string, text: string): void;
  /** Directory entries, or undefined when it cannot be listed. */
  listDir(path: string): string[] | undefined;
  /** stat() (following links), or undefined when the path does not exist. */
  stat(path: string): FileIdentity | undefined;
  isExecutable(path: string): boolean;
  /** The environment of this process (given to delegates). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

const DEFAULT_TIMEOUT_MS = 120_000;
/** `ip -json link show` on a node with thousands of links stays far below this. */
const MAX_OUTPUT_BYTES = 256 * 1024 * 1024;

export class NodeHost implements Host {
  readonly env: Readonly<Record<string, string | undefined>>;
  private spawner: SyncSpawner | undefined;

  constructor(env: Readonly<Record<string, string | undefined>> = process.env) {
    this.env = env;
  }

  /**
   * Runs the program to completion, synchronously (spawn-sync.ts). A CNI
   * invocation does one thing at a time, and a synchronous spawn costs the
   * plugin about half the CPU of an asynchronous one; on a busy node, CPU
   * is what limits pods per second.
   */
  exec(file: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.spawner ??= defaultSpawner(this.env);
    const r = this.spawner(file, args, {
      input: opts.input ?? '',
      env: opts.env ?? this.env,
      timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      maxBuffer: MAX_OUTPUT_BYTES,
    });
    const result: ExecResult = { code: r.status, stdout: r.stdout, stderr: r.stderr };
    // EPIPE: the program exited without reading its stdin; its status is still valid.
    if (r.errorCode === 'ETIMEDOUT') result.timedOut = true;
    else if (r.errorCode !== undefined && r.errorCode !== 'EPIPE' && r.status === null) result.spawnError = r.errorCode;
    return Promise.resolve(result);
  }

  readFile(path: string): string | undefined {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  }

  writeFile(path: string, text: string): void {
    writeFileSync(path, text);
  }

  listDir(path: string): string[] | undefined {
    try {
      return readdirSync(path);
    } catch {
      return undefined;
    }
  }

  stat(path: string): FileIdentity | undefined {
    try {
      const st = statSync(path);
      return { dev: st.dev, ino: st.ino, isFile: st.isFile(), isDirectory: st.isDirectory() };
    } catch {
      return undefined;
    }
  }

  isExecutable(path: string): boolean {
    try {
      accessSync(path, constants.X_OK);
      return statSync(path).isFile();
    } catch {
      return false;
    }
  }
}

/** Where system tools are looked for after PATH (runtimes may give plugins a thin PATH). */
export const SYSTEM_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The absolute path of `tool` on PATH or in the system directories, or undefined. */
export function findTool(host: Host, tool: string): string | undefined {
  const dirs = [...(host.env.PATH ?? '').split(':').filter((d) => d.startsWith('/')), ...SYSTEM_DIRS];
  for (const dir of dirs) {
    const path = `${dir}/${tool}`;
    if (host.isExecutable(path)) return path;
  }
  return undefined;
}
