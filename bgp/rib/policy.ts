/**
 * Import and export policies. A policy is data (JSON, from the config file)
 * compiled once into a matcher:
 *
 *   { name: "from-tor", defaultResult: "reject", terms: [
 *       { match: { prefixList: [{ prefix: "10.0.0.0/8", ge: 16, le: 26 }] },
 *         actions: { setLocalPref: 200, addCommunities: ["65000:10"] },
 *         result: "accept" } ] }
 *
 * Terms are tried in order. A term matches when every condition it lists
 * holds (a condition with several values holds when any of them does); an
 * empty match matches everything. A matching term applies its actions, then
 * `accept` or `reject` ends evaluation, and `continue` goes on to the next
 * term with the modified attributes. When no term ends it, `defaultResult`
 * decides.
 *
 * Prefix-list entries follow the usual ge/le reading: no ge/le matches the
 * prefix exactly; `ge` alone means lengths ge..32 (or 128); `le` alone
 * len..le; both ge..le. Each must satisfy len <= ge <= le <= max.
 *
 * Speed: matching needs no allocation for IPv4; the result of a term's
 * actions is cached per input attribute set, so a full table with a few
 * hundred distinct sets runs each action a few hundred times.
 */
import { TortieError } from '../../lib/errors.js';
import { parseIpv4PrefixInto, parsePrefix, wordMask } from './address.js';
import { prependAs } from './as-path.js';
import type { AttrsInterner } from './attrs-interner.js';
import { parseCommunity, parseLargeCommunity, sameLargeCommunity } from './communities.js';
import { withAttrs, type PathAttrs, type PathAttrsInit } from './path.js';
import type { LargeCommunity } from '../codec/types.js';

export type PolicyResult = 'accept' | 'reject' | 'continue';

export interface PrefixListEntry {
  prefix: string;
  ge?: number;
  le?: number;
}

export interface PolicyMatch {
  /** Any entry matches. */
  prefixList?: PrefixListEntry[];
  /** The path carries any of these ("65000:100", "no-export", ...). */
  communities?: string[];
  /** The path carries any of these ("65000:1:2"). */
  largeCommunities?: string[];
}

export interface PolicyActions {
  setLocalPref?: number;
  setMed?: number;
  stripMed?: boolean;
  addCommunities?: string[];
  removeCommunities?: string[];
  addLargeCommunities?: string[];
  removeLargeCommunities?: string[];
  /** Prepend `asn` (default: the session's own AS) `count` times. */
  prependAs?: { count: number; asn?: number };
}

export interface PolicyTerm {
  name?: string;
  match?: PolicyMatch;
  actions?: PolicyActions;
  result: PolicyResult;
}

export interface PolicyDef {
  name?: string;
  terms: PolicyTerm[];
  defaultResult: 'accept' | 'reject';
}

export interface PolicyContext {
  /** The AS used by `prependAs` without an explicit asn. */
  localAs: number;
  interner?: AttrsInterner;
}

export interface CompiledPolicy {
  readonly name: string;
  /** Some term looks at the prefix (results cannot be cached per attribute set alone). */
  readonly usesPrefix: boolean;
  /** The attributes after policy, or undefined when the route is rejected. */
  evaluate(prefix: string, attrs: PathAttrs): PathAttrs | undefined;
}

export const ACCEPT_ALL: CompiledPolicy = Object.freeze({ name: 'accept-all', usesPrefix: false, evaluate: (_p: string, a: PathAttrs) => a });
export const REJECT_ALL: CompiledPolicy = Object.freeze({ name: 'reject-all', usesPrefix: false, evaluate: () => undefined });

function invalid(where: string, what: string): never {
  throw new TortieError('ERR_POLICY_INVALID', `${where}: ${what}`);
}

function isUint(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

// ---------------------------------------------------------------- prefix lists

export interface PrefixMatcher {
  matches(prefix: string): boolean;
}

/** Compiles prefix-list entries; throws ERR_POLICY_INVALID with `where` in the message. */
export function compilePrefixList(entries: readonly PrefixListEntry[], where = 'prefix list'): PrefixMatcher {
  // IPv4 entries in flat typed arrays: network, mask, min and max length.
  const v4: number[] = [];
  const v6: { words: Uint32Array; len: number; min: number; max: number }[] = [];
  entries.forEach((e, i) => {
    const at = `${where} entry ${i} (${JSON.stringify(e.prefix)})`;
    const p = typeof e.prefix === 'string' ? parsePrefix(e.prefix) : undefined;
    if (p === undefined) invalid(at, 'not a prefix');
    const maxLen = p.v6 ? 128 : 32;
    if (e.ge !== undefined && !isUint(e.ge, maxLen)) invalid(at, `ge must be an integer 0..${maxLen}`);
    if (e.le !== undefined && !isUint(e.le, maxLen)) invalid(at, `le must be an integer 0..${maxLen}`);
    const min = e.ge ?? p.len;
    const max = e.le ?? (e.ge !== undefined ? maxLen : p.len);
    if (min < p.len) invalid(at, `ge ${min} is shorter than the prefix length ${p.len}`);
    if (max < min) invalid(at, `le ${max} is less than ge ${min}`);
    if (p.v6) v6.push({ words: p.words, len: p.len, min, max });
    else v4.push(p.words[0], wordMask(p.len, 0), min, max);
  });
  const table4 = Uint32Array.from(v4);
  const buf = new Uint32Array(1);
  return {
    matches(prefix: string): boolean {
      const len = parseIpv4PrefixInto(prefix, buf);
      if (len >= 0) {
        const addr = buf[0];
        for (let i = 0; i < table4.length; i += 4) {
          if (len >= table4[i + 2] && len <= table4[i + 3] && ((addr & table4[i + 1]) >>> 0) === table4[i]) return true;
        }
        return false;
      }
      if (v6.length === 0) return false;
      const p = parsePrefix(prefix);
      if (p === undefined || !p.v6) return false;
      for (const e of v6) {
        if (p.len < e.min || p.len > e.max) continue;
        let ok = true;
        for (let w = 0; w < 4 && ok; w++) ok = ((p.words[w] & wordMask(e.len, w)) >>> 0) === e.words[w];
        if (ok) return true;
      }
      return false;
    },
  };
}

// ---------------------------------------------------------------- terms

interface CompiledTerm {
  prefixes: PrefixMatcher | undefined;
  communities: number[] | undefined;
  largeCommunities: LargeCommunity[] | undefined;
  apply: ((a: PathAttrs) => PathAttrs) | undefined;
  result: PolicyResult;
}

function parseCommunities(list: unknown, where: string): number[] {
  if (!Array.isArray(list)) invalid(where, 'must be a list');
  return list.map((t: unknown) => {
    const c = typeof t === 'string' ? parseCommunity(t) : undefined;
    if (c === undefined) invalid(where, `${JSON.stringify(t)} is not a community`);
    return c;
  });
}

function parseLargeCommunities(list: unknown, where: string): LargeCommunity[] {
  if (!Array.isArray(list)) invalid(where, 'must be a list');
  return list.map((t: unknown) => {
    const c = typeof t === 'string' ? parseLargeCommunity(t) : undefined;
    if (c === undefined) invalid(where, `${JSON.stringify(t)} is not a large community`);
    return c;
  });
}

function compileActions(act: PolicyActions, ctx: PolicyContext, where: string): ((a: PathAttrs) => PathAttrs) | undefined {
  const changesOf: ((a: PathAttrs, c: Partial<PathAttrsInit>) => void)[] = [];
  if (act.setLocalPref !== undefined) {
    if (!isUint(act.setLocalPref, 0xffffffff)) invalid(where, 'setLocalPref must be a uint32');
    const v = act.setLocalPref;
    changesOf.push((_a, c) => { c.localPref = v; });
  }
  if (act.setMed !== undefined && act.stripMed === true) invalid(where, 'setMed and stripMed together');
  if (act.setMed !== undefined) {
    if (!isUint(act.setMed, 0xffffffff)) invalid(where, 'setMed must be a uint32');
    const v = act.setMed;
    changesOf.push((_a, c) => { c.med = v; });
  }
  if (act.stripMed === true) changesOf.push((_a, c) => { c.med = undefined; });
  if (act.addCommunities !== undefined || act.removeCommunities !== undefined) {
    const add = act.addCommunities ? parseCommunities(act.addCommunities, `${where} addCommunities`) : [];
    const remove = act.removeCommunities ? parseCommunities(act.removeCommunities, `${where} removeCommunities`) : [];
    changesOf.push((a, c) => {
      const kept = a.communities.filter((x) => !remove.includes(x));
      for (const x of add) if (!kept.includes(x)) kept.push(x);
      c.communities = kept;
    });
  }
  if (act.addLargeCommunities !== undefined || act.removeLargeCommunities !== undefined) {
    const add = act.addLargeCommunities ? parseLargeCommunities(act.addLargeCommunities, `${where} addLargeCommunities`) : [];
    const remove = act.removeLargeCommunities ? parseLargeCommunities(act.removeLargeCommunities, `${where} removeLargeCommunities`) : [];
    changesOf.push((a, c) => {
      const kept = a.largeCommunities.filter((x) => !remove.some((r) => sameLargeCommunity(r, x)));
      for (const x of add) if (!kept.some((k) => sameLargeCommunity(k, x))) kept.push(x);
      c.largeCommunities = kept;
    });
  }
  if (act.prependAs !== undefined) {
    const { count, asn } = act.prependAs;
    if (!isUint(count, 32) || count === 0) invalid(where, 'prependAs.count must be 1..32');
    if (asn !== undefined && !isUint(asn, 0xffffffff)) invalid(where, 'prependAs.asn must be a uint32');
    const as = asn ?? ctx.localAs;
    changesOf.push((a, c) => { c.asPath = prependAs(a.asPath, as, count); });
  }
  if (changesOf.length === 0) return undefined;

  const cache = new WeakMap<PathAttrs, PathAttrs>();
  const interner = ctx.interner;
  return (a: PathAttrs): PathAttrs => {
    let out = cache.get(a);
    if (out !== undefined) return out;
    const changes: Partial<PathAttrsInit> = {};
    for (const f of changesOf) f(a, changes);
    out = withAttrs(a, changes);
    if (interner) out = interner.intern(out);
    cache.set(a, out);
    return out;
  };
}

function compileTerm(t: PolicyTerm, ctx: PolicyContext, where: string): CompiledTerm {
  if (t.result !== 'accept' && t.result !== 'reject' && t.result !== 'continue') {
    invalid(where, `result must be accept, reject or continue, not ${JSON.stringify(t.result)}`);
  }
  const m = t.match ?? {};
  return {
    prefixes: m.prefixList !== undefined ? compilePrefixList(m.prefixList, `${where} prefixList`) : undefined,
    communities: m.communities !== undefined ? parseCommunities(m.communities, `${where} communities`) : undefined,
    largeCommunities: m.largeCommunities !== undefined ? parseLargeCommunities(m.largeCommunities, `${where} largeCommunities`) : undefined,
    apply: t.actions !== undefined ? compileActions(t.actions, ctx, where) : undefined,
    result: t.result,
  };
}

function termMatches(t: CompiledTerm, prefix: string, a: PathAttrs): boolean {
  if (t.communities !== undefined && !t.communities.some((c) => a.communities.includes(c))) return false;
  if (t.largeCommunities !== undefined && !t.largeCommunities.some((c) => a.largeCommunities.some((x) => sameLargeCommunity(c, x)))) {
    return false;
  }
  if (t.prefixes !== undefined && !t.prefixes.matches(prefix)) return false;
  return true;
}

/** Validates and compiles a policy. Throws TortieError ERR_POLICY_INVALID naming the term at fault. */
export function compilePolicy(def: PolicyDef, ctx: PolicyContext): CompiledPolicy {
  const name = def.name ?? 'policy';
  if (def.defaultResult !== 'accept' && def.defaultResult !== 'reject') {
    invalid(name, `defaultResult must be accept or reject, not ${JSON.stringify(def.defaultResult)}`);
  }
  if (!Array.isArray(def.terms)) invalid(name, 'terms must be a list');
  const terms = def.terms.map((t, i) => compileTerm(t, ctx, `${name} term ${t.name ?? i}`));
  const acceptByDefault = def.defaultResult === 'accept';
  return {
    name,
    usesPrefix: terms.some((t) => t.prefixes !== undefined),
    evaluate(prefix: string, attrs: PathAttrs): PathAttrs | undefined {
      let cur = attrs;
      for (const t of terms) {
        if (!termMatches(t, prefix, cur)) continue;
        if (t.result === 'reject') return undefined;
        if (t.apply !== undefined) cur = t.apply(cur);
        if (t.result === 'accept') return cur;
      }
      return acceptByDefault ? cur : undefined;
    },
  };
}
