/**
 * tortie-ipam's line to the agent: JSON over HTTP on the control socket,
 * with node:http and nothing else, so the plugin starts fast.
 */
import { request } from 'node:http';

export interface AgentReply {
  status: number;
  body: unknown;
}

/** What the plugin needs from the agent; tests substitute a fake. */
export interface AgentApi {
  call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<AgentReply>;
}

/** The agent could not be reached (no socket, refused, timeout). */
export class AgentUnreachable extends Error {
  constructor(message: string, readonly errno: string | undefined) {
    super(message);
    this.name = 'AgentUnreachable';
  }
}

export function socketClient(socketPath: string, timeoutMs: number): AgentApi {
  return {
    call: (method, path, body) => new Promise<AgentReply>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request({
        socketPath, path, method, timeout: timeoutMs,
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      }, (res) => {
        res.on('close', () => {
          if (!res.complete) reject(new AgentUnreachable('the agent closed the connection before its answer was complete', 'ECONNRESET'));
        });
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            parsed = { error: `agent answered with non-JSON: ${text.slice(0, 200)}`, code: 'ERR_API_BAD_RESPONSE' };
          }
          resolve({ status: res.statusCode ?? 500, body: parsed });
        });
        res.on('error', (err) => reject(new AgentUnreachable(`reading the agent's answer failed: ${err.message}`, undefined)));
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) => {
        reject(new AgentUnreachable(`cannot reach tortie-agent on ${socketPath}: ${err.message}`, err.code));
      });
      // A connection that closes with no response at all (a crashed agent) must not leave the call pending.
      req.on('close', () => reject(new AgentUnreachable(`the agent on ${socketPath} closed the connection without answering`, 'ECONNRESET')));
      if (payload !== undefined) req.write(payload);
      req.end();
    }),
  };
}
