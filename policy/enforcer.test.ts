/**
 * PolicyEnforcer against an in-memory netfilter: writes go through the
 * real restore text, and packets are walked through what got programmed.
 */
import { expect } from 'chai';
import { hasCode } from '../lib/errors.js';
import type { ClusterState, NetworkPolicyInfo } from './compile/model.js';
import { PolicyEnforcer, withAttachments } from './enforcer.js';
import { FakeNetfilter } from './testing/fake-netfilter.js';
import { FakePersistentRunner } from './testing/fake-persistent.js';
import { simulate } from './testing/packet-sim.js';

const base: ClusterState = {
  namespaces: [{ name: 'x' }],
  pods: [
    { namespace: 'x', name: 'a', labels: { app: 'a' }, attachment: { ifName: 'tt01aaaa', ips: ['10.0.0.1'] } },
    { namespace: 'x', name: 'b', labels: { app: 'b' }, attachment: { ifName: 'tt02bbbb', ips: ['10.0.0.2'] } },
  ],
  policies: [],
};
const denyA: NetworkPolicyInfo = { namespace: 'x', name: 'deny-a', podSelector: { matchLabels: { app: 'a' } } };
const allowB: NetworkPolicyInfo = { namespace: 'x', name: 'allow-b', podSelector: { matchLabels: { app: 'a' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'b' } } }] }] };

function bToA(nf: FakeNetfilter): string {
  return simulate(nf, 'FORWARD', { family: 4, src: '10.0.0.2', dst: '10.0.0.1', proto: 'tcp', dport: 80, inIf: 'tt02bbbb', outIf: 'tt01aaaa', ct: 'NEW' }).verdict;
}

/** One-shot tool runs, or kept restore processes (restore-session.ts): the enforcer must behave the same. */
let kept = false;
function runnerOf(nf: FakeNetfilter): ReturnType<FakeNetfilter['runner']> | FakePersistentRunner {
  return kept ? new FakePersistentRunner(nf.runner()) : nf.runner();
}

async function started(nf: FakeNetfilter, families: readonly (4 | 6)[] = [4]): Promise<PolicyEnforcer> {
  const e = new PolicyEnforcer({ runner: runnerOf(nf), ifacePrefix: 'tt', families });
  await e.start();
  return e;
}

for (const mode of ['one-shot', 'kept'] as const) describe(`PolicyEnforcer (${mode} restore processes)`, () => {
  before(() => {
    kept = mode === 'kept';
  });

  it('programs the state, and a second apply writes nothing', async () => {
    const nf = new FakeNetfilter();
    const e = await started(nf);
    e.setState({ ...base, policies: [denyA] });
    const r1 = await e.apply();
    expect(r1).to.deep.include({ ok: true, changed: true, pods: 2 });
    expect(bToA(nf)).to.equal('DROP');
    const writes = nf.restores.length;
    const r2 = await e.apply();
    expect(r2.changed).to.equal(false);
    expect(nf.restores.length).to.equal(writes);
  });

  it('a policy change writes only the difference; other chains stay intact', async () => {
    const nf = new FakeNetfilter();
    nf.restore(4, '*filter\n:KUBE-FORWARD - [0:0]\n-A KUBE-FORWARD -j ACCEPT\n-A FORWARD -j KUBE-FORWARD\nCOMMIT\n');
    const e = await started(nf);
    e.setState({ ...base, policies: [denyA] });
    await e.apply();
    e.setState({ ...base, policies: [denyA, allowB] });
    const before = nf.restores.length;
    const r = await e.apply();
    expect(bToA(nf)).to.equal('ACCEPT');
    const written = nf.restores.slice(before);
    expect(written.map((w) => w.tool)).to.deep.equal(['ipset', 'iptables-nft-restore']);
    const declared = (written[1].input.match(/^:\S+/gm) ?? []).map((l) => l.replace(/[0-9a-f]{16}$/, 'H'));
    expect(declared).to.have.members([':TORTIE-PI-H', ':TORTIE-NI-H']);
    expect(r.tables[0]).to.deep.include({ chainsWritten: 2, chainsDeleted: 0, jumpsAdded: 0 });
    expect(nf.chains(4).get('KUBE-FORWARD')).to.deep.equal(['-j ACCEPT']);
    expect(nf.chains(4).get('FORWARD')?.at(-1)).to.equal('-j KUBE-FORWARD');
    expect(nf.chains(4).get('FORWARD')?.[0]).to.match(/-j TORTIE-FORWARD$/);
  });

  it('status and waitProgrammed follow the writes; a timeout has a code', async () => {
    const nf = new FakeNetfilter();
    const e = await started(nf);
    e.setState(base);
    expect(e.status('x/a').state).to.equal('pending');
    expect(e.status('x/zz').state).to.equal('unknown');
    const waiting = e.waitProgrammed('x/a', 5000);
    await e.apply();
    expect((await waiting).state).to.equal('programmed');
    e.setState({ ...base, policies: [denyA] });
    expect(e.status('x/a').state).to.equal('updating');
    expect(e.status('x/b').state).to.equal('programmed');
    try {
      await e.waitProgrammed('x/a', 30);
      expect.fail('should time out');
    } catch (err) {
      expect(hasCode(err, 'ERR_POLICY_PROGRAM_TIMEOUT'), String(err)).to.equal(true);
    }
  });

  it('a new pod is dropped until programmed (fail-closed), then follows its policy', async () => {
    const nf = new FakeNetfilter();
    const e = await started(nf);
    e.setState({ ...base, policies: [denyA] });
    await e.apply();
    const cPkt = { family: 4 as const, src: '10.0.0.3', dst: '10.0.0.2', proto: 'udp' as const, dport: 53, inIf: 'tt03cccc', outIf: 'tt02bbbb', ct: 'NEW' as const };
    expect(simulate(nf, 'FORWARD', cPkt).verdict).to.equal('DROP');
    e.setState({ ...base, policies: [denyA], pods: [...base.pods, { namespace: 'x', name: 'c', labels: { app: 'c' }, attachment: { ifName: 'tt03cccc', ips: ['10.0.0.3'] } }] });
    await e.apply();
    expect(simulate(nf, 'FORWARD', cPkt).verdict).to.equal('ACCEPT');
  });

  it('a restart adopts what is programmed and writes nothing', async () => {
    const nf = new FakeNetfilter();
    const e1 = await started(nf, [4, 6]);
    e1.setState({ ...base, policies: [denyA, allowB] });
    await e1.apply();
    const writes = nf.restores.length;
    const e2 = await started(nf, [4, 6]);
    e2.setState({ ...base, policies: [denyA, allowB] });
    const r = await e2.apply();
    expect(r.changed).to.equal(false);
    expect(nf.restores.length).to.equal(writes);
    expect(e2.status('x/a').state).to.equal('programmed');
  });

  it('verify finds changes made behind our back; resync repairs them', async () => {
    const nf = new FakeNetfilter();
    const e = await started(nf);
    e.setState({ ...base, policies: [denyA] });
    await e.apply();
    expect((await e.verify()).ok).to.equal(true);
    const chain = [...nf.chains(4).keys()].find((n) => n.startsWith('TORTIE-PI-')) ?? '';
    nf.chains(4).set(chain, ['-j ACCEPT']);
    nf.chains(4).set('FORWARD', []);
    const bad = await e.verify();
    expect(bad.ok).to.equal(false);
    expect(bad.tables[0].differingChains).to.deep.equal([chain]);
    expect(bad.tables[0].missingJumps).to.deep.equal(['FORWARD']);
    expect(bad.podsAffected).to.deep.equal(['x/a']);
    await e.resync();
    expect((await e.verify()).ok).to.equal(true);
    expect(bToA(nf)).to.equal('DROP');
  });

  it('a failed write rejects with a code, and the next apply re-reads the kernel and completes', async () => {
    const nf = new FakeNetfilter();
    const e = await started(nf);
    e.setState(base);
    await e.apply();
    e.setState({ ...base, policies: [denyA] });
    nf.failNext = { tool: /iptables/, stderr: 'iptables-restore: line 3 failed' };
    try {
      await e.apply();
      expect.fail('should fail');
    } catch (err) {
      expect(hasCode(err, 'ERR_POLICY_RESTORE'), String(err)).to.equal(true);
    }
    expect(e.lastApply?.ok).to.equal(false);
    expect(e.status('x/a').state).to.equal('updating');
    const r = await e.apply();
    expect(r.ok).to.equal(true);
    expect((await e.verify()).ok).to.equal(true);
    expect(bToA(nf)).to.equal('DROP');
  });

  it('concurrent applies are serialised and coalesced', async () => {
    const nf = new FakeNetfilter();
    const e = await started(nf);
    e.setState(base);
    const first = e.apply();
    e.setState({ ...base, policies: [denyA] });
    const second = e.apply();
    const third = e.apply();
    expect(third).to.equal(second);
    await Promise.all([first, second]);
    expect(bToA(nf)).to.equal('DROP');
  });

  it('removeAll leaves nothing of ours and everything else', async () => {
    const nf = new FakeNetfilter();
    nf.restore(4, '*filter\n:KUBE-FORWARD - [0:0]\n-A FORWARD -j KUBE-FORWARD\nCOMMIT\n');
    nf.ipsetRestore('create KUBE-SET hash:ip family inet\n', false);
    const e = await started(nf, [4, 6]);
    e.setState({ ...base, policies: [denyA, allowB] });
    await e.apply();
    await e.removeAll();
    for (const fam of [4, 6] as const) {
      expect([...nf.chains(fam).keys()].filter((n) => n.startsWith('TORTIE'))).to.deep.equal([]);
      expect(nf.chains(fam).get('FORWARD')?.join('\n') ?? '').to.not.contain('TORTIE');
    }
    expect([...nf.sets.keys()]).to.deep.equal(['KUBE-SET']);
    expect(nf.chains(4).get('FORWARD')).to.deep.equal(['-j KUBE-FORWARD']);
  });

  it('show joins explanation and status; withAttachments joins CNI attachments by namespace/name', async () => {
    const nf = new FakeNetfilter();
    const e = await started(nf);
    const bare: ClusterState = { ...base, pods: base.pods.map(({ attachment: _a, ...p }) => p) };
    e.setState(withAttachments(bare, new Map([['x/a', { ifName: 'tt01aaaa', ips: ['10.0.0.1'] }]])));
    expect(e.statuses().map((s) => s.pod)).to.deep.equal(['x/a']);
    await e.apply();
    const s = e.show('x/a');
    expect(s?.status.state).to.equal('programmed');
    expect(s?.ingress.isolated).to.equal(false);
    expect(e.show('x/b')?.local).to.equal(false);
  });

  it('refuses a mixed backend at start', async () => {
    const nf = new FakeNetfilter();
    nf.otherBackendRules = 2;
    nf.restore(4, '*filter\n:X - [0:0]\nCOMMIT\n');
    const e = new PolicyEnforcer({ runner: runnerOf(nf), ifacePrefix: 'tt' });
    try {
      await e.start();
      expect.fail('should refuse');
    } catch (err) {
      expect(hasCode(err, 'ERR_POLICY_BACKEND_MIXED'), String(err)).to.equal(true);
    }
  });

  it('rejects a bad configuration with a code', () => {
    expect(() => new PolicyEnforcer({ runner: new FakeNetfilter().runner(), ifacePrefix: 'bad prefix!' })).to.throw().with.property('code', 'ERR_POLICY_CONFIG');
    expect(() => new PolicyEnforcer({ runner: new FakeNetfilter().runner(), ifacePrefix: 'tt', markBit: 3 })).to.throw().with.property('code', 'ERR_POLICY_CONFIG');
  });
});

describe('PolicyEnforcer with kept restore processes', () => {
  it('writes through one kept process per family and a spare ipset; unused sets are destroyed after the write', async () => {
    const nf = new FakeNetfilter();
    const runner = new FakePersistentRunner(nf.runner());
    const e = new PolicyEnforcer({ runner, ifacePrefix: 'tt', families: [4, 6] });
    await e.start();
    e.setState({ ...base, policies: [allowB] });
    await e.apply();
    e.setState({ ...base, policies: [denyA] });
    await e.apply();
    await e.apply();
    const tools = runner.started.map((p) => p.argv.join(' '));
    expect(tools.filter((t) => t.startsWith('iptables-nft-restore'))).to.deep.equal(['iptables-nft-restore --noflush -v']);
    expect(tools.filter((t) => t.startsWith('ip6tables-nft-restore'))).to.deep.equal(['ip6tables-nft-restore --noflush -v']);
    // allowB's peer set is no longer used: it outlives the write, then goes.
    const peerSets = (): string[] => [...nf.sets.keys()].filter((n) => /^TORTIE-S4-/.test(n));
    expect(peerSets().length).to.equal(1);
    expect(bToA(nf)).to.equal('DROP');
    const v = await e.verify();
    expect(v.ok, JSON.stringify(v)).to.equal(true);
    expect(peerSets()).to.deep.equal([]);
    e.close();
    for (const p of runner.started) await p.cmd.exited;
  });
});
