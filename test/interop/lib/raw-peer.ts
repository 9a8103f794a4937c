/**
 * Client side of raw-peer-process.ts: starts it in a namespace (on the
 * project's Node 24, loader in-process, so the PID is the script's own) and
 * offers its commands and the events it reported.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { TortieError } from '../../../lib/errors.js';
import { type Netns, type TrackedProcess, waitFor } from '../../support/netns.js';
import { hex } from './craft.js';
import { REPO } from './tortie.js';

const SCRIPT = fileURLToPath(new URL('./raw-peer-process.ts', import.meta.url));
const NODE = join(REPO, 'node_modules/node/bin/node');

export interface RawEvent {
  event: string;
  code?: number;
  subcode?: number;
  withdrawn?: number;
  nlri?: number;
  error?: string;
  atMs: number;
}

export type FloodTally = Record<'rejected' | 'other-notification' | 'other-message' | 'closed' | 'refused' | 'error' | 'timeout', number>;

export class RawPeer {
  readonly proc: TrackedProcess;
  readonly events: RawEvent[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: Record<string, unknown>): void; reject(e: Error): void }>();

  private constructor(proc: TrackedProcess) {
    this.proc = proc;
    proc.stdin?.on('error', () => undefined);
    const stdout = proc.stdout;
    if (!stdout) throw new TortieError('ERR_TEST_SPAWN', 'raw peer has no stdout pipe');
    createInterface({ input: stdout }).on('line', (line) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (typeof msg.event === 'string') {
        this.events.push({ ...(msg as unknown as RawEvent), atMs: Date.now() });
        return;
      }
      const id = typeof msg.id === 'number' ? msg.id : -1;
      const p = this.pending.get(id);
      if (!p) return;
      this.pending.delete(id);
      if (msg.ok === true) p.resolve(msg);
      else p.reject(new TortieError('ERR_TEST_RAW_PEER', `raw peer refused: ${line}`));
    });
    void proc.exited().then(() => {
      for (const p of this.pending.values()) p.reject(new TortieError('ERR_TEST_RAW_PEER', `raw peer exited ${JSON.stringify(proc.exit)}\n${proc.logTail(20)}`));
      this.pending.clear();
    });
  }

  static async start(ns: Netns, logFile: string): Promise<RawPeer> {
    if (!existsSync(NODE)) throw new TortieError('ERR_TEST_PREREQ', `${NODE} missing: run npm ci (Node 24 is a devDependency)`);
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const proc = ns.spawn(NODE, ['--import', 'tsx', SCRIPT], { logFile, env, pipeStdio: true, stopTimeoutMs: 2_000 });
    const peer = new RawPeer(proc);
    await waitFor('raw peer ready', () => Promise.resolve(peer.events.some((e) => e.event === 'ready') ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 50,
      failFast: () => (proc.running ? undefined : `raw peer exited\n${proc.logTail(20)}`),
    });
    return peer;
  }

  request(cmd: Record<string, unknown>, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TortieError('ERR_TEST_TIMEOUT', `raw peer did not answer ${JSON.stringify(cmd).slice(0, 200)}`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.proc.stdin?.write(JSON.stringify({ id, ...cmd }) + '\n');
    });
  }

  /** Connects to tortie and waits for Established. */
  async session(opts: { host: string; localAddress: string; asn: number; routerId: string; holdTimeSec: number }): Promise<void> {
    const since = this.events.length;
    await this.request({ cmd: 'session', ...opts });
    await waitFor('raw peer session Established', () => Promise.resolve(this.events.slice(since).some((e) => e.event === 'established') ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 50,
      describe: () => JSON.stringify(this.events.slice(since)),
    });
  }

  async send(bytes: Uint8Array): Promise<void> {
    await this.request({ cmd: 'send', hex: hex(bytes) });
  }

  async flood(opts: { host: string; sources: string[]; count: number; concurrency: number; timeoutMs: number }): Promise<FloodTally> {
    const r = await this.request({ cmd: 'flood', ...opts }, 180_000);
    return r.tally as FloodTally;
  }

  eventsSince(index: number): RawEvent[] {
    return this.events.slice(index);
  }
}
