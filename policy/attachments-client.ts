/**
 * The CNI plugin's side of NetworkPolicy: tell the agent which host veth
 * and addresses a pod got (after wiring), forget it (before unwiring), and
 * wait, bounded, until the pod's rules are programmed. HTTP+JSON over the
 * agent's control socket. Deliberately dependency-free (node:http only) so
 * the plugin bundle stays small and cheap to start.
 *
 * Errors carry a string `code` like TortieError's: ERR_AGENT_NOT_RUNNING
 * (nothing on the socket), ERR_POLICY_DISABLED (the agent does not enforce
 * policy: the plugin skips the calls), or the agent's own code.
 */
import { request } from 'node:http';

export interface AttachmentInfo {
  namespace: string;
  pod: string;
  /** Host-side veth. */
  ifName: string;
  ips: string[];
  containerId: string;
}

export interface WaitResult {
  pod: string;
  programmed: boolean;
  state: string;
  waitedMs: number;
  message?: string;
}

export class PolicyClientError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'PolicyClientError';
  }
}

export const DEFAULT_CONTROL_SOCKET = '/run/tortie/tortie.sock';

function call<T>(socketPath: string, method: string, path: string, body: unknown, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request({
      socketPath, path, method, timeout: timeoutMs,
      headers: payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          reject(new PolicyClientError('ERR_API_BAD_RESPONSE', `agent answered ${res.statusCode ?? '?'} with non-JSON: ${text.slice(0, 200)}`));
          return;
        }
        if ((res.statusCode ?? 500) >= 400) {
          const e = value as { error?: string; code?: string };
          reject(new PolicyClientError(e.code ?? 'ERR_API', e.error ?? `HTTP ${res.statusCode ?? '?'}`));
          return;
        }
        resolve(value as T);
      });
    });
    req.on('timeout', () => req.destroy(new PolicyClientError('ERR_API_TIMEOUT', `${method} ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof PolicyClientError) reject(err);
      else if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new PolicyClientError('ERR_AGENT_NOT_RUNNING', `tortie-agent is not answering on ${socketPath} (${err.code})`));
      else reject(new PolicyClientError('ERR_API', `${method} ${path} on ${socketPath}: ${err.message}`));
    });
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

export class PolicyAttachmentsClient {
  constructor(readonly socketPath = DEFAULT_CONTROL_SOCKET, private readonly timeoutMs = 5000) {}

  /** After wiring: the pod's interface becomes dispatchable once its rules are written. */
  register(a: AttachmentInfo): Promise<{ pod: string; state: string }> {
    return call(this.socketPath, 'POST', '/v1/policy/attachments', a, this.timeoutMs);
  }

  /**
   * Before unwiring; idempotent (removed: false when nothing was registered).
   * With `hostIfName`, only that veth's attachment; without, every one of the container.
   */
  unregister(containerId: string, hostIfName?: string): Promise<{ removed: boolean; pod?: string }> {
    const q = `containerId=${encodeURIComponent(containerId)}${hostIfName !== undefined ? `&ifName=${encodeURIComponent(hostIfName)}` : ''}`;
    return call(this.socketPath, 'DELETE', `/v1/policy/attachments?${q}`, undefined, this.timeoutMs);
  }

  /** Resolves when programmed or after `timeoutMs` with programmed: false and a message; never rejects on a timeout of the wait itself. */
  waitProgrammed(namespace: string, pod: string, timeoutMs: number): Promise<WaitResult> {
    const q = `namespace=${encodeURIComponent(namespace)}&pod=${encodeURIComponent(pod)}&timeoutMs=${timeoutMs}`;
    return call(this.socketPath, 'GET', `/v1/policy/wait?${q}`, undefined, timeoutMs + this.timeoutMs);
  }
}
