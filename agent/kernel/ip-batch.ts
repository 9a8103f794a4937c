/**
 * A long-lived `ip -force -batch -` channel: route commands go down stdin,
 * per-line failures come back on stderr, attributed to the line that failed.
 *
 * How the protocol works (iproute2 6.1, checked here):
 *   - `ip -batch` prints nothing for a command that succeeds. For one that
 *     fails it prints the message, then `Command failed -:N`, where N counts
 *     every line ip has read from stdin since it started. With `-force` it
 *     carries on; without, it stops at the first error.
 *   - To know when a group of lines is done, we send one extra line, an
 *     unknown object (`tortie-sync`), after it. ip answers with
 *     `Object "tortie-sync" is unknown…` and `Command failed -:M`. When that
 *     M arrives, every line before it has been handled.
 *   - A malformed argument makes ip exit on the spot (invarg → exit). The
 *     lines after the last one it reported are then "unknown". Our renderer
 *     only emits validated tokens, so this should not happen, but it is
 *     handled: the process is replaced and the caller re-reads the kernel.
 *   - `ip -batch` grows by about 4 KiB for every command it runs (400 MiB
 *     after 100k routes, measured here), so a process is retired after
 *     `maxCommandsPerProcess` lines (default 10,000, about 40 MiB). The next
 *     one is started while the old one works, and gets its first line as
 *     soon as the old one has reported its last, so lines run in the order
 *     given and the hand-over costs almost nothing. An idle process is
 *     closed after `idleCloseMs`.
 *   - exec() writes at once, without waiting for earlier calls to finish:
 *     a caller can hand over a big apply in slices and compute the next
 *     slice while ip works on the previous one (two cores: Node on one, ip
 *     and the kernel on the other). Lines still run strictly in call order.
 */
import { type Logger, silentLogger } from '../../lib/log.js';
import type { CommandRunner, ExitStatus, RunningCommand } from './command-runner.js';

export const SYNC_OBJECT = 'tortie-sync';
export const DEFAULT_MAX_COMMANDS_PER_PROCESS = 10_000;
export const DEFAULT_IDLE_CLOSE_MS = 30_000;

export interface BatchLineFailure {
  /** Index into the lines given to exec(). */
  index: number;
  line: string;
  /** What ip said, e.g. "RTNETLINK answers: File exists" or "Error: Nexthop has invalid gateway.". */
  message: string;
}

export interface BatchOutcome {
  failures: BatchLineFailure[];
  /** Lines whose fate is unknown because ip exited before reporting on them (message says why). */
  unknown: BatchLineFailure[];
}

/** One `Command failed` report: ip's line number and the message lines before it. */
export interface BatchStderrReport {
  lineNo: number;
  message: string;
}

const FAILED_RE = /^Command failed (.*):(\d+)$/;

/** Splits ip's stderr into per-line failure reports. Pure; feed it chunks in order. */
export class BatchStderrParser {
  private partial = '';
  private messageLines: string[] = [];

  push(chunk: string): BatchStderrReport[] {
    const text = this.partial + chunk;
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    const reports: BatchStderrReport[] = [];
    for (const line of lines) {
      const m = FAILED_RE.exec(line);
      if (m) {
        reports.push({ lineNo: Number(m[2]), message: this.messageLines.join('\n') });
        this.messageLines = [];
      } else if (line !== '') {
        this.messageLines.push(line);
      }
    }
    return reports;
  }

  /** Text not yet followed by a `Command failed` line (e.g. why ip exited). */
  pendingText(): string {
    return [...this.messageLines, this.partial].filter((s) => s !== '').join('\n');
  }
}

interface Chunk {
  firstLineNo: number;
  markerLineNo: number;
  lines: readonly string[];
  failures: BatchLineFailure[];
  /** Index (in `lines`) of the last line ip reported on. */
  lastReported: number;
  resolve: (exit: ExitStatus | undefined) => void;
}

interface BatchProc {
  cmd: RunningCommand;
  /** Lines assigned to this process (ip's line counter after them). */
  sent: number;
  parser: BatchStderrParser;
  /** Chunks written or waiting to be written, oldest first. */
  pending: Chunk[];
  /** Writes go through this chain: a new process waits for its predecessor to finish. */
  writes: Promise<void>;
  exit: ExitStatus | undefined;
  exited: Promise<void>;
  /** Called (once each) when `pending` becomes empty or the process exits. */
  drainWaiters: (() => void)[];
}

export interface IpBatchOptions {
  runner: CommandRunner;
  netns?: string;
  maxCommandsPerProcess?: number;
  idleCloseMs?: number;
  log?: Logger;
}

export interface IpBatchStats {
  processesStarted: number;
  commandsSent: number;
  linesFailed: number;
  currentPid: number | undefined;
  /** PIDs of the running ip processes (current, spare, finishing). */
  pids: number[];
}

export class IpBatch {
  private readonly runner: CommandRunner;
  private readonly netns: string | undefined;
  private readonly maxCommands: number;
  private readonly idleCloseMs: number;
  private readonly log: Logger;
  private current: BatchProc | undefined;
  private spare: BatchProc | undefined;
  private readonly live = new Set<BatchProc>();
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly counters = { processesStarted: 0, commandsSent: 0, linesFailed: 0 };

  constructor(opts: IpBatchOptions) {
    this.runner = opts.runner;
    this.netns = opts.netns;
    this.maxCommands = Math.max(2, opts.maxCommandsPerProcess ?? DEFAULT_MAX_COMMANDS_PER_PROCESS);
    this.idleCloseMs = opts.idleCloseMs ?? DEFAULT_IDLE_CLOSE_MS;
    this.log = opts.log ?? silentLogger;
  }

  stats(): IpBatchStats {
    const pids = [...this.live].map((p) => p.cmd.pid).filter((pid): pid is number => pid !== undefined);
    return { ...this.counters, currentPid: this.current?.cmd.pid, pids };
  }

  /** Starts a process now, so the first exec() does not wait for one. */
  warm(): void {
    if (this.closed || (this.current !== undefined && this.current.exit === undefined)) return;
    this.current = this.startProc(undefined);
    this.armIdleTimer();
  }

  /**
   * Runs the lines after everything given before. Resolves when ip has
   * reported on all of them. Never rejects for a failed line.
   */
  async exec(lines: readonly string[]): Promise<BatchOutcome> {
    const outcome: BatchOutcome = { failures: [], unknown: [] };
    if (lines.length === 0) return outcome;
    if (this.closed) {
      for (let i = 0; i < lines.length; i++) outcome.unknown.push({ index: i, line: lines[i], message: 'ip batch channel closed' });
      return outcome;
    }
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const parts: { base: number; n: number; proc: BatchProc; done: Promise<{ chunk: Chunk; exit: ExitStatus | undefined }> }[] = [];
    let i = 0;
    while (i < lines.length) {
      let proc = this.current;
      if (proc === undefined || proc.exit !== undefined || proc.sent >= this.maxCommands - 1) {
        const prev = proc;
        if (prev) this.retire(prev);
        proc = this.spare && this.spare.exit === undefined ? this.spare : this.startProc(prev);
        if (proc === this.spare) proc.writes = proc.writes.then(() => waitDrained(prev));
        this.spare = undefined;
        this.current = proc;
      }
      const room = this.maxCommands - 1 - proc.sent;
      const n = Math.min(room, lines.length - i);
      // This chunk fills the process: start the next one now, while this one works.
      if (n === room && this.spare === undefined) this.spare = this.startProc(undefined);
      parts.push({ base: i, n, proc, done: this.send(proc, lines.slice(i, i + n)) });
      i += n;
    }
    for (const part of parts) {
      const { chunk, exit } = await part.done;
      for (const f of chunk.failures) outcome.failures.push({ ...f, index: f.index + part.base });
      if (exit !== undefined) {
        const why = part.proc.parser.pendingText() || describeExit(exit);
        for (let k = chunk.lastReported + 1; k < part.n; k++) {
          outcome.unknown.push({ index: part.base + k, line: lines[part.base + k], message: `ip exited before reporting: ${why}` });
        }
        if (part.n > chunk.lastReported + 1) this.log.warn({ exit, why }, 'ip -batch exited in the middle of a batch; replacing it');
      }
    }
    this.counters.linesFailed += outcome.failures.length + outcome.unknown.length;
    this.armIdleTimer();
    // Spawning costs a few ms of this thread; do it after the caller has its answer.
    setImmediate(() => this.prepareSpare()).unref();
    return outcome;
  }

  /** Closes stdin of every process and waits for them to exit (SIGKILL after 2 s). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    for (const p of [this.current, this.spare]) if (p) this.retire(p);
    this.current = undefined;
    this.spare = undefined;
    await Promise.all(
      [...this.live].map(async (p) => {
        const timer = setTimeout(() => p.cmd.kill('SIGKILL'), 2_000);
        await p.exited;
        clearTimeout(timer);
      }),
    );
  }

  /**
   * Starts the next process ahead of need once the current one is half
   * used, so a later exec() switches to it without spawning on its path.
   */
  private prepareSpare(): void {
    const cur = this.current;
    if (this.closed || this.spare !== undefined || cur === undefined || cur.exit !== undefined) return;
    if (cur.sent * 2 < this.maxCommands) return;
    this.spare = this.startProc(undefined);
  }

  private armIdleTimer(): void {
    if (this.idleCloseMs <= 0 || this.closed) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if ([...this.live].some((p) => p.pending.length > 0)) {
        this.armIdleTimer();
        return;
      }
      if (this.current) this.retire(this.current);
      this.current = undefined;
      if (this.spare) this.retire(this.spare);
      this.spare = undefined;
    }, this.idleCloseMs);
    this.idleTimer.unref();
  }

  private send(proc: BatchProc, lines: readonly string[]): Promise<{ chunk: Chunk; exit: ExitStatus | undefined }> {
    return new Promise((resolve) => {
      const firstLineNo = proc.sent + 1;
      proc.sent += lines.length + 1;
      this.counters.commandsSent += lines.length + 1;
      const chunk: Chunk = {
        firstLineNo,
        markerLineNo: proc.sent,
        lines,
        failures: [],
        lastReported: -1,
        resolve: (exit) => resolve({ chunk, exit }),
      };
      if (proc.exit !== undefined) {
        chunk.resolve(proc.exit);
        return;
      }
      proc.pending.push(chunk);
      const text = `${lines.join('\n')}\n${SYNC_OBJECT}\n`;
      proc.writes = proc.writes.then(() => proc.cmd.write(text));
    });
  }

  /** A new process; if `after` is given, nothing is written to it before `after` has reported on all its lines. */
  private startProc(after: BatchProc | undefined): BatchProc {
    this.counters.processesStarted++;
    // The callbacks run asynchronously, after `proc` is assigned.
    const ref: { proc?: BatchProc } = {};
    let markExited: () => void = () => undefined;
    const exited = new Promise<void>((r) => (markExited = r));
    const cmd = this.runner.spawn(['ip', '-force', '-batch', '-'], {
      netns: this.netns,
      onStdout: () => undefined,
      onStderr: (text) => {
        if (ref.proc) this.onStderr(ref.proc, text);
      },
      onExit: (status) => {
        const proc = ref.proc;
        if (!proc) return;
        proc.exit = status;
        this.live.delete(proc);
        for (const chunk of proc.pending.splice(0)) chunk.resolve(status);
        for (const w of proc.drainWaiters.splice(0)) w();
        markExited();
      },
    });
    const proc: BatchProc = {
      cmd,
      sent: 0,
      parser: new BatchStderrParser(),
      pending: [],
      writes: waitDrained(after),
      exit: undefined,
      exited,
      drainWaiters: [],
    };
    ref.proc = proc;
    this.live.add(proc);
    return proc;
  }

  private onStderr(proc: BatchProc, text: string): void {
    for (const report of proc.parser.push(text)) {
      const chunk = proc.pending.find((c) => report.lineNo >= c.firstLineNo && report.lineNo <= c.markerLineNo);
      if (chunk === undefined) continue;
      if (report.lineNo === chunk.markerLineNo) {
        proc.pending.splice(proc.pending.indexOf(chunk), 1);
        chunk.resolve(undefined);
        if (proc.pending.length === 0) for (const w of proc.drainWaiters.splice(0)) w();
        continue;
      }
      const index = report.lineNo - chunk.firstLineNo;
      chunk.lastReported = index;
      chunk.failures.push({ index, line: chunk.lines[index], message: report.message });
    }
  }

  /** Lets the process finish what it has and exit. */
  private retire(proc: BatchProc): void {
    if (proc.exit !== undefined) return;
    void proc.writes.then(() => proc.cmd.end());
  }
}

/** Resolves when `proc` has reported on every line given to it (or exited). */
function waitDrained(proc: BatchProc | undefined): Promise<void> {
  if (proc === undefined || proc.exit !== undefined || proc.pending.length === 0) return Promise.resolve();
  return new Promise((resolve) => proc.drainWaiters.push(resolve));
}

function describeExit(s: ExitStatus): string {
  if (s.error !== undefined) return s.error;
  return s.signal !== null ? `killed by ${s.signal}` : `exit status ${String(s.code)}`;
}
