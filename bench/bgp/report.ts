/**
 * Turning case results into the table the operator reads, the comparison of
 * tortie with the reference daemons, and the checks from issue 3's
 * acceptance list. Pure: results in, text out.
 */
import type { CaseResult } from './scenario.js';

export const REFERENCE_TARGETS = ['bird', 'frr', 'gobgp'] as const;

/**
 * One row from repeated runs of a case: the run with the median convergence
 * time (the lower middle one for an even count), with the highest peak RSS
 * of all runs; the first failure instead if any run failed.
 */
export function aggregate(runs: readonly CaseResult[]): CaseResult {
  if (runs.length === 0) throw new RangeError('no runs');
  const bad = runs.find((r) => r.status !== 'ok');
  if (bad) return { ...bad, repeats: runs.length };
  const sorted = [...runs].sort((a, b) => (a.seconds ?? Infinity) - (b.seconds ?? Infinity));
  const mid = sorted[(sorted.length - 1) >> 1];
  const rss = runs.map((r) => r.peakRssMiB).filter((x): x is number => x !== undefined);
  return { ...mid, peakRssMiB: rss.length ? Math.max(...rss) : undefined, repeats: runs.length };
}

function fmt(x: number | undefined, digits: number): string {
  return x === undefined ? '-' : x.toFixed(digits);
}

function secs(x: number | undefined): string {
  if (x === undefined) return '-';
  return x < 10 ? x.toFixed(3) : x.toFixed(1);
}

export function formatTable(rows: readonly CaseResult[]): string {
  const head = ['target', 'N', 'seconds', 'peak RSS MiB', 'CPU s', 'load CPU s', 'first route s', 'tester send s', 'steal %', 'note'];
  const body = rows.map((r) => [
    r.target,
    r.count.toLocaleString('en-US'),
    r.status === 'ok' ? secs(r.seconds) : r.status,
    fmt(r.peakRssMiB, 1),
    fmt(r.cpuSec, 2),
    fmt(r.loadCpuSec, 2),
    secs(r.firstRouteSeconds),
    secs(r.sendSeconds),
    r.steal === undefined ? '-' : (r.steal * 100).toFixed(0),
    r.status === 'ok' ? '' : (r.error ?? '').split('\n')[0].slice(0, 100),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i <= 0 || i === cells.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

function find(rows: readonly CaseResult[], target: string, count: number): CaseResult | undefined {
  return rows.find((r) => r.target === target && r.count === count && r.status === 'ok');
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || b === 0 ? '-' : `${(a / b).toFixed(2)}×`;
}

/** "tortie vs …" lines, one per N where tortie converged, plus the issue 3 acceptance checks. */
export function formatTortieComparison(rows: readonly CaseResult[]): string[] {
  const out: string[] = [];
  const counts = [...new Set(rows.filter((r) => r.target === 'tortie').map((r) => r.count))].sort((a, b) => a - b);
  for (const n of counts) {
    const t = find(rows, 'tortie', n);
    if (!t) {
      out.push(`tortie at N=${n.toLocaleString('en-US')}: ${rows.find((r) => r.target === 'tortie' && r.count === n)?.status ?? 'not run'}`);
      continue;
    }
    const parts = REFERENCE_TARGETS.map((ref) => {
      const r = find(rows, ref, n);
      return r ? `${ref} ${ratio(t.seconds, r.seconds)} time, ${ratio(t.peakRssMiB, r.peakRssMiB)} RSS, ${ratio(t.cpuSec, r.cpuSec)} CPU` : `${ref} -`;
    });
    out.push(`tortie at N=${n.toLocaleString('en-US')} relative to: ${parts.join('; ')}`);
  }
  out.push(...acceptanceChecks(rows));
  return out;
}

/**
 * Issue 3: tortie converges faster than FRR and GoBGP, within 2× of BIRD at
 * 100,000 and 1,000,000 prefixes, with peak RSS at 1,000,000 under 3× BIRD's.
 * Only checks whose figures were measured are listed.
 */
export function acceptanceChecks(rows: readonly CaseResult[]): string[] {
  const out: string[] = [];
  const check = (label: string, ok: boolean): void => {
    out.push(`  [${ok ? 'PASS' : 'FAIL'}] ${label}`);
  };
  for (const n of [100_000, 1_000_000]) {
    const t = find(rows, 'tortie', n);
    const tRow = rows.find((r) => r.target === 'tortie' && r.count === n);
    const label = n.toLocaleString('en-US');
    if (tRow && !t) {
      check(`tortie converges at N=${label} (${tRow.status})`, false);
      continue;
    }
    if (!t || t.seconds === undefined) continue;
    for (const ref of ['frr', 'gobgp'] as const) {
      const r = find(rows, ref, n);
      if (r?.seconds !== undefined) check(`N=${label}: tortie ${secs(t.seconds)} s faster than ${ref} ${secs(r.seconds)} s`, t.seconds < r.seconds);
    }
    const bird = find(rows, 'bird', n);
    if (bird?.seconds !== undefined) {
      check(`N=${label}: tortie ${secs(t.seconds)} s within 2× of bird ${secs(bird.seconds)} s`, t.seconds <= 2 * bird.seconds);
    }
    if (n === 1_000_000 && bird?.peakRssMiB !== undefined && t.peakRssMiB !== undefined) {
      check(`N=${label}: tortie peak RSS ${fmt(t.peakRssMiB, 0)} MiB under 3× bird ${fmt(bird.peakRssMiB, 0)} MiB`, t.peakRssMiB < 3 * bird.peakRssMiB);
    }
  }
  if (out.length) out.unshift('issue 3 acceptance:');
  return out;
}
