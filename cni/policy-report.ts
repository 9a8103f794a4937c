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
 */
import { PolicyAttachmentsClient, PolicyClientError } from '../policy/attachments-client.js';
import type { CommandContext } from './context.js';
import { CniError, CniErrorCode } from './spec/index.js';

const NOTHING_TO_DO = new Set(['ERR_AGENT_NOT_RUNNING', 'ERR_POLICY_DISABLED']);

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
  const client = new PolicyAttachmentsClient(conf.policy.socket);
  const containerId = env.containerId!;
  try {
    await client.register({ namespace, pod, ifName: hostVeth, ips, containerId });
  } catch (err) {
    if (err instanceof PolicyClientError && NOTHING_TO_DO.has(err.code)) return undefined;
    throw new CniError(CniErrorCode.PolicyFailed, `the agent did not take ${namespace}/${pod}'s attachment for NetworkPolicy: ${(err as Error).message}`, `socket: ${conf.policy.socket}`, { cause: err });
  }
  const undo = async (): Promise<void> => {
    await client.unregister(containerId).catch(() => undefined);
  };
  if (conf.policy.waitMs > 0) {
    try {
      const r = await client.waitProgrammed(namespace, pod, conf.policy.waitMs);
      if (!r.programmed) ctx.warn(`NetworkPolicy rules for ${namespace}/${pod} not programmed after ${r.waitedMs} ms (${r.state}${r.message ? `: ${r.message}` : ''}); its traffic is dropped until they are`);
    } catch (err) {
      ctx.warn(`could not wait for ${namespace}/${pod}'s NetworkPolicy rules: ${(err as Error).message}`);
    }
  }
  return { undo };
}

/** Before DEL unwires: forget the attachment. Never fails the DEL. */
export async function forgetAttachment(ctx: CommandContext): Promise<void> {
  if (ctx.conf.policy === undefined) return;
  const client = new PolicyAttachmentsClient(ctx.conf.policy.socket);
  try {
    await client.unregister(ctx.env.containerId!);
  } catch (err) {
    if (err instanceof PolicyClientError && NOTHING_TO_DO.has(err.code)) return;
    ctx.warn(`could not tell the agent that ${ctx.env.containerId!} is going: ${(err as Error).message}`);
  }
}
