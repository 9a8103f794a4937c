/**
 * NetworkPolicy conformance on a real kernel (`npm run test:netpol`, root).
 *
 * The upstream e2e cluster model (namespaces x, y, z × pods a, b, c) as
 * network namespaces on one node, wired by the selected PodWiring (the
 * tortie CNI plugin when it works, else a plain veth in the same routed
 * layout; TORTIE_NETPOL_WIRING=plain|cni forces one). Each case writes its
 * manifests into the watched directory, waits for the enforcer to program
 * them, probes every pod pair on each protocol/port of the case with real
 * TCP and UDP connections, and compares the 9×9 table with the expected
 * one (loopback ignored, as upstream). A pair that disagrees is probed
 * again with a longer timeout before it counts (upstream retries too).
 *
 * SCTP: this kernel has no SCTP sockets; SCTP probes report
 * "skipped: not available" and a case made only of SCTP probes is marked
 * pending with that reason, never passed. Their expectations are still
 * checked offline (cases.test.ts).
 */
import { expect } from 'chai';
import { isRoot, requireCommands } from '../support/netns.js';
import { ALL_CASES, type Expectation, type Step } from './cases.js';
import { NetpolCluster, type ProbeOutcome } from './cluster.js';
import { ALL_PODS, clusterManifest, policiesManifest } from './model.js';
import { oracleTable } from './oracle.js';
import { chooseWiring } from './wiring.js';

const RECHECK_TIMEOUT_MS = 2_000;

function expectedTable(step: Step, e: Expectation): { get(from: string, to: string): boolean } {
  return e.reach === 'oracle' ? oracleTable(step.policies, step.state ?? {}, e.probe.proto, e.probe.port) : e.reach;
}

function render(want: { get(f: string, t: string): boolean }, got: Map<string, ProbeOutcome>): string {
  const lines = [`${'-'.padEnd(5)}${ALL_PODS.map((p) => p.padEnd(6)).join('')}`];
  for (const f of ALL_PODS) {
    const cells = ALL_PODS.map((t) => {
      const w = want.get(f, t) ? '.' : 'X';
      const o = got.get(`${f}>${t}`);
      const g = o === 'connected' ? '.' : o === 'blocked' ? 'X' : '?';
      return (f === t || g === w ? w : `${w}!${g}`).padEnd(6);
    });
    lines.push(`${f.padEnd(5)}${cells.join('')}`);
  }
  return `${lines.join('\n')}\n(. connects, X blocked, want!got where they differ)`;
}

describe('netpol conformance: upstream e2e model on a real kernel', function () {
  this.timeout(120_000);
  let cluster: NetpolCluster | undefined;
  const summary = { passed: 0, skipped: 0, failed: 0, probes: 0, rechecked: 0, t0: Date.now() };

  before(async function () {
    this.timeout(180_000);
    if (!isRoot()) throw new Error('test:netpol needs root (network namespaces, iptables); run it as root (CI does)');
    requireCommands(['ip', 'iptables-nft-restore', 'ip6tables-nft-restore', 'ipset']);
    const wiring = await chooseWiring();
    console.log(`      pod wiring: ${wiring.name}`);
    cluster = await NetpolCluster.create({ wiring });
  });

  after(async function () {
    this.timeout(60_000);
    await cluster?.destroy();
    const t = cluster?.timings ?? [];
    const apply = t.map((x) => x.applyMs).sort((a, b) => a - b);
    const prop = t.map((x) => x.propagateMs).sort((a, b) => a - b);
    const med = (xs: number[]): string => (xs.length ? xs[xs.length >> 1].toFixed(0) : '-');
    console.log(
      `      netpol: ${summary.passed} passed, ${summary.skipped} skipped (SCTP: not available), ${summary.failed} failed; ${summary.probes} probes (${summary.rechecked} re-checked); ` +
        `manifest->snapshot median ${med(prop)} ms, apply median ${med(apply)} ms; ${((Date.now() - summary.t0) / 1000).toFixed(0)} s`,
    );
  });

  for (const c of ALL_CASES) {
    it(c.name, async function () {
      if (!cluster) throw new Error('cluster not built');
      const cl = cluster;
      const sctpOnly = c.steps.every((s) => s.expect.every((e) => e.probe.proto === 'SCTP'));
      try {
        for (const step of c.steps) {
          const names = step.policies.map((p) => `${p.namespace}/${p.name}`);
          await cl.applyManifests(clusterManifest(step.state), policiesManifest(step.policies), names, `${c.name} / ${step.label}`);
          const results = await cl.probeAll(step.expect.map((e) => e.probe));
          for (const e of step.expect) {
            const key = `${e.probe.proto}/${e.probe.port}`;
            const got = results.get(key) ?? new Map<string, ProbeOutcome>();
            summary.probes += got.size;
            if (e.probe.proto === 'SCTP') {
              const outcomes = new Set(got.values());
              // Never count SCTP as passed: every probe must say it could not even try.
              expect([...outcomes], `${key} on a kernel without SCTP`).to.deep.equal(['unavailable']);
              console.log(`        ${step.label}: ${key}: skipped: not available`);
              continue;
            }
            const want = expectedTable(step, e);
            const wrong = ALL_PODS.flatMap((f) => ALL_PODS.filter((t) => t !== f).map((t) => ({ from: f, to: t }))).filter(({ from, to }) => (got.get(`${from}>${to}`) === 'connected') !== want.get(from, to));
            if (wrong.length > 0) {
              summary.rechecked += wrong.length;
              const again = await cl.probePairs(wrong.map((w) => ({ ...w, probe: e.probe })), RECHECK_TIMEOUT_MS);
              wrong.forEach((w, i) => got.set(`${w.from}>${w.to}`, again[i]));
            }
            const still = ALL_PODS.flatMap((f) => ALL_PODS.filter((t) => t !== f).map((t) => ({ from: f, to: t }))).filter(({ from, to }) => (got.get(`${from}>${to}`) === 'connected') !== want.get(from, to));
            expect(still.length, `${step.label}: ${key}\n${render(want, got)}`).to.equal(0);
          }
        }
        const v = await cl.enforcer.verify();
        expect(v.ok, `programmed state differs from desired: ${JSON.stringify(v)}`).to.equal(true);
      } catch (err) {
        summary.failed++;
        throw err;
      }
      if (sctpOnly) {
        summary.skipped++;
        this.skip();
      } else summary.passed++;
    });
  }
});
