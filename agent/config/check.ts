/**
 * `tortie-agent --check-config FILE`: validate without running. The caller
 * prints `text` (to stderr on failure) and exits 0 or 1.
 */
import { formatIssues } from './issues.js';
import { readConfigFileSync, type ConfigEnv } from './load.js';
import { effectivePeers } from './peers.js';
import type { AgentConfig } from './schema.js';

export type CheckResult = { ok: true; config: AgentConfig; text: string } | { ok: false; text: string };

/** Every problem, one per line, then a count; or a one-paragraph summary of a valid file. */
export function checkConfigFile(file: string, env?: ConfigEnv): CheckResult {
  const r = readConfigFileSync(file, env);
  if (!r.ok) return { ok: false, text: formatIssues(r.issues) };
  return { ok: true, config: r.config, text: summarize(file, r.config) };
}

function summarize(file: string, cfg: AgentConfig): string {
  const { peers, warnings } = effectivePeers(cfg);
  const mesh = peers.filter((p) => p.source === 'mesh').length;
  const lines = [
    `${file}: OK`,
    `node ${cfg.node.name}: AS ${cfg.node.asn}, router ID ${cfg.node.routerId}`,
    `${peers.length} peer${peers.length === 1 ? '' : 's'} (${mesh} mesh, ${peers.length - mesh} explicit), ` +
      `${cfg.routes.originate.length} originated prefix${cfg.routes.originate.length === 1 ? '' : 'es'}, route protocol ${cfg.routes.protocol}`,
    ...(cfg.ipam.pools.length > 0
      ? [`IPAM: ${cfg.ipam.pools.map((p) => `${p.name} ${p.cidr} /${p.blockSize}${p.disabled ? ' (disabled)' : ''}`).join(', ')}; ` +
        `strict affinity ${cfg.ipam.strictAffinity ? 'on' : 'off'}; ${cfg.ipam.datastore.type} datastore in ${cfg.ipam.datastore.directory}`]
      : []),
    ...(cfg.policy.enabled
      ? [`NetworkPolicy: on (manifests in ${cfg.policy.manifestDir ?? '?'}, veth prefix ${cfg.policy.ifacePrefix}, backend ${cfg.policy.backend}, ${cfg.policy.families.join('+')})`]
      : []),
    ...warnings.map((w) => `warning: ${w}`),
  ];
  return lines.join('\n') + '\n';
}
