/**
 * Rendering and diffing: what a change writes. Only chains whose hashes
 * differ are declared (flushed) and refilled; removed chains are flushed,
 * then deleted after their referrers were rewritten; jumps are added once;
 * sets get creates, adds and deletes before iptables and destroys after.
 */
import { expect } from 'chai';
import { compile } from './compile.js';
import type { ClusterState, NetworkPolicyInfo } from './model.js';
import { diffSets, diffTable, EMPTY_TABLE, renderTable, type ProgrammedSet, type ProgrammedTable, type RenderedTable } from './render.js';
import { parseIptablesSave, parseIpsetSave } from './save-parse.js';

function programmedOf(t: RenderedTable): ProgrammedTable {
  return { chains: new Map([...t].map(([n, r]) => [n, r.map((x) => x.hash)])), jumps: new Map([['FORWARD', 1], ['INPUT', 1]]) };
}

function setsOf(c: ReturnType<typeof compile>): Map<string, ProgrammedSet> {
  return new Map([...c.sets].map(([n, s]) => [n, { type: s.type, family: s.family, members: new Set(s.members) }]));
}

const base: ClusterState = {
  namespaces: [{ name: 'x' }],
  pods: [
    { namespace: 'x', name: 'a', labels: { app: 'a' }, attachment: { ifName: 'tt01aaaa', ips: ['10.0.0.1'] } },
    { namespace: 'x', name: 'b', labels: { app: 'b' }, attachment: { ifName: 'tt02bbbb', ips: ['10.0.0.2'] } },
  ],
  policies: [],
};
const allowB: NetworkPolicyInfo = { namespace: 'x', name: 'allow-b', podSelector: { matchLabels: { app: 'a' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'b' } } }] }] };
const opts = { ifacePrefix: 'tt', families: [4] as const };

describe('render and diff', () => {
  it('hashes chain the rules: same spec at another position or in another chain hashes differently', () => {
    const t = renderTable(new Map([['A', ['-j DROP', '-j DROP']], ['B', ['-j DROP']]]));
    const a = t.get('A') ?? [];
    const b = t.get('B') ?? [];
    expect(a[0].hash).to.not.equal(a[1].hash);
    expect(a[0].hash).to.not.equal(b[0].hash);
    expect(a[0].hash).to.match(/^[0-9a-f]{16}$/);
  });

  it('from scratch: every chain, then the two jumps', () => {
    const c = compile(base, opts);
    const d = diffTable(c.tables.get(4) ?? new Map(), EMPTY_TABLE);
    expect(d.written.length).to.equal(c.tables.get(4)?.size);
    expect(d.jumpsAdded).to.deep.equal(['FORWARD', 'INPUT']);
    expect(d.text).to.match(/^\*filter\n/);
    expect(d.text).to.contain('-I FORWARD 1 -m comment --comment "tt:');
    expect(d.text.trimEnd().endsWith('COMMIT')).to.equal(true);
  });

  it('no change writes nothing', () => {
    const c = compile(base, opts);
    const t = c.tables.get(4) ?? new Map();
    expect(diffTable(t, programmedOf(t)).text).to.equal('');
    expect(diffSets(c.sets, setsOf(c))).to.include({ prepare: '', destroy: '' });
  });

  it('adding a policy writes only the chains it changes', () => {
    const before = compile(base, opts);
    const after = compile({ ...base, policies: [allowB] }, opts);
    const d = diffTable(after.tables.get(4) ?? new Map(), programmedOf(before.tables.get(4) ?? new Map()));
    // x/a's ingress chain, the policy chain, and the one TO leaf that dispatches x/a.
    expect(d.written.map((n) => n.replace(/[0-9a-f]{16}$/, 'H'))).to.have.members(['TORTIE-PI-H', 'TORTIE-NI-H', 'TORTIE-TO-3031']);
    expect(d.deleted).to.deep.equal([]);
    expect(d.jumpsAdded).to.deep.equal([]);
    expect(d.text).to.not.contain('TORTIE-FORWARD');
    const s = diffSets(after.sets, setsOf(before));
    expect(s.created).to.have.length(1);
    expect(s.prepare).to.match(/^create TORTIE-S4-[0-9a-f]{16} hash:ip family inet .*\nadd TORTIE-S4-[0-9a-f]{16} 10\.0\.0\.2\n$/);
  });

  it('removing it deletes its chains after rewriting their referrers, and destroys its set afterwards', () => {
    const before = compile({ ...base, policies: [allowB] }, opts);
    const after = compile(base, opts);
    const d = diffTable(after.tables.get(4) ?? new Map(), programmedOf(before.tables.get(4) ?? new Map()));
    expect(d.deleted).to.have.length(2);
    const lines = d.text.split('\n');
    const firstX = lines.findIndex((l) => l.startsWith('-X '));
    const lastA = lines.map((l) => l.startsWith('-A ')).lastIndexOf(true);
    expect(firstX).to.be.greaterThan(lastA);
    for (const name of d.deleted) expect(lines).to.include(`:${name} - [0:0]`);
    const s = diffSets(after.sets, setsOf(before));
    expect(s.destroy).to.match(/^destroy TORTIE-S4-/);
    expect(s.prepare).to.equal('');
  });

  it('a pod address change is a set member change only', () => {
    const before = compile({ ...base, policies: [allowB] }, opts);
    const moved = { ...base, policies: [allowB], pods: [base.pods[0], { ...base.pods[1], attachment: { ifName: 'tt02bbbb', ips: ['10.0.0.9'] } }] };
    const after = compile(moved, opts);
    const d = diffTable(after.tables.get(4) ?? new Map(), programmedOf(before.tables.get(4) ?? new Map()));
    expect(d.text).to.equal('');
    const s = diffSets(after.sets, setsOf(before));
    expect(s.prepare.split('\n').filter(Boolean).map((l) => l.replace(/TORTIE-\S+/, 'S'))).to.deep.equal(['del S 10.0.0.2,tt02bbbb', 'add S 10.0.0.9,tt02bbbb', 'del S 10.0.0.2', 'add S 10.0.0.9']);
  });

  it('missing and duplicate jumps are repaired', () => {
    const c = compile(base, opts);
    const t = c.tables.get(4) ?? new Map();
    const p = programmedOf(t);
    const d = diffTable(t, { chains: p.chains, jumps: new Map([['FORWARD', 3]]) });
    expect(d.jumpsAdded).to.deep.equal(['INPUT']);
    expect(d.jumpsRemoved).to.equal(2);
    expect(d.text.match(/^-D FORWARD /gm)).to.have.length(2);
  });

  it('a chain edited by hand (hash mismatch) is rewritten', () => {
    const c = compile(base, opts);
    const t = c.tables.get(4) ?? new Map();
    const p = programmedOf(t);
    const chains = new Map(p.chains);
    chains.set('TORTIE-POD-FWD', ['', ...(chains.get('TORTIE-POD-FWD') ?? [])]);
    const d = diffTable(t, { chains, jumps: p.jumps });
    expect(d.written).to.deep.equal(['TORTIE-POD-FWD']);
  });

  it('a nomatch flag change deletes and re-adds the member', () => {
    const want = new Map([['TORTIE-N4-x', { name: 'TORTIE-N4-x', family: 4 as const, type: 'hash:net' as const, members: ['10.1.0.0/16 nomatch'], describe: '' }]]);
    const have = new Map([['TORTIE-N4-x', { type: 'hash:net' as const, family: 4 as const, members: new Set(['10.1.0.0/16']) }]]);
    expect(diffSets(want, have).prepare).to.equal('del TORTIE-N4-x 10.1.0.0/16\nadd TORTIE-N4-x 10.1.0.0/16 nomatch\n');
  });
});

describe('reading back save output', () => {
  const SAVE = [
    '# Generated by iptables-save v1.8.9 (nf_tables)',
    '*nat',
    ':TORTIE-NOT-FILTER - [0:0]',
    '-A TORTIE-NOT-FILTER -m comment --comment "tt:0000000000000000" -j RETURN',
    'COMMIT',
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD DROP [10:600]',
    ':KUBE-FORWARD - [0:0]',
    ':TORTIE-FORWARD - [0:0]',
    ':TORTIE-EMPTY - [0:0]',
    '-A INPUT -m comment --comment "tt:9eaa3e0c48246d30" -j TORTIE-INPUT',
    '-A FORWARD -m comment --comment tt:007f143742abd587 -j TORTIE-FORWARD',
    '-A FORWARD -j KUBE-FORWARD',
    '-A FORWARD -m comment --comment "tt:007f143742abd587" -j TORTIE-FORWARD',
    '-A KUBE-FORWARD -m comment --comment "tt:1111111111111111" -j ACCEPT',
    '-A TORTIE-FORWARD -i tt+ -m comment --comment "tt:8209546412550117" -g TORTIE-POD-FWD',
    '-A TORTIE-FORWARD -j DROP',
    'COMMIT',
  ].join('\n');

  it('keeps our filter chains and hashes, counts our jumps, ignores the rest', () => {
    const p = parseIptablesSave(SAVE);
    expect([...p.chains.keys()]).to.deep.equal(['TORTIE-FORWARD', 'TORTIE-EMPTY']);
    expect(p.chains.get('TORTIE-FORWARD')).to.deep.equal(['8209546412550117', '']);
    expect(p.chains.get('TORTIE-EMPTY')).to.deep.equal([]);
    expect(Object.fromEntries(p.jumps)).to.deep.equal({ INPUT: 1, FORWARD: 2 });
  });

  it('reads our sets and members from ipset save', () => {
    const text = [
      'create KUBE-X hash:ip family inet hashsize 1024 maxelem 65536',
      'add KUBE-X 10.0.0.1',
      'create TORTIE-N4-a hash:net family inet hashsize 1024 maxelem 1048576 bucketsize 12 initval 0x1',
      'add TORTIE-N4-a 10.0.0.0/8',
      'add TORTIE-N4-a 10.1.0.0/16 nomatch',
      'create TORTIE-IF6 hash:net,iface family inet6 hashsize 1024 maxelem 1048576',
      'add TORTIE-IF6 fd00::1,tt0a',
      'create TORTIE-ODD bitmap:port range 0-100',
    ].join('\n');
    const { sets, foreignTyped } = parseIpsetSave(text);
    expect([...sets.keys()]).to.deep.equal(['TORTIE-N4-a', 'TORTIE-IF6']);
    expect([...(sets.get('TORTIE-N4-a')?.members ?? [])]).to.deep.equal(['10.0.0.0/8', '10.1.0.0/16 nomatch']);
    expect(sets.get('TORTIE-IF6')).to.deep.include({ type: 'hash:net,iface', family: 6 });
    expect(foreignTyped).to.deep.equal(['TORTIE-ODD']);
  });
});
