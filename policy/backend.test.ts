import { expect } from 'chai';
import { hasCode } from '../lib/errors.js';
import { countRules, detectBackend } from './backend.js';
import { FakeNetfilter } from './testing/fake-netfilter.js';

describe('iptables backend detection', () => {
  it('counts rules and user chains, not empty built-in tables', () => {
    expect(countRules('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\nCOMMIT\n')).to.equal(0);
    expect(countRules('*filter\n:INPUT ACCEPT [0:0]\n:KUBE-X - [0:0]\n-A INPUT -j KUBE-X\nCOMMIT\n*nat\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n')).to.equal(3);
  });

  const rows: { name: string; backend: 'nft' | 'legacy'; rules: boolean; other: number; prefer?: 'nft' | 'legacy'; want: string }[] = [
    { name: 'nothing anywhere: what iptables defaults to (nft)', backend: 'nft', rules: false, other: 0, want: 'nft' },
    { name: 'nothing anywhere: what iptables defaults to (legacy)', backend: 'legacy', rules: false, other: 0, want: 'legacy' },
    { name: 'nothing anywhere: the preference wins', backend: 'nft', rules: false, other: 0, prefer: 'legacy', want: 'legacy' },
    { name: 'only nft holds rules', backend: 'nft', rules: true, other: 0, want: 'nft' },
    { name: 'only legacy holds rules', backend: 'legacy', rules: true, other: 0, want: 'legacy' },
    { name: 'both hold rules: refused', backend: 'nft', rules: true, other: 3, want: 'ERR_POLICY_BACKEND_MIXED' },
    { name: 'preference contradicts the one in use: refused', backend: 'legacy', rules: true, other: 0, prefer: 'nft', want: 'ERR_POLICY_BACKEND_CONFLICT' },
  ];
  for (const r of rows) {
    it(r.name, async () => {
      const nf = new FakeNetfilter();
      nf.backend = r.backend;
      nf.otherBackendRules = r.other;
      if (r.rules) nf.restore(4, '*filter\n:KUBE-FORWARD - [0:0]\n-A FORWARD -j KUBE-FORWARD\nCOMMIT\n');
      try {
        const d = await detectBackend(nf.runner(), { prefer: r.prefer });
        expect(d.backend).to.equal(r.want);
        expect(d.restore[4]).to.equal(`iptables-${r.want}-restore`);
        expect(d.save[6]).to.equal(`ip6tables-${r.want}-save`);
      } catch (err) {
        if (!r.want.startsWith('ERR_')) throw err;
        expect(hasCode(err, r.want), String(err)).to.equal(true);
      }
    });
  }
});
