/**
 * A bare HTTPS+JSON client for the bench's own writes to the API server
 * (thousands of creates, deletes and status patches): one keep-alive agent,
 * a bearer token, bounded concurrency, and retries on 429 / 5xx / dropped
 * connections. client-node's serialisation costs more CPU per request than
 * the apiserver on a 2-core machine, and the bench wants the creates to be
 * as fast as the server allows. The agent itself uses client-node.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { TortieError } from '../../lib/errors.js';

export interface ApiAnswer {
  status: number;
  body: string;
}

const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);

export class RawKube {
  private readonly agent: Agent;
  private readonly base: URL;
  /** Requests that had to be retried (429, 5xx, dropped connection). */
  retries = 0;

  constructor(server: string, private readonly token: string, caFile: string, maxSockets = 32) {
    this.base = new URL(server);
    this.agent = new Agent({ keepAlive: true, maxSockets, ca: readFileSync(caFile) });
  }

  /** One request, no retry. */
  send(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<ApiAnswer> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request({
        protocol: this.base.protocol, hostname: this.base.hostname, port: this.base.port, path, method, agent: this.agent, timeout: 30_000,
        headers: {
          authorization: `Bearer ${this.token}`, accept: 'application/json',
          ...(payload !== undefined ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) } : {}),
        },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new TortieError('ERR_BENCH', `${method} ${path}: no answer after 30 s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /**
   * A request that must get one of `ok` (default 200, 201); throttling,
   * server errors and dropped connections are retried (up to 8 times).
   */
  async call(method: string, path: string, body?: unknown, opts: { contentType?: string; ok?: readonly number[] } = {}): Promise<ApiAnswer> {
    const ok = opts.ok ?? [200, 201];
    for (let attempt = 0; ; attempt++) {
      let answer: ApiAnswer | undefined;
      let error: unknown;
      try {
        answer = await this.send(method, path, body, opts.contentType);
      } catch (err) {
        error = err;
      }
      if (answer && ok.includes(answer.status)) return answer;
      const retryable = answer === undefined || RETRY_STATUS.has(answer.status);
      if (!retryable || attempt >= 8) {
        const why = answer ? `HTTP ${answer.status}: ${answer.body.slice(0, 300)}` : (error as Error).message;
        throw new TortieError('ERR_BENCH', `${method} ${path} failed: ${why}`, { cause: error });
      }
      this.retries++;
      await new Promise((r) => setTimeout(r, 50 * 2 ** Math.min(attempt, 5)));
    }
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The response time of each call (ms since `t0`), in the order of `items`. */
export async function timedPool<T>(items: readonly T[], limit: number, fn: (x: T) => Promise<unknown>, t0: number): Promise<number[]> {
  const done = new Array<number>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]);
      done[i] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return done;
}
