/**
 * Which iptables backend to write through: nf_tables ("nft") or the old
 * x_tables ("legacy"). Both can be installed side by side, and both can
 * hold rules at once; then packets pass both rule sets in an order nobody
 * chose, and our view of either is half the truth. So:
 *
 *   - a backend that holds rules (any rule or user chain, any table, either
 *     family) is in use; legacy is only looked at when the kernel has
 *     legacy tables at all (/proc/net/ip{,6}_tables_names), so detection
 *     never loads the legacy modules;
 *   - both in use: refuse (ERR_POLICY_BACKEND_MIXED);
 *   - one in use: use it (a configured preference for the other one is an
 *     error, ERR_POLICY_BACKEND_CONFLICT);
 *   - none in use: the preference, else what `iptables --version` says.
 */
import type { CommandRunner } from '../agent/kernel/command-runner.js';
import { TortieError } from '../lib/errors.js';
import type { Family } from './compile/cidr.js';

export type Backend = 'nft' | 'legacy';
export type BackendPreference = Backend | 'auto';

export interface BackendCommands {
  readonly backend: Backend;
  readonly save: Readonly<Record<Family, string>>;
  readonly restore: Readonly<Record<Family, string>>;
}

export interface BackendDetection extends BackendCommands {
  /** Rules and user chains seen per backend (both families). */
  readonly evidence: Readonly<Record<Backend, number>>;
  readonly reason: string;
}

export function commandsFor(backend: Backend): BackendCommands {
  return {
    backend,
    save: { 4: `iptables-${backend}-save`, 6: `ip6tables-${backend}-save` },
    restore: { 4: `iptables-${backend}-restore`, 6: `ip6tables-${backend}-restore` },
  };
}

/** Rules (`-A`) and user-defined chains (`:NAME -`) in save output; empty built-in tables count zero. */
export function countRules(saveText: string): number {
  let n = 0;
  for (const line of saveText.split('\n')) {
    if (line.startsWith('-A ')) n++;
    else if (line.startsWith(':') && / - \[/.test(line)) n++;
  }
  return n;
}

async function countFor(runner: CommandRunner, netns: string | undefined, backend: Backend): Promise<number> {
  const cmds = commandsFor(backend);
  let total = 0;
  for (const fam of [4, 6] as const) {
    if (backend === 'legacy') {
      const names = await runner.run(['cat', fam === 4 ? '/proc/net/ip_tables_names' : '/proc/net/ip6_tables_names'], { netns }).catch(() => undefined);
      if (!names || names.code !== 0 || names.stdout.trim() === '') continue;
    }
    const res = await runner.run([cmds.save[fam]], { netns }).catch(() => undefined);
    if (res && res.code === 0) total += countRules(res.stdout);
  }
  return total;
}

export async function detectBackend(runner: CommandRunner, opts: { netns?: string; prefer?: BackendPreference } = {}): Promise<BackendDetection> {
  const prefer = opts.prefer ?? 'auto';
  const evidence: Record<Backend, number> = {
    nft: await countFor(runner, opts.netns, 'nft'),
    legacy: await countFor(runner, opts.netns, 'legacy'),
  };
  if (evidence.nft > 0 && evidence.legacy > 0) {
    throw new TortieError(
      'ERR_POLICY_BACKEND_MIXED',
      `both iptables backends hold rules (nft: ${evidence.nft}, legacy: ${evidence.legacy}); refusing to program a mixed host — move every tool to one backend`,
    );
  }
  const inUse: Backend | undefined = evidence.nft > 0 ? 'nft' : evidence.legacy > 0 ? 'legacy' : undefined;
  if (inUse !== undefined) {
    if (prefer !== 'auto' && prefer !== inUse) {
      throw new TortieError('ERR_POLICY_BACKEND_CONFLICT', `configured backend ${prefer}, but only ${inUse} holds rules (${evidence[inUse]})`);
    }
    return { ...commandsFor(inUse), evidence, reason: `${inUse} holds ${evidence[inUse]} rules/chains, the other none` };
  }
  if (prefer !== 'auto') return { ...commandsFor(prefer), evidence, reason: `no rules anywhere; configured ${prefer}` };
  const version = await runner.run(['iptables', '--version'], { netns: opts.netns }).catch(() => undefined);
  const backend: Backend = version && /legacy/.test(version.stdout) ? 'legacy' : 'nft';
  return { ...commandsFor(backend), evidence, reason: `no rules anywhere; iptables defaults to ${backend}` };
}
