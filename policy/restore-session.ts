/**
 * Restore processes kept ready, so that writing a small change does not
 * pay for starting a tool (measured at 1,000 pods x 200 policies, nft
 * backend, 2 cores: a one-shot `iptables-nft-restore --noflush` of a pod
 * add took 30 ms, of which ~8 ms is exec and start-up and ~15 ms is the
 * close of its netlink socket after the commit: the kernel's nf_tables
 * release handler waits for an RCU grace period (rcu_barrier) while the
 * committed transaction is still queued for destruction. The commit itself
 * is done in ~6 ms.)
 *
 *  - RestoreSession: one long-lived `iptables-nft-restore --noflush -v` per
 *    family. Each write is a complete `*filter … COMMIT` block followed by
 *    a comment line `# tortie-sync <n>`; the tool commits the block (one
 *    nf_tables transaction, as a one-shot restore does) when it reads
 *    COMMIT, and with -v echoes comment lines to stdout (flushed), so the
 *    echo of our marker says the commit before it succeeded. Any error makes
 *    the tool exit (non-zero) before the marker: the write fails, and the
 *    next write starts a new process. The tool builds its cache afresh for
 *    every commit and the kernel checks the generation it was built from,
 *    so writes by other tools in between are seen, as with one-shot runs.
 *  - SpareProcess: a one-shot tool (`ipset restore -exist`) started ahead
 *    of need; the next write hands it its input and waits for its exit.
 *
 * Both need a runner that can hold a process without keeping Node's event
 * loop alive while idle (PersistentSpawner, implemented by
 * HelperCommandRunner). Other runners keep the one-shot path.
 */
import type { CommandRunner, ExitStatus, PipedCommand, SpawnOptions } from '../agent/kernel/command-runner.js';
import { TortieError } from '../lib/errors.js';

/** A long-lived process that holds the event loop only while ref'd. */
export type PersistentCommand = PipedCommand;

export interface PersistentSpawner {
  spawnPersistent(argv: readonly string[], opts?: SpawnOptions): PersistentCommand;
}

export function canSpawnPersistent(r: CommandRunner): r is CommandRunner & PersistentSpawner {
  return typeof (r as Partial<PersistentSpawner>).spawnPersistent === 'function';
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** A new process must echo its first marker within this long, or sessions are taken as unsupported. */
const HELLO_TIMEOUT_MS = 10_000;
/**
 * A tool that did not echo its hello in time (a slow start on a loaded node
 * looks the same as a tool without echo) is tried again after this long;
 * until then writes run one-shot.
 */
const UNSUPPORTED_RETRY_MS = 300_000;
/** A session is replaced after this many commits (bounds anything the tool accumulates). */
const MAX_COMMITS = 500;
export const SYNC_MARKER = '# tortie-sync';

interface Waiting {
  readonly marker: string;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

interface Live {
  readonly proc: PersistentCommand;
  stdout: string;
  stderr: string;
  /** Commits done (the first marker echoed is the hello: -1 before it). */
  commits: number;
  waiting: Waiting | undefined;
  /** Settles when the process has echoed its first marker. */
  readonly ready: Promise<void>;
}

export class RestoreSession {
  private live: Live | undefined;
  private seq = 0;
  private closed = false;
  private unsupportedReason: string | undefined;
  private unsupportedAt = 0;
  private busy = false;

  constructor(
    private readonly spawner: PersistentSpawner,
    /** The tool and its flags; `--noflush` and `-v` must be among them. */
    private readonly argv: readonly string[],
    private readonly netns?: string,
    private readonly opts: { errorCode?: string; helloTimeoutMs?: number } = {},
  ) {}

  private get errorCode(): string {
    return this.opts.errorCode ?? 'ERR_POLICY_RESTORE';
  }

  /** PID of the process ready for the next write (tests). */
  get pid(): number | undefined {
    return this.live?.proc.running ? this.live.proc.pid : undefined;
  }

  /** True once close() was called: callers then run the tool one-shot. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Set when the tool did not echo markers: callers then run it one-shot (for UNSUPPORTED_RETRY_MS). */
  get unsupported(): string | undefined {
    return this.unsupportedWhy;
  }

  private get unsupportedWhy(): string | undefined {
    if (this.unsupportedReason !== undefined && performance.now() - this.unsupportedAt >= UNSUPPORTED_RETRY_MS) this.unsupportedReason = undefined;
    return this.unsupportedReason;
  }

  /** Starts the process ahead of need (no-op when one is ready). */
  prepare(): void {
    if (this.closed || this.unsupportedWhy !== undefined || (this.live && this.live.proc.running)) return;
    this.start();
  }

  private start(): Live {
    const hello = `${SYNC_MARKER} ${++this.seq}`;
    const helloMs = this.opts.helloTimeoutMs ?? HELLO_TIMEOUT_MS;
    let resolveReady: () => void = () => undefined;
    let rejectReady: (e: Error) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    // Nobody may be waiting when an idle process fails; write() looks at it again.
    ready.catch(() => undefined);
    const holder: { live?: Live } = {};
    const proc = this.spawner.spawnPersistent(this.argv, {
      netns: this.netns,
      onStdout: (chunk) => {
        if (holder.live) this.onStdout(holder.live, chunk);
      },
      onStderr: (chunk) => {
        if (holder.live) holder.live.stderr = (holder.live.stderr + chunk).slice(-4000);
      },
      onExit: (s) => {
        if (holder.live) this.onExit(holder.live, s);
      },
    });
    const live: Live = { proc, stdout: '', stderr: '', commits: -1, waiting: { marker: hello, resolve: resolveReady, reject: rejectReady }, ready };
    holder.live = live;
    this.live = live;
    proc.ref();
    proc.write(`${hello}\n`);
    const timer = setTimeout(() => {
      const w = live.waiting;
      if (w?.marker !== hello) return;
      const why = `${this.argv.join(' ')} did not echo a comment line within ${helloMs} ms`;
      this.unsupportedReason = why;
      this.unsupportedAt = performance.now();
      live.waiting = undefined;
      proc.kill('SIGKILL');
      w.reject(new TortieError('ERR_POLICY_SESSION_UNSUPPORTED', why));
    }, helloMs);
    const clear = (): void => clearTimeout(timer);
    ready.then(clear, clear);
    return live;
  }

  /**
   * Writes one restore input (one or more complete `*table … COMMIT`
   * blocks) and resolves when its last commit is done. Calls must not
   * overlap (the enforcer serialises its writes). Rejects with
   * ERR_POLICY_SESSION_UNSUPPORTED (nothing written) when the tool does not
   * echo markers.
   */
  async write(text: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    if (text === '') return;
    if (!/(^|\n)COMMIT\n$/.test(text)) throw new TortieError(this.errorCode, 'restore input must end with a COMMIT line');
    if (this.closed) throw new TortieError(this.errorCode, `${this.argv[0]}: session closed`);
    if (this.unsupportedWhy !== undefined) throw new TortieError('ERR_POLICY_SESSION_UNSUPPORTED', this.unsupportedWhy);
    if (this.busy) throw new TortieError(this.errorCode, `${this.argv[0]}: overlapping writes`);
    this.busy = true;
    try {
      let live = this.live && this.live.proc.running ? this.live : this.start();
      try {
        await live.ready;
      } catch (err) {
        if (this.unsupportedWhy !== undefined) throw err;
        // The kept process died while idle: start another once.
        live = this.start();
        await live.ready;
      }
      await this.commit(live, text, timeoutMs);
    } finally {
      this.busy = false;
    }
  }

  private commit(live: Live, text: string, timeoutMs: number): Promise<void> {
    const marker = `${SYNC_MARKER} ${++this.seq}`;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (live.waiting?.marker !== marker) return;
        live.waiting = undefined;
        live.proc.kill('SIGKILL');
        if (this.live === live) this.live = undefined;
        reject(new TortieError('ERR_COMMAND_TIMEOUT', `${this.argv.join(' ')}: no commit after ${timeoutMs} ms`));
      }, timeoutMs);
      live.waiting = {
        marker,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      live.proc.ref();
      live.proc.write(`${text}${marker}\n`);
    });
  }

  private onStdout(live: Live, chunk: string): void {
    live.stdout += chunk;
    const w = live.waiting;
    if (!w) {
      live.stdout = live.stdout.slice(-200);
      return;
    }
    const at = live.stdout.indexOf(`${w.marker}\n`);
    if (at < 0) return;
    live.stdout = live.stdout.slice(at + w.marker.length + 1);
    live.waiting = undefined;
    live.commits++;
    live.proc.unref();
    if (live.commits > MAX_COMMITS) this.retire(live);
    w.resolve();
  }

  private onExit(live: Live, s: ExitStatus): void {
    if (this.live === live) this.live = undefined;
    const w = live.waiting;
    if (!w) return;
    live.waiting = undefined;
    const why = s.error ?? (s.code !== null ? `exited with ${s.code}` : `killed by ${s.signal ?? '?'}`);
    w.reject(new TortieError(this.errorCode, `${this.argv.join(' ')} ${why}: ${live.stderr.trim().slice(0, 2000)}`));
  }

  private retire(live: Live): void {
    if (this.live === live) this.live = undefined;
    live.proc.end();
  }

  /** Ends the process (it exits when its input closes). */
  close(): void {
    this.closed = true;
    if (this.live) this.retire(this.live);
  }
}

/**
 * A one-shot tool started ahead of need: `run(input)` gives the waiting
 * process its input, closes it and waits for the exit. The next spare is
 * started by `prepare()`, which the caller runs when the machine is idle
 * (not while a commit is under way).
 */
export class SpareProcess {
  private spare: Spare | undefined;
  private closed = false;

  constructor(
    private readonly spawner: PersistentSpawner,
    private readonly argv: readonly string[],
    private readonly netns?: string,
  ) {}

  /** Starts the process ahead of need (no-op when one is waiting). */
  prepare(): void {
    if (this.closed || (this.spare && this.spare.proc.running)) return;
    this.spare = this.start();
  }

  private start(): Spare {
    const out = { stdout: '', stderr: '' };
    const proc = this.spawner.spawnPersistent(this.argv, {
      netns: this.netns,
      onStdout: (c) => {
        out.stdout += c;
      },
      onStderr: (c) => {
        out.stderr += c;
      },
    });
    proc.unref();
    return { proc, out };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Runs the waiting process (or a fresh one) on `input`; resolves with its exit status and output. */
  async run(input: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<{ code: number | null; stdout: string; stderr: string }> {
    if (this.closed) throw new TortieError('ERR_COMMAND_SPAWN', `${this.argv[0]}: closed`);
    const s = this.spare && this.spare.proc.running ? this.spare : this.start();
    this.spare = undefined;
    s.proc.ref();
    s.proc.write(input);
    s.proc.end();
    let timer: NodeJS.Timeout | undefined;
    const status = await Promise.race([
      s.proc.exited,
      new Promise<ExitStatus>((resolve) => {
        timer = setTimeout(() => {
          s.proc.kill('SIGKILL');
          resolve({ code: null, signal: 'SIGKILL', error: 'timeout' });
        }, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (status.error === 'timeout') throw new TortieError('ERR_COMMAND_TIMEOUT', `${this.argv.join(' ')}: killed after ${timeoutMs} ms`);
    if (status.error !== undefined) throw new TortieError('ERR_COMMAND_SPAWN', `${this.argv.join(' ')}: ${status.error}`);
    return { code: status.code, stdout: s.out.stdout, stderr: s.out.stderr };
  }

  /** Lets a waiting process go (its input closes empty: it does nothing and exits). */
  close(): void {
    this.closed = true;
    const s = this.spare;
    this.spare = undefined;
    s?.proc.end();
  }
}

interface Spare {
  readonly proc: PersistentCommand;
  readonly out: { stdout: string; stderr: string };
}
