/**
 * The control API: HTTP+JSON on a unix socket, mode 0600. Handlers are
 * plain functions from the parsed URL to a JSON-able value, so the server
 * knows nothing of BGP.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chmod, mkdir, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { TortieError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';

export type Handler = (url: URL, body: unknown) => unknown;

export interface Routes {
  [pathAndMethod: string]: Handler;
}

export class ControlServer {
  private server: Server | undefined;

  constructor(private readonly socketPath: string, private readonly routes: Routes, private readonly log: Logger) {}

  async start(): Promise<void> {
    await mkdir(dirname(this.socketPath), { recursive: true, mode: 0o755 });
    await removeStaleSocket(this.socketPath);
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new TortieError('ERR_CONTROL_LISTEN', `cannot listen on ${this.socketPath}: ${err.message}`, { cause: err })));
      server.listen(this.socketPath, () => resolve());
    });
    await chmod(this.socketPath, 0o600);
    this.server = server;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
    await unlink(this.socketPath).catch(() => undefined);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://tortie');
    const key = `${req.method ?? 'GET'} ${url.pathname}`;
    // Exact keys first; a key ending in "*" ("GET /v1/policy/pods/*") takes any path below it.
    const handler = this.routes[key] ?? Object.entries(this.routes).find(([k]) => k.endsWith('*') && key.startsWith(k.slice(0, -1)))?.[1];
    const send = (status: number, value: unknown): void => {
      const body = JSON.stringify(value);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (!handler) {
      send(404, { error: `no such endpoint: ${key}`, code: 'ERR_API_NOT_FOUND' });
      return;
    }
    try {
      let body: unknown;
      if (req.method === 'POST' || req.method === 'PUT') {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const text = Buffer.concat(chunks).toString('utf8');
        body = text === '' ? undefined : JSON.parse(text);
      }
      send(200, await handler(url, body));
    } catch (err) {
      const code = err instanceof TortieError ? err.code : 'ERR_API_INTERNAL';
      const status = err instanceof SyntaxError ? 400 : httpStatusOf(code);
      if (status === 500) this.log.error({ err: (err as Error).message, endpoint: key }, 'control API handler failed');
      send(status, { error: (err as Error).message, code });
    }
  }
}

/**
 * The HTTP status for an error code. A refusal the caller can understand
 * (bad request, nothing there, taken, exhausted) is a 4xx and is not logged
 * as an agent error; anything else is a 500.
 */
export function httpStatusOf(code: string): number {
  if (code === 'ERR_API_BAD_REQUEST' || code.endsWith('_BAD_REQUEST')) return 400;
  if (code.endsWith('NOT_FOUND')) return 404;
  // Policy switched off, or its enforcer refused to start: the service is not available here.
  if (code === 'ERR_POLICY_DISABLED' || code === 'ERR_POLICY_NOT_RUNNING') return 503;
  if (/_(IN_USE|RESERVED|EXHAUSTED|NOT_IN_POOL|NO_POOL|POOL_DISABLED|POOL_NOT_FOR_NODE|AFFINE_ELSEWHERE)$/.test(code) && code !== 'ERR_IPAM_RETRIES_EXHAUSTED') return 409;
  return 500;
}

/** A socket file left by a dead agent is removed; one that answers means another agent runs. */
async function removeStaleSocket(path: string): Promise<void> {
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive) throw new TortieError('ERR_CONTROL_IN_USE', `another agent is serving ${path}`);
  await unlink(path).catch(() => undefined);
}
