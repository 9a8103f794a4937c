/**
 * Reading back what is programmed, from `iptables-save -t filter` and
 * `ipset save`, looking only at what is ours (the TORTIE- prefix) and, for
 * rules, only at our hash comments. Other tools' chains and sets are
 * skipped line by line without being interpreted.
 */
import type { Family } from './cidr.js';
import type { SetType } from './ir.js';
import { BUILTIN_JUMPS, isOurs } from './names.js';
import type { ProgrammedSet, ProgrammedTable } from './render.js';
import { COMMENT_TAG } from './render.js';

const COMMENT_RE = new RegExp(`--comment "?${COMMENT_TAG}([0-9a-f]{16})"?`);

export function parseIptablesSave(text: string): ProgrammedTable {
  const chains = new Map<string, string[]>();
  const jumps = new Map<string, number>();
  const builtinTargets = new Map<string, string>(BUILTIN_JUMPS.map((j) => [j.builtin, j.target]));
  let inFilter = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      inFilter = line === '*filter';
      continue;
    }
    if (!inFilter) continue;
    if (line.startsWith(':')) {
      const name = line.slice(1, line.indexOf(' ') < 0 ? undefined : line.indexOf(' '));
      if (isOurs(name) && !chains.has(name)) chains.set(name, []);
      continue;
    }
    if (!line.startsWith('-A ')) continue;
    const sp = line.indexOf(' ', 3);
    const chain = line.slice(3, sp < 0 ? undefined : sp);
    if (isOurs(chain)) {
      let list = chains.get(chain);
      if (!list) chains.set(chain, (list = []));
      list.push(COMMENT_RE.exec(line)?.[1] ?? '');
      continue;
    }
    const target = builtinTargets.get(chain);
    if (target !== undefined && (line.endsWith(` -j ${target}`) || line.includes(` -j ${target} `))) {
      jumps.set(chain, (jumps.get(chain) ?? 0) + 1);
    }
  }
  return { chains, jumps };
}

const SET_TYPES = new Set<string>(['hash:ip', 'hash:net', 'hash:net,iface']);

export interface ParsedSets {
  readonly sets: Map<string, ProgrammedSet>;
  /** Our sets with a type we never create (reported by verify). */
  readonly foreignTyped: string[];
}

export function parseIpsetSave(text: string): ParsedSets {
  const sets = new Map<string, { type: SetType; family: Family; members: Set<string> }>();
  const foreignTyped: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('create ')) {
      const parts = line.split(/\s+/);
      const name = parts[1];
      if (!isOurs(name)) continue;
      const type = parts[2];
      const famIdx = parts.indexOf('family');
      const family: Family = famIdx > 0 && parts[famIdx + 1] === 'inet6' ? 6 : 4;
      if (!SET_TYPES.has(type)) {
        foreignTyped.push(name);
        continue;
      }
      sets.set(name, { type: type as SetType, family, members: new Set() });
    } else if (line.startsWith('add ')) {
      const sp = line.indexOf(' ', 4);
      if (sp < 0) continue;
      const name = line.slice(4, sp);
      const set = sets.get(name);
      if (set) set.members.add(line.slice(sp + 1).trim().split(/\s+/).join(' '));
    }
  }
  return { sets, foreignTyped };
}
