/** The client side of the control API, for tortiectl and tests (lib/agent-http.ts underneath). */
import { agentRequest, type AgentHttpError, type AgentHttpReply } from '../lib/agent-http.js';
import { TortieError } from '../lib/errors.js';

export class ControlClient {
  constructor(readonly socketPath: string, private readonly timeoutMs = 10000) {}

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let reply: AgentHttpReply;
    try {
      reply = await agentRequest(this.socketPath, method, path, body, this.timeoutMs);
    } catch (err) {
      const e = err as AgentHttpError;
      if (e.errno === 'ENOENT' || e.errno === 'ECONNREFUSED') {
        throw new TortieError('ERR_AGENT_NOT_RUNNING',
          `tortie-agent is not running (nothing answers on ${this.socketPath}: ${e.errno}). Start it, or point --socket at its control socket.`, { cause: err });
      }
      if (e.errno === 'EACCES') throw new TortieError('ERR_AGENT_ACCESS', `permission denied on ${this.socketPath}: the control socket is root-only (mode 0600)`, { cause: err });
      throw new TortieError('ERR_API', `control API call ${method} ${path} failed: ${e.message}`, { cause: err });
    }
    const value = reply.body as { error?: string; code?: string } | undefined;
    if (value?.code === 'ERR_API_BAD_RESPONSE' || value === undefined) {
      throw new TortieError('ERR_API_BAD_RESPONSE', `HTTP ${reply.status}: ${value?.error ?? 'an empty body'}`);
    }
    if (reply.status >= 400) throw new TortieError(value.code ?? 'ERR_API', value.error ?? `HTTP ${reply.status}`);
    return reply.body as T;
  }
}
