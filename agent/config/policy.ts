/**
 * Import/export policies in the file, read into bgp/rib's PolicyDef with a
 * position for every problem. After our own checks, compilePolicy runs as
 * a second opinion, and anything it still rejects is reported at the policy.
 */
import { isMap, isScalar, type Node } from 'yaml';
import { hasCode } from '../../lib/errors.js';
import { parseCommunity } from '../../bgp/codec/index.js';
import { parseLargeCommunity } from '../../bgp/rib/communities.js';
import {
  compilePolicy, type PolicyActions, type PolicyDef, type PolicyMatch, type PolicyResult, type PolicyTerm, type PrefixListEntry,
} from '../../bgp/rib/policy.js';
import { Seen } from './common.js';
import { parseIpPrefix } from './ip.js';
import { describe, type Reader } from './yaml-reader.js';

const POLICY_FIELDS = ['name', 'defaultResult', 'terms'] as const;
const TERM_FIELDS = ['name', 'match', 'actions', 'result'] as const;
const MATCH_FIELDS = ['prefixList', 'communities', 'largeCommunities'] as const;
const PREFIX_ENTRY_FIELDS = ['prefix', 'ge', 'le'] as const;
const ACTION_FIELDS = [
  'setLocalPref', 'setMed', 'stripMed', 'addCommunities', 'removeCommunities', 'addLargeCommunities', 'removeLargeCommunities', 'prependAs',
] as const;
const PREPEND_FIELDS = ['count', 'asn'] as const;
const RESULTS: readonly PolicyResult[] = ['accept', 'reject', 'continue'];
const DEFAULT_RESULTS: readonly ('accept' | 'reject')[] = ['accept', 'reject'];
const UINT32_MAX = 0xffffffff;

/** A policy at `node`; undefined (with issues recorded) when it is not valid. */
export function readPolicy(r: Reader, node: Node | undefined, path: string, localAs: number): PolicyDef | undefined {
  const f = r.fields(node, path, POLICY_FIELDS);
  if (f === undefined) return undefined;
  const before = r.issues.length;
  const name = f.str('name');
  f.require('defaultResult', 'accept or reject');
  const defaultResult = f.oneOf('defaultResult', DEFAULT_RESULTS);
  const terms: PolicyTerm[] = [];
  const termNames = new Map<string, string>();
  for (const item of f.list('terms') ?? []) {
    const t = readTerm(r, item.node, item.path, item.at);
    if (t === undefined) continue;
    if (t.name !== undefined) {
      const first = termNames.get(t.name);
      if (first !== undefined) r.report(item.node, `${item.path}.name`, `duplicate term name ${JSON.stringify(t.name)} (also ${first})`);
      else termNames.set(t.name, item.path);
    }
    terms.push(t);
  }
  if (r.issues.length > before || defaultResult === undefined) return undefined;
  const def: PolicyDef = { ...(name !== undefined ? { name } : {}), defaultResult, terms };
  try {
    compilePolicy(def, { localAs });
  } catch (err) {
    if (!hasCode(err, 'ERR_POLICY_INVALID')) throw err;
    r.report(node, path, (err as Error).message);
    return undefined;
  }
  return def;
}

function readTerm(r: Reader, node: Node | undefined, path: string, at: Node | number | undefined): PolicyTerm | undefined {
  if (node === undefined) {
    r.report(at, path, 'is empty; expected a term (match, actions, result)');
    return undefined;
  }
  const f = r.fields(node, path, TERM_FIELDS);
  if (f === undefined) return undefined;
  const name = f.str('name');
  const match = readMatch(r, f.get('match'), f.at('match'));
  const actions = readActions(r, f.get('actions'), f.at('actions'));
  f.require('result', 'accept, reject or continue');
  const result = f.oneOf('result', RESULTS);
  if (result === undefined) return undefined;
  return {
    ...(name !== undefined ? { name } : {}),
    ...(match !== undefined ? { match } : {}),
    ...(actions !== undefined ? { actions } : {}),
    result,
  };
}

function readMatch(r: Reader, node: Node | undefined, path: string): PolicyMatch | undefined {
  const f = r.fields(node, path, MATCH_FIELDS);
  if (f === undefined) return undefined;
  const out: PolicyMatch = {};
  const list = f.list('prefixList');
  if (list !== undefined) {
    out.prefixList = [];
    for (const item of list) {
      const e = readPrefixEntry(r, item.node, item.path, item.at);
      if (e !== undefined) out.prefixList.push(e);
    }
  }
  const c = readCommunityList(r, f.get('communities'), f.at('communities'));
  if (c !== undefined) out.communities = c;
  const lc = readLargeCommunityList(r, f.get('largeCommunities'), f.at('largeCommunities'));
  if (lc !== undefined) out.largeCommunities = lc;
  return out;
}

/** `{ prefix, ge?, le? }`, or a bare prefix string for an exact match. */
function readPrefixEntry(r: Reader, node: Node | undefined, path: string, at: Node | number | undefined): PrefixListEntry | undefined {
  if (node === undefined) {
    r.report(at, path, 'is empty; expected a prefix or { prefix, ge, le }');
    return undefined;
  }
  if (isScalar(node) && typeof node.value === 'string') {
    const p = parseIpPrefix(node.value);
    if (!p.ok) {
      r.report(node, path, p.reason);
      return undefined;
    }
    return { prefix: p.value.text };
  }
  if (!isMap(node)) {
    r.report(node, path, `expected a prefix or { prefix, ge, le }, got ${describe(node)}`);
    return undefined;
  }
  const f = r.fields(node, path, PREFIX_ENTRY_FIELDS);
  if (f === undefined || !f.require('prefix', 'a CIDR prefix')) return undefined;
  const text = f.str('prefix', 'a CIDR prefix');
  const p = text !== undefined ? parseIpPrefix(text) : undefined;
  if (p !== undefined && !p.ok) f.report('prefix', p.reason);
  const max = p?.ok === true && !p.value.v6 ? 32 : 128;
  const ge = f.int('ge', 0, max, (v) => `ge ${v} is out of range (0..${max})`);
  const le = f.int('le', 0, max, (v) => `le ${v} is out of range (0..${max})`);
  if (p === undefined || !p.ok) return undefined;
  const len = p.value.len;
  if (ge !== undefined && ge < len) {
    f.report('ge', `ge ${ge} is shorter than the prefix length ${len}`);
    return undefined;
  }
  if (le !== undefined && le < (ge ?? len)) {
    f.report('le', ge !== undefined ? `le ${le} is less than ge ${ge}` : `le ${le} is shorter than the prefix length ${len}`);
    return undefined;
  }
  return { prefix: p.value.text, ...(ge !== undefined ? { ge } : {}), ...(le !== undefined ? { le } : {}) };
}

/** Community texts; with `unique`, a value listed twice (by value: no-export is 65535:65281) is an error. */
export function readCommunityList(r: Reader, node: Node | undefined, path: string, unique = false): string[] | undefined {
  const list = r.list(node, path);
  if (list === undefined) return undefined;
  const out: string[] = [];
  const seen = new Seen(r);
  for (const item of list) {
    const s = r.str(item.node, item.path, 'a community such as "65000:100"');
    if (s === undefined) {
      if (item.node === undefined) r.report(item.at, item.path, 'is empty; expected a community such as "65000:100"');
      continue;
    }
    const v = communityValue(s);
    if (v === undefined) {
      r.report(item.node, item.path, `${JSON.stringify(s)} is not a community (ASN:VALUE with both 0..65535, or a well-known name such as no-export)`);
      continue;
    }
    if (unique && !seen.add(String(v), item.node, item.path, (first) => `community ${s} is listed twice (also ${first})`)) continue;
    out.push(s);
  }
  return out;
}

export function readLargeCommunityList(r: Reader, node: Node | undefined, path: string, unique = false): string[] | undefined {
  const list = r.list(node, path);
  if (list === undefined) return undefined;
  const out: string[] = [];
  const seen = new Seen(r);
  for (const item of list) {
    const s = r.str(item.node, item.path, 'a large community such as "65000:1:2"');
    if (s === undefined) {
      if (item.node === undefined) r.report(item.at, item.path, 'is empty; expected a large community such as "65000:1:2"');
      continue;
    }
    const v = parseLargeCommunity(s);
    if (v === undefined) {
      r.report(item.node, item.path, `${JSON.stringify(s)} is not a large community (GLOBAL:LOCAL1:LOCAL2, each 0..4294967295)`);
      continue;
    }
    const key = `${v.global}:${v.local1}:${v.local2}`;
    if (unique && !seen.add(key, item.node, item.path, (first) => `large community ${s} is listed twice (also ${first})`)) continue;
    out.push(s);
  }
  return out;
}

/** The uint32 of a community text; guards against names inherited from Object.prototype. */
export function communityValue(s: string): number | undefined {
  const v = parseCommunity(s) as unknown;
  return typeof v === 'number' ? v : undefined;
}

function readActions(r: Reader, node: Node | undefined, path: string): PolicyActions | undefined {
  const f = r.fields(node, path, ACTION_FIELDS);
  if (f === undefined) return undefined;
  const out: PolicyActions = {};
  const lp = f.int('setLocalPref', 0, UINT32_MAX);
  if (lp !== undefined) out.setLocalPref = lp;
  const med = f.int('setMed', 0, UINT32_MAX);
  if (med !== undefined) out.setMed = med;
  const strip = f.bool('stripMed');
  if (strip !== undefined) out.stripMed = strip;
  if (f.has('setMed') && strip === true) f.report('stripMed', 'setMed and stripMed cannot be used together');
  const add = readCommunityList(r, f.get('addCommunities'), f.at('addCommunities'));
  if (add !== undefined) out.addCommunities = add;
  const rem = readCommunityList(r, f.get('removeCommunities'), f.at('removeCommunities'));
  if (rem !== undefined) out.removeCommunities = rem;
  const addL = readLargeCommunityList(r, f.get('addLargeCommunities'), f.at('addLargeCommunities'));
  if (addL !== undefined) out.addLargeCommunities = addL;
  const remL = readLargeCommunityList(r, f.get('removeLargeCommunities'), f.at('removeLargeCommunities'));
  if (remL !== undefined) out.removeLargeCommunities = remL;
  const p = f.fields('prependAs', PREPEND_FIELDS);
  if (p !== undefined) {
    p.require('count', 'how many times to prepend, 1..32');
    const count = p.int('count', 1, 32);
    const asn = p.int('asn', 0, UINT32_MAX, (v) => `AS ${v} is out of range (0..4294967295)`);
    if (count !== undefined) out.prependAs = { count, ...(asn !== undefined ? { asn } : {}) };
  }
  return out;
}
