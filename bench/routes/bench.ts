/**
 * npm run bench:routes — kernel route installation and withdrawal, routes/s,
 * through the agent's route path (KernelRoutes), BIRD 2's kernel protocol
 * and a bare `ip -batch FILE`, side by side (see methods.ts for how each is
 * timed). Needs root, ip, bird and birdc.
 *
 * Every (method, N, run) gets a fresh namespace "node" with a veth to a
 * namespace "peer" that owns the next hop 192.0.2.2; routes are N /26s in
 * 10.0.0.0/8 via that next hop. Each round runs every method once (so
 * load from elsewhere hits them alike); the median of the rounds is
 * reported. The tortie methods get one untimed warm-up round first.
 * Target (issue 4): tortie ≥ 0.9× bare ip -batch.
 *
 * Options:
 *   --counts 10000,100000     route counts (default)
 *   --runs K                  runs per case, median reported (default 3)
 *   --methods a,b             tortie, tortie-mon, bird, ip-batch (default: all)
 *   --json FILE               also write the results as JSON
 */
import { writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { TortieError } from '../../lib/errors.js';
import { DAEMON_COMMANDS, daemonVersions } from '../../test/support/daemons.js';
import { Topology, isRoot, requireCommands, run } from '../../test/support/netns.js';
import { METHODS, type Method, type PhaseResult, NEXT_HOP, benchPrefixes } from './methods.js';

interface Cli {
  counts: number[];
  runs: number;
  methods: Method[];
  json?: string;
}

function parseCli(argv: readonly string[]): Cli {
  const opts = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--') || argv[i + 1] === undefined) throw new TortieError('ERR_BENCH_USAGE', `unexpected argument ${a} (see bench/routes/bench.ts)`);
    opts.set(a.slice(2), argv[++i]);
  }
  const counts = (opts.get('counts') ?? '10000,100000').split(',').map((s) => Number(s.replace(/_/g, '')));
  if (counts.some((n) => !Number.isInteger(n) || n <= 0)) throw new TortieError('ERR_BENCH_USAGE', '--counts takes positive integers');
  const runs = Math.max(1, Math.floor(Number(opts.get('runs') ?? '3')));
  const names = opts.get('methods')?.split(',');
  const methods = names
    ? names.map((n) => METHODS.find((m) => m.name === n) ?? failUsage(`unknown method ${n} (known: ${METHODS.map((m) => m.name).join(', ')})`))
    : [...METHODS];
  return { counts, runs, methods, json: opts.get('json') };
}

function failUsage(msg: string): never {
  throw new TortieError('ERR_BENCH_USAGE', msg);
}

async function oneRun(method: Method, n: number): Promise<PhaseResult> {
  const topo = new Topology();
  try {
    const node = await topo.addNamespace('node');
    const peer = await topo.addNamespace('peer');
    await topo.link(node, peer, { aAddresses: ['192.0.2.1/24'], bAddresses: [`${NEXT_HOP}/24`] });
    return await method.run(topo, node, benchPrefixes(n));
  } finally {
    await topo.destroy();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

interface CaseResult {
  method: string;
  label: string;
  n: number;
  runs: PhaseResult[];
  installPerSec: number;
  withdrawPerSec: number;
  ipPeakRssKiB?: number;
  ipProcesses?: number;
}

const fmtRate = (x: number): string => Math.round(x).toLocaleString('en-US');

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  if (!isRoot()) throw new TortieError('ERR_BENCH_PREREQ', 'bench:routes needs root (network namespaces)');
  requireCommands(['ip', ...(cli.methods.some((m) => m.name === 'bird') ? DAEMON_COMMANDS.bird : [])]);
  const versions = await daemonVersions();
  const ipVersion = (await run('ip', ['-V'])).stdout.trim();
  process.stdout.write(
    `bench:routes — ${cpus().length} CPUs, kernel ${release()}, ${ipVersion}, BIRD ${versions.bird}, Node ${process.version}\n` +
      `N /26 routes via one next hop on a veth, fresh namespaces per run, median of ${cli.runs} run(s)\n\n`,
  );
  // One untimed round of 5,000 routes first: the agent is long-lived, so its
  // code is measured warm (JIT-compiled), as it runs after the first minutes.
  for (const method of cli.methods.filter((m) => m.name.startsWith('tortie'))) await oneRun(method, 5_000);
  const results: CaseResult[] = [];
  for (const n of cli.counts) {
    // Rounds interleave the methods, so a burst of load on this shared machine hits them alike.
    const runsOf = new Map<Method, PhaseResult[]>(cli.methods.map((m) => [m, []]));
    for (let r = 0; r < cli.runs; r++) {
      for (const method of cli.methods) {
        const res = await oneRun(method, n);
        runsOf.get(method)?.push(res);
        process.stderr.write(
          `  ${method.name} N=${n} run ${r + 1}: install ${res.installSec.toFixed(3)} s, withdraw ${res.withdrawSec.toFixed(3)} s\n`,
        );
      }
    }
    for (const method of cli.methods) {
      const runs = runsOf.get(method) ?? [];
      const rss = runs.map((x) => x.ipPeakRssKiB).filter((x): x is number => x !== undefined);
      results.push({
        method: method.name,
        label: method.label,
        n,
        runs,
        installPerSec: n / median(runs.map((x) => x.installSec)),
        withdrawPerSec: n / median(runs.map((x) => x.withdrawSec)),
        ...(rss.length > 0 ? { ipPeakRssKiB: Math.max(...rss) } : {}),
        ...(runs[0].ipProcesses !== undefined ? { ipProcesses: runs[0].ipProcesses } : {}),
      });
    }
  }
  process.stdout.write(`\n${formatTable(results)}\n`);
  if (cli.json) writeFileSync(cli.json, `${JSON.stringify({ versions, ipVersion, kernel: release(), results }, null, 2)}\n`);
}

function formatTable(results: CaseResult[]): string {
  const rows: string[][] = [['N', 'method', 'install routes/s', 'withdraw routes/s', 'ip peak RSS*', 'ip processes']];
  const counts = [...new Set(results.map((r) => r.n))];
  const verdicts: string[] = [];
  for (const n of counts) {
    const mine = results.filter((r) => r.n === n);
    for (const r of mine) {
      rows.push([
        n.toLocaleString('en-US'),
        r.label,
        fmtRate(r.installPerSec),
        fmtRate(r.withdrawPerSec),
        r.ipPeakRssKiB !== undefined ? `${(r.ipPeakRssKiB / 1024).toFixed(1)} MiB` : '-',
        r.ipProcesses !== undefined ? String(r.ipProcesses) : '-',
      ]);
    }
    const tortie = mine.find((r) => r.method === 'tortie');
    const floor = mine.find((r) => r.method === 'ip-batch');
    if (tortie && floor) {
      const ri = tortie.installPerSec / floor.installPerSec;
      const rw = tortie.withdrawPerSec / floor.withdrawPerSec;
      rows.push(['', 'ratio tortie / ip -batch', `${ri.toFixed(2)}×`, `${rw.toFixed(2)}×`, '', '']);
      const ok = ri >= 0.9 && rw >= 0.9;
      verdicts.push(`N=${n}: tortie/ip-batch install ${ri.toFixed(2)}×, withdraw ${rw.toFixed(2)}× — target ≥ 0.90×: ${ok ? 'met' : 'MISSED'}`);
    }
    rows.push(['', '', '', '', '', '']);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const text = rows
    .map((row) => row.map((cell, c) => (c >= 2 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd())
    .join('\n');
  return `${text}\n* largest VmHWM of one ip process (sampled every 5–10 ms and after each phase, so a short-lived\n  process's last moments may be missed); ip grows by about 4 KiB per command, and tortie's ip\n  processes end after 10,000 commands each\n${verdicts.join('\n')}`;
}

await main();
