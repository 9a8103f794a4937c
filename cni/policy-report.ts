/**
 * The plugin's part in NetworkPolicy: after wiring, tell the agent which
 * host veth and addresses the pod got and wait (bounded) until its rules are
 * programmed; before unwiring, tell it the attachment is going.
 *
 * Nothing to do when no agent answers on the socket (a node without one, or
 * another IPAM), when the agent does not enforce policy, or when the pod has
 * no Kubernetes identity. A refusal from an agent that does enforce policy
 * fails the ADD (rolled back): the enforcer drops traffic of interfaces it
 * does not know, so wiring the pod anyway would leave it cut off. A wait that
 * times out does not fail ADD: the pod's traffic stays dropped until its
 * rules are in place (fail-closed), and the agent logs why.
 *
 * The calls are those of policy/attachments-client.ts (the same endpoints,
 * bodies and error codes), made through agent-http.ts rather than node:http:
 * a first http.request costs a CNI invocation about 20 ms more CPU. When the
 * socket file does not exist there is no agent, and nothing is loaded at all.
 */
import { AgentHttpError, agentRequest } from '../lib/agent-http.js';
import type { CommandContext } from './context.js';
import { CniError, CniErrorCode } from './spec/index.js';

const NOTHING_TO_DO = new Set(['ERR_AGENT_NOT_RUNNING', 'ERR_POLICY_DISABLED']);
/** Per call, like PolicyAttachmentsClient's default; the wait gets its own bound on top. */
const CALL_TIMEOUT_MS = 5000;

/** A failed policy call, with the string code the agent (or the transport) gave. */
export class PolicyCallError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'PolicyCallError';
  }
}

interface WaitResult {
  programmed: boolean;
  state: string;
  waitedMs: number;
  message?: string;
}

async function policyCall<T>(socket: string, method: string, path: string, body: unknown, timeoutMs: number): Promise<T> {
  let reply;
  try {
    reply = await agentRequest(socket, method, path, body, timeoutMs);
  } catch (err) {
    const errno = err instanceof AgentHttpError ? err.errno : undefined;
    if (errno === 'ENOENT' || errno === 'ECONNREFUSED') throw new PolicyCallError('ERR_AGENT_NOT_RUNNING', `tortie-agent is not answering on ${socket} (${errno})`);
    if (errno === 'ETIMEDOUT') throw new PolicyCallError('ERR_API_TIMEOUT', `${method} ${path}: no answer within ${timeoutMs} ms`);
    throw new PolicyCallError('ERR_API', `${method} ${path} on ${socket}: ${(err as Error).message}`);
  }
  const value = reply.body as { error?: unknown; code?: unknown } | undefined;
  if (reply.status >= 400 || value?.code === 'ERR_API_BAD_RESPONSE' || value === undefined) {
    const code = typeof value?.code === 'string' ? value.code : reply.status >= 400 ? 'ERR_API' : 'ERR_API_BAD_RESPONSE';
    const msg = typeof value?.error === 'string' ? value.error : `HTTP ${reply.status}`;
    throw new PolicyCallError(code, msg);
  }
  return value as T;
}

/** True when something (a socket, we hope) exists at the agent's socket path; otherwise there is no agent. */
function agentPresent(ctx: CommandContext, socket: string): boolean {
  return ctx.host.stat(socket) !== undefined;
}

export interface ReportedAttachment {
  /** Undo for the rollback list. */
  undo(): Promise<void>;
}

/** Registers the attachment and waits for its rules; undefined when there was nothing to do. */
export async function reportAttachment(ctx: CommandContext, hostVeth: string, ips: string[]): Promise<ReportedAttachment | undefined> {
  const { conf, env } = ctx;
  const namespace = conf.k8s.namespace;
  const pod = conf.k8s.podName;
  if (conf.policy === undefined || namespace === undefined || pod === undefined) return undefined;
  const { socket, waitMs } = conf.policy;
  if (!agentPresent(ctx, socket)) return undefined;
  const containerId = env.containerId!;
  try {
    await policyCall(socket, 'POST', '/v1/policy/attachments', { namespace, pod, ifName: hostVeth, ips, containerId, podIfName: env.ifname! }, CALL_TIMEOUT_MS);
  } catch (err) {
    if (err instanceof PolicyCallError && NOTHING_TO_DO.has(err.code)) return undefined;
    throw new CniError(CniErrorCode.PolicyFailed, `the agent did not take ${namespace}/${pod}'s attachment for NetworkPolicy: ${(err as Error).message}`, `socket: ${socket}`, { cause: err });
  }
  const undo = async (): Promise<void> => {
    await unregister(socket, containerId, env.ifname!).catch(() => undefined);
  };
  if (waitMs > 0) {
    try {
      const q = `namespace=${encodeURIComponent(namespace)}&pod=${encodeURIComponent(pod)}&timeoutMs=${waitMs}`;
      const r = await policyCall<WaitResult>(socket, 'GET', `/v1/policy/wait?${q}`, undefined, waitMs + CALL_TIMEOUT_MS);
      if (!r.programmed) ctx.warn(`NetworkPolicy rules for ${namespace}/${pod} not programmed after ${r.waitedMs} ms (${r.state}${r.message ? `: ${r.message}` : ''}); its traffic is dropped until they are`);
    } catch (err) {
      ctx.warn(`could not wait for ${namespace}/${pod}'s NetworkPolicy rules: ${(err as Error).message}`);
    }
  }
  return { undo };
}

/** Forgets one attachment: the container's, on its interface `podIfName` (CNI_IFNAME). */
function unregister(socket: string, containerId: string, podIfName: string): Promise<unknown> {
  const q = `containerId=${encodeURIComponent(containerId)}&podIfName=${encodeURIComponent(podIfName)}`;
  return policyCall(socket, 'DELETE', `/v1/policy/attachments?${q}`, undefined, CALL_TIMEOUT_MS);
}

/** Before DEL unwires: forget the attachment. Never fails the DEL. */
export async function forgetAttachment(ctx: CommandContext): Promise<void> {
  const policy = ctx.conf.policy;
  if (policy === undefined || !agentPresent(ctx, policy.socket)) return;
  try {
    await unregister(policy.socket, ctx.env.containerId!, ctx.env.ifname!);
  } catch (err) {
    if (err instanceof PolicyCallError && NOTHING_TO_DO.has(err.code)) return;
    ctx.warn(`could not tell the agent that ${ctx.env.containerId!} is going: ${(err as Error).message}`);
  }
}
