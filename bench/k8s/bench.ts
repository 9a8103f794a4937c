/**
 * npm run bench:k8s — the agent against a real API server (etcd +
 * kube-apiserver on loopback, test/support/kube), as the agent's
 * ServiceAccount with deploy/'s CRDs and RBAC. Needs root.
 *
 *   1. Mesh convergence: N Node objects (default 500) created at once; the
 *      time until the agent's `GET /v1/bgp/sessions` lists N sessions with
 *      source node/<name>, from the first and from the last create's
 *      response; then all deleted at once and the time until none is left.
 *      A few rounds, p50 and max.
 *   2. RSS: VmRSS and VmHWM of the agent with N Nodes, P pods (default
 *      5,000, IPs set through the status subresource) and Q NetworkPolicies
 *      (default 500) in 20 namespaces in the API, for: the Node.js runtime
 *      alone, a standalone agent, Kubernetes on with policy off, and policy
 *      on (its source is the API). Then memoryUsage() and heap spaces after
 *      a forced GC (a preload), to say what dominates.
 *
 * The agent is the bundle (dist/bin/tortie-agent, built first) in a network
 * namespace of its own, where 198.18.0.0/15 (every Node's BGP address) is an
 * `unreachable` route and there is no other interface than lo: no connect
 * leaves it, and its iptables and ipsets (policy on) stay there. It reaches
 * the apiserver on the host's 127.0.0.1 through test/support/kube's
 * unix-socket bridge. There is no reference tool: the issue's targets are
 * printed instead. Targets (issue 7): mesh converged within 5 s of the watch
 * events; RSS < 150 MiB with 5,000 Pods and 500 NetworkPolicies cached.
 *
 * Options: --nodes 500 --rounds 3 --pods 5000 --policies 500 --namespaces 20
 *          --concurrency 32 --settle 5 (seconds before RSS is read)
 *          --skip-rss --json FILE
 *          --agent-flags=--optimize-for-size --agent-env MALLOC_ARENA_MAX=2
 *            (experiments: extra Node.js flags / environment for every agent)
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { TortieError } from '../../lib/errors.js';
import { ensureBuilt } from '../../ipam/testing/harness.js';
import { createManifests, KubeCluster, readManifests } from '../../test/support/kube/index.js';
import { ApiBridge } from '../../test/support/kube/netns-bridge.js';
import { isRoot, requireCommands, Topology, waitFor, type Netns } from '../../test/support/netns.js';
import { RawKube } from './api-client.js';
import { AGENT_NODE_FLAGS, BenchAgent, daemonSetAgentRuntime, type ProcMemory } from './agent-run.js';
import { meshRounds, type MeshResult, type MeshRound } from './mesh.js';
import { AGENT_NODE, bareNode, measure, populate, type PopulateResult, type RssRow } from './rss.js';

const REPO = resolve(import.meta.dirname, '../..');
const AGENT_USER = 'system:serviceaccount:kube-system:tortie-agent';
const MESH_TARGET_MS = 5000;
const RSS_TARGET_MIB = 150;

const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string', default: '500' },
    rounds: { type: 'string', default: '3' },
    pods: { type: 'string', default: '5000' },
    policies: { type: 'string', default: '500' },
    namespaces: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '32' },
    settle: { type: 'string', default: '5' },
    'skip-rss': { type: 'boolean', default: false },
    'agent-flags': { type: 'string', default: '' },
    'agent-env': { type: 'string', default: '' },
    json: { type: 'string' },
  },
});

function int(name: keyof typeof args, min: number): number {
  const v = Number(args[name]);
  if (!Number.isInteger(v) || v < min) throw new TortieError('ERR_BENCH_USAGE', `--${name} takes an integer ≥ ${min}`);
  return v;
}

const cli = {
  nodes: int('nodes', 1), rounds: int('rounds', 1), pods: int('pods', 0), policies: int('policies', 0), namespaces: int('namespaces', 1),
  concurrency: int('concurrency', 1), settleMs: int('settle', 0) * 1000, skipRss: args['skip-rss'] === true, json: args.json,
  /** Experiments: extra Node.js flags and environment for every agent (e.g. --optimize-for-size, MALLOC_ARENA_MAX=2). */
  agentFlags: (args['agent-flags'] ?? '').split(' ').filter((x) => x !== ''),
  agentEnv: Object.fromEntries((args['agent-env'] ?? '').split(',').filter((x) => x.includes('=')).map((x) => [x.slice(0, x.indexOf('=')), x.slice(x.indexOf('=') + 1)])),
};
/** Agents run as deploy/daemonset.yaml runs them, plus any experiment flags. */
const shipped = daemonSetAgentRuntime();
const variant = { nodeArgs: [...shipped.nodeArgs, ...cli.agentFlags], env: { ...shipped.env, ...cli.agentEnv } };

const mib = (kib: number): string => (kib / 1024).toFixed(1);
const mb = (bytes: number): string => (bytes / 1048576).toFixed(1);
const s = (ms: number | undefined): string => (ms === undefined ? '-' : (ms / 1000).toFixed(2));
const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');

function quantile(xs: readonly number[], p: number): number {
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.floor(p * v.length))] ?? Number.NaN;
}

function meshTable(title: string, rounds: readonly MeshRound[], verb: string): string[] {
  const head = `${'round'.padEnd(7)}${`${verb} s`.padStart(10)}${'first→conv s'.padStart(14)}${'last→conv s'.padStart(13)}${'last→log s'.padStart(12)}${'reloads'.padStart(9)}`;
  const row = (r: MeshRound): string =>
    `${String(r.round).padEnd(7)}${s(r.writeMs).padStart(10)}${s(r.fromFirstMs).padStart(14)}${s(r.fromLastMs).padStart(13)}${s(r.logFromLastMs).padStart(12)}${String(r.reloads).padStart(9)}`;
  const agg = (name: string, p: number): string => `${name.padEnd(7)}${s(quantile(rounds.map((r) => r.writeMs), p)).padStart(10)}${s(quantile(rounds.map((r) => r.fromFirstMs), p)).padStart(14)}${s(quantile(rounds.map((r) => r.fromLastMs), p)).padStart(13)}`;
  return [title, head, ...rounds.map(row), agg('p50', 0.5), agg('max', 1)];
}

function memCells(m: ProcMemory | undefined): string {
  if (!m) return '';
  return `${mib(m.vmRssKiB).padStart(10)}${mib(m.vmHwmKiB).padStart(10)}${mib(m.rssAnonKiB).padStart(9)}${mib(m.rssFileKiB).padStart(9)}`;
}

function rssTable(rows: readonly RssRow[]): string[] {
  const out = [
    `${'configuration'.padEnd(52)}${'VmRSS'.padStart(10)}${'VmHWM'.padStart(10)}${'anon'.padStart(9)}${'file'.padStart(9)}${'start s'.padStart(9)}   (MiB; after GC: heap used/total, external, arrayBuffers MB)`,
  ];
  for (const r of rows) {
    if (r.unavailable !== undefined) {
      out.push(`${r.label.padEnd(52)} not measured: ${r.unavailable}`);
      continue;
    }
    const a = r.stats?.after;
    const gc = a ? `   ${mb(a.heapUsed)}/${mb(a.heapTotal)}, ${mb(a.external)}, ${mb(a.arrayBuffers)}` : '';
    out.push(`${r.label.padEnd(52)}${memCells(r.memory)}${s(r.startMs).padStart(9)}${gc}`);
    if (r.detail !== undefined) out.push(`${''.padEnd(4)}${r.detail}`);
  }
  const withStats = rows.filter((r) => r.stats);
  if (withStats.length > 0) {
    out.push('', 'V8 heap spaces after GC (used/size MB), and memoryUsage().rss before → after the GC:');
    for (const r of withStats) {
      const st = r.stats!;
      const spaces = st.spaces.filter((x) => x.size > 0).map((x) => `${x.name.replace(/_space$/, '')} ${mb(x.used)}/${mb(x.size)}`).join(', ');
      out.push(`  ${r.label}: ${spaces}; malloced ${mb(st.heap.malloced_memory)}; rss ${mb(st.before.rss)} → ${mb(st.after.rss)}`);
      const a = st.anon;
      if (a) out.push(`    anon MiB: glibc brk heap ${mib(a.brkHeapKiB)}, glibc arenas ${mib(a.arenaKiB)} (${a.arenas}), stacks ${mib(a.stackKiB)}, other (V8 pages, mmaps) ${mib(a.otherKiB)}; largest other KiB size/rss ${a.largestOther.join(' ')}`);
    }
  }
  return out;
}

/**
 * The API server, with its directory (etcd's data) on tmpfs when there is
 * one: 10,000 pod writes are the slowest part of the run, and an fsync per
 * etcd commit on a shared disk only makes the set-up slower, not the agent.
 */
async function startCluster(): Promise<KubeCluster> {
  const saved = process.env.TMPDIR;
  if (existsSync('/dev/shm')) process.env.TMPDIR = '/dev/shm';
  try {
    return await KubeCluster.start({
      users: [{ name: AGENT_USER, groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] }],
    });
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

async function agentNamespace(topo: Topology): Promise<Netns> {
  const ns = await topo.addNamespace('k8s-bench');
  // Every Node's BGP address is in here: connects fail at once (ENETUNREACH), nothing can leave.
  await ns.ip(['route', 'add', 'unreachable', '198.18.0.0/15']);
  return ns;
}

interface Results {
  mesh?: MeshResult;
  meshRss?: { idle: ProcMemory; withNodes?: ProcMemory };
  populate?: PopulateResult;
  rss: RssRow[];
}

async function run(results: Results): Promise<void> {
  if (!isRoot()) throw new TortieError('ERR_BENCH_PREREQ', 'bench:k8s needs root (the agent runs in its own network namespace)');
  requireCommands(['ip', 'iptables', 'ipset', 'openssl']);
  const topo = new Topology();
  let kube: KubeCluster | undefined;
  let bridge: ApiBridge | undefined;
  let api: RawKube | undefined;
  try {
    const built = ensureBuilt();
    kube = await startCluster();
    await built;
    const deploy = join(REPO, 'deploy');
    const crds = readdirSync(join(deploy, 'crds')).map((f) => join(deploy, 'crds', f));
    await createManifests(kube.kubeConfig(), readManifests([...crds, join(deploy, 'rbac.yaml')]));
    const asAgent = new RawKube(kube.server, kube.token(AGENT_USER), kube.caFile, 1);
    await waitFor('RBAC for the agent', async () => ((await asAgent.send('GET', '/api/v1/nodes?limit=1')).status === 200 ? true : undefined), { timeoutMs: 30_000, intervalMs: 100 });
    asAgent.close();
    const kubeconfig = kube.kubeconfigFileFor(AGENT_USER);
    api = new RawKube(kube.server, kube.token(), kube.caFile, cli.concurrency);

    const ns = await agentNamespace(topo);
    bridge = new ApiBridge(kube.server, topo.tmpDir);
    await bridge.restore();
    await bridge.forwardInto(ns, join(topo.tmpDir, 'forwarder.log'));

    // 1. Mesh convergence.
    const agent = await BenchAgent.start({ name: AGENT_NODE, ns, dir: join(topo.tmpDir, 'mesh-agent'), kubeconfig, policy: false, ...variant });
    try {
      const idle = agent.memory();
      results.meshRss = { idle };
      results.mesh = await meshRounds(agent, api, {
        nodes: cli.nodes, rounds: cli.rounds, concurrency: cli.concurrency,
        onConverged: (r) => {
          if (r === 1) results.meshRss = { idle, withNodes: agent.memory() };
        },
      });
    } finally {
      await agent.stop();
    }
    if (cli.skipRss) return;

    // 2. RSS with a cluster's worth of objects.
    results.populate = await populate(api, { nodes: cli.nodes, pods: cli.pods, policies: cli.policies, namespaces: cli.namespaces, concurrency: cli.concurrency });
    const dir = (k: string): string => join(topo.tmpDir, `rss-${k}`);
    results.rss.push(await bareNode(ns, topo.tmpDir, cli.settleMs));
    results.rss.push(await measure({ label: 'standalone agent (kubernetes off), idle', ns, dir: dir('standalone'), settleMs: cli.settleMs, variant }));
    results.rss.push(await measure({ label: `kubernetes on, policy off (${cli.nodes} Node sessions)`, ns, dir: dir('k8s'), kubeconfig, settleMs: cli.settleMs, variant }));
    const p = results.populate;
    results.rss.push(await measure({
      label: `kubernetes on, policy on (+${p.pods} pods, ${p.policies} netpols)`, ns, dir: dir('policy'), kubeconfig, settleMs: cli.settleMs, variant,
      policy: { local: p.local, ...(p.probe ? { probe: p.probe } : {}) },
    }));
  } finally {
    api?.close();
    await topo.destroy();
    await bridge?.close();
    await kube?.stop();
  }
}

function report(r: Results, seconds: number): string {
  const lines = [
    `bench:k8s — ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Linux ${release()}, Node ${process.version}, load average ${load()}; run ${seconds.toFixed(0)} s`,
    'no reference tool: the issue\'s targets are printed instead',
    `agents run as deploy/daemonset.yaml runs them: node ${shipped.nodeArgs.join(' ')} (after the bundle's own ${AGENT_NODE_FLAGS.join(' ')}), environment ${JSON.stringify(shipped.env)}`,
  ];
  if (cli.agentFlags.length > 0 || Object.keys(cli.agentEnv).length > 0) {
    lines.push(`agents run with extra flags [${cli.agentFlags.join(' ')}] and environment ${JSON.stringify(cli.agentEnv)} (not the shipped configuration)`);
  }
  if (r.mesh) {
    const m = r.mesh;
    lines.push('', `mesh convergence: ${m.nodes} Node objects at once (${m.concurrency} writes in flight, ${m.apiRetries} retried), sessions polled every ${m.pollMs} ms`);
    lines.push(...meshTable(`create ${m.nodes} Nodes → ${m.nodes} node/ sessions`, m.create, 'create'));
    lines.push('', ...meshTable(`delete ${m.nodes} Nodes → 0 node/ sessions`, m.remove, 'delete'));
    const worst = Math.max(...m.create.map((x) => x.fromLastMs));
    const worstDel = Math.max(...m.remove.map((x) => x.fromLastMs));
    lines.push(
      '',
      `target (mesh converged within 5 s of the watch events, taken as the last create's response): ${worst <= MESH_TARGET_MS ? 'met' : 'NOT met'} — max ${s(worst)} s, p50 ${s(quantile(m.create.map((x) => x.fromLastMs), 0.5))} s`,
      `same bound for the deletes: ${worstDel <= MESH_TARGET_MS ? 'met' : 'NOT met'} — max ${s(worstDel)} s`,
    );
    if (r.meshRss) {
      lines.push(`agent memory: idle ${mib(r.meshRss.idle.vmRssKiB)} MiB VmRSS; with ${m.nodes} Node sessions ${r.meshRss.withNodes ? `${mib(r.meshRss.withNodes.vmRssKiB)} MiB VmRSS, ${mib(r.meshRss.withNodes.vmHwmKiB)} MiB VmHWM` : '-'}`);
    }
  }
  if (r.populate) {
    const p = r.populate;
    lines.push('', `objects: ${p.nodes} Nodes ${s(p.ms.nodes)} s, ${p.namespaces} namespaces ${s(p.ms.namespaces)} s, ${p.pods} pods ${s(p.ms.pods)} s + status ${s(p.ms.podStatus)} s, ${p.policies} NetworkPolicies ${s(p.ms.policies)} s`);
  }
  if (r.rss.length > 0) {
    lines.push('', ...rssTable(r.rss));
    const target = r.rss.at(-1);
    if (target?.memory && target.cacheComplete === false) {
      lines.push('', `target (RSS < ${RSS_TARGET_MIB} MiB with Pods and NetworkPolicies cached): not measured — the agent's policy source does not hold the API's pods (KubePolicySource not wired into the agent?); VmRSS ${mib(target.memory.vmRssKiB)} MiB without them`);
    } else if (target?.memory) {
      const rss = target.memory.vmRssKiB / 1024;
      const hwm = target.memory.vmHwmKiB / 1024;
      lines.push('', `target (RSS < ${RSS_TARGET_MIB} MiB with ${r.populate?.pods ?? '?'} Pods and ${r.populate?.policies ?? '?'} NetworkPolicies cached): ${rss < RSS_TARGET_MIB ? 'met' : 'NOT met'} — VmRSS ${rss.toFixed(1)} MiB; peak (VmHWM) ${hwm.toFixed(1)} MiB ${hwm < RSS_TARGET_MIB ? '(also under)' : '(over)'}`);
    } else if (target) {
      lines.push('', `target (RSS < ${RSS_TARGET_MIB} MiB with Pods and NetworkPolicies cached): not measured — ${target.unavailable ?? '?'}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const results: Results = { rss: [] };
  let failure: Error | undefined;
  try {
    await run(results);
  } catch (err) {
    failure = err instanceof Error ? err : new Error(String(err));
  }
  process.stdout.write(report(results, (performance.now() - t0) / 1000));
  if (cli.json !== undefined) writeFileSync(cli.json, `${JSON.stringify({ loadavg: loadavg(), cli, ...results }, null, 2)}\n`);
  if (failure !== undefined) throw failure;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:k8s: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
