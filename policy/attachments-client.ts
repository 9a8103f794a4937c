/**
 * The CNI plugin's side of NetworkPolicy: tell the agent which host veth
 * and addresses a pod got (after wiring), forget it (before unwiring), and
 * wait, bounded, until the pod's rules are programmed. HTTP+JSON over the
 * agent's control socket, through lib/agent-http.ts (node:net only).
 *
 * Errors carry a string `code` like TortieError's: ERR_AGENT_NOT_RUNNING
 * (nothing on the socket), ERR_POLICY_DISABLED (the agent does not enforce
 * policy: the plugin skips the calls), or the agent's own code.
 */
import { agentRequest, type AgentHttpError, type AgentHttpReply } from '../lib/agent-http.js';

export interface AttachmentInfo {
  namespace: string;
  pod: string;
  /** Host-side veth. */
  ifName: string;
  ips: string[];
  containerId: string;
  /** The pod-side interface (CNI_IFNAME). */
  podIfName?: string;
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

async function call<T>(socketPath: string, method: string, path: string, body: unknown, timeoutMs: number): Promise<T> {
  let reply: AgentHttpReply;
  try {
    reply = await agentRequest(socketPath, method, path, body, timeoutMs);
  } catch (err) {
    const e = err as AgentHttpError;
    if (e.errno === 'ENOENT' || e.errno === 'ECONNREFUSED') throw new PolicyClientError('ERR_AGENT_NOT_RUNNING', `tortie-agent is not answering on ${socketPath} (${e.errno})`);
    if (e.errno === 'ETIMEDOUT') throw new PolicyClientError('ERR_API_TIMEOUT', `${method} ${path}: no answer within ${timeoutMs} ms`);
    throw new PolicyClientError('ERR_API', `${method} ${path} on ${socketPath}: ${e.message}`);
  }
  const value = reply.body as { error?: string; code?: string } | undefined;
  if (value === undefined || value.code === 'ERR_API_BAD_RESPONSE') throw new PolicyClientError('ERR_API_BAD_RESPONSE', `agent answered ${reply.status} with ${value?.error ?? 'an empty body'}`);
  if (reply.status >= 400) throw new PolicyClientError(value?.code ?? 'ERR_API', value?.error ?? `HTTP ${reply.status}`);
  return reply.body as T;
}

export class PolicyAttachmentsClient {
  constructor(readonly socketPath = DEFAULT_CONTROL_SOCKET, private readonly timeoutMs = 5000) {}

  /** After wiring: the pod's interface becomes dispatchable once its rules are written. */
  register(a: AttachmentInfo): Promise<{ pod: string; state: string }> {
    return call(this.socketPath, 'POST', '/v1/policy/attachments', a, this.timeoutMs);
  }

  /**
   * Before unwiring; idempotent (removed: false when nothing was registered).
   * With `podIfName` (CNI_IFNAME), only that interface's attachment; without, every one of the container.
   */
  unregister(containerId: string, podIfName?: string): Promise<{ removed: boolean; pod?: string }> {
    const q = `containerId=${encodeURIComponent(containerId)}${podIfName !== undefined ? `&podIfName=${encodeURIComponent(podIfName)}` : ''}`;
    return call(this.socketPath, 'DELETE', `/v1/policy/attachments?${q}`, undefined, this.timeoutMs);
  }

  /** Resolves when programmed or after `timeoutMs` with programmed: false and a message; never rejects on a timeout of the wait itself. */
  waitProgrammed(namespace: string, pod: string, timeoutMs: number): Promise<WaitResult> {
    const q = `namespace=${encodeURIComponent(namespace)}&pod=${encodeURIComponent(pod)}&timeoutMs=${timeoutMs}`;
    return call(this.socketPath, 'GET', `/v1/policy/wait?${q}`, undefined, timeoutMs + this.timeoutMs);
  }
}
