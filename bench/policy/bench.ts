/**
 * bench:policy — NetworkPolicy at scale, in throw-away namespaces (root).
 *
 *   npm run bench:policy [-- --pods 1000 --policies 200 --reps 15 --seconds 3]
 *   npm run bench:policy -- --incremental-only   (program once, then only the incremental changes)
 *
 * One node namespace holds the rules for `pods` local pods and `policies`
 * NetworkPolicies (bench/policy/scenario.ts). Two of those pods are real
 * (routed veths, CNI naming): A (ns-0/pod-0, app-0) and B (ns-0/pod-1,
 * app-1), where B's policy admits A on the bench ports and A's admits B as
 * a destination, so their new connections walk the full dispatch, pod
 * and policy chains. It prints:
 *   1. the time to program everything from scratch (compile + ipset +
 *      iptables/ip6tables restore), twice;
 *   2. the latency from a change (a policy's port, a policy's peers, a pod
 *      added, a pod removed) to its rules being in the kernel (apply()
 *      returns after the restore tools exit), p50/p90/max;
 *   3. A->B TCP throughput (iperf3) and new-connection rate
 *      (conn-rate.mjs) with that ruleset, as ratios to no policy at all
 *      (no rules of ours in the namespace), interleaved in the same run.
 * Targets (issue 8): incremental < 50 ms, throughput ratio >= 0.9,
 * connection-rate ratio >= 0.75.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { isRoot, requireCommands, sleep, Topology, type Netns, type TrackedProcess } from '../../test/support/netns.js';
import { NODE_IP4 } from '../../test/netpol/model.js';
import { plainVethWiring, prepareNode } from '../../test/netpol/wiring.js';
import { BENCH_PREFIX, CONN_PORT, IPERF_PORT, buildScenario } from './scenario.js';

const { values: args } = parseArgs({
  options: {
    pods: { type: 'string', default: '1000' },
    policies: { type: 'string', default: '200' },
    reps: { type: 'string', default: '15' },
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    'incremental-only': { type: 'boolean', default: false },
  },
});
const PODS = Number(args.pods);
const POLICIES = Number(args.policies);
const REPS = Number(args.reps);
const SECONDS = Number(args.seconds);
const INCREMENTAL_ONLY = args['incremental-only'];
const ROUNDS = INCREMENTAL_ONLY ? 1 : Number(args.rounds);
const HERE = join(process.cwd(), 'bench', 'policy');
const AGENT = join(process.cwd(), 'test', 'netpol', 'pod-agent.mjs');

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const median = (xs: number[]): number => pct(xs, 50);
const fmt = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : '-');

async function iperf(a: Netns, bIp: string): Promise<number> {
  const { stdout } = await a.exec('iperf3', ['-c', bIp, '-p', String(IPERF_PORT), '-t', String(SECONDS), '-J'], { timeoutMs: (SECONDS + 20) * 1000 });
  const j = JSON.parse(stdout) as { end?: { sum_received?: { bits_per_second?: number } } };
  return (j.end?.sum_received?.bits_per_second ?? NaN) / 1e9;
}

async function connRate(a: Netns, bIp: string): Promise<{ rate: number; errors: number }> {
  const { stdout } = await a.exec(process.execPath, [join(HERE, 'conn-rate.mjs'), bIp, String(CONN_PORT), String(SECONDS * 1000), '4'], { timeoutMs: (SECONDS + 20) * 1000 });
  const j = JSON.parse(stdout) as { connections: number; errors: number; seconds: number };
  return { rate: j.connections / j.seconds, errors: j.errors };
}

interface Sample {
  gbps: number;
  cps: number;
  errors: number;
}

async function measure(a: Netns, bIp: string): Promise<Sample> {
  const gbps = await iperf(a, bIp);
  await sleep(200);
  const c = await connRate(a, bIp);
  await sleep(200);
  return { gbps, cps: c.rate, errors: c.errors };
}

/** What the worker reports for one change (see worker.ts). */
interface Timed {
  ms: number;
  compileMs: number;
  writeMs: number;
  diffMs: number;
  ipsetMs: number;
  restoreMs: Record<string, number>;
  rules: number;
  chains: number;
  setsCreated: number;
  members: number;
}

/** The enforcer, running in the node namespace (worker.ts), driven by JSON lines. */
class Worker {
  private readonly waiting: ((line: string) => void)[] = [];

  constructor(readonly proc: TrackedProcess) {
    const rl = createInterface({ input: proc.stdout ?? process.stdin });
    rl.on('line', (line) => this.waiting.shift()?.(line));
  }

  async call<T>(cmd: object): Promise<T> {
    const line = await new Promise<string>((resolve) => {
      this.waiting.push(resolve);
      this.proc.stdin?.write(`${JSON.stringify(cmd)}\n`);
    });
    const res = JSON.parse(line) as { ok: boolean; error?: string } & T;
    if (!res.ok) throw new Error(`worker: ${res.error ?? 'failed'}`);
    return res;
  }
}

function describeLatency(label: string, xs: Timed[]): string {
  const ms = xs.map((x) => x.ms);
  const m = (f: (x: Timed) => number): number => median(xs.map(f));
  return `  ${label.padEnd(28)} p50 ${fmt(median(ms)).padStart(6)} ms  p90 ${fmt(pct(ms, 90)).padStart(6)} ms  max ${fmt(Math.max(...ms)).padStart(6)} ms   (compile ${fmt(m((x) => x.compileMs))}, write ${fmt(m((x) => x.writeMs))}: diff ${fmt(m((x) => x.diffMs))}, ipset ${fmt(m((x) => x.ipsetMs))}, iptables ${fmt(m((x) => x.restoreMs['4'] ?? 0))} || ip6tables ${fmt(m((x) => x.restoreMs['6'] ?? 0))} ms; ${m((x) => x.chains)} chains, ${m((x) => x.rules)} rules, ${m((x) => x.members)} set members)`;
}

async function main(): Promise<void> {
  if (!isRoot()) throw new Error('bench:policy needs root (network namespaces, iptables)');
  requireCommands(['ip', 'iptables-nft-restore', 'ip6tables-nft-restore', 'ipset', 'iperf3']);
  const load0 = loadavg();
  const topo = new Topology();
  try {
    const node = await prepareNode(topo);
    const sc = buildScenario(PODS, POLICIES, { prefix: BENCH_PREFIX });
    const aPod = sc.pods.find((p) => p.namespace === 'ns-0' && p.name === 'pod-0');
    const bPod = sc.pods.find((p) => p.namespace === 'ns-0' && p.name === 'pod-1');
    if (!aPod?.attachment || !bPod?.attachment) throw new Error('scenario lacks ns-0/pod-0 and ns-0/pod-1');
    const aIp = aPod.attachment.ips[0];
    const bIp = bPod.attachment.ips[0];
    const aNs = await topo.addNamespace('pod-a');
    const bNs = await topo.addNamespace('pod-b');
    await plainVethWiring.wire(node, aNs, { key: 'ns-0/pod-0', ip4: aIp });
    await plainVethWiring.wire(node, bNs, { key: 'ns-0/pod-1', ip4: bIp });
    await aNs.sysctl({ 'net.ipv4.ip_local_port_range': '1024 65000', 'net.ipv4.tcp_tw_reuse': '1' });
    bNs.spawn('iperf3', ['-s', '-p', String(IPERF_PORT)]);
    // pipeStdio: the agent exits when its stdin closes.
    const agent = bNs.spawn(process.execPath, [AGENT, 'B', String(CONN_PORT), ''], { pipeStdio: true });
    agent.stdout?.resume();
    await sleep(1000);

    console.log(`bench:policy — ${PODS} pods x ${POLICIES} policies on one node; A=${aIp} -> B=${bIp}; ${SECONDS} s per traffic sample, ${ROUNDS} rounds`);
    console.log(`load average at start: ${load0.map((x) => x.toFixed(2)).join(' ')} (2 cores; other work on this machine slows every figure)`);

    const worker = new Worker(
      node.spawn(process.execPath, ['--import', pathToFileURL(join(process.cwd(), 'node_modules/tsx/dist/loader.mjs')).href, join(HERE, 'worker.ts'), '--pods', String(PODS), '--policies', String(POLICIES), '--node', NODE_IP4], {
        pipeStdio: true,
        logFile: join(topo.tmpDir, 'worker.log'),
      }),
    );
    await worker.call({ op: 'start' });

    const base: Sample[] = [];
    const empty: Sample[] = [];
    const pol: Sample[] = [];
    const scratch: Timed[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      if (!INCREMENTAL_ONLY) {
        base.push(await measure(aNs, bIp));
        await worker.call<Timed>({ op: 'programNoPolicies' });
        empty.push(await measure(aNs, bIp));
        await worker.call({ op: 'remove' });
      }
      scratch.push(await worker.call<Timed>({ op: 'program' }));
      const v = await worker.call<{ ok: boolean; chains: number; rules: number; sets: number; backend: string }>({ op: 'verify' });
      if (!v.ok) throw new Error('programmed state differs from desired after a from-scratch apply');
      if (round === 0) console.log(`  programmed: ${v.chains} chains, ${v.rules} rules (IPv4+IPv6), ${v.sets} ipsets; backend ${v.backend}; enforcer running inside the node namespace`);
      if (!INCREMENTAL_ONLY) pol.push(await measure(aNs, bIp));
      if (round < ROUNDS - 1) await worker.call({ op: 'remove' });
    }
    const sanity = INCREMENTAL_ONLY || pol.every((s) => s.cps > 0 && s.gbps > 0);
    if (!sanity) throw new Error(`A could not reach B with the ruleset in place: ${JSON.stringify({ base, pol })}`);

    // Incremental changes at that scale.
    const policyPort: Timed[] = [];
    const policyPeers: Timed[] = [];
    const podAdd: Timed[] = [];
    const podDel: Timed[] = [];
    for (let i = 0; i < REPS; i++) {
      policyPort.push(await worker.call<Timed>({ op: 'policyPort', i }));
      policyPeers.push(await worker.call<Timed>({ op: 'policyPeers', i }));
      podAdd.push(await worker.call<Timed>({ op: 'podAdd', i }));
      podDel.push(await worker.call<Timed>({ op: 'podRemove', i }));
    }
    const final = await worker.call<{ ok: boolean }>({ op: 'verify' });
    if (!final.ok) throw new Error('programmed state differs from desired after the incremental changes');
    worker.proc.stdin?.end();

    const load1 = loadavg();
    const gbpsBase = median(base.map((s) => s.gbps));
    const gbpsPol = median(pol.map((s) => s.gbps));
    const cpsBase = median(base.map((s) => s.cps));
    const cpsPol = median(pol.map((s) => s.cps));
    const gbpsEmpty = median(empty.map((s) => s.gbps));
    const cpsEmpty = median(empty.map((s) => s.cps));
    const incP50 = Math.max(median(policyPort.map((x) => x.ms)), median(policyPeers.map((x) => x.ms)), median(podAdd.map((x) => x.ms)), median(podDel.map((x) => x.ms)));
    const thrRatio = gbpsPol / gbpsBase;
    const cpsRatio = cpsPol / cpsBase;

    console.log('\nprogram from scratch');
    for (const [i, t] of scratch.entries()) console.log(`  round ${i + 1}: ${fmt(t.ms, 0)} ms (compile ${fmt(t.compileMs, 0)} ms, write ${fmt(t.writeMs, 0)} ms; ${t.chains} chains, ${t.rules} rules, ${t.setsCreated} sets, ${t.members} members)`);
    console.log(`\nincremental change -> rules in the kernel (${REPS} each)`);
    console.log(describeLatency('policy port edit', policyPort));
    console.log(describeLatency('policy peer edit (new set)', policyPeers));
    console.log(describeLatency('pod add', podAdd));
    console.log(describeLatency('pod remove', podDel));
    if (!INCREMENTAL_ONLY) {
      console.log('\nA -> B traffic, median of rounds');
      console.log('  (a) no rules of ours at all (no conntrack in the namespace); (b) tortie programmed, no NetworkPolicy; (c) the full ruleset');
      console.log(`  TCP throughput   (a) ${fmt(gbpsBase, 2)}  (b) ${fmt(gbpsEmpty, 2)}  (c) ${fmt(gbpsPol, 2)} Gbit/s   c/a ${fmt(thrRatio, 3)}   c/b ${fmt(gbpsPol / gbpsEmpty, 3)}`);
      console.log(`  new connections  (a) ${fmt(cpsBase, 0)}  (b) ${fmt(cpsEmpty, 0)}  (c) ${fmt(cpsPol, 0)} /s       c/a ${fmt(cpsRatio, 3)}   c/b ${fmt(cpsPol / cpsEmpty, 3)}`);
      console.log(`  samples (a|b|c): ${base.map((s, i) => `[${fmt(s.gbps, 1)}|${fmt(empty[i]?.gbps ?? NaN, 1)}|${fmt(pol[i]?.gbps ?? NaN, 1)} Gbit/s, ${fmt(s.cps, 0)}|${fmt(empty[i]?.cps ?? NaN, 0)}|${fmt(pol[i]?.cps ?? NaN, 0)} c/s]`).join(' ')}`);
    }
    console.log('\ntargets');
    console.log(`  incremental p50 < 50 ms        ${fmt(incP50)} ms (slowest of the four)   ${incP50 < 50 ? 'met' : 'MISSED'}`);
    if (!INCREMENTAL_ONLY) console.log(`  throughput ratio >= 0.9        c/a ${fmt(thrRatio, 3)} ${thrRatio >= 0.9 ? 'met' : 'MISSED'}   c/b ${fmt(gbpsPol / gbpsEmpty, 3)} ${gbpsPol / gbpsEmpty >= 0.9 ? 'met' : 'MISSED'}`);
    if (!INCREMENTAL_ONLY) console.log(`  connection-rate ratio >= 0.75  c/a ${fmt(cpsRatio, 3)} ${cpsRatio >= 0.75 ? 'met' : 'MISSED'}   c/b ${fmt(cpsPol / cpsEmpty, 3)} ${cpsPol / cpsEmpty >= 0.75 ? 'met' : 'MISSED'}`);
    console.log(`load average at end: ${load1.map((x) => x.toFixed(2)).join(' ')}`);
    console.log(
      `BENCH_POLICY_JSON ${JSON.stringify({
        pods: PODS,
        policies: POLICIES,
        rules: scratch[0]?.rules ?? 0,
        scratchMs: scratch.map((t) => Math.round(t.ms)),
        incrementalP50Ms: { policyPort: median(policyPort.map((x) => x.ms)), policyPeers: median(policyPeers.map((x) => x.ms)), podAdd: median(podAdd.map((x) => x.ms)), podRemove: median(podDel.map((x) => x.ms)) },
        throughput: { baseGbps: gbpsBase, noPolicyGbps: gbpsEmpty, policyGbps: gbpsPol, ratio: thrRatio, ratioToNoPolicies: gbpsPol / gbpsEmpty },
        connRate: { basePerSec: cpsBase, noPolicyPerSec: cpsEmpty, policyPerSec: cpsPol, ratio: cpsRatio, ratioToNoPolicies: cpsPol / cpsEmpty },
        loadavg: [load0[0], load1[0]],
      })}`,
    );
  } finally {
    await topo.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
