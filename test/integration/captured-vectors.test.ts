/**
 * A live capture: BIRD 2, FRR and GoBGP (and ExaBGP) peer over eBGP in
 * throw-away network namespaces (IPv4 and IPv6 sessions, link-local next
 * hops, a 2-octet-AS session, withdrawals, route refresh and a Cease with a
 * shutdown communication), tcpdump records every link, and every message
 * captured must decode cleanly and re-encode byte for byte.
 *
 * Needs root and the daemons; it fails (never skips) when they are missing.
 * Uses the same functions as tools/capture-vectors.ts.
 */
import { expect } from 'chai';
import { EBGP_SCENARIO, captureScenario, checkPrerequisites } from '../../tools/capture-vectors.js';
import type { VectorFile } from '../support/bgp-capture.js';
import { roundTrip } from '../support/captured-vectors.js';

describe('live capture from real BGP daemons round-trips through the codec (root)', function () {
  this.timeout(180_000);
  const files = new Map<string, VectorFile>();

  before(async function () {
    this.timeout(180_000);
    checkPrerequisites([EBGP_SCENARIO]);
    for (const f of await captureScenario(EBGP_SCENARIO)) files.set(f.session, f);
  });

  const required = ['ebgp-bird-frr-v4', 'ebgp-bird-frr-v6', 'ebgp-bird-gobgp-v4', 'ebgp-frr-gobgp-v6'];

  it('captured BIRD↔FRR over IPv4 and IPv6 and sessions with GoBGP', () => {
    for (const id of required) expect([...files.keys()], id).to.include(id);
  });

  for (const session of EBGP_SCENARIO.sessions) {
    it(`${session.id}: both sides sent OPEN and UPDATEs, and every message round-trips`, () => {
      const file = files.get(session.id);
      expect(file, `no capture for ${session.id}`).to.not.equal(undefined);
      if (!file) return;
      for (const dir of [`${session.a}->${session.b}`, `${session.b}->${session.a}`]) {
        const mine = file.messages.filter((m) => m.dir === dir);
        expect(mine.some((m) => m.type === 'OPEN'), `${dir} OPEN`).to.equal(true);
        expect(mine.some((m) => m.type === 'UPDATE' && !m.note.includes('End-of-RIB')), `${dir} UPDATE`).to.equal(true);
      }
      // BIRD always ends its initial table with End-of-RIB (FRR only when graceful restart is negotiated).
      if (session.a === 'bird' || session.b === 'bird') {
        expect(file.messages.some((m) => m.note.includes('End-of-RIB')), 'End-of-RIB').to.equal(true);
      }
      const failures = file.messages
        .map((m, i) => ({ i, m, problems: roundTrip(file, m).problems }))
        .filter((x) => x.problems.length > 0)
        .map((x) => `#${x.i} ${x.m.dir} ${x.m.note}\n  ${x.problems.join('\n  ')}`);
      expect(failures, `${file.source}\n${failures.join('\n')}`).to.deep.equal([]);
    });
  }
});
