/**
 * The one narrow effect interface for running `ip` (and later iptables):
 * run a command to completion, or spawn a long-lived one and talk to it
 * through stdin/stdout/stderr. Commands are argv arrays, never shell strings.
 *
 * `NodeCommandRunner` is the real thing (child_process). `FakeCommandRunner`
 * hands every call to in-memory handlers, for unit tests (fake-ip.ts
 * emulates the `ip` commands the agent uses on top of it).
 */
import { execFile, spawn } from 'node:child_process';
import { TortieError } from '../../lib/errors.js';

export interface CommandResult {
  stdout: string;
  stderr: string;
  /** Exit status; null when killed by a signal. */
  code: number | null;
}

export interface RunOptions {
  /** Written to the command's stdin (which is closed afterwards either way). */
  input?: string;
  /** Run inside this network namespace: `ip -n NS …` for ip, `ip netns exec NS …` otherwise. */
  netns?: string;
  /** SIGKILL after this long and reject with ERR_COMMAND_TIMEOUT. Default 60 s. */
  timeoutMs?: number;
}

export interface ExitStatus {
  code: number | null;
  signal: string | null;
  /** Set when the process could not be started or its pipes failed. */
  error?: string;
}

export interface SpawnOptions {
  netns?: string;
  /** Called with stdout text as it arrives (utf8, chunk boundaries arbitrary). */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** Called once when the process has exited (or failed to start). */
  onExit?: (status: ExitStatus) => void;
}

/** A long-lived process we started. */
export interface RunningCommand {
  readonly pid: number | undefined;
  /** True until the process has exited. */
  readonly running: boolean;
  /** Writes to stdin. Ignored once stdin is closed or the process is gone. */
  write(text: string): void;
  /** Closes stdin. */
  end(): void;
  /** Signals our PID if the process is still running. */
  kill(signal?: NodeJS.Signals): boolean;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExitStatus>;
}

export interface CommandRunner {
  /** Runs argv to completion. Resolves with any exit status; rejects only when it cannot run or times out. */
  run(argv: readonly string[], opts?: RunOptions): Promise<CommandResult>;
  /** Starts a long-lived process. Never throws: a start failure shows up as an exit with `error`. */
  spawn(argv: readonly string[], opts?: SpawnOptions): RunningCommand;
}

/** argv for running `argv` inside `netns` (`ip -n NS` for ip, `ip netns exec NS` otherwise). */
export function argvInNetns(argv: readonly string[], netns: string | undefined): string[] {
  if (argv.length === 0) throw new TortieError('ERR_COMMAND_ARGV', 'empty argv');
  if (netns === undefined) return [...argv];
  if (argv[0] === 'ip') return ['ip', '-n', netns, ...argv.slice(1)];
  return ['ip', 'netns', 'exec', netns, ...argv];
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** A full-table dump of 1M routes as JSON is about 90 MB. */
const MAX_OUTPUT_BYTES = 512 * 1024 * 1024;

export class NodeCommandRunner implements CommandRunner {
  run(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    const full = argvInNetns(argv, opts.netns);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const child = execFile(
        full[0],
        full.slice(1),
        { encoding: 'utf8', maxBuffer: MAX_OUTPUT_BYTES, timeout: timeoutMs, killSignal: 'SIGKILL' },
        (err, stdout, stderr) => {
          if (!err) {
            resolve({ stdout, stderr, code: 0 });
            return;
          }
          const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string | null; signal?: string | null };
          if (typeof e.code === 'number') {
            resolve({ stdout, stderr, code: e.code });
          } else if (e.killed === true || e.signal != null) {
            reject(new TortieError('ERR_COMMAND_TIMEOUT', `${full.join(' ')}: killed after ${timeoutMs} ms`, { cause: err }));
          } else {
            reject(new TortieError('ERR_COMMAND_SPAWN', `${full.join(' ')}: ${err.message}`, { cause: err }));
          }
        },
      );
      child.stdin?.on('error', () => undefined);
      if (opts.input !== undefined) child.stdin?.end(opts.input);
      else child.stdin?.end();
    });
  }

  spawn(argv: readonly string[], opts: SpawnOptions = {}): RunningCommand {
    return spawnPiped(argv, opts);
  }
}

/** A started process whose handles can also be unref'd (not keep Node's event loop alive while it waits). */
export interface PipedCommand extends RunningCommand {
  ref(): void;
  unref(): void;
}

/** Starts argv (in opts.netns) with piped stdio. Never throws: a start failure is an exit with `error`. */
export function spawnPiped(argv: readonly string[], opts: SpawnOptions = {}): PipedCommand {
  const full = argvInNetns(argv, opts.netns);
  const child = spawn(full[0], full.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  let status: ExitStatus | undefined;
  let resolveExit: (s: ExitStatus) => void = () => undefined;
  const exited = new Promise<ExitStatus>((r) => (resolveExit = r));
  const finish = (s: ExitStatus): void => {
    if (status !== undefined) return;
    status = s;
    opts.onExit?.(s);
    resolveExit(s);
  };
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => opts.onStdout?.(chunk));
  child.stderr.on('data', (chunk: string) => opts.onStderr?.(chunk));
  // EPIPE when the process died with input pending: its exit tells the story.
  child.stdin.on('error', () => undefined);
  child.on('error', (err) => {
    // 'error' without a following 'close' means it never started.
    if (child.pid === undefined) finish({ code: null, signal: null, error: err.message });
  });
  // 'close' comes after the stdio streams are drained, so onStdout/onStderr have seen everything.
  child.on('close', (code, signal) => finish({ code, signal }));
  let stdinOpen = true;
  const handles = (): { ref?: () => void; unref?: () => void }[] => [child, child.stdin, child.stdout, child.stderr] as { ref?: () => void; unref?: () => void }[];
  return {
    get pid() {
      return child.pid;
    },
    get running() {
      return status === undefined;
    },
    write(text: string): void {
      if (stdinOpen && status === undefined && child.stdin.writable) child.stdin.write(text);
    },
    end(): void {
      if (!stdinOpen) return;
      stdinOpen = false;
      child.stdin.end();
    },
    kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
      if (status !== undefined || child.exitCode !== null || child.signalCode !== null) return false;
      try {
        return child.kill(signal);
      } catch {
        return false;
      }
    },
    ref(): void {
      for (const h of handles()) h.ref?.();
    },
    unref(): void {
      for (const h of handles()) h.unref?.();
    },
    exited,
  };
}

// ---------------------------------------------------------------- fake

/** What a fake long-lived process can do; its handler drives it. */
export interface FakeProcessControl {
  readonly argv: readonly string[];
  readonly netns: string | undefined;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Ends the process with this exit code (after any output already given). */
  exit(code: number | null, signal?: string | null): void;
  readonly running: boolean;
}

/** Behaviour of one fake long-lived process. */
export interface FakeProcessHandler {
  /** Called with each stdin write. */
  onInput?(text: string, ctl: FakeProcessControl): void;
  /** Called when stdin is closed; default: exit 0. */
  onEnd?(ctl: FakeProcessControl): void;
  /** Called on kill; default: exit with the signal. */
  onKill?(signal: string, ctl: FakeProcessControl): void;
}

export interface FakeRunCall {
  argv: readonly string[];
  netns: string | undefined;
  input: string | undefined;
}

export interface FakeHandlers {
  /** One-shot commands. Throwing rejects run(). */
  run(call: FakeRunCall): CommandResult | Promise<CommandResult>;
  /** Long-lived commands; undefined = "not found" (exit with error). `ctl` drives the process's output. */
  spawn(argv: readonly string[], netns: string | undefined, ctl: FakeProcessControl): FakeProcessHandler | undefined;
}

let fakePid = 100_000;

/**
 * A CommandRunner whose commands are served by in-memory handlers. Output
 * of fake processes is delivered asynchronously (as with real pipes), in
 * order. Every call is recorded in `calls` / `spawned`.
 */
export class FakeCommandRunner implements CommandRunner {
  readonly calls: FakeRunCall[] = [];
  readonly spawned: { argv: readonly string[]; netns: string | undefined; cmd: RunningCommand }[] = [];
  private readonly handlers: FakeHandlers;

  constructor(handlers: FakeHandlers) {
    this.handlers = handlers;
  }

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    const call: FakeRunCall = { argv: [...argv], netns: opts.netns, input: opts.input };
    this.calls.push(call);
    await Promise.resolve();
    return this.handlers.run(call);
  }

  spawn(argv: readonly string[], opts: SpawnOptions = {}): RunningCommand {
    let status: ExitStatus | undefined;
    let resolveExit: (s: ExitStatus) => void = () => undefined;
    const exited = new Promise<ExitStatus>((r) => (resolveExit = r));
    let stdinOpen = true;
    // Output and exit are queued so they keep their order and arrive asynchronously.
    const queue: (() => void)[] = [];
    let draining = false;
    const enqueue = (fn: () => void): void => {
      queue.push(fn);
      if (draining) return;
      draining = true;
      setImmediate(() => {
        while (queue.length > 0) queue.shift()?.();
        draining = false;
      });
    };
    let exiting = false;
    const ctl: FakeProcessControl = {
      argv: [...argv],
      netns: opts.netns,
      stdout: (text) => {
        if (!exiting) enqueue(() => opts.onStdout?.(text));
      },
      stderr: (text) => {
        if (!exiting) enqueue(() => opts.onStderr?.(text));
      },
      exit: (code, signal = null) => {
        if (exiting) return;
        exiting = true;
        enqueue(() => {
          status = { code, signal };
          opts.onExit?.(status);
          resolveExit(status);
        });
      },
      get running() {
        return !exiting;
      },
    };
    const handler = this.handlers.spawn(argv, opts.netns, ctl);
    const pid = handler === undefined ? undefined : fakePid++;
    if (handler === undefined) {
      exiting = true;
      const s: ExitStatus = { code: null, signal: null, error: `spawn ${argv[0]} ENOENT` };
      setImmediate(() => {
        status = s;
        opts.onExit?.(s);
        resolveExit(s);
      });
    }
    const cmd: RunningCommand = {
      pid,
      get running() {
        return status === undefined;
      },
      write(text: string): void {
        if (stdinOpen && !exiting) handler?.onInput?.(text, ctl);
      },
      end(): void {
        if (!stdinOpen) return;
        stdinOpen = false;
        if (exiting) return;
        if (handler?.onEnd) handler.onEnd(ctl);
        else ctl.exit(0);
      },
      kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
        if (exiting) return false;
        if (handler?.onKill) handler.onKill(signal, ctl);
        else ctl.exit(null, signal);
        return true;
      },
      exited,
    };
    this.spawned.push({ argv: [...argv], netns: opts.netns, cmd });
    return cmd;
  }
}
