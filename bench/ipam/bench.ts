/**
 * npm run bench:ipam — address assignment through the agent's control
 * socket: assigns per second and latency (p50, p99), sequentially and with
 * 16 concurrent clients, then releases. Each request opens its own
 * connection, as tortie-ipam does. Then, for scale, tortie-ipam ADD/DEL as
 * processes (the bundle, bare environment), where Node's start-up dominates.
 *
 * The agent is the bundle (dist/bin/tortie-agent, built first) in its own
 * network namespace. The suite runs twice: with the local datastore on disk
 * (every batch is a durable compare-and-swap write: fsync, link, fsync dir),
 * and on tmpfs (/dev/shm), where a flush costs nothing, which shows the
 * agent's own cost apart from the disk's. Needs root.
 * Target (issue 5): ≥ 500 assigns/s with 16 clients, p99 < 20 ms.
 *
 * Options:
 *   --requests N     assigns in the sequential phase (default 2000)
 *   --clients C      concurrent clients (default 16)
 *   --per-client M   assigns per concurrent client (default 250)
 *   --rounds R       times the concurrent assign phase runs (default 3); the verdict takes
 *                    the median p99 of the rounds during which the host took ≤ 5 % (steal)
 *   --plugin K       tortie-ipam ADD+DEL pairs, sequential (default 30; 0 skips)
 *   --paced-rate R   offered load of the open-loop phase, assigns/s from all clients (default 500)
 *   --node-flags "F" extra Node.js flags for the agent, after the bundle's own
 *                    (--max-semi-space-size=8); e.g. the DaemonSet's
 *                    "--max-semi-space-size=2 --optimize-for-size"
 *   --json FILE      also write the results as JSON
 *   --profile DIR    run the agents with --cpu-prof, writing their CPU profiles to DIR
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { agentRequest } from '../../lib/agent-http.js';
import { TortieError } from '../../lib/errors.js';
import type { IpamShowView } from '../../ipam/api-types.js';
import { ensureBuilt, netConf, runPlugin, startAgent } from '../../ipam/testing/harness.js';
import { isRoot, requireCommands, Topology } from '../../test/support/netns.js';

interface Cli {
  requests: number;
  clients: number;
  perClient: number;
  rounds: number;
  plugin: number;
  /** Offered load of the open-loop phase (assigns/s, all clients together). */
  pacedRate: number;
  json?: string;
  profile?: string;
  nodeFlags: string[];
}

const OPTIONS = new Set(['requests', 'clients', 'per-client', 'rounds', 'plugin', 'paced-rate', 'node-flags', 'json', 'profile']);

function parseCli(argv: readonly string[]): Cli {
  const opts = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--') || !OPTIONS.has(a.slice(2)) || argv[i + 1] === undefined) throw new TortieError('ERR_BENCH_USAGE', `unexpected argument ${a} (see bench/ipam/bench.ts)`);
    opts.set(a.slice(2), argv[++i]);
  }
  const int = (k: string, d: number): number => {
    const v = Number(opts.get(k) ?? d);
    if (!Number.isInteger(v) || v < 0) throw new TortieError('ERR_BENCH_USAGE', `--${k} takes a non-negative integer`);
    return v;
  };
  return { requests: int('requests', 2000), clients: Math.max(1, int('clients', 16)), perClient: int('per-client', 250), rounds: Math.max(1, int('rounds', 3)), plugin: int('plugin', 30), pacedRate: Math.max(1, int('paced-rate', 500)), json: opts.get('json'), profile: opts.get('profile'),
    nodeFlags: (opts.get('node-flags') ?? '').split(/\s+/).filter((f) => f !== '') };
}

/**
 * One request on a fresh connection, with tortie-ipam's own client
 * transport (lib/agent-http.ts: node:net, no node:http); resolves with the
 * latency in ms. The 16 clients share this process: node:http's client
 * cost it about 60 % more CPU per request, and its garbage (young-generation
 * pauses of 10-27 ms, all 16 clients stalled at once) showed up in the p99.
 */
async function post(socketPath: string, path: string, body: unknown): Promise<number> {
  const t0 = performance.now();
  const r = await agentRequest(socketPath, 'POST', path, body, 30_000);
  const ms = performance.now() - t0;
  if (r.status !== 200) throw new TortieError('ERR_BENCH', `${path} answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
  return ms;
}

interface Phase {
  name: string;
  /** CPU time per operation (user + system), in the agent and in this (client) process; undefined where not measured. */
  agentCpuMsPerOp?: number;
  clientCpuMsPerOp?: number;
  /** Operations per allocator batch (per durable group commit) in the agent; undefined where not measured. */
  opsPerBatch?: number;
  /** The share of the VM's CPU time the hypervisor gave to other guests during the phase (/proc/stat "steal"), in %. */
  stealPct?: number;
  ops: number;
  clients: number;
  seconds: number;
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function summarize(name: string, clients: number, lat: number[], seconds: number): Phase {
  const s = [...lat].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
  return { name, ops: lat.length, clients, seconds, perSec: lat.length / seconds, p50Ms: q(0.5), p99Ms: q(0.99), maxMs: s[s.length - 1] ?? 0 };
}

/**
 * Rounds during which the hypervisor took more than this share of the CPU
 * (steal) are printed but not judged: on this VM steal comes in bursts of
 * 20-50 % that stall every process for tens of ms, whatever runs.
 */
const STEAL_LIMIT_PCT = 5;

/** The machine's CPU time counters (/proc/stat, all CPUs): total and steal, in clock ticks. */
function cpuTicks(): { total: number; steal: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  return { total: f.reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
}

function stealSince(t0: { total: number; steal: number }): number {
  const t1 = cpuTicks();
  return (100 * (t1.steal - t0.steal)) / Math.max(1, t1.total - t0.total);
}

/** CPU time (user + system) of a process, in ms, from /proc (clock ticks of 10 ms). */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of proc(5) (utime, stime) are 11 and 12 after the command.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Every client starts its first request at once (none waits for another to
 * be set up); each then sends its next request when its previous one is
 * answered. With `agentPid`, the agent's CPU per operation is recorded too.
 */
async function phase(name: string, clients: number, perClient: number, op: (client: number, i: number) => Promise<number>, agentPid?: number): Promise<Phase> {
  const lat: number[] = [];
  const agent0 = agentPid !== undefined ? processCpuMs(agentPid) : 0;
  const client0 = process.cpuUsage();
  const ticks0 = cpuTicks();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; i < perClient; i++) lat.push(await op(c, i));
  }));
  const p = summarize(name, clients, lat, (performance.now() - t0) / 1000);
  p.stealPct = stealSince(ticks0);
  const client = process.cpuUsage(client0);
  p.clientCpuMsPerOp = (client.user + client.system) / 1000 / Math.max(1, lat.length);
  if (agentPid !== undefined) p.agentCpuMsPerOp = (processCpuMs(agentPid) - agent0) / Math.max(1, lat.length);
  return p;
}

/**
 * Open loop: `clients` clients together offer `ratePerSec` requests a
 * second, each client on its own schedule (evenly staggered), whether or
 * not its previous request has been answered. Latency counts from the
 * scheduled send, so a stall delays the requests queued behind it
 * (no coordinated omission). The latency at a given offered load, as
 * opposed to phase(), which runs the agent flat out.
 */
async function pacedPhase(name: string, clients: number, ratePerSec: number, total: number, op: (client: number, i: number) => Promise<number>, agentPid?: number): Promise<Phase> {
  const lat: number[] = [];
  const agent0 = agentPid !== undefined ? processCpuMs(agentPid) : 0;
  const client0 = process.cpuUsage();
  const perClient = Math.ceil(total / clients);
  const intervalMs = (1000 * clients) / ratePerSec;
  const ticks0 = cpuTicks();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < perClient; i++) {
      const due = t0 + (c * intervalMs) / clients + i * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      inFlight.push(op(c, i).then(() => {
        lat.push(performance.now() - due);
      }));
    }
    await Promise.all(inFlight);
  }));
  const p = summarize(name, clients, lat, (performance.now() - t0) / 1000);
  p.stealPct = stealSince(ticks0);
  const client = process.cpuUsage(client0);
  p.clientCpuMsPerOp = (client.user + client.system) / 1000 / Math.max(1, lat.length);
  if (agentPid !== undefined) p.agentCpuMsPerOp = (processCpuMs(agentPid) - agent0) / Math.max(1, lat.length);
  return p;
}

function row(p: Phase): string {
  const cpu = (v: number | undefined, w = 10): string => (v === undefined ? '-' : v.toFixed(2)).padStart(w);
  const steal = p.stealPct === undefined ? '-' : p.stealPct.toFixed(1);
  return `${p.name.padEnd(38)} ${String(p.clients).padStart(7)} ${String(p.ops).padStart(6)} ${p.perSec.toFixed(0).padStart(9)} ${p.p50Ms.toFixed(2).padStart(8)} ${p.p99Ms.toFixed(2).padStart(8)} ${p.maxMs.toFixed(1).padStart(8)}${cpu(p.agentCpuMsPerOp)}${cpu(p.clientCpuMsPerOp, 11)}${cpu(p.opsPerBatch)}${steal.padStart(8)}`;
}

interface Suite {
  label: string;
  results: Phase[];
  stats: IpamShowView['stats'];
}

/** One agent with its datastore in `storeDir`; the API phases, and the plugin phases when `plugin` > 0. */
async function suite(topo: Topology, label: string, name: string, storeDir: string, cli: Cli, plugin: number): Promise<Suite> {
  const agent = await startAgent(topo, {
    name, routerId: '192.0.2.91',
    nodeArgs: [...cli.nodeFlags, ...(cli.profile !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${cli.profile}`, `--cpu-prof-name=${name}.cpuprofile`] : [])],
    ipamYaml: `  pools:
    - { name: bench, cidr: 10.200.0.0/16, blockSize: 26 }
  releaseCooldownSec: 0
  gcGraceSec: 0
  datastore: { type: local, directory: ${storeDir} }`,
  });
  try {
    const sock = agent.socket;
    const assign = (id: string): Promise<number> => post(sock, '/v1/ipam/assign', { containerId: id, ifname: 'eth0', namespace: 'bench', pod: id });
    const releaseOne = (id: string): Promise<number> => post(sock, '/v1/ipam/release', { containerId: id, ifname: 'eth0' });

    // Warm up (JIT, first block claims), then clean up.
    await phase('warm-up', 4, 50, (c, i) => assign(`w${c}-${i}`));
    await phase('warm-up release', 4, 50, (c, i) => releaseOne(`w${c}-${i}`));

    const pid = agent.proc?.pid;
    const results: Phase[] = [];
    // The allocator's batch count before and after a phase (one show call, outside the timed part).
    const batches = async (): Promise<number> => (await agent.client.get<IpamShowView>('/v1/ipam/show')).stats.batches;
    const measured = async (p: () => Promise<Phase>): Promise<void> => {
      const b0 = await batches();
      const r = await p();
      // The show call itself is one batch.
      r.opsPerBatch = r.ops / Math.max(1, (await batches()) - b0 - 1);
      results.push(r);
    };
    await measured(() => phase('assign, sequential', 1, cli.requests, (_c, i) => assign(`s${i}`), pid));
    // Several rounds: one round of 4,000 assigns lasts 1-2 s, so a single stall of the VM (see the steal column) can set its p99.
    for (let r = 0; r < cli.rounds; r++) {
      await measured(() => phase(`assign, ${cli.clients} concurrent clients${cli.rounds > 1 ? ` (${r + 1})` : ''}`, cli.clients, cli.perClient, (c, i) => assign(`c${c}-${r * cli.perClient + i}`), pid));
    }
    await measured(() => phase('release, sequential', 1, cli.requests, (_c, i) => releaseOne(`s${i}`), pid));
    await measured(() => phase(`release, ${cli.clients} concurrent clients`, cli.clients, cli.perClient * cli.rounds, (c, i) => releaseOne(`c${c}-${i}`), pid));
    // The latency at the target's rate rather than flat out (open loop, 8 s), then its cleanup.
    const pacedTotal = cli.pacedRate * 8;
    await measured(() => pacedPhase(`assign, ${cli.clients} clients at ${cli.pacedRate}/s`, cli.clients, cli.pacedRate, pacedTotal, (c, i) => assign(`p${c}-${i}`), pid));
    await phase('paced release', cli.clients, Math.ceil(pacedTotal / cli.clients), (c, i) => releaseOne(`p${c}-${i}`));
    const show = await agent.client.get<IpamShowView>('/v1/ipam/show');

    if (plugin > 0) {
      const lat: number[] = [];
      const t0 = performance.now();
      for (let i = 0; i < plugin; i++) {
        const add = await runPlugin({ command: 'ADD', containerId: `plug${i}`, conf: netConf(sock) });
        if (add.code !== 0) throw new TortieError('ERR_BENCH', `tortie-ipam ADD failed: ${add.stdout}`);
        lat.push(add.ms);
      }
      results.push(summarize('tortie-ipam ADD (process), sequential', 1, lat, (performance.now() - t0) / 1000));
      const dl: number[] = [];
      const t1 = performance.now();
      for (let i = 0; i < plugin; i++) dl.push((await runPlugin({ command: 'DEL', containerId: `plug${i}`, conf: netConf(sock) })).ms);
      results.push(summarize('tortie-ipam DEL (process), sequential', 1, dl, (performance.now() - t1) / 1000));
      const vl: number[] = [];
      for (let i = 0; i < 10; i++) vl.push((await runPlugin({ command: 'VERSION', conf: { cniVersion: '1.1.0' } })).ms);
      results.push(summarize('tortie-ipam VERSION (process start)', 1, vl, vl.reduce((a, b) => a + b, 0) / 1000));
    }
    return { label, results, stats: show.stats };
  } finally {
    await agent.stop();
  }
}

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  if (!isRoot()) throw new TortieError('ERR_BENCH_PREREQ', 'bench:ipam needs root (the agent runs in its own network namespace)');
  requireCommands(['ip']);
  await ensureBuilt();
  const loadAtStart = loadavg();
  const topo = new Topology();
  const shm = await mkdtemp('/dev/shm/tortie-bench-ipam-');
  try {
    const suites = [
      await suite(topo, `datastore on disk (${topo.tmpDir}, fsync per write)`, 'bench-disk', join(topo.tmpDir, 'ipam-store'), cli, cli.plugin),
      await suite(topo, 'datastore on tmpfs (/dev/shm: the agent alone, no disk flush)', 'bench-tmpfs', join(shm, 'ipam-store'), cli, 0),
    ];
    const lines = [
      `bench:ipam — ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Linux ${release()}, Node ${process.version}, load average ${loadAtStart.map((x) => x.toFixed(1)).join(' ')} at start, ${loadavg().map((x) => x.toFixed(1)).join(' ')} at end; fresh connection per request${cli.nodeFlags.length > 0 ? `; agent flags ${cli.nodeFlags.join(' ')}` : ''}`,
      'agent cpu, client cpu: CPU time (user + system) per operation in ms, of the agent process and of this client process; ops/batch: operations per allocator batch (one durable write per block per batch); steal %: CPU time the hypervisor gave to other guests during the phase (/proc/stat) — where it is more than a few %, latency figures say more about the host than about tortie',
    ];
    for (const s of suites) {
      const rounds = s.results.filter((r) => r.name.startsWith(`assign, ${cli.clients} concurrent`));
      const judged = rounds.filter((r) => (r.stealPct ?? 0) <= STEAL_LIMIT_PCT);
      const all = `all rounds: p99 ${rounds.map((r) => `${r.p99Ms.toFixed(1)} ms (steal ${(r.stealPct ?? 0).toFixed(0)} %)`).join(', ')}`;
      let targetLine: string;
      if (judged.length === 0) {
        targetLine = `target (≥ 500 assigns/s with ${cli.clients} clients, p99 < 20 ms): not judged — every round ran while the host took more than ${STEAL_LIMIT_PCT} % of the CPU (${all}); run again when it is quieter`;
      } else {
        const concurrent = [...judged].sort((a, b) => a.p99Ms - b.p99Ms)[(judged.length - 1) >> 1];
        const verdict = concurrent.perSec >= 500 && concurrent.p99Ms < 20 ? 'met' : 'NOT met';
        targetLine = `target (≥ 500 assigns/s with ${cli.clients} clients, p99 < 20 ms): ${verdict} — ${concurrent.perSec.toFixed(0)} assigns/s, p99 ${concurrent.p99Ms.toFixed(2)} ms, flat out (the median p99 of the ${judged.length} of ${rounds.length} rounds with steal ≤ ${STEAL_LIMIT_PCT} %; ${all})`;
      }
      lines.push(
        '',
        s.label,
        `${'phase'.padEnd(38)} ${'clients'.padStart(7)} ${'ops'.padStart(6)} ${'ops/s'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)}${'agent cpu'.padStart(10)}${'client cpu'.padStart(11)}${'ops/batch'.padStart(10)}${'steal %'.padStart(8)}`,
        ...s.results.map(row),
        `allocator: ${s.stats.batches} batches, ${s.stats.writes} block writes, ${s.stats.conflicts} conflicts, ${s.stats.retries} retries`,
        targetLine,
        ...s.results.filter((r) => r.name.includes('/s')).map((r) => `  at an offered ${cli.pacedRate} assigns/s (open loop): ${r.perSec.toFixed(0)} assigns/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms`),
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    if (cli.json !== undefined) writeFileSync(cli.json, `${JSON.stringify({ loadavgAtStart: loadAtStart, loadavg: loadavg(), suites }, null, 2)}\n`);
  } finally {
    await topo.destroy();
    await rm(shm, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:ipam: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
