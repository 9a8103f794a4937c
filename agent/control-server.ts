/**
 * The control API: HTTP+JSON on a unix socket, mode 0600. Handlers are
 * plain functions from the parsed URL to a JSON-able value, so the server
 * knows nothing of BGP.
 *
 * The HTTP/1.1 is our own, on node:net: one request per connection, answered
 * with a Content-Length and `connection: close`, then the connection is
 * closed. That is all the control socket's clients need (lib/agent-http.ts,
 * curl, node:http), and it costs the agent about a third less CPU per request
 * than node:http's server (its parser, streams and response machinery), on
 * the path every CNI ADD and DEL takes (bench:ipam; docs/benchmarks.md).
 * Request bodies may come with a Content-Length or chunked, and
 * `Expect: 100-continue` is answered. A head over MAX_HEAD_BYTES, a body over
 * MAX_BODY_BYTES, a malformed request line or framing, and a connection idle
 * for IDLE_MS before its request is complete are refused (431, 413, 400) or
 * dropped.
 */
import { chmod, mkdir, unlink } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { dechunk, type AgentHttpError } from '../lib/agent-http.js';
import { TortieError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';

export type Handler = (url: URL, body: unknown) => unknown;

export interface Routes {
  [pathAndMethod: string]: Handler;
}

export const MAX_HEAD_BYTES = 16 * 1024;
/** Bodies are JSON requests; the largest are CNI GC lists of attachments. */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;
const IDLE_MS = 30_000;

const REASONS: Readonly<Record<number, string>> = {
  200: 'OK', 400: 'Bad Request', 404: 'Not Found', 409: 'Conflict', 413: 'Content Too Large',
  431: 'Request Header Fields Too Large', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

/** A request whose head has been read. */
interface RequestHead {
  method: string;
  target: string;
  /** The body's framing: its length, or chunked. */
  body: { length: number } | { chunked: true };
  bodyStart: number;
  /** The client sent `Expect: 100-continue` and waits for it before the body. */
  expectContinue: boolean;
}

/** Refuses a request before any handler runs (bad framing, too large). */
class RequestError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The head in `buf`, or undefined until its blank line has arrived. Throws RequestError when malformed. */
export function parseRequestHead(buf: Buffer): RequestHead | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) {
    if (buf.length > MAX_HEAD_BYTES) throw new RequestError(431, `request head over ${MAX_HEAD_BYTES} bytes`);
    return undefined;
  }
  if (end > MAX_HEAD_BYTES) throw new RequestError(431, `request head over ${MAX_HEAD_BYTES} bytes`);
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(lines[0]);
  if (m === null) throw new RequestError(400, `not an HTTP/1.x request line: ${JSON.stringify(lines[0].slice(0, 80))}`);
  let length: string | undefined;
  let encoding: string | undefined;
  let expect: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    if (colon <= 0) throw new RequestError(400, `malformed header line ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') {
      if (length !== undefined && length !== value) throw new RequestError(400, 'conflicting content-length headers');
      length = value;
    } else if (name === 'transfer-encoding') {
      encoding = encoding === undefined ? value : `${encoding}, ${value}`;
    } else if (name === 'expect') {
      expect = value.toLowerCase();
    }
  }
  if (expect !== undefined && expect !== '100-continue') throw new RequestError(400, `unsupported expectation ${JSON.stringify(expect)}`);
  let body: RequestHead['body'];
  if (encoding !== undefined) {
    if (encoding.toLowerCase() !== 'chunked') throw new RequestError(400, `unsupported transfer-encoding ${JSON.stringify(encoding)}`);
    if (length !== undefined) throw new RequestError(400, 'both content-length and transfer-encoding');
    body = { chunked: true };
  } else if (length === undefined) {
    body = { length: 0 };
  } else {
    if (!/^[0-9]{1,10}$/.test(length)) throw new RequestError(400, `bad content-length ${JSON.stringify(length)}`);
    const n = Number(length);
    if (n > MAX_BODY_BYTES) throw new RequestError(413, `request body of ${n} bytes, over ${MAX_BODY_BYTES}`);
    body = { length: n };
  }
  return { method: m[1], target: m[2], body, bodyStart: end + 4, expectContinue: expect !== undefined };
}

export class ControlServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly socketPath: string, private readonly routes: Routes, private readonly log: Logger) {}

  async start(): Promise<void> {
    await mkdir(dirname(this.socketPath), { recursive: true, mode: 0o755 });
    await removeStaleSocket(this.socketPath);
    const server = createServer((sock) => this.accept(sock));
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
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    for (const sock of this.sockets) sock.destroy();
    this.sockets.clear();
    await closed;
    await unlink(this.socketPath).catch(() => undefined);
  }

  /** Reads one request from the connection, answers it, closes the connection. */
  private accept(sock: Socket): void {
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => sock.destroy()); // the client went away; nothing to answer
    sock.setTimeout(IDLE_MS, () => sock.destroy());
    // Received bytes, joined only when they may complete the request (a large body arrives in many pieces).
    const pieces: Buffer[] = [];
    let received = 0;
    let buf: Buffer = Buffer.alloc(0);
    let head: RequestHead | undefined;
    let continued = false;
    const onData = (chunk: Buffer): void => {
      pieces.push(chunk);
      received += chunk.length;
      if (head !== undefined && !('chunked' in head.body) && received < head.bodyStart + head.body.length) return;
      buf = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, received);
      pieces.length = 0;
      pieces.push(buf);
      let body: Buffer | undefined;
      try {
        if (head === undefined) {
          head = parseRequestHead(buf);
          if (head === undefined) return;
        }
        const rest = buf.subarray(head.bodyStart);
        if ('chunked' in head.body) {
          try {
            body = dechunk(rest, MAX_BODY_BYTES);
          } catch (err) {
            const e = err as AgentHttpError;
            throw new RequestError(e.errno === 'EMSGSIZE' ? 413 : 400, e.message);
          }
        } else {
          body = rest.length >= head.body.length ? rest.subarray(0, head.body.length) : undefined;
        }
        if (body === undefined && head.expectContinue && !continued) {
          continued = true;
          sock.write('HTTP/1.1 100 Continue\r\n\r\n');
        }
      } catch (err) {
        sock.off('data', onData);
        const e = err as RequestError;
        this.reply(sock, e.status ?? 400, { error: e.message, code: 'ERR_API_BAD_REQUEST' });
        return;
      }
      if (body === undefined) return;
      sock.off('data', onData);
      sock.setTimeout(0);
      void this.dispatch(sock, head, body);
    };
    sock.on('data', onData);
  }

  private async dispatch(sock: Socket, head: RequestHead, bodyBytes: Buffer): Promise<void> {
    let url: URL;
    try {
      url = new URL(head.target, 'http://tortie');
    } catch {
      this.reply(sock, 400, { error: `bad request target ${JSON.stringify(head.target.slice(0, 80))}`, code: 'ERR_API_BAD_REQUEST' });
      return;
    }
    const key = `${head.method} ${url.pathname}`;
    // Exact keys first; a key ending in "*" ("GET /v1/policy/pods/*") takes any path below it.
    const handler = this.routes[key] ?? Object.entries(this.routes).find(([k]) => k.endsWith('*') && key.startsWith(k.slice(0, -1)))?.[1];
    if (!handler) {
      this.reply(sock, 404, { error: `no such endpoint: ${key}`, code: 'ERR_API_NOT_FOUND' });
      return;
    }
    try {
      let body: unknown;
      if (head.method === 'POST' || head.method === 'PUT') {
        const text = bodyBytes.toString('utf8');
        body = text === '' ? undefined : JSON.parse(text);
      }
      this.reply(sock, 200, await handler(url, body));
    } catch (err) {
      const code = err instanceof TortieError ? err.code : 'ERR_API_INTERNAL';
      const status = err instanceof SyntaxError ? 400 : httpStatusOf(code);
      if (status === 500) this.log.error({ err: (err as Error).message, endpoint: key }, 'control API handler failed');
      this.reply(sock, status, { error: (err as Error).message, code });
    }
  }

  private reply(sock: Socket, status: number, value: unknown): void {
    if (sock.destroyed) return;
    const body = JSON.stringify(value) ?? 'null';
    sock.end(`HTTP/1.1 ${status} ${REASONS[status] ?? 'Status'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
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
