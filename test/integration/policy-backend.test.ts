/**
 * iptables backend detection in real network namespaces: nft and legacy
 * can both hold rules in the same namespace; we must pick the one in use,
 * refuse a namespace where both are, and never load the legacy tables just
 * by looking.
 */
import { expect } from 'chai';
import { NodeCommandRunner } from '../../agent/kernel/command-runner.js';
import { hasCode } from '../../lib/errors.js';
import { detectBackend } from '../../policy/backend.js';
import { PolicyEnforcer } from '../../policy/enforcer.js';
import { isRoot, requireCommands, Topology, type Netns } from '../support/netns.js';

describe('iptables backend detection (real namespaces)', function () {
  this.timeout(60_000);
  let topo: Topology;
  const runner = new NodeCommandRunner();

  before(() => {
    if (!isRoot()) throw new Error('backend detection tests need root');
    requireCommands(['iptables-nft', 'iptables-legacy', 'ip6tables-nft-save', 'ip6tables-legacy-save']);
    topo = new Topology();
  });
  after(async () => topo?.destroy());

  const legacyTables = async (ns: Netns): Promise<string> => (await ns.exec('cat', ['/proc/net/ip_tables_names']).catch(() => ({ stdout: '' }))).stdout.trim();

  it('an empty namespace: what iptables defaults to, without loading legacy tables', async () => {
    const ns = await topo.addNamespace('empty');
    const d = await detectBackend(runner, { netns: ns.name });
    expect(d.backend).to.equal('nft');
    expect(d.evidence).to.deep.equal({ nft: 0, legacy: 0 });
    expect(await legacyTables(ns)).to.equal('');
  });

  it('only legacy rules: legacy, and the enforcer programs through it', async () => {
    const ns = await topo.addNamespace('legacy');
    await ns.exec('iptables-legacy', ['-N', 'OTHER-TOOL']);
    const d = await detectBackend(runner, { netns: ns.name });
    expect(d.backend).to.equal('legacy');
    expect(d.evidence.legacy).to.be.greaterThan(0);
    const e = new PolicyEnforcer({ runner, netns: ns.name, ifacePrefix: 'tortie' });
    await e.start();
    e.setState({ namespaces: [], pods: [], policies: [] });
    await e.apply();
    expect((await ns.exec('iptables-legacy-save')).stdout).to.contain(':TORTIE-FORWARD');
    expect((await ns.exec('iptables-nft-save')).stdout).to.not.contain('TORTIE');
    expect((await e.verify()).ok).to.equal(true);
  });

  it('only nft rules: nft', async () => {
    const ns = await topo.addNamespace('nft');
    await ns.exec('ip6tables-nft', ['-N', 'OTHER-TOOL']);
    expect((await detectBackend(runner, { netns: ns.name })).backend).to.equal('nft');
  });

  it('rules in both: refused, by detection and by the enforcer', async () => {
    const ns = await topo.addNamespace('mixed');
    await ns.exec('iptables-legacy', ['-N', 'LEGACY-TOOL']);
    await ns.exec('iptables-nft', ['-N', 'NFT-TOOL']);
    try {
      await detectBackend(runner, { netns: ns.name });
      expect.fail('mixed must be refused');
    } catch (err) {
      expect(hasCode(err, 'ERR_POLICY_BACKEND_MIXED'), String(err)).to.equal(true);
    }
    const e = new PolicyEnforcer({ runner, netns: ns.name, ifacePrefix: 'tortie' });
    try {
      await e.start();
      expect.fail('mixed must be refused');
    } catch (err) {
      expect(hasCode(err, 'ERR_POLICY_BACKEND_MIXED'), String(err)).to.equal(true);
    }
  });

  it('a configured backend that contradicts the one in use is refused', async () => {
    const ns = await topo.addNamespace('conflict');
    await ns.exec('iptables-legacy', ['-N', 'LEGACY-TOOL']);
    try {
      await detectBackend(runner, { netns: ns.name, prefer: 'nft' });
      expect.fail('conflict must be refused');
    } catch (err) {
      expect(hasCode(err, 'ERR_POLICY_BACKEND_CONFLICT'), String(err)).to.equal(true);
    }
  });
});
