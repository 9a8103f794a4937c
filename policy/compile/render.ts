/**
 * Chains and sets as text, and the difference between what is wanted and
 * what is programmed, as one `iptables-restore --noflush` input per family
 * and `ipset restore` inputs.
 *
 * Every rule carries `-m comment --comment "tt:<hash>"`, where the hash
 * chains the chain's name, the previous rule's hash and the rule's own
 * spec. So a chain's list of hashes says exactly what is in it, and
 * `iptables-save` of our chains is compared by hashes alone: we never
 * parse rule text, ours or anyone else's.
 */
import type { Family } from './cidr.js';
import type { ChainMap } from './chains.js';
import { hash64 } from './hash.js';
import type { SetDef, SetType } from './ir.js';
import { BUILTIN_JUMPS } from './names.js';
import { cmp } from './rules.js';

export interface RenderedRule {
  readonly hash: string;
  readonly spec: string;
}

/** Chain name -> rules, in the order chains were built. */
export type RenderedTable = ReadonlyMap<string, readonly RenderedRule[]>;

export const COMMENT_TAG = 'tt:';

/** Hash-chains one chain's rules. */
function renderChain(name: string, specs: readonly string[]): RenderedRule[] {
  let prev = '';
  const rules: RenderedRule[] = [];
  for (const spec of specs) {
    prev = hash64(`${name}\n${prev}\n${spec}`);
    rules.push({ hash: prev, spec });
  }
  return rules;
}

/** Renders every chain (no cache). */
export function renderTable(chains: ChainMap): RenderedTable {
  const out = new Map<string, readonly RenderedRule[]>();
  for (const [name, specs] of chains) out.set(name, renderChain(name, specs));
  return out;
}

export function ruleLine(chain: string, r: RenderedRule): string {
  return `-A ${chain} -m comment --comment "${COMMENT_TAG}${r.hash}" ${r.spec}`;
}

/** The comment hash of the jump from a built-in chain to ours. */
export function jumpHash(builtin: string, target: string): string {
  return hash64(`jump|${builtin}|${target}`);
}

export function jumpSpec(builtin: string, target: string): string {
  return `-m comment --comment "${COMMENT_TAG}${jumpHash(builtin, target)}" -j ${target}`;
}

/** What is programmed in one family's filter table, as far as we can tell from hashes. */
export interface ProgrammedTable {
  /** Our chains -> their rules' comment hashes ('' for a rule without our comment). */
  readonly chains: ReadonlyMap<string, readonly string[]>;
  /** Built-in chain -> how many of our jumps it holds. */
  readonly jumps: ReadonlyMap<string, number>;
  /**
   * When known: the rendered table that was written; it then stands for
   * `chains` (which may be left empty). A desired chain whose rendered rules
   * are the very same array is unchanged without comparing hashes (the
   * compiler keeps unchanged chains' arrays).
   */
  readonly rendered?: RenderedTable;
}

export const EMPTY_TABLE: ProgrammedTable = { chains: new Map(), jumps: new Map() };

export interface TableDiff {
  /** Input for `iptables-restore --noflush`, or '' when nothing differs. */
  readonly text: string;
  readonly written: readonly string[];
  readonly deleted: readonly string[];
  readonly rulesWritten: number;
  readonly jumpsAdded: readonly string[];
  readonly jumpsRemoved: number;
}

function sameHashes(a: readonly RenderedRule[], b: readonly string[] | undefined): boolean {
  if (b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].hash !== b[i]) return false;
  return true;
}

/**
 * The restore input that turns `programmed` into `desired`: each chain that
 * is new or differs is declared (which, with --noflush, creates or flushes
 * it) and refilled; chains no longer wanted are flushed and then deleted;
 * a missing jump from a built-in chain is inserted at the top, extra ones
 * removed. Other chains are never named.
 */
export function diffTable(desired: RenderedTable, programmed: ProgrammedTable, opts: { withJumps?: boolean } = {}): TableDiff {
  const written: string[] = [];
  const deleted: string[] = [];
  const known = programmed.rendered;
  for (const [name, rules] of desired) {
    const was = known?.get(name);
    if (was === rules) continue;
    if (!sameHashes(rules, was !== undefined ? was.map((r) => r.hash) : programmed.chains.get(name))) written.push(name);
  }
  written.sort(cmp);
  for (const name of (known ?? programmed.chains).keys()) if (!desired.has(name)) deleted.push(name);
  deleted.sort(cmp);
  const jumpLines: string[] = [];
  const jumpsAdded: string[] = [];
  let jumpsRemoved = 0;
  if (opts.withJumps ?? true) {
    for (const j of BUILTIN_JUMPS) {
      const have = programmed.jumps.get(j.builtin) ?? 0;
      if (have === 0) {
        jumpLines.push(`-I ${j.builtin} 1 ${jumpSpec(j.builtin, j.target)}`);
        jumpsAdded.push(j.builtin);
      }
      for (let i = 1; i < have; i++) {
        jumpLines.push(`-D ${j.builtin} ${jumpSpec(j.builtin, j.target)}`);
        jumpsRemoved++;
      }
    }
  }
  if (written.length === 0 && deleted.length === 0 && jumpLines.length === 0) {
    return { text: '', written, deleted, rulesWritten: 0, jumpsAdded, jumpsRemoved };
  }
  const lines: string[] = ['*filter'];
  for (const name of [...written, ...deleted]) lines.push(`:${name} - [0:0]`);
  let rulesWritten = 0;
  for (const name of written) {
    for (const r of desired.get(name) ?? []) {
      lines.push(ruleLine(name, r));
      rulesWritten++;
    }
  }
  lines.push(...jumpLines);
  for (const name of deleted) lines.push(`-X ${name}`);
  lines.push('COMMIT', '');
  return { text: lines.join('\n'), written, deleted, rulesWritten, jumpsAdded, jumpsRemoved };
}

/** Restore input that removes everything of ours (jumps first, then chains). */
export function removeAllText(programmed: ProgrammedTable): string {
  const lines = ['*filter'];
  const chains = [...(programmed.rendered ?? programmed.chains).keys()].sort(cmp);
  for (const name of chains) lines.push(`:${name} - [0:0]`);
  for (const j of BUILTIN_JUMPS) for (let i = 0; i < (programmed.jumps.get(j.builtin) ?? 0); i++) lines.push(`-D ${j.builtin} ${jumpSpec(j.builtin, j.target)}`);
  for (const name of chains) lines.push(`-X ${name}`);
  lines.push('COMMIT', '');
  return lines.length === 3 ? '' : lines.join('\n');
}

/** The whole table as restore input (golden tests; what a from-scratch apply writes). */
export function fullRestoreText(desired: RenderedTable): string {
  return diffTable(desired, EMPTY_TABLE).text;
}

// ---------------------------------------------------------------- sets

export interface ProgrammedSet {
  readonly type: SetType;
  readonly family: Family;
  readonly members: ReadonlySet<string>;
  /** When known: the definition that was written (a desired set that is the same object is unchanged). */
  readonly def?: SetDef;
}

/** A programmed set standing for a definition we wrote; `members` is built only if someone asks. */
export function programmedSetOf(def: SetDef): ProgrammedSet {
  let members: ReadonlySet<string> | undefined;
  return {
    type: def.type,
    family: def.family,
    def,
    get members(): ReadonlySet<string> {
      members ??= new Set(def.members);
      return members;
    },
  };
}

export interface SetsDiff {
  /** `ipset restore` input to run before iptables: creates, adds, deletes. '' when none. */
  readonly prepare: string;
  /** `ipset restore` input to run after iptables: destroys. '' when none. */
  readonly destroy: string;
  readonly created: readonly string[];
  readonly destroyed: readonly string[];
  readonly added: number;
  readonly removed: number;
  /** Sets whose type or family differs from ours (left alone, reported by verify). */
  readonly conflicting: readonly string[];
}

/** Default maxelem is 65536; a cluster-wide peer set may hold more. */
export const SET_MAXELEM = 1048576;

export function createLine(s: { name: string; type: SetType; family: Family }): string {
  return `create ${s.name} ${s.type} family ${s.family === 4 ? 'inet' : 'inet6'} hashsize 1024 maxelem ${SET_MAXELEM}`;
}

/** The address part of a member (`10.1.0.0/16 nomatch` -> `10.1.0.0/16`), as `del` wants it. */
function memberKey(m: string): string {
  const sp = m.indexOf(' ');
  return sp < 0 ? m : m.slice(0, sp);
}

export function diffSets(desired: ReadonlyMap<string, SetDef>, programmed: ReadonlyMap<string, ProgrammedSet>): SetsDiff {
  const prep: string[] = [];
  const destroyLines: string[] = [];
  const created: string[] = [];
  const destroyed: string[] = [];
  const conflicting: string[] = [];
  let added = 0;
  let removed = 0;
  // Unchanged sets (the same definition object as written) are skipped without looking at members.
  const names: string[] = [];
  for (const [name, want] of desired) if (programmed.get(name)?.def !== want) names.push(name);
  names.sort(cmp);
  for (const name of names) {
    const want = desired.get(name);
    if (!want) continue;
    const have = programmed.get(name);
    if (have && (have.type !== want.type || have.family !== want.family)) {
      conflicting.push(name);
      continue;
    }
    if (!have) {
      prep.push(createLine(want));
      created.push(name);
    }
    const haveMembers = have?.members ?? new Set<string>();
    const wantMembers = new Set(want.members);
    // Deletes first: a member whose nomatch flag changes is deleted and added again.
    const gone: string[] = [];
    for (const m of haveMembers) if (!wantMembers.has(m)) gone.push(m);
    for (const m of gone.sort(cmp)) {
      prep.push(`del ${name} ${memberKey(m)}`);
      removed++;
    }
    for (const m of want.members) {
      if (!haveMembers.has(m)) {
        prep.push(`add ${name} ${m}`);
        added++;
      }
    }
  }
  for (const name of programmed.keys()) if (!desired.has(name)) destroyed.push(name);
  destroyed.sort(cmp);
  for (const name of destroyed) destroyLines.push(`destroy ${name}`);
  return {
    prepare: prep.length ? `${prep.join('\n')}\n` : '',
    destroy: destroyLines.length ? `${destroyLines.join('\n')}\n` : '',
    created,
    destroyed,
    added,
    removed,
    conflicting,
  };
}

/** All sets as `ipset restore` input (golden tests). */
export function fullSetsText(desired: ReadonlyMap<string, SetDef>): string {
  return diffSets(desired, new Map()).prepare;
}
