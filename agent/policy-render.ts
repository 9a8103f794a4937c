/** tortiectl's text for `policy show` and `policy verify` (tables; -o json|yaml print the API objects). */
import type { PolicyDirectionView, PolicyShowView, PolicyVerifyView } from './api-types.js';

function direction(name: string, d: PolicyDirectionView, wide: boolean): string[] {
  const lines: string[] = [];
  if (!d.isolated) {
    lines.push(`${name}: not isolated (no policy selects the pod): everything allowed`);
    return lines;
  }
  lines.push(`${name}: isolated${wide && d.chain ? ` (chain ${d.chain})` : ''}${d.policies.length === 0 ? ': nothing allowed' : ''}`);
  for (const p of d.policies) {
    lines.push(`  policy ${p.policy}${wide && p.chain ? ` (chain ${p.chain})` : ''}`);
    if (p.rules.length === 0) lines.push('    (no rules: allows nothing)');
    for (const r of p.rules) {
      const peers = r.peers.join('; ') || 'any';
      const ports = r.ports.join(', ') || 'any';
      lines.push(`    rule ${r.index}: ${name === 'Ingress' ? 'from' : 'to'} ${peers}; ports ${ports}${r.note ? `  [${r.note}]` : ''}`);
    }
  }
  return lines;
}

export function renderPolicyShow(v: PolicyShowView, wide: boolean): string {
  const lines = [
    `Pod:        ${v.pod}`,
    `State:      ${v.status.state}${v.local ? '' : ' (not wired on this node)'}`,
    `Interface:  ${v.ifName ?? '-'}`,
    `Addresses:  ${v.ips.join(', ') || '-'}`,
    ...direction('Ingress', v.ingress, wide),
    ...direction('Egress', v.egress, wide),
    ...v.issues.map((i) => `Issue: ${i.message}`),
  ];
  return lines.join('\n') + '\n';
}

export function renderPolicyVerify(v: PolicyVerifyView): string {
  const lines = [
    `${v.ok ? 'In sync' : 'OUT OF SYNC'}: ${v.chainsChecked} chains, ${v.rulesChecked} rules, ${v.setsChecked} sets checked (backend ${v.backend})` +
      `${v.applyPending ? '; an apply is pending' : ''}`,
  ];
  for (const t of v.tables) {
    const fam = t.family === 4 ? 'iptables' : 'ip6tables';
    const add = (what: string, xs: readonly string[]): void => {
      if (xs.length) lines.push(`${fam}: ${what}: ${xs.join(', ')}`);
    };
    add('missing chains', t.missingChains);
    add('extra chains', t.extraChains);
    add('differing chains', t.differingChains);
    add('missing jumps', t.missingJumps);
    add('duplicate jumps', t.duplicateJumps);
  }
  if (v.missingSets.length) lines.push(`ipset: missing sets: ${v.missingSets.join(', ')}`);
  if (v.extraSets.length) lines.push(`ipset: extra sets: ${v.extraSets.join(', ')}`);
  for (const s of v.differingSets) lines.push(`ipset: ${s.name}: missing ${s.missingMembers.join(', ') || '-'}; extra ${s.extraMembers.join(', ') || '-'}`);
  if (v.conflictingSets.length) lines.push(`ipset: sets of another type under our names: ${v.conflictingSets.join(', ')}`);
  if (v.podsAffected.length) lines.push(`pods affected: ${v.podsAffected.join(', ')}`);
  return lines.join('\n') + '\n';
}
