import { expect } from 'chai';
import { acceptanceChecks, aggregate, formatTable, formatTortieComparison } from './report.js';
import type { CaseResult } from './scenario.js';

function ok(target: string, count: number, seconds: number, peakRssMiB = 10): CaseResult {
  return { target, count, status: 'ok', seconds, peakRssMiB, cpuSec: seconds };
}

describe('bench/bgp report', () => {
  it('aggregate keeps the median run and the highest peak RSS', () => {
    const row = aggregate([ok('bird', 10, 0.3, 5), ok('bird', 10, 0.1, 9), ok('bird', 10, 0.2, 7)]);
    expect(row.seconds).to.equal(0.2);
    expect(row.peakRssMiB).to.equal(9);
    expect(row.repeats).to.equal(3);
  });

  it('aggregate reports the first failure', () => {
    const row = aggregate([ok('frr', 10, 0.1), { target: 'frr', count: 10, status: 'timeout', error: 'held 3 of 10' }]);
    expect(row.status).to.equal('timeout');
  });

  const checks: { name: string; rows: CaseResult[]; want: string[] }[] = [
    {
      name: 'no tortie rows: no checks',
      rows: [ok('bird', 100_000, 0.07), ok('frr', 100_000, 0.4)],
      want: [],
    },
    {
      name: 'tortie between BIRD and FRR at 100k passes all three',
      rows: [ok('bird', 100_000, 0.1), ok('frr', 100_000, 0.4), ok('gobgp', 100_000, 7), ok('tortie', 100_000, 0.19)],
      want: ['PASS', 'PASS', 'PASS'],
    },
    {
      name: 'tortie slower than FRR and over 2× BIRD fails those',
      rows: [ok('bird', 100_000, 0.1), ok('frr', 100_000, 0.4), ok('gobgp', 100_000, 7), ok('tortie', 100_000, 0.5)],
      want: ['FAIL', 'PASS', 'FAIL'],
    },
    {
      name: 'RSS at 1M must stay under 3× BIRD',
      rows: [ok('bird', 1_000_000, 0.6, 94), ok('tortie', 1_000_000, 1.0, 300)],
      want: ['PASS', 'FAIL'],
    },
    {
      name: 'a tortie timeout is a failure',
      rows: [ok('bird', 100_000, 0.1), { target: 'tortie', count: 100_000, status: 'timeout' }],
      want: ['FAIL'],
    },
  ];
  for (const c of checks) {
    it(`acceptance: ${c.name}`, () => {
      const lines = acceptanceChecks(c.rows).slice(1);
      expect(lines.map((l) => /\[(PASS|FAIL)\]/.exec(l)?.[1])).to.deep.equal(c.want);
    });
  }

  it('the table has one line per row plus a header and a rule, and names failures', () => {
    const text = formatTable([ok('bird', 10_000, 0.02), { target: 'gobgp', count: 10_000, status: 'timeout', error: 'held 5 of 10000' }]);
    const lines = text.split('\n');
    expect(lines).to.have.length(4);
    expect(lines[2]).to.match(/^bird\s+10,000\s+0\.020\s/);
    expect(lines[3]).to.match(/timeout.*held 5 of 10000/);
  });

  it('compares tortie with each reference target', () => {
    const lines = formatTortieComparison([ok('bird', 10, 0.1, 10), ok('tortie', 10, 0.2, 30)]);
    expect(lines[0]).to.contain('bird 2.00× time, 3.00× RSS');
  });
});
