/**
 * The tester, the monitor (and a tortie target) report through JSON lines
 * on stdout, which the topology appends to a log file. EventLog re-reads
 * that file and hands out the events; anything that is not a JSON object
 * line (warnings, stack traces) is kept for error messages only.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TortieError } from '../../lib/errors.js';
import { sleep, type TrackedProcess } from '../../test/support/netns.js';

export interface BenchEvent {
  event: string;
  atMs?: number;
  [key: string]: unknown;
}

export class EventLog {
  readonly file: string;
  readonly label: string;
  private readonly proc: TrackedProcess | undefined;

  constructor(label: string, file: string, proc?: TrackedProcess) {
    this.label = label;
    this.file = file;
    this.proc = proc;
  }

  events(): BenchEvent[] {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return [];
    }
    const out: BenchEvent[] = [];
    for (const line of text.split('\n')) {
      if (!line.startsWith('{"event":')) continue;
      try {
        out.push(JSON.parse(line) as BenchEvent);
      } catch {
        // a line still being written
      }
    }
    return out;
  }

  find(event: string): BenchEvent | undefined {
    return this.events().find((e) => e.event === event);
  }

  last(event: string): BenchEvent | undefined {
    return this.events().filter((e) => e.event === event).pop();
  }

  /** Why this process can no longer report progress (it exited or said error/closed), if so. */
  failure(): string | undefined {
    const bad = this.events().find((e) => e.event === 'error' || e.event === 'closed');
    if (bad) return `${this.label}: ${bad.event}: ${String(bad.message ?? bad.reason)}`;
    if (this.proc && !this.proc.running) return `${this.label} exited ${JSON.stringify(this.proc.exit)}`;
    return undefined;
  }

  tail(lines = 15): string {
    try {
      return readFileSync(this.file, 'utf8').split('\n').slice(-lines - 1).join('\n');
    } catch {
      return '';
    }
  }
}

/**
 * Polls until every log in `logs` has `event`, or `failFast` reports a
 * problem (throws ERR_BENCH_FAILED), or `timeoutMs` passes (returns
 * undefined).
 */
export async function waitForEvents(
  logs: readonly EventLog[], event: string, timeoutMs: number, failFast: () => string | undefined, pollMs = 20,
): Promise<BenchEvent[] | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = logs.map((l) => l.find(event));
    if (found.every((e) => e !== undefined)) return found;
    const why = failFast();
    if (why !== undefined) throw new TortieError('ERR_BENCH_FAILED', `waiting for "${event}": ${why}`);
    if (Date.now() >= deadline) return undefined;
    await sleep(pollMs);
  }
}

/** argv that runs one of our TypeScript scripts under the same Node (v24) as this process, through tsx. */
export function nodeScriptArgv(scriptUrl: URL, args: readonly string[]): { cmd: string; args: string[] } {
  return {
    cmd: process.execPath,
    args: ['--import', import.meta.resolve('tsx'), fileURLToPath(scriptUrl), ...args],
  };
}

/** The environment for those scripts: ours, minus what only slows Node's start. */
export function scriptEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}
