import { expect } from 'chai';
import { compile } from './compile.js';
import type { ClusterState } from './model.js';
import type { ProgrammedSet, ProgrammedTable, RenderedRule } from './render.js';
import { explainPod } from './show.js';
import { verifyProgrammed } from './verify.js';

const state: ClusterState = {
  namespaces: [{ name: 'x' }, { name: 'y', labels: { team: 'blue' } }],
  pods: [
    { namespace: 'x', name: 'a', labels: { app: 'web' }, ports: [{ name: 'http', containerPort: 8080 }], attachment: { ifName: 'tt01aaaa', ips: ['10.0.0.1'] } },
    { namespace: 'y', name: 'b', labels: { app: 'api' }, attachment: { ifName: 'tt02bbbb', ips: ['10.0.1.2'] } },
    { namespace: 'y', name: 'remote', labels: { app: 'api' }, ips: ['10.9.0.2'] },
  ],
  policies: [
    { namespace: 'x', name: 'web', podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'blue' } } }], ports: [{ port: 'http' }, { protocol: 'UDP', port: 53, endPort: 60 }] }, { ports: [{ port: 'nope' }] }] },
    { namespace: 'x', name: 'egress', podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.9.0.0/16'] } }] }] },
    { namespace: 'x', name: 'broken', podSelector: {}, ingress: [{ ports: [{ port: 0 }] }] },
  ],
};

describe('policy show', () => {
  const c = compile(state, { ifacePrefix: 'tt', families: [4] });

  it('lists the selecting policies per direction with effective rules', () => {
    const e = explainPod(c, 'x/a');
    if (!e) throw new Error('no explanation');
    expect(e.local).to.equal(true);
    expect(e.ifName).to.equal('tt01aaaa');
    expect(e.ingress.isolated).to.equal(true);
    expect(e.ingress.chain).to.match(/^TORTIE-PI-/);
    expect(e.ingress.policies.map((p) => p.policy)).to.deep.equal(['x/broken', 'x/web']);
    const web = e.ingress.policies[1];
    expect(web.chain).to.match(/^TORTIE-NI-/);
    expect(web.rules[0].peers).to.deep.equal(['all pods in namespaces matching {team=blue}: 2 pod(s) [10.0.1.2, 10.9.0.2]']);
    expect(web.rules[0].ports).to.deep.equal(['TCP/http (named: 8080 on this pod)', 'UDP/53-60']);
    expect(web.rules[1].note).to.match(/allows nothing/);
    expect(e.ingress.policies[0].rules[0].note).to.match(/invalid rule/);
    expect(e.egress.policies.map((p) => p.policy)).to.deep.equal(['x/egress']);
    expect(e.egress.policies[0].rules[0].peers).to.deep.equal(['ipBlock 10.0.0.0/8 except 10.9.0.0/16']);
    expect(e.issues.map((i) => i.code)).to.deep.equal(['ERR_POLICY_INVALID_PORT']);
  });

  it('says not isolated when no policy selects the pod', () => {
    const e = explainPod(c, 'y/b');
    expect(e?.ingress).to.deep.equal({ isolated: false, policies: [] });
    expect(e?.egress.isolated).to.equal(false);
  });

  it('explains remote pods (not local) and knows no unknown pod', () => {
    expect(explainPod(c, 'y/remote')?.local).to.equal(false);
    expect(explainPod(c, 'nope/nope')).to.equal(undefined);
  });
});

describe('policy verify', () => {
  const c = compile(state, { ifacePrefix: 'tt', families: [4] });
  const good = (): { tables: Map<4 | 6, ProgrammedTable>; sets: Map<string, ProgrammedSet> } => ({
    tables: new Map([[4, { chains: new Map([...(c.tables.get(4) ?? new Map<string, RenderedRule[]>())].map(([n, r]) => [n, r.map((x) => x.hash)])), jumps: new Map([['FORWARD', 1], ['INPUT', 1]]) }]]),
    sets: new Map([...c.sets].map(([n, s]) => [n, { type: s.type, family: s.family, members: new Set(s.members) }])),
  });

  it('all good', () => {
    const g = good();
    const r = verifyProgrammed(c, g.tables, g.sets);
    expect(r.ok).to.equal(true);
    expect(r.chainsChecked).to.equal(c.tables.get(4)?.size);
  });

  it('reports an edited chain, a missing chain, an extra chain, a missing jump and the pods affected', () => {
    const g = good();
    const t = g.tables.get(4);
    if (!t) throw new Error('table');
    const chains = new Map(t.chains);
    const podChain = [...chains.keys()].find((n) => n.startsWith('TORTIE-PI-')) ?? '';
    chains.set(podChain, ['bogus']);
    chains.delete('TORTIE-POD-INPUT');
    chains.set('TORTIE-LEFTOVER', []);
    const r = verifyProgrammed(c, new Map([[4, { chains, jumps: new Map([['FORWARD', 1]]) }]]), g.sets);
    expect(r.ok).to.equal(false);
    expect(r.tables[0]).to.deep.include({ missingChains: ['TORTIE-POD-INPUT'], extraChains: ['TORTIE-LEFTOVER'], differingChains: [podChain], missingJumps: ['INPUT'], duplicateJumps: [] });
    expect(r.podsAffected).to.deep.equal(['x/a']);
  });

  it('reports set member differences and missing or extra sets', () => {
    const g = good();
    const [name, s] = [...g.sets].find(([, v]) => v.type === 'hash:ip') ?? ['', undefined];
    if (!s) throw new Error('no hash:ip set');
    g.sets.set(name, { ...s, members: new Set(['10.66.0.1']) });
    const ifName = [...g.sets.keys()].find((n) => n.startsWith('TORTIE-IF4')) ?? '';
    g.sets.delete(ifName);
    g.sets.set('TORTIE-S4-stale', { type: 'hash:ip', family: 4, members: new Set() });
    const r = verifyProgrammed(c, g.tables, g.sets);
    expect(r.ok).to.equal(false);
    expect(r.missingSets).to.deep.equal([ifName]);
    expect(r.extraSets).to.deep.equal(['TORTIE-S4-stale']);
    expect(r.differingSets[0].name).to.equal(name);
    expect(r.differingSets[0].extraMembers).to.deep.equal(['10.66.0.1']);
  });
});
