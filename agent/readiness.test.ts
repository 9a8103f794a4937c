import { expect } from 'chai';
import { readiness, type ReadinessInput } from './readiness.js';

describe('agent readiness', () => {
  const base: ReadinessInput = { kernelReconciled: true, policyNotReady: [], sessions: [], sinceStartMs: 1000, graceSec: 30 };
  const up = { address: '192.0.2.12', state: 'Established', failed: false };
  const connecting = { address: '192.0.2.13', state: 'Connect', failed: false };
  const refused = { address: '192.0.2.14', state: 'Active', failed: true };
  const cases: { name: string; in: Partial<ReadinessInput>; ready: boolean; reasons?: RegExp[] }[] = [
    { name: 'nothing configured', in: {}, ready: true },
    { name: 'every session established', in: { sessions: [up] }, ready: true },
    { name: 'a session still connecting within the grace', in: { sessions: [up, connecting] }, ready: false, reasons: [/^session 192\.0\.2\.13 not established yet \(waiting up to 29 s more: health\.readinessGraceSec\)$/] },
    { name: 'a session that failed with a reason does not hold readiness back', in: { sessions: [up, refused] }, ready: true },
    { name: 'the grace is over', in: { sessions: [connecting], sinceStartMs: 30_000 }, ready: true },
    { name: 'a grace of 0 never waits for sessions', in: { sessions: [connecting], sinceStartMs: 0, graceSec: 0 }, ready: true },
    { name: 'a longer grace keeps waiting', in: { sessions: [connecting], sinceStartMs: 60_000, graceSec: 120 }, ready: false, reasons: [/60 s more/] },
    { name: 'kernel routes not reconciled', in: { kernelReconciled: false, sinceStartMs: 99_000 }, ready: false, reasons: [/^kernel routes not reconciled yet$/] },
    { name: 'policy reasons pass through', in: { policyNotReady: ['pod a/b not programmed'] }, ready: false, reasons: [/^pod a\/b not programmed$/] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = readiness({ ...base, ...c.in });
      expect(r.ready, r.notReady.join('; ')).to.equal(c.ready);
      expect(r.notReady).to.have.length(c.reasons?.length ?? 0);
      (c.reasons ?? []).forEach((re, i) => expect(r.notReady[i]).to.match(re));
    });
  }
});
