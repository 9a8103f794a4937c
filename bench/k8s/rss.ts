/**
 * bench:k8s part 2: the agent's memory with a cluster's worth of objects in
 * its caches. populate() writes N Nodes, the namespaces, pods (created,
 * then given their IPs through the status subresource) and NetworkPolicies;
 * measure() starts one agent configuration, waits until it is synced (and,
 * with policy, ready: everything listed and programmed), lets it settle,
 * and reads VmRSS / VmHWM (and RssAnon / RssFile) from /proc, then
 * memoryUsage() and the V8 heap spaces after a forced full GC.
 */
import { join } from 'node:path';
import type { PolicyShowView, StatusView } from '../../agent/api-types.js';
import { TortieError } from '../../lib/errors.js';
import { sleep, waitFor, type Netns } from '../../test/support/netns.js';
import { timedPool, type RawKube } from './api-client.js';
import { AGENT_NODE_FLAGS, BenchAgent, procMemory, type MemStats, type ProcMemory } from './agent-run.js';
import { ifNameFor } from '../policy/scenario.js';
import { nodeBody, policyCluster, type LocalPod } from './objects.js';

/** The agent's node name in every configuration (no Node object has it: it is no mesh member of itself). */
export const AGENT_NODE = 'bench-agent';

export interface PopulateResult {
  nodes: number;
  namespaces: number;
  pods: number;
  policies: number;
  /** Pods on the agent's node, and the last pod written (the agent knowing it shows its cache is complete). */
  local: LocalPod[];
  probe?: LocalPod;
  /** Wall time of each step, ms. */
  ms: { nodes: number; namespaces: number; pods: number; podStatus: number; policies: number };
}

export async function populate(api: RawKube, o: { nodes: number; pods: number; policies: number; namespaces: number; concurrency: number }): Promise<PopulateResult> {
  const c = policyCluster(o.pods, o.policies, o.namespaces, o.nodes, AGENT_NODE);
  const step = async <T>(items: readonly T[], fn: (x: T) => Promise<unknown>): Promise<number> => {
    const t0 = performance.now();
    await timedPool(items, o.concurrency, fn, t0);
    return performance.now() - t0;
  };
  const ids = Array.from({ length: o.nodes }, (_, i) => i);
  const ms = {
    nodes: await step(ids, (i) => api.call('POST', '/api/v1/nodes', nodeBody(i))),
    namespaces: await step(c.namespaces, (n) => api.call('POST', '/api/v1/namespaces', n)),
    pods: await step(c.pods, (p) => api.call('POST', `/api/v1/namespaces/${p.namespace}/pods`, p.body)),
    podStatus: await step(c.pods, (p) => api.call('PATCH', `/api/v1/namespaces/${p.namespace}/pods/${p.name}/status`, p.status, { contentType: 'application/merge-patch+json' })),
    policies: await step(c.policies, (p) => api.call('POST', `/apis/networking.k8s.io/v1/namespaces/${p.namespace}/networkpolicies`, p.body)),
  };
  const last = c.pods.at(-1);
  const probe = last ? { namespace: last.namespace, name: last.name, ip: last.ip } : undefined;
  return { nodes: o.nodes, namespaces: c.namespaces.length, pods: c.pods.length, policies: c.policies.length, local: c.local, ...(probe ? { probe } : {}), ms };
}

export interface RssRow {
  label: string;
  /** Set when the configuration could not run. */
  unavailable?: string;
  /** Policy rows: the agent knew the last pod written, with its IP (its cache holds every pod). */
  cacheComplete?: boolean;
  memory?: ProcMemory;
  stats?: MemStats;
  /** ms from spawn until synced (with policy: until programmed). */
  startMs?: number;
  /** What the agent says it holds. */
  detail?: string;
}

function describeStatus(s: StatusView): string {
  const parts: string[] = [`sessions ${s.sessions.configured}`];
  if (s.kubernetes) {
    parts.push(`mesh members ${s.kubernetes.meshMembers}`);
    for (const r of s.kubernetes.resources) parts.push(`${r.resource} ${r.objects}`);
    const c = s.kubernetes.cache;
    if (c) parts.push(`cache ${c.state}: ${c.pods} pods, ${c.namespaces} namespaces, ${c.networkPolicies} netpols`);
  }
  if (s.policy) parts.push(`policy: backend ${s.policy.backend ?? '-'}, local pods ${s.policy.programmed}/${s.policy.pods} programmed${s.policy.error !== undefined ? `, error ${s.policy.error}` : ''}`);
  const policyNotReady = s.notReady.filter((x) => x.includes('NetworkPolicy'));
  if (policyNotReady.length > 0) parts.push(`not ready: ${policyNotReady.join('; ')}`);
  return parts.join(', ');
}

export interface MeasureOptions {
  label: string;
  ns: Netns;
  dir: string;
  kubeconfig?: string;
  /** With policy: the pods on this node (registered as the CNI plugin would) and a pod the cache must know. */
  policy?: { local: readonly LocalPod[]; probe?: LocalPod };
  settleMs: number;
  /** Extra Node.js flags and environment for the agent (experiments). */
  variant?: { nodeArgs: readonly string[]; env: Readonly<Record<string, string>> };
}

/**
 * Waits until the policy source is synced and applied, checks that the
 * probe pod is known with its IP (false: the source does not hold the API's
 * pods), and then that every local pod is programmed.
 */
async function policyProgrammed(agent: BenchAgent, o: NonNullable<MeasureOptions['policy']>): Promise<boolean> {
  const fail = async (err: unknown): Promise<never> => {
    throw new TortieError('ERR_BENCH', `${(err as Error).message.split('\n')[0]}: ${describeStatus(await agent.status())}`);
  };
  await waitFor('NetworkPolicy input synced and applied', async () => {
    const s = await agent.status();
    return s.policy?.backend !== undefined && !s.notReady.some((x) => x.includes('NetworkPolicy')) ? true : undefined;
  }, { timeoutMs: 90_000, intervalMs: 200 }).catch(fail);
  const probe = o.probe;
  if (probe) {
    const known = await waitFor(`pod ${probe.namespace}/${probe.name} in the agent's policy source`, async () => {
      const v = await agent.client.get<PolicyShowView>(`/v1/policy/pods/${probe.namespace}/${probe.name}`);
      return v.ips.includes(probe.ip) ? true : undefined;
    }, { timeoutMs: 10_000, intervalMs: 250 }).catch(() => false);
    if (!known) return false;
  }
  await waitFor('NetworkPolicy programmed for the local pods', async () => {
    const s = await agent.status();
    return s.policy?.programmed === o.local.length ? true : undefined;
  }, { timeoutMs: 60_000, intervalMs: 200 }).catch(fail);
  return true;
}

/** One agent configuration, started, settled, measured, stopped. */
export async function measure(o: MeasureOptions): Promise<RssRow> {
  const t0 = performance.now();
  let agent: BenchAgent;
  try {
    agent = await BenchAgent.start({
      name: AGENT_NODE, ns: o.ns, dir: o.dir, policy: o.policy !== undefined, ...o.variant, ...(o.kubeconfig !== undefined ? { kubeconfig: o.kubeconfig } : {}),
    });
  } catch (err) {
    return { label: o.label, unavailable: (err as Error).message.split('\n').slice(0, 6).join(' | ').slice(0, 400) };
  }
  try {
    let cacheComplete: boolean | undefined;
    if (o.policy) {
      for (const [i, p] of o.policy.local.entries()) {
        await agent.client.post('/v1/policy/attachments', {
          namespace: p.namespace, pod: p.name, ifName: ifNameFor('tortie', `${p.namespace}/${p.name}`), ips: [p.ip], containerId: `bench${i}`,
        });
      }
      cacheComplete = await policyProgrammed(agent, o.policy);
    }
    const startMs = performance.now() - t0;
    await sleep(o.settleMs);
    const status = await agent.status();
    const memory = agent.memory();
    const stats = await agent.memStats();
    return { label: o.label, memory, stats, startMs, detail: describeStatus(status), ...(cacheComplete !== undefined ? { cacheComplete } : {}) };
  } catch (err) {
    return { label: o.label, unavailable: (err as Error).message.slice(0, 400) };
  } finally {
    await agent.stop();
  }
}

/** The Node.js runtime alone with the agent's flags, idle: the floor under every row. */
export async function bareNode(ns: Netns, dir: string, settleMs: number): Promise<RssRow> {
  const proc = ns.spawn(process.execPath, [...AGENT_NODE_FLAGS, '-e', 'setInterval(() => {}, 1e6)'], { logFile: join(dir, 'bare-node.log') });
  try {
    await sleep(Math.min(settleMs, 2000));
    return { label: 'Node.js runtime alone (node -e, idle)', memory: procMemory(proc.pid) };
  } finally {
    await proc.stop();
  }
}
