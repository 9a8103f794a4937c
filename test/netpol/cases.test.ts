/**
 * Offline checks of the conformance cases (no root, no kernel):
 *  - every hand-written expectation agrees with the independent oracle,
 *    so a wrong expectation cannot pass or fail the kernel run by accident;
 *  - the compiled rules, walked by the packet simulator, give every
 *    expected table, so the compiler is checked on every case before any
 *    namespace exists.
 */
import { expect } from 'chai';
import type { ClusterState } from '../../policy/compile/model.js';
import { SimCluster } from '../../policy/testing/sim-cluster.js';
import { ALL_CASES, type Expectation, type Step } from './cases.js';
import { ALL_PODS, NAMESPACES, NODE_IP4, hostIfName, modelPods, namespaceLabels, podAddresses } from './model.js';
import { oracleTable } from './oracle.js';

function stateFor(step: Step): ClusterState {
  const s = step.state ?? {};
  return {
    namespaces: NAMESPACES.map((ns) => ({ name: ns, labels: namespaceLabels(ns, s) })),
    pods: modelPods(s).map((p) => {
      const key = `${p.namespace}/${p.name}`;
      const a = podAddresses(key);
      return { ...p, attachment: { ifName: hostIfName(key), ips: [a.ip4, a.ip6] } };
    }),
    policies: step.policies,
  };
}

function expected(step: Step, e: Expectation): { get(from: string, to: string): boolean } {
  return e.reach === 'oracle' ? oracleTable(step.policies, step.state ?? {}, e.probe.proto, e.probe.port) : e.reach;
}

describe('netpol cases (offline)', () => {
  it('has at least 40 cases, uniquely named after what they mirror', () => {
    expect(ALL_CASES.length).to.be.at.least(40);
    const names = ALL_CASES.map((c) => c.name);
    expect(new Set(names).size).to.equal(names.length);
    for (const n of names) expect(n).to.match(/^(e2e|cyclonus|tortie): /);
    const nonSctp = ALL_CASES.filter((c) => c.steps.some((s) => s.expect.some((e) => e.probe.proto !== 'SCTP')));
    expect(nonSctp.length).to.be.at.least(40);
  });

  for (const c of ALL_CASES) {
    it(c.name, () => {
      for (const step of c.steps) {
        const sim = new SimCluster(stateFor(step), { ifacePrefix: 'tortie', nodeAddresses: [NODE_IP4] });
        expect(sim.compiled.issues, `${step.label}: compile issues`).to.deep.equal([]);
        for (const e of step.expect) {
          const want = expected(step, e);
          if (e.reach !== 'oracle') {
            const oracle = oracleTable(step.policies, step.state ?? {}, e.probe.proto, e.probe.port);
            const d = e.reach.diff(oracle);
            expect(d, `${step.label} ${e.probe.proto}/${e.probe.port}: hand-written table disagrees with the oracle`).to.deep.equal([]);
          }
          const proto = e.probe.proto.toLowerCase() as 'tcp' | 'udp' | 'sctp';
          const wrong: string[] = [];
          for (const from of ALL_PODS) {
            for (const to of ALL_PODS) {
              if (from === to) continue;
              const got = sim.allowed(from, to, { proto, port: e.probe.port });
              if (got !== want.get(from, to)) wrong.push(`${from} -> ${to}: expected ${want.get(from, to) ? 'connect' : 'blocked'}`);
            }
          }
          expect(wrong, `${step.label} ${e.probe.proto}/${e.probe.port} (compiled rules, simulated)`).to.deep.equal([]);
        }
      }
    });
  }
});
