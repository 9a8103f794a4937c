/**
 * A containerlab topology file (`*.clab.yml`) read into the model the netns
 * runner builds from. Pure: text in, a typed topology (or every problem
 * found, each with its line and field path) out.
 *
 * Only the part of containerlab's schema the runner acts on is modelled:
 * `name`, `topology.defaults`, `topology.kinds`, and per node `kind`, `image`,
 * `binds`, `exec`, `env`, `labels`, `sysctls`; links in the brief form
 * (`endpoints: ["a:eth1", "b:eth1"]`) and the extended veth form. Other
 * containerlab fields are accepted and listed in `ignored` so the CLI can say
 * what it does not do (docs/lab.md).
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { TortieError } from '../lib/errors.js';

/** What runs inside a node, decided from its image (or the `tortie.lab/role` label). */
export type NodeRole = 'tortie' | 'frr' | 'bird' | 'host';
export const ROLE_LABEL = 'tortie.lab/role';

export interface Bind {
  /**
   * Absolute path on the host (resolved against the topology file's folder),
   * or a path starting with containerlab's `__clabDir__` (the lab's
   * directory) or `__clabNodeDir__` (the node's directory in it), which the
   * runner resolves (lab.ts, `hostPathOf`).
   */
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
}

export interface ClabNode {
  name: string;
  kind: string;
  image: string;
  role: NodeRole;
  binds: Bind[];
  /** Commands run inside the node after the links are up, in order. */
  exec: string[];
  env: Record<string, string>;
  labels: Record<string, string>;
  sysctls: Record<string, string>;
}

export interface LinkEnd {
  node: string;
  iface: string;
}

export interface ClabLink {
  a: LinkEnd;
  b: LinkEnd;
  mtu?: number;
}

export interface ClabTopology {
  name: string;
  /** The file the topology came from (absolute). */
  file: string;
  nodes: ClabNode[];
  links: ClabLink[];
  /** Field paths present in the file that the runner does not act on. */
  ignored: string[];
}

export interface ClabIssue {
  line: number;
  column: number;
  path: string;
  message: string;
}

export class ClabFileError extends TortieError {
  readonly issues: readonly ClabIssue[];
  constructor(file: string, issues: readonly ClabIssue[]) {
    super('ERR_LAB_TOPOLOGY_INVALID', `${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'}:\n${issues.map((i) => `${file}:${i.line}:${i.column}: ${i.path}: ${i.message}`).join('\n')}`);
    this.name = 'ClabFileError';
    this.issues = issues;
  }
}

/** Node and lab names: they become parts of namespace names and file names. */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;
/** Linux interface names: at most 15 bytes, no '/', ':' or whitespace. */
export const IFNAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;

const NODE_FIELDS = new Set(['kind', 'image', 'binds', 'exec', 'env', 'labels', 'sysctls']);
const TOP_FIELDS = new Set(['name', 'topology', 'prefix', 'mgmt']);
const TOPOLOGY_FIELDS = new Set(['nodes', 'links', 'defaults', 'kinds']);

/** Decides a node's role; the label wins over the image. */
export function roleOf(image: string, labels: Record<string, string>): NodeRole | undefined {
  const label = labels[ROLE_LABEL];
  if (label !== undefined) return (['tortie', 'frr', 'bird', 'host'] as const).find((r) => r === label);
  const repo = image.replace(/[:@][^/]*$/, '');
  const last = repo.split('/').pop() ?? '';
  if (last === 'tortie') return 'tortie';
  if (last === 'frr') return 'frr';
  if (/^bird2?$/.test(last)) return 'bird';
  return 'host';
}

/** Joins `path` to `dir` unless it is absolute; normalises `.` and `..`. */
export function resolvePath(dir: string, path: string): string {
  const parts = (path.startsWith('/') ? path : `${dir}/${path}`).split('/');
  const out: string[] = [];
  for (const p of parts) {
    if (p === '' || p === '.') continue;
    if (p === '..') out.pop();
    else out.push(p);
  }
  return `/${out.join('/')}`;
}

/**
 * Parses the text of a topology file. `file` is its absolute path (binds are
 * resolved against its folder). Throws ClabFileError listing every problem.
 */
export function parseClab(text: string, file: string): ClabTopology {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const issues: ClabIssue[] = [];
  const at = (node: YamlNode | null | undefined, path: string, message: string): void => {
    const pos = node?.range ? lc.linePos(node.range[0]) : { line: 1, col: 1 };
    issues.push({ line: pos.line, column: pos.col, path, message });
  };
  for (const e of doc.errors) {
    const pos = e.linePos?.[0] ?? { line: 1, col: 1 };
    issues.push({ line: pos.line, column: pos.col, path: '(yaml)', message: e.message.split('\n')[0] ?? e.message });
  }
  if (issues.length) throw new ClabFileError(file, issues);
  const dir = file.replace(/\/[^/]*$/, '') || '/';
  const ignored: string[] = [];

  const root = doc.contents;
  if (!isMap(root)) {
    at(root, '(root)', 'expected a mapping with `name` and `topology`');
    throw new ClabFileError(file, issues);
  }
  for (const pair of root.items) {
    const k = String(isScalar(pair.key) ? pair.key.value : pair.key);
    if (!TOP_FIELDS.has(k)) at(pair.key, k, 'unknown field');
    else if (k === 'prefix' || k === 'mgmt') ignored.push(k);
  }
  const nameNode = root.get('name', true);
  const name = isScalar(nameNode) ? String(nameNode.value) : '';
  if (!NAME_RE.test(name)) at(nameNode ?? root, 'name', `lab name ${JSON.stringify(name)} must match ${NAME_RE.source}`);

  const topo = root.get('topology', true);
  const nodes: ClabNode[] = [];
  const links: ClabLink[] = [];
  if (!isMap(topo)) {
    at(topo ?? root, 'topology', 'expected a mapping with `nodes` and `links`');
    throw new ClabFileError(file, issues);
  }
  for (const pair of topo.items) {
    const k = String(isScalar(pair.key) ? pair.key.value : pair.key);
    if (!TOPOLOGY_FIELDS.has(k)) at(pair.key as YamlNode, `topology.${k}`, 'unknown field');
  }

  type Fields = Record<string, { node: YamlNode; value: unknown }>;
  const fieldsOf = (m: YamlNode | null | undefined, path: string): Fields => {
    const out: Fields = {};
    if (m === undefined || m === null) return out;
    if (!isMap(m)) {
      at(m, path, 'expected a mapping');
      return out;
    }
    for (const pair of m.items) {
      const k = String(isScalar(pair.key) ? pair.key.value : pair.key);
      const v = pair.value as YamlNode | null;
      if (!NODE_FIELDS.has(k)) {
        ignored.push(`${path}.${k}`);
        continue;
      }
      out[k] = { node: v ?? (pair.key as YamlNode), value: v && 'toJSON' in v ? (v as { toJSON(): unknown }).toJSON() : null };
    }
    return out;
  };
  const defaults = fieldsOf(topo.get('defaults', true), 'topology.defaults');
  const kindsNode = topo.get('kinds', true);
  const kinds = new Map<string, Fields>();
  if (isMap(kindsNode)) {
    for (const pair of kindsNode.items) {
      const k = String(isScalar(pair.key) ? pair.key.value : pair.key);
      kinds.set(k, fieldsOf(pair.value as YamlNode, `topology.kinds.${k}`));
    }
  } else if (kindsNode !== undefined) at(kindsNode, 'topology.kinds', 'expected a mapping');

  const nodesNode = topo.get('nodes', true);
  if (!isMap(nodesNode) || nodesNode.items.length === 0) at(nodesNode ?? topo, 'topology.nodes', 'expected a mapping of at least one node');
  else {
    for (const pair of nodesNode.items) {
      const nodeName = String(isScalar(pair.key) ? pair.key.value : pair.key);
      const path = `topology.nodes.${nodeName}`;
      if (!NAME_RE.test(nodeName)) at(pair.key as YamlNode, path, `node name must match ${NAME_RE.source}`);
      const own = fieldsOf(pair.value as YamlNode | null, path);
      const kind = str(own.kind ?? defaults.kind, `${path}.kind`) ?? 'linux';
      if (kind !== 'linux') at(own.kind?.node ?? (pair.key as YamlNode), `${path}.kind`, `kind ${JSON.stringify(kind)} is not supported by the netns runner (only linux)`);
      const byKind = kinds.get(kind) ?? {};
      const layers = [defaults, byKind, own];
      const image = layers.map((l) => str(l.image, `${path}.image`)).filter((x): x is string => x !== undefined).pop();
      if (image === undefined) at((pair.value as YamlNode | null) ?? (pair.key as YamlNode), `${path}.image`, 'no image (on the node, its kind or the defaults)');
      const labels = Object.assign({}, ...layers.map((l) => strMap(l.labels, `${path}.labels`))) as Record<string, string>;
      const role = roleOf(image ?? '', labels);
      if (role === undefined) at(own.labels?.node ?? (pair.key as YamlNode), `${path}.labels`, `${ROLE_LABEL} must be one of tortie, frr, bird, host`);
      const binds: Bind[] = [];
      for (const l of layers) {
        for (const [i, b] of strList(l.binds, `${path}.binds`).entries()) {
          const parts = b.split(':');
          if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]?.startsWith('/')) {
            at(l.binds?.node, `${path}.binds[${i}]`, `expected HOST:CONTAINER[:ro|rw] with an absolute container path, not ${JSON.stringify(b)}`);
            continue;
          }
          const host = /^__clab(Node)?Dir__(\/|$)/.test(parts[0]) ? parts[0] : resolvePath(dir, parts[0]);
          binds.push({ hostPath: host, containerPath: parts[1], readOnly: parts[2] === 'ro' });
        }
      }
      nodes.push({
        name: nodeName,
        kind,
        image: image ?? '',
        role: role ?? 'host',
        binds,
        exec: layers.flatMap((l) => strList(l.exec, `${path}.exec`)),
        env: Object.assign({}, ...layers.map((l) => strMap(l.env, `${path}.env`))) as Record<string, string>,
        labels,
        sysctls: Object.assign({}, ...layers.map((l) => strMap(l.sysctls, `${path}.sysctls`))) as Record<string, string>,
      });
    }
  }

  const linksNode = topo.get('links', true);
  if (linksNode !== undefined && !isSeq(linksNode)) at(linksNode, 'topology.links', 'expected a list');
  const used = new Map<string, string>();
  if (isSeq(linksNode)) {
    linksNode.items.forEach((item, i) => {
      const path = `topology.links[${i}]`;
      const raw = item && typeof item === 'object' && 'toJSON' in item ? (item as { toJSON(): unknown }).toJSON() : undefined;
      const link = parseLink(raw);
      if (typeof link === 'string') return at(item as YamlNode, path, link);
      for (const end of [link.a, link.b]) {
        const key = `${end.node}:${end.iface}`;
        if (!nodes.some((n) => n.name === end.node)) at(item as YamlNode, path, `unknown node ${end.node}`);
        else if (!IFNAME_RE.test(end.iface)) at(item as YamlNode, path, `interface name ${JSON.stringify(end.iface)} is not a valid Linux name (at most 15 characters)`);
        else if (end.iface === 'lo' || end.iface === 'eth0') at(item as YamlNode, path, `${end.iface} is reserved (containerlab's management interface is eth0)`);
        else if (used.has(key)) at(item as YamlNode, path, `${key} is already used by ${used.get(key)}`);
        used.set(key, path);
      }
      links.push(link);
    });
  }
  if (issues.length) throw new ClabFileError(file, issues);
  return { name, file, nodes, links, ignored };

  function str(f: { node: YamlNode; value: unknown } | undefined, path: string): string | undefined {
    if (f === undefined || f.value === null) return undefined;
    if (typeof f.value === 'string') return f.value;
    at(f.node, path, 'expected a string');
    return undefined;
  }
  function strList(f: { node: YamlNode; value: unknown } | undefined, path: string): string[] {
    if (f === undefined || f.value === null) return [];
    if (Array.isArray(f.value) && f.value.every((x) => typeof x === 'string')) return f.value;
    at(f.node, path, 'expected a list of strings');
    return [];
  }
  function strMap(f: { node: YamlNode; value: unknown } | undefined, path: string): Record<string, string> {
    if (f === undefined || f.value === null) return {};
    if (typeof f.value === 'object' && !Array.isArray(f.value)) {
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(f.value as Record<string, unknown>)) {
        if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
        else at(f.node, `${path}.${k}`, 'expected a scalar');
      }
      return out;
    }
    at(f.node, path, 'expected a mapping');
    return {};
  }
}

/** One link entry, in the brief or the extended (type: veth) form; a string is the problem. */
function parseLink(raw: unknown): ClabLink | string {
  if (typeof raw !== 'object' || raw === null) return 'expected a mapping with `endpoints`';
  const r = raw as Record<string, unknown>;
  if (r.type !== undefined && r.type !== 'veth') return `link type ${JSON.stringify(r.type)} is not supported by the netns runner (only veth)`;
  const eps = r.endpoints;
  if (!Array.isArray(eps) || eps.length !== 2) return '`endpoints` must list exactly two ends';
  const ends: LinkEnd[] = [];
  for (const e of eps) {
    if (typeof e === 'string') {
      const m = /^([^:]+):([^:]+)$/.exec(e);
      if (!m) return `endpoint ${JSON.stringify(e)} must be NODE:INTERFACE`;
      ends.push({ node: m[1], iface: m[2] });
    } else if (typeof e === 'object' && e !== null && typeof (e as Record<string, unknown>).node === 'string' && typeof (e as Record<string, unknown>).interface === 'string') {
      ends.push({ node: (e as { node: string }).node, iface: (e as { interface: string }).interface });
    } else return 'an endpoint is "NODE:IFACE" or { node, interface }';
  }
  if (ends[0].node === ends[1].node) return 'a link must join two different nodes';
  const link: ClabLink = { a: ends[0], b: ends[1] };
  if (r.mtu !== undefined) {
    if (typeof r.mtu !== 'number' || !Number.isInteger(r.mtu) || r.mtu < 68 || r.mtu > 65535) return '`mtu` must be an integer 68..65535';
    link.mtu = r.mtu;
  }
  return link;
}

/** The bind that puts a file at `containerPath` inside the node, if any. */
export function bindFor(node: ClabNode, ...containerPaths: string[]): Bind | undefined {
  return node.binds.find((b) => containerPaths.includes(b.containerPath));
}
