/**
 * JSON over HTTP/1.1 on the agent's unix socket, with node:net and nothing
 * else: one request per connection (`Connection: close`), the answer read
 * to its Content-Length (or chunked, or to EOF). Every client of the
 * control socket uses it: tortiectl (agent/control-client.ts), the CNI
 * plugin, tortie-ipam (ipam/plugin/agent-client.ts) and the policy
 * attachments client (policy/attachments-client.ts); each maps errors to
 * its own codes.
 *
 * Why not node:http: the plugins are short-lived processes, and a first
 * http.request costs about 35 ms of CPU on this machine (loading and
 * compiling the client, agent and parser), against about 15 ms for a raw
 * node:net exchange (bench/cni/README.md). The agent's control server
 * answers every request with a Content-Length, so the framing we need is
 * small. node:net itself loads on the first request only.
 *
 * Errors: `AgentHttpError` with `errno` ENOENT or ECONNREFUSED (nothing
 * listening), ETIMEDOUT, ECONNRESET (closed before a full answer), or the
 * socket's own error code; EBADMSG for an answer that is not HTTP. A full
 * accept queue (EAGAIN on connect) is not an error: the connect is retried
 * until the timeout.
 */

export interface AgentHttpReply {
  status: number;
  /** The parsed JSON body; undefined for an empty body; `{error, code: 'ERR_API_BAD_RESPONSE'}` for non-JSON. */
  body: unknown;
}

export class AgentHttpError extends Error {
  constructor(message: string, readonly errno: string | undefined) {
    super(message);
    this.name = 'AgentHttpError';
  }
}

interface Head {
  status: number;
  headers: Map<string, string>;
  bodyStart: number;
}

/** Status line and headers, or undefined until the blank line has arrived. Throws on a malformed head. */
export function parseHead(buf: Buffer): Head | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!m) throw new AgentHttpError(`not an HTTP answer: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`, 'EBADMSG');
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(m[1]), headers, bodyStart: end + 4 };
}

/**
 * A chunked body (from its first chunk-size line), or undefined while
 * incomplete; trailers after the last chunk are not waited for. Throws
 * AgentHttpError: EBADMSG when malformed, EMSGSIZE past `maxBytes`. Read by
 * this client and by the agent's control server (agent/control-server.ts).
 */
export function dechunk(buf: Buffer, maxBytes = Number.MAX_SAFE_INTEGER): Buffer | undefined {
  const bad = (what: string): AgentHttpError => new AgentHttpError(`chunked body: ${what}`, 'EBADMSG');
  const parts: Buffer[] = [];
  let total = 0;
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) {
      if (buf.length - at > 64) throw bad('chunk size line too long');
      return undefined;
    }
    const sizeText = buf.toString('latin1', at, eol).split(';')[0].trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) throw bad(`bad chunk size ${JSON.stringify(sizeText.slice(0, 20))}`);
    const size = parseInt(sizeText, 16);
    if (size === 0) return Buffer.concat(parts, total);
    total += size;
    if (total > maxBytes) throw new AgentHttpError(`chunked body over ${maxBytes} bytes`, 'EMSGSIZE');
    if (buf.length < eol + 2 + size + 2) return undefined;
    if (buf[eol + 2 + size] !== 0x0d || buf[eol + 3 + size] !== 0x0a) throw bad('chunk not followed by CRLF');
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/** The body of a complete answer in `buf`, or undefined when more bytes are needed (`eof`: no more will come). */
export function completeBody(buf: Buffer, head: Head, eof: boolean): Buffer | undefined {
  const rest = buf.subarray(head.bodyStart);
  if (head.headers.get('transfer-encoding')?.toLowerCase().includes('chunked')) return dechunk(rest);
  const len = head.headers.get('content-length');
  if (len !== undefined) {
    const n = Number(len);
    if (!Number.isInteger(n) || n < 0) throw new AgentHttpError(`bad content-length ${JSON.stringify(len)}`, 'EBADMSG');
    return rest.length >= n ? rest.subarray(0, n) : undefined;
  }
  return eof ? rest : undefined;
}

function parseBody(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { error: `agent answered with non-JSON: ${text.slice(0, 200)}`, code: 'ERR_API_BAD_RESPONSE' };
  }
}

/**
 * A connect refused with EAGAIN means the agent's accept queue is full (a
 * burst of plugins while the agent is busy): nothing was sent, so the
 * connect is tried again after a pause that doubles from 2 ms up to this,
 * until the request's own timeout.
 */
const BUSY_RETRY_MAX_MS = 64;

export function agentRequest(socketPath: string, method: string, path: string, body: unknown, timeoutMs: number): Promise<AgentHttpReply> {
  const { connect } = process.getBuiltinModule('node:net');
  return new Promise<AgentHttpReply>((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    const head = [
      `${method} ${path} HTTP/1.1`,
      'host: localhost',
      'connection: close',
      ...(payload === undefined ? [] : ['content-type: application/json', `content-length: ${payload.length}`]),
      '',
      '',
    ].join('\r\n');
    const request = payload === undefined ? head : Buffer.concat([Buffer.from(head, 'latin1'), payload]);
    let sock: ReturnType<typeof connect> | undefined;
    let retry: NodeJS.Timeout | undefined;
    let busyPauseMs = 2;
    let settled = false;
    const finish = (err: AgentHttpError | undefined, reply?: AgentHttpReply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(retry);
      sock?.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => finish(new AgentHttpError(`${method} ${path}: no answer within ${timeoutMs} ms`, 'ETIMEDOUT')), timeoutMs);
    const attempt = (): void => {
      const s = connect(socketPath);
      sock = s;
      let buf: Buffer = Buffer.alloc(0);
      let parsed: Head | undefined;
      let connected = false;
      const tryComplete = (eof: boolean): void => {
        if (sock !== s) return;
        try {
          parsed ??= parseHead(buf);
          const b = parsed && completeBody(buf, parsed, eof);
          if (parsed && b) finish(undefined, { status: parsed.status, body: parseBody(b) });
          else if (eof) finish(new AgentHttpError(`the agent on ${socketPath} closed the connection before its answer was complete`, 'ECONNRESET'));
        } catch (err) {
          finish(err instanceof AgentHttpError ? err : new AgentHttpError(String(err), 'EBADMSG'));
        }
      };
      s.on('connect', () => (connected = true));
      s.on('data', (chunk: Buffer) => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        tryComplete(false);
      });
      s.on('end', () => tryComplete(true));
      s.on('close', () => tryComplete(true));
      s.on('error', (err: NodeJS.ErrnoException) => {
        if (sock !== s) return;
        if (err.code === 'EAGAIN' && !connected && !settled) {
          // The accept queue is full; nothing reached the agent.
          sock = undefined;
          s.destroy();
          retry = setTimeout(attempt, busyPauseMs);
          busyPauseMs = Math.min(BUSY_RETRY_MAX_MS, busyPauseMs * 2);
          return;
        }
        finish(new AgentHttpError(`cannot reach tortie-agent on ${socketPath}: ${err.message}`, err.code));
      });
      s.write(request);
    };
    attempt();
  });
}
