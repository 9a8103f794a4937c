/**
 * npm run bench:bgp — BGP convergence benchmark, bgperf style, inside
 * network namespaces (see README.md in this folder).
 *
 * For each N and each available target: tester (AS 65101) → target
 * (AS 65100) → monitor (AS 65102); seconds from the tester's first UPDATE
 * byte until the monitor holds all N prefixes, with the target's peak RSS
 * and CPU time. A "floor" row (tester straight to monitor, no target) shows
 * the harness's own cost.
 *
 * Options:
 *   --targets bird,frr,gobgp,tortie   default: all of them (tortie once it is available)
 *   --counts 10000,100000             default; BENCH_BGP_FULL=1 adds 1000000
 *   --repeat K                        runs per case, the median is reported (default 3; a case
 *                                     whose run takes over 20 s is not repeated)
 *   --timeout-s S                     overrides every target's own timeout
 *   --settle-ms MS                    overrides every target's settle pause
 *   --no-floor                        skip the harness floor rows
 *   --json FILE                       also write all results as JSON
 *   --quiet                           no progress lines on stderr
 */
import { writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { TortieError } from '../../lib/errors.js';
import { daemonVersions } from '../../test/support/daemons.js';
import { isRoot, requireCommands } from '../../test/support/netns.js';
import { aggregate, formatTable, formatTortieComparison } from './report.js';
import { runCase, type CaseResult } from './scenario.js';
import { ALL_TARGETS, type BenchTarget } from './targets/index.js';

const DEFAULT_REPEAT = 3;
/** A run slower than this is not repeated: the noise is small next to it, and time is not. */
const NO_REPEAT_ABOVE_SEC = 20;

interface Cli {
  targets: BenchTarget[];
  /** Requested but unavailable: reported, not run. */
  unavailable: { target: BenchTarget; explicit: boolean }[];
  counts: number[];
  repeat: number;
  timeoutMs?: number;
  settleMs?: number;
  floor: boolean;
  json?: string;
  quiet: boolean;
}

function usage(msg: string): never {
  throw new TortieError('ERR_BENCH_USAGE', msg);
}

function parseCli(argv: readonly string[]): Cli {
  const opts = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--no-floor' || a === '--quiet') opts.set(a.slice(2), 'true');
    else if (a.startsWith('--') && argv[i + 1] !== undefined) opts.set(a.slice(2), argv[++i]);
    else usage(`unexpected argument ${a} (see the header of bench/bgp/run.ts)`);
  }
  const names = opts.get('targets')?.split(',').map((s) => s.trim()).filter(Boolean);
  const chosen = names
    ? names.map((n) => ALL_TARGETS.find((t) => t.name === n) ?? usage(`unknown target ${n} (known: ${ALL_TARGETS.map((t) => t.name).join(', ')})`))
    : [...ALL_TARGETS];
  const counts = (opts.get('counts') ?? (process.env.BENCH_BGP_FULL === '1' ? '10000,100000,1000000' : '10000,100000'))
    .split(',')
    .map((s) => Number(s.replace(/_/g, '')));
  if (counts.some((n) => !Number.isInteger(n) || n <= 0)) usage('--counts takes positive integers');
  const num = (name: string): number | undefined => {
    const v = opts.get(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) usage(`--${name} takes a non-negative number`);
    return n;
  };
  const timeoutS = num('timeout-s');
  return {
    targets: chosen.filter((t) => t.available()),
    unavailable: chosen.filter((t) => !t.available()).map((target) => ({ target, explicit: names !== undefined })),
    counts,
    repeat: Math.max(1, Math.floor(num('repeat') ?? DEFAULT_REPEAT)),
    timeoutMs: timeoutS === undefined ? undefined : timeoutS * 1000,
    settleMs: num('settle-ms'),
    floor: opts.get('no-floor') !== 'true',
    json: opts.get('json'),
    quiet: opts.get('quiet') === 'true',
  };
}

async function main(): Promise<number> {
  const cli = parseCli(process.argv.slice(2));
  if (!isRoot()) throw new TortieError('ERR_TEST_PREREQ', 'bench:bgp needs root (network namespaces)');
  requireCommands(['ip', 'getconf']);
  const log = cli.quiet ? undefined : (line: string): void => void process.stderr.write(`[bench:bgp] ${line}\n`);
  const versions = await daemonVersions();
  const started = new Date();
  const runs: CaseResult[] = [];
  const rows: CaseResult[] = [];
  const plan: (BenchTarget | undefined)[] = [...(cli.floor ? [undefined] : []), ...cli.targets];
  const t0 = Date.now();
  for (const count of cli.counts) {
    for (const target of plan) {
      const these: CaseResult[] = [];
      for (let i = 0; i < cli.repeat; i++) {
        const r = await runCase(target, { count, timeoutMs: cli.timeoutMs, settleMs: cli.settleMs, log });
        these.push(r);
        runs.push(r);
        log?.(`${r.target} N=${count}: ${r.status}${r.seconds !== undefined ? ` ${r.seconds.toFixed(3)} s` : ''}${r.error ? ` (${r.error.split('\n')[0]})` : ''}`);
        if (r.status !== 'ok' || (r.seconds ?? 0) > NO_REPEAT_ABOVE_SEC) break;
      }
      rows.push(aggregate(these));
    }
  }
  const lines = [
    `BGP convergence, tester → target → monitor, IPv4 /24s packed in 4096-octet UPDATEs` +
      `${cli.repeat > 1 ? `, median of up to ${cli.repeat} runs` : ''}`,
    `bird ${versions.bird}, frr ${versions.frr}, gobgp ${versions.gobgp}; ${cpus().length} CPUs, kernel ${release()}; ` +
      `${((Date.now() - t0) / 1000).toFixed(0)} s in all`,
    '',
    formatTable(rows),
  ];
  for (const u of cli.unavailable) lines.push(`${u.target.name}: not run, ${u.target.unavailableReason?.() ?? 'unavailable'}`);
  const comparison = formatTortieComparison(rows);
  if (comparison.length) lines.push('', ...comparison);
  process.stdout.write(`${lines.join('\n')}\n`);
  if (cli.json) {
    writeFileSync(
      cli.json,
      `${JSON.stringify({ startedAt: started.toISOString(), versions, cpus: cpus().length, kernel: release(), rows, runs }, null, 2)}\n`,
    );
  }
  const failed = rows.some((r) => r.status === 'error') || cli.unavailable.some((u) => u.explicit);
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench:bgp: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
