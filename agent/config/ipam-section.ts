/**
 * The `ipam` section (pools, reservations, strict affinity, cooldown, GC
 * grace, datastore) and `node.labels`, read with a position for every
 * problem. Block math and selector parsing come from ipam/core, so what
 * loads here is what the IPAM service accepts.
 */
import { isMap, isScalar, type Node } from 'yaml';
import { cidrsOverlap, formatCidr, parseAddressOrCidr, parseCidr, type Cidr } from '../../ipam/core/ip.js';
import { ALL_NODES, BLOCK_SIZE_RULES, defaultBlockSize, defaultPoolName } from '../../ipam/core/pool.js';
import { parseSelector } from '../../ipam/core/selector.js';
import { Seen } from './common.js';
import { DEFAULTS, type IpamConfig, type IpamPoolConfig } from './schema.js';
import { describe as describeNode, type Fields, type Reader } from './yaml-reader.js';

export const IPAM_FIELDS = ['pools', 'reservations', 'strictAffinity', 'releaseCooldownSec', 'gcGraceSec', 'datastore'] as const;
const POOL_FIELDS = ['name', 'cidr', 'blockSize', 'nodeSelector', 'disabled'] as const;
const DATASTORE_FIELDS = ['type', 'directory'] as const;
const DATASTORE_TYPES = ['local', 'kubernetes'] as const;
/** A day: longer makes no sense for either timer. */
const MAX_SEC = 86_400;
const POOL_NAME_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const LABEL_NAME_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

interface ReadPool extends IpamPoolConfig {
  parsed: Cidr;
  path: string;
  /** Where to report about the name and the CIDR. */
  nameAt: Node;
  cidrAt: Node;
}

/** The ipam section; `stateDir` gives the local datastore's default directory. */
export function readIpam(f: Fields | undefined, stateDir: string, kubernetesEnabled = false): IpamConfig {
  const pools: ReadPool[] = [];
  if (f !== undefined) {
    const names = new Seen(f.reader);
    for (const item of f.list('pools') ?? []) {
      const p = readPool(f.reader, item.node, item.path, item.at);
      if (p === undefined) continue;
      const clash = pools.find((q) => cidrsOverlap(q.parsed, p.parsed));
      if (clash !== undefined) {
        f.reader.report(p.cidrAt, `${item.path}.cidr`, `${p.cidr} overlaps pool ${clash.name} (${clash.cidr}, ${clash.path}.cidr at line ${f.reader.position(clash.cidrAt).line})`);
        continue;
      }
      if (!names.add(p.name, p.nameAt, `${item.path}.name`, (first) => `pool name ${p.name} is used twice (also ${first})`)) continue;
      pools.push(p);
    }
  }
  const reservations = f !== undefined ? readReservations(f, pools) : [];
  const strictAffinity = f?.bool('strictAffinity') ?? true;
  const releaseCooldownSec = f?.int('releaseCooldownSec', 0, MAX_SEC, (v) => `${v} is out of range (0..${MAX_SEC} seconds)`) ?? DEFAULTS.ipamReleaseCooldownSec;
  const gcGraceSec = f?.int('gcGraceSec', 0, MAX_SEC, (v) => `${v} is out of range (0..${MAX_SEC} seconds)`) ?? DEFAULTS.ipamGcGraceSec;
  const ds = f?.fields('datastore', DATASTORE_FIELDS);
  const type = ds?.oneOf('type', DATASTORE_TYPES);
  if (type === 'kubernetes' && !kubernetesEnabled) {
    ds?.report('type', 'the kubernetes datastore needs kubernetes.enabled (an API server to keep the IPAM objects in); use local without one');
  }
  let directory = ds?.str('directory', 'a path');
  if (type === 'kubernetes' && directory !== undefined) {
    ds?.report('directory', 'is only for the local datastore (type: local)');
    directory = undefined;
  } else if (directory !== undefined && !directory.startsWith('/')) {
    ds?.report('directory', `${JSON.stringify(directory)} is not an absolute path`);
    directory = undefined;
  }
  return {
    pools: pools.map(({ name, cidr, family, blockSize, nodeSelector, disabled }) => ({ name, cidr, family, blockSize, nodeSelector, disabled })),
    reservations,
    strictAffinity,
    releaseCooldownSec,
    gcGraceSec,
    datastore: { type: type === 'kubernetes' ? 'kubernetes' : 'local', directory: directory ?? `${stateDir.replace(/\/+$/, '')}/ipam` },
  };
}

function readPool(r: Reader, node: Node | undefined, path: string, at: Node | number | undefined): ReadPool | undefined {
  if (node === undefined) {
    r.report(at, path, 'is empty; expected a pool (cidr, blockSize, nodeSelector)');
    return undefined;
  }
  const f = r.fields(node, path, POOL_FIELDS);
  if (f === undefined) return undefined;
  const before = r.issues.length;
  f.require('cidr', 'the pool\'s CIDR prefix');
  let cidr: Cidr | undefined;
  const text = f.str('cidr', 'a CIDR prefix');
  if (text !== undefined) {
    const p = parseCidr(text);
    if (!p.ok) f.report('cidr', p.reason);
    else cidr = p.cidr;
  }
  let name = f.str('name');
  if (name !== undefined && (!POOL_NAME_RE.test(name) || name.length > 63)) {
    f.report('name', `${JSON.stringify(name)} is not a valid pool name (lower-case letters, digits, "-" and ".", at most 63, starting and ending alphanumeric)`);
    name = undefined;
  }
  let blockSize: number | undefined;
  if (cidr !== undefined) {
    const rules = BLOCK_SIZE_RULES[cidr.family];
    blockSize = f.int('blockSize', 0, cidr.family === 4 ? 32 : 128, (v) => `block size /${v} is out of range for IPv${cidr.family} (${rules.min}..${rules.max})`);
    if (blockSize !== undefined && (blockSize < rules.min || blockSize > rules.max)) {
      f.report('blockSize', `block size /${blockSize} is out of range for IPv${cidr.family} (${rules.min}..${rules.max})`);
      blockSize = undefined;
    } else if (blockSize !== undefined && blockSize < cidr.len) {
      f.report('blockSize', `block size /${blockSize} is larger than the pool ${formatCidr(cidr)} itself`);
      blockSize = undefined;
    }
  }
  const selector = f.str('nodeSelector', 'a node selector such as all() or zone == "a"');
  if (selector !== undefined) {
    const s = parseSelector(selector);
    if (!s.ok) f.report('nodeSelector', `${JSON.stringify(selector)}: ${s.reason}`);
  }
  const disabled = f.bool('disabled') ?? false;
  if (r.issues.length > before || cidr === undefined) return undefined;
  return {
    name: name ?? defaultPoolName(cidr), cidr: formatCidr(cidr), family: cidr.family === 4 ? 'ipv4' : 'ipv6',
    blockSize: blockSize ?? defaultBlockSize(cidr), nodeSelector: selector ?? ALL_NODES, disabled, parsed: cidr, path,
    nameAt: f.where('name'), cidrAt: f.where('cidr'),
  };
}

function readReservations(f: Fields, pools: readonly ReadPool[]): string[] {
  const out: string[] = [];
  const seen = new Seen(f.reader);
  for (const item of f.list('reservations') ?? []) {
    if (item.node === undefined) {
      f.reader.report(item.at, item.path, 'is empty; expected an address or a CIDR prefix');
      continue;
    }
    const text = f.reader.str(item.node, item.path, 'an address or a CIDR prefix');
    if (text === undefined) continue;
    const p = parseAddressOrCidr(text);
    if (!p.ok) {
      f.reader.report(item.node, item.path, p.reason);
      continue;
    }
    const canon = formatCidr(p.cidr);
    if (!seen.add(canon, item.node, item.path, (first) => `${canon} is listed twice (also ${first})`)) continue;
    if (pools.length > 0 && !pools.some((q) => cidrsOverlap(q.parsed, p.cidr))) {
      f.reader.report(item.node, item.path, `${canon} lies outside every pool (a reservation only matters inside one)`);
      continue;
    }
    out.push(canon);
  }
  return out;
}

/**
 * node.labels: a mapping of Kubernetes-style label keys to string values,
 * matched by pool node selectors.
 */
export function readLabels(r: Reader, node: Node | undefined, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (node === undefined) return out;
  if (!isMap(node)) {
    r.report(node, path, `expected a mapping of label keys to values, got ${describeNode(node)}`);
    return out;
  }
  for (const pair of node.items) {
    const key = pair.key as Node | null;
    if (key === null || !isScalar(key) || typeof key.value !== 'string') {
      r.report(key ?? node, path, 'label keys must be strings');
      continue;
    }
    const k = key.value;
    const at = `${path}.${k}`;
    const problem = labelKeyProblem(k);
    if (problem !== undefined) {
      r.report(key, at, problem);
      continue;
    }
    if (Object.prototype.hasOwnProperty.call(out, k)) {
      r.report(key, at, 'duplicate label');
      continue;
    }
    const v = r.value(pair.value as Node | null);
    const value = v === undefined ? '' : r.str(v, at, 'a string (quote numbers and booleans)');
    if (value === undefined) continue;
    if (value !== '' && (!LABEL_NAME_RE.test(value) || value.length > 63)) {
      r.report(v, at, `${JSON.stringify(value)} is not a valid label value (letters, digits, "-", "_" and ".", at most 63, starting and ending alphanumeric)`);
      continue;
    }
    out[k] = value;
  }
  return out;
}

function labelKeyProblem(k: string): string | undefined {
  const slash = k.indexOf('/');
  const prefix = slash >= 0 ? k.slice(0, slash) : undefined;
  const name = slash >= 0 ? k.slice(slash + 1) : k;
  if (prefix !== undefined && (!DNS_SUBDOMAIN_RE.test(prefix) || prefix.length > 253)) return `the label prefix ${JSON.stringify(prefix)} is not a DNS subdomain`;
  if (!LABEL_NAME_RE.test(name) || name.length > 63) return `${JSON.stringify(k)} is not a valid label key (a name of letters, digits, "-", "_" and ".", at most 63, optionally after a DNS prefix and "/")`;
  return undefined;
}
