/**
 * `policy verify`: what is programmed (read back with save-parse.ts)
 * against what is wanted (a Compiled value), chain by chain by hash
 * comments, jump by jump, and set by set by members. Pure.
 */
import type { Family } from './cidr.js';
import type { Compiled } from './compile.js';
import { BUILTIN_JUMPS, podChain } from './names.js';
import type { ProgrammedSet, ProgrammedTable, RenderedRule, RenderedTable } from './render.js';
import { cmp } from './rules.js';

export interface TableVerify {
  readonly family: Family;
  readonly missingChains: readonly string[];
  readonly extraChains: readonly string[];
  /** Present in both, but the rules' hashes differ (edited, reordered, or stale). */
  readonly differingChains: readonly string[];
  readonly missingJumps: readonly string[];
  readonly duplicateJumps: readonly string[];
}

export interface SetVerify {
  readonly name: string;
  readonly missingMembers: readonly string[];
  readonly extraMembers: readonly string[];
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly tables: readonly TableVerify[];
  readonly missingSets: readonly string[];
  readonly extraSets: readonly string[];
  readonly differingSets: readonly SetVerify[];
  /** Sets of ours whose type or family is not what we create. */
  readonly conflictingSets: readonly string[];
  /** Local pods whose own or policy chains are not as wanted. */
  readonly podsAffected: readonly string[];
  readonly chainsChecked: number;
  readonly rulesChecked: number;
  readonly setsChecked: number;
}

export function verifyProgrammed(c: Compiled, programmed: ReadonlyMap<Family, ProgrammedTable>, sets: ReadonlyMap<string, ProgrammedSet>, foreignTyped: readonly string[] = []): VerifyReport {
  const tables: TableVerify[] = [];
  const badChains = new Set<string>();
  let chainsChecked = 0;
  let rulesChecked = 0;
  for (const fam of c.families) {
    const want: RenderedTable = c.tables.get(fam) ?? new Map<string, RenderedRule[]>();
    const have: ProgrammedTable = programmed.get(fam) ?? { chains: new Map<string, string[]>(), jumps: new Map<string, number>() };
    const missingChains: string[] = [];
    const differingChains: string[] = [];
    for (const [name, rules] of want) {
      chainsChecked++;
      rulesChecked += rules.length;
      const got = have.chains.get(name);
      if (got === undefined) {
        missingChains.push(name);
        badChains.add(name);
      } else if (got.length !== rules.length || rules.some((r, i) => r.hash !== got[i])) {
        differingChains.push(name);
        badChains.add(name);
      }
    }
    const extraChains = [...have.chains.keys()].filter((n) => !want.has(n)).sort(cmp);
    const missingJumps = BUILTIN_JUMPS.filter((j) => (have.jumps.get(j.builtin) ?? 0) === 0).map((j) => j.builtin);
    const duplicateJumps = BUILTIN_JUMPS.filter((j) => (have.jumps.get(j.builtin) ?? 0) > 1).map((j) => j.builtin);
    tables.push({ family: fam, missingChains, extraChains, differingChains, missingJumps, duplicateJumps });
  }

  const missingSets: string[] = [];
  const differingSets: SetVerify[] = [];
  const conflictingSets: string[] = [...foreignTyped];
  for (const [name, want] of c.sets) {
    const got = sets.get(name);
    if (!got) {
      missingSets.push(name);
      continue;
    }
    if (got.type !== want.type || got.family !== want.family) {
      conflictingSets.push(name);
      continue;
    }
    const wantM = new Set(want.members);
    const missingMembers = want.members.filter((m) => !got.members.has(m));
    const extraMembers = [...got.members].filter((m) => !wantM.has(m)).sort(cmp);
    if (missingMembers.length || extraMembers.length) differingSets.push({ name, missingMembers, extraMembers });
  }
  const extraSets = [...sets.keys()].filter((n) => !c.sets.has(n)).sort(cmp);

  const podsAffected: string[] = [];
  for (const pod of c.resolved.ir.pods.values()) {
    const chains = [
      ...(pod.ingress ? [podChain('ingress', pod.key), ...pod.ingress] : []),
      ...(pod.egress ? [podChain('egress', pod.key), ...pod.egress] : []),
    ];
    if (chains.some((n) => badChains.has(n))) podsAffected.push(pod.key);
  }
  podsAffected.sort(cmp);

  const ok =
    tables.every((t) => !t.missingChains.length && !t.extraChains.length && !t.differingChains.length && !t.missingJumps.length && !t.duplicateJumps.length) &&
    !missingSets.length &&
    !extraSets.length &&
    !differingSets.length &&
    !conflictingSets.length;
  return { ok, tables, missingSets, extraSets, differingSets, conflictingSets, podsAffected, chainsChecked, rulesChecked, setsChecked: c.sets.size };
}
