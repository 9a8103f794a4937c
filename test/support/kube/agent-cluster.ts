/**
 * The set-up every test of the agent against a real API server shares: a
 * cluster with an audit log, the agent's ServiceAccount as a user, deploy/'s
 * RBAC (and CRDs, unless told otherwise), and a wait until the authorizer
 * lets the agent in. Audit events before `auditFrom` are the set-up's own.
 */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { waitFor } from '../netns.js';
import { createManifests, readManifests } from './apply.js';
import { KubeCluster } from './cluster.js';

/** The tortie-agent ServiceAccount as the API server names it. */
export const AGENT_USER = 'system:serviceaccount:kube-system:tortie-agent';

const DEPLOY = resolve(import.meta.dirname, '../../../deploy');

export interface AgentCluster {
  readonly kube: KubeCluster;
  /** Audit events of AGENT_USER before this index came from the set-up (the RBAC wait). */
  readonly auditFrom: number;
}

export interface AgentClusterOptions {
  /** Also create deploy/crds/ (default true). */
  readonly crds?: boolean;
  /**
   * The agent's first call, repeated until RBAC lets it through. Use one of
   * the rows the test's audit check allows (a late audit line of it must
   * not count against the test). Default: list nodes.
   */
  readonly probe?: (asAgent: KubeConfig) => Promise<unknown>;
}

export async function startAgentCluster(opts: AgentClusterOptions = {}): Promise<AgentCluster> {
  const kube = await KubeCluster.start({
    audit: true,
    users: [{ name: AGENT_USER, groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] }],
  });
  try {
    const crds = opts.crds === false ? [] : readdirSync(join(DEPLOY, 'crds')).map((f) => join(DEPLOY, 'crds', f));
    await createManifests(kube.kubeConfig(), readManifests([...crds, join(DEPLOY, 'rbac.yaml')]));
    // RBAC takes a moment to reach the authorizer's cache.
    const asAgent = kube.kubeConfig(AGENT_USER);
    const probe = opts.probe ?? ((kc: KubeConfig) => kc.makeApiClient(CoreV1Api).listNode({ limit: 1 }));
    await waitFor('RBAC for the agent', async () => ((await probe(asAgent)) !== undefined ? true : undefined), { timeoutMs: 30_000, intervalMs: 100 });
    return { kube, auditFrom: kube.auditEvents(AGENT_USER).length };
  } catch (err) {
    await kube.stop();
    throw err;
  }
}
