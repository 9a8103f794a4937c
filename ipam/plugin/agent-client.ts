/**
 * tortie-ipam's line to the agent: JSON over HTTP on the control socket
 * (lib/agent-http.ts: node:net and nothing else, so the plugin starts fast).
 */
import { AgentHttpError, agentRequest } from '../../lib/agent-http.js';

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
    call: async (method, path, body) => {
      try {
        return await agentRequest(socketPath, method, path, body, timeoutMs);
      } catch (err) {
        throw err instanceof AgentHttpError ? new AgentUnreachable(err.message, err.errno) : err;
      }
    },
  };
}
