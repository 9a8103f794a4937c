/**
 * tortie's speaker as a child process inside a namespace, driven with the
 * JSON-line protocol of bgp/speaker/speaker-process.ts. The PID we hold is
 * the Node process itself (`ip netns exec` execs it, and the TypeScript
 * loader runs in-process through `--import tsx`), so SIGKILL really is a
 * crash and SIGSTOP really freezes the speaker.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { TortieError } from '../../../lib/errors.js';
import type { PeerConfig, PeerStatus, SpeakerConfig } from '../../../bgp/speaker/types.js';
import { type Netns, type TrackedProcess, waitFor } from '../../support/netns.js';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = join(REPO, 'bgp/speaker/speaker-process.ts');
/** The project's pinned Node (24), not the system one. */
const NODE = join(REPO, 'node_modules/node/bin/node');
const READY_TIMEOUT_MS = 20_000;
const REQUEST_TIMEOUT_MS = 10_000;

export interface TortieRoute {
  prefix: string;
  nextHops: string[];
  asPath: string;
  communities: string[];
  largeCommunities: string[];
  localPref?: number;
  med?: number;
  origin: number;
  stale: boolean;
  peer: string;
}

export interface TortieSpec {
  speaker: SpeakerConfig;
  peers: PeerConfig[];
  originate?: string[];
}

interface Pending {
  resolve(v: Record<string, unknown>): void;
  reject(e: Error): void;
}

/** One running speaker-process. Commands are answered in order, one line each. */
export class TortieProcess {
  readonly proc: TrackedProcess;
  readonly logFile: string;
  private readonly pending: Pending[] = [];
  private readyResolve: ((port: number | undefined) => void) | undefined;
  private readonly ready: Promise<number | undefined>;

  private constructor(proc: TrackedProcess, logFile: string) {
    this.proc = proc;
    this.logFile = logFile;
    this.ready = new Promise((resolve) => {
      this.readyResolve = resolve;
    });
    proc.stdin?.on('error', () => undefined);
    const stdout = proc.stdout;
    if (!stdout) throw new TortieError('ERR_TEST_SPAWN', 'speaker-process has no stdout pipe');
    const rl = createInterface({ input: stdout });
    rl.on('line', (line) => this.onLine(line));
    void proc.exited().then(() => {
      const err = new TortieError('ERR_TEST_TORTIE_EXITED', `tortie exited ${JSON.stringify(proc.exit)}\n${this.logTail()}`);
      for (const p of this.pending.splice(0)) p.reject(err);
      this.readyResolve?.(undefined);
    });
  }

  /** Starts speaker-process in `ns` and waits for its ready line. */
  static async start(ns: Netns, spec: TortieSpec, logFile: string): Promise<TortieProcess> {
    if (!existsSync(NODE)) throw new TortieError('ERR_TEST_PREREQ', `${NODE} missing: run npm ci (Node 24 is a devDependency)`);
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${join(REPO, 'node_modules/.bin')}:${process.env.PATH ?? ''}` };
    delete env.NODE_EXTRA_CA_CERTS; // costs ~50 ms per start and is of no use here
    const proc = ns.spawn(NODE, ['--import', 'tsx', SCRIPT, JSON.stringify(spec)], {
      logFile,
      env,
      pipeStdio: true,
      stopTimeoutMs: 3_000,
    });
    const t = new TortieProcess(proc, logFile);
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), READY_TIMEOUT_MS).unref());
    const got = await Promise.race([t.ready, timer]);
    if (got === 'timeout' || !proc.running) {
      await proc.stop();
      throw new TortieError('ERR_TEST_TORTIE_START', `tortie did not become ready in ${ns.label}\n${t.logTail()}`);
    }
    return t;
  }

  get pid(): number {
    return this.proc.pid;
  }

  get running(): boolean {
    return this.proc.running;
  }

  logTail(lines = 40): string {
    return `--- tortie log ${this.logFile}\n${this.proc.logTail(lines)}`;
  }

  private onLine(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (msg.ready === true) {
      this.readyResolve?.(typeof msg.port === 'number' ? msg.port : undefined);
      this.readyResolve = undefined;
      return;
    }
    this.pending.shift()?.resolve(msg);
  }

  /** Sends one command and waits for its answer. */
  request(cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (!this.proc.running) return Promise.reject(new TortieError('ERR_TEST_TORTIE_EXITED', 'tortie is not running'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.pending.indexOf(entry);
        if (i >= 0) this.pending.splice(i, 1);
        reject(new TortieError('ERR_TEST_TIMEOUT', `tortie did not answer ${JSON.stringify(cmd)}`));
      }, REQUEST_TIMEOUT_MS);
      timer.unref();
      const entry: Pending = {
        resolve: (v) => {
          clearTimeout(timer);
          if (v.ok !== true) reject(new TortieError('ERR_TEST_TORTIE_CMD', `tortie refused ${JSON.stringify(cmd)}: ${JSON.stringify(v)}`));
          else resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.pending.push(entry);
      this.proc.stdin?.write(JSON.stringify(cmd) + '\n');
    });
  }

  async status(): Promise<PeerStatus[]> {
    return (await this.request({ cmd: 'status' })).peers as PeerStatus[];
  }

  async peer(address: string): Promise<PeerStatus> {
    const st = (await this.status()).find((p) => p.address === address);
    if (!st) throw new TortieError('ERR_TEST_TORTIE_CMD', `tortie has no peer ${address}`);
    return st;
  }

  async rib(): Promise<TortieRoute[]> {
    return (await this.request({ cmd: 'rib' })).routes as TortieRoute[];
  }

  async route(prefix: string): Promise<TortieRoute | undefined> {
    return (await this.rib()).find((r) => r.prefix === prefix);
  }

  async originate(prefix: string, communities: string[] = []): Promise<void> {
    await this.request({ cmd: 'originate', prefix, communities });
  }

  async withdraw(prefix: string): Promise<void> {
    await this.request({ cmd: 'withdraw', prefix });
  }

  /** Waits until the peer is Established (and returns its status). */
  async waitEstablished(address: string, timeoutMs = 30_000): Promise<PeerStatus> {
    return waitFor(`tortie: ${address} Established`, async () => {
      const st = await this.peer(address);
      return st.state === 'Established' ? st : undefined;
    }, { timeoutMs, intervalMs: 200, describe: () => this.logTail(20), failFast: () => (this.running ? undefined : 'tortie exited') });
  }

  /** SIGTERM (administrative stop with Cease) and wait for the exit. */
  async terminate(): Promise<void> {
    this.proc.signal('SIGTERM');
    await Promise.race([this.proc.exited(), new Promise((r) => setTimeout(r, 5_000))]);
    if (this.proc.running) await this.proc.stop(1_000);
  }

  /**
   * The `stop` command: the same administrative stop as SIGTERM (Cease /
   * Administrative Shutdown to every peer), with `text` as the RFC 9003
   * shutdown communication, or none when empty.
   */
  async stopCommand(text: string): Promise<void> {
    await this.request({ cmd: 'stop', text }).catch(() => undefined);
    await Promise.race([this.proc.exited(), new Promise((r) => setTimeout(r, 5_000))]);
    if (this.proc.running) await this.proc.stop(1_000);
  }

  /** SIGKILL: what a crash looks like to peers (no NOTIFICATION). */
  async kill(): Promise<void> {
    this.proc.signal('SIGKILL');
    await this.proc.exited();
  }
}
