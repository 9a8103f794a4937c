/**
 * Runs tshark (Wireshark's dissector, an implementation independent of
 * ours) over a pcap file and returns what it saw: every BGP message with
 * the fields we compare, every expert info, and every malformed packet.
 *
 * tshark 4.0 (Debian 12) is driven two ways:
 *   - `-T json` for the dissection tree. Its output repeats keys inside one
 *     object when a field occurs several times (two communities, three
 *     path attributes). `JSON.parse` would keep only the last, and
 *     `--no-duplicate-keys` groups repeats into arrays and so loses their
 *     relative order, so we parse it with a small order-preserving parser.
 *   - `-q -z expert` for tshark's own expert-info tally, a second opinion
 *     on the counts gathered from the tree.
 *
 * Preferences are pinned on the command line so the result does not
 * depend on a user's profile: checksums are verified, TCP reassembly is on,
 * port 179 is BGP, no name resolution, and the AS number width is given
 * explicitly (tshark's auto-detection is a heuristic).
 */
import { execFile } from 'node:child_process';
import { TortieError } from '../../lib/errors.js';

// ---------------------------------------------------------------- order-preserving JSON

/** A node of tshark's JSON tree. Leaves are strings (tshark quotes every value). */
export type TsharkNode =
  | { kind: 'object'; entries: [string, TsharkNode][] }
  | { kind: 'array'; items: TsharkNode[] }
  | { kind: 'value'; value: string };

/** Parses JSON keeping duplicate keys and their order. Non-string scalars become their literal text. */
export function parseOrderedJson(text: string): TsharkNode {
  let i = 0;
  const fail = (what: string): never => {
    throw new TortieError('ERR_TSHARK_OUTPUT', `bad tshark JSON at offset ${i}: ${what}`);
  };
  const ws = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  };
  const str = (): string => {
    // text[i] is the opening quote; JSON.parse handles the escapes.
    let j = i + 1;
    while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    if (j >= text.length) fail('unterminated string');
    const s = JSON.parse(text.slice(i, j + 1)) as string;
    i = j + 1;
    return s;
  };
  const value = (): TsharkNode => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: [string, TsharkNode][] = [];
      ws();
      if (text[i] === '}') {
        i++;
        return { kind: 'object', entries };
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a key');
        const key = str();
        ws();
        if (text[i] !== ':') fail('expected ":"');
        i++;
        entries.push([key, value()]);
        ws();
        if (text[i] === ',') {
          i++;
        } else if (text[i] === '}') {
          i++;
          return { kind: 'object', entries };
        } else {
          fail('expected "," or "}"');
        }
      }
    }
    if (c === '[') {
      i++;
      const items: TsharkNode[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return { kind: 'array', items };
      }
      for (;;) {
        items.push(value());
        ws();
        if (text[i] === ',') {
          i++;
        } else if (text[i] === ']') {
          i++;
          return { kind: 'array', items };
        } else {
          fail('expected "," or "]"');
        }
      }
    }
    if (c === '"') return { kind: 'value', value: str() };
    const m = /^(?:null|true|false|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 64));
    if (!m) return fail('unexpected character');
    i += m[0].length;
    return { kind: 'value', value: m[0] };
  };
  const root = value();
  ws();
  if (i !== text.length) fail('trailing text');
  return root;
}

/** The direct children of an object node named `key`, in order (arrays are flattened). */
export function children(node: TsharkNode, key: string): TsharkNode[] {
  if (node.kind !== 'object') return [];
  const out: TsharkNode[] = [];
  for (const [k, v] of node.entries) {
    if (k !== key) continue;
    if (v.kind === 'array') out.push(...v.items);
    else out.push(v);
  }
  return out;
}

/** The string value of the first direct child named `key`. */
export function valueOf(node: TsharkNode, key: string): string | undefined {
  for (const c of children(node, key)) if (c.kind === 'value') return c.value;
  return undefined;
}

/** Every leaf value in the subtree, grouped by field name, in document order. */
export function leafFields(node: TsharkNode): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const walk = (n: TsharkNode, key: string): void => {
    if (n.kind === 'value') (out[key] ??= []).push(n.value);
    else if (n.kind === 'array') for (const item of n.items) walk(item, key);
    else for (const [k, v] of n.entries) walk(v, k);
  };
  walk(node, '');
  return out;
}

/** Every object in the subtree (including `node`) that has a direct child named `key`, in document order. */
function objectsWith(node: TsharkNode, key: string): TsharkNode[] {
  const out: TsharkNode[] = [];
  const walk = (n: TsharkNode): void => {
    if (n.kind === 'array') {
      for (const item of n.items) walk(item);
    } else if (n.kind === 'object') {
      if (n.entries.some(([k]) => k === key)) out.push(n);
      for (const [, v] of n.entries) walk(v);
    }
  };
  walk(node);
  return out;
}

// ---------------------------------------------------------------- BGP view

export interface TsharkPrefix {
  /** "10.0.0.0/24", "2001:db8::/32" as tshark prints the address. */
  prefix: string;
  pathId?: number;
}

export interface TsharkCapability {
  code: number;
  length: number;
  fields: Record<string, string[]>;
}

export interface TsharkOpen {
  version: number;
  myAs: number;
  holdTimeSec: number;
  bgpId: string;
  /** Optional parameter types, in order. */
  paramTypes: number[];
  capabilities: TsharkCapability[];
}

export interface TsharkAsPathSegment {
  type: number;
  asns: number[];
}

export interface TsharkAttribute {
  typeCode: number;
  flags: number;
  length: number;
  /** AS_PATH / AS4_PATH segments. */
  segments: TsharkAsPathSegment[];
  /** MP_REACH / MP_UNREACH prefixes. */
  prefixes: TsharkPrefix[];
  /** COMMUNITIES as uint32 values, in wire order (regular and well-known ones interleaved as sent). */
  communities: number[];
  /** EXTENDED_COMMUNITIES: the leaf fields of each community, in wire order. */
  extCommunities: Record<string, string[]>[];
  /** LARGE_COMMUNITY triples, in wire order. */
  largeCommunities: { global: number; local1: number; local2: number }[];
  /** Every leaf field inside the attribute. */
  fields: Record<string, string[]>;
}

export interface TsharkUpdate {
  withdrawn: TsharkPrefix[];
  attributes: TsharkAttribute[];
  nlri: TsharkPrefix[];
}

export interface TsharkNotification {
  code: number;
  subcode: number;
  /** RFC 8203/9003 shutdown communication, when tshark decoded one. */
  communication?: string;
}

export interface TsharkRouteRefresh {
  afi: number;
  subtype: number;
  safi: number;
}

export interface TsharkBgpMessage {
  /** Frame in which tshark showed the message (the last segment when reassembled). */
  frame: number;
  type: number;
  length: number;
  open?: TsharkOpen;
  update?: TsharkUpdate;
  notification?: TsharkNotification;
  routeRefresh?: TsharkRouteRefresh;
  tree: TsharkNode;
}

export type ExpertSeverity = 'comment' | 'chat' | 'note' | 'warn' | 'error';

export interface TsharkExpert {
  frame: number;
  severity: ExpertSeverity;
  /** The protocol layer the expert info sits in ("tcp", "bgp", "_ws.malformed", ...). */
  layer: string;
  message: string;
}

export interface TsharkReport {
  frames: number;
  messages: TsharkBgpMessage[];
  experts: TsharkExpert[];
  /** Frames that carry a "Malformed Packet" marker. */
  malformedFrames: number[];
  /** Frames in which tshark reassembled a PDU from several TCP segments. */
  reassembledFrames: number[];
  /** tshark's own `-z expert` tally. */
  tally: Record<ExpertSeverity, number>;
}

export interface TsharkOptions {
  /** Width of AS numbers in AS_PATH and AGGREGATOR (the bgp.asn_len preference). */
  asnLen: 2 | 4;
  /** Extra `-o name:value` preferences. */
  prefs?: readonly string[];
  /** The tshark binary. Default: $TSHARK or "tshark" on PATH. */
  binary?: string;
}

// Wireshark's expert severities (epan/proto.h PI_*).
const SEVERITY: ReadonlyMap<number, ExpertSeverity> = new Map([
  [0x00100000, 'comment'],
  [0x00200000, 'chat'],
  [0x00400000, 'note'],
  [0x00600000, 'warn'],
  [0x00800000, 'error'],
]);

/**
 * A numeric field, or NaN when tshark did not show it (a malformed message
 * loses fields; the comparison then reports the difference instead of the
 * reader throwing and hiding tshark's expert infos).
 */
function num(node: TsharkNode, key: string): number {
  const v = valueOf(node, key);
  return v === undefined || v === '' ? NaN : Number(v);
}

/** Prefixes under `node`: every object carrying bgp.prefix_length and an address field ending in "_prefix". */
function prefixesIn(node: TsharkNode): TsharkPrefix[] {
  return objectsWith(node, 'bgp.prefix_length').map((o) => {
    const len = num(o, 'bgp.prefix_length');
    const addrKey = o.kind === 'object' ? o.entries.find(([k]) => k !== 'bgp.prefix_length' && k.endsWith('_prefix'))?.[0] : undefined;
    const addr = (addrKey === undefined ? undefined : valueOf(o, addrKey)) ?? '?';
    const pathId = valueOf(o, 'bgp.nlri_path_id');
    return pathId === undefined ? { prefix: `${addr}/${len}` } : { prefix: `${addr}/${len}`, pathId: Number(pathId) };
  });
}

function decodeOpen(bgp: TsharkNode): TsharkOpen {
  const params = children(bgp, 'bgp.open.opt').flatMap((o) => children(o, 'bgp.open.opt.param'));
  return {
    version: num(bgp, 'bgp.open.version'),
    myAs: num(bgp, 'bgp.open.myas'),
    holdTimeSec: num(bgp, 'bgp.open.holdtime'),
    bgpId: valueOf(bgp, 'bgp.open.identifier') ?? '',
    paramTypes: params.map((p) => num(p, 'bgp.open.opt.param.type')),
    capabilities: params
      .flatMap((p) => children(p, 'bgp.cap'))
      .map((c) => ({ code: num(c, 'bgp.cap.type'), length: num(c, 'bgp.cap.length'), fields: leafFields(c) })),
  };
}

function decodeAttribute(a: TsharkNode): TsharkAttribute {
  const segments = children(a, 'bgp.update.path_attribute.as_path_segment').map((s) => {
    const f = leafFields(s);
    const asns = [
      ...(f['bgp.update.path_attribute.as_path_segment.as2'] ?? []),
      ...(f['bgp.update.path_attribute.as_path_segment.as4'] ?? []),
    ].map(Number);
    return { type: num(s, 'bgp.update.path_attribute.as_path_segment.type'), asns };
  });
  const communities: number[] = [];
  for (const c of children(a, 'bgp.update.path_attribute.communities')) {
    if (c.kind !== 'object') continue;
    for (const [k, v] of c.entries) {
      for (const item of v.kind === 'array' ? v.items : [v]) {
        if (k === 'bgp.update.path_attribute.community') {
          const asn = num(item, 'bgp.update.path_attribute.community_as');
          const value = num(item, 'bgp.update.path_attribute.community_value');
          communities.push(((asn << 16) | value) >>> 0);
        } else if (k === 'bgp.update.path_attribute.community_wellknown' && item.kind === 'value') {
          communities.push(Number(item.value) >>> 0);
        }
      }
    }
  }
  const extCommunities = children(a, 'bgp.ext_communities')
    .flatMap((e) => children(e, 'bgp.ext_community'))
    .map(leafFields);
  const all = leafFields(a);
  const ga = all['bgp.large_communities.ga'] ?? [];
  const largeCommunities = ga.map((g, i) => ({
    global: Number(g),
    local1: Number(all['bgp.large_communities.ldp1']?.[i]),
    local2: Number(all['bgp.large_communities.ldp2']?.[i]),
  }));
  return {
    typeCode: num(a, 'bgp.update.path_attribute.type_code'),
    flags: Number(valueOf(a, 'bgp.update.path_attribute.flags')),
    length: num(a, 'bgp.update.path_attribute.length'),
    segments,
    prefixes: prefixesIn(a),
    communities,
    extCommunities,
    largeCommunities,
    fields: all,
  };
}

function decodeUpdate(bgp: TsharkNode): TsharkUpdate {
  return {
    withdrawn: children(bgp, 'bgp.update.withdrawn_routes').flatMap(prefixesIn),
    attributes: children(bgp, 'bgp.update.path_attributes')
      .flatMap((p) => children(p, 'bgp.update.path_attribute'))
      .map(decodeAttribute),
    nlri: children(bgp, 'bgp.update.nlri').flatMap(prefixesIn),
  };
}

function decodeNotification(bgp: TsharkNode): TsharkNotification {
  const minorKey = bgp.kind === 'object' ? bgp.entries.find(([k]) => /^bgp\.notify\.minor_error(_[a-z]+)?$/.test(k))?.[0] : undefined;
  const communication = valueOf(bgp, 'bgp.notify.communication');
  return {
    code: num(bgp, 'bgp.notify.major_error'),
    subcode: minorKey === undefined ? NaN : num(bgp, minorKey),
    ...(communication === undefined ? {} : { communication }),
  };
}

function decodeBgp(frame: number, bgp: TsharkNode): TsharkBgpMessage {
  const type = num(bgp, 'bgp.type');
  const msg: TsharkBgpMessage = { frame, type, length: num(bgp, 'bgp.length'), tree: bgp };
  if (type === 1) msg.open = decodeOpen(bgp);
  else if (type === 2) msg.update = decodeUpdate(bgp);
  else if (type === 3) msg.notification = decodeNotification(bgp);
  else if (type === 5) {
    msg.routeRefresh = {
      afi: num(bgp, 'bgp.route_refresh.afi'),
      subtype: num(bgp, 'bgp.route_refresh.subtype'),
      safi: num(bgp, 'bgp.route_refresh.safi'),
    };
  }
  return msg;
}

function collectExperts(frame: number, layer: string, node: TsharkNode, out: TsharkExpert[]): void {
  for (const e of objectsWith(node, '_ws.expert.severity')) {
    const sev = Number(valueOf(e, '_ws.expert.severity'));
    out.push({
      frame,
      layer,
      severity: SEVERITY.get(sev) ?? 'error',
      message: valueOf(e, '_ws.expert.message') ?? '(no message)',
    });
  }
}

/** Turns `tshark -T json` output into a report (without the tally). */
export function interpretTsharkJson(jsonText: string): Omit<TsharkReport, 'tally'> {
  const root = parseOrderedJson(jsonText);
  if (root.kind !== 'array') throw new TortieError('ERR_TSHARK_OUTPUT', 'tshark JSON is not an array of packets');
  const messages: TsharkBgpMessage[] = [];
  const experts: TsharkExpert[] = [];
  const malformedFrames: number[] = [];
  const reassembledFrames: number[] = [];
  for (const packet of root.items) {
    const layers = children(packet, '_source').flatMap((s) => children(s, 'layers'))[0];
    if (!layers || layers.kind !== 'object') throw new TortieError('ERR_TSHARK_OUTPUT', 'packet without layers');
    const frameNode = children(layers, 'frame')[0];
    const frame = frameNode ? num(frameNode, 'frame.number') : NaN;
    for (const [layer, node] of layers.entries) {
      collectExperts(frame, layer, node, experts);
      if (layer === '_ws.malformed' || objectsWith(node, '_ws.malformed').length > 0) malformedFrames.push(frame);
      if (layer === 'tcp.segments') reassembledFrames.push(frame);
      if (layer === 'bgp') {
        for (const bgp of node.kind === 'array' ? node.items : [node]) messages.push(decodeBgp(frame, bgp));
      }
    }
  }
  return {
    frames: root.items.length,
    messages,
    experts,
    malformedFrames: [...new Set(malformedFrames)],
    reassembledFrames: [...new Set(reassembledFrames)],
  };
}

/** Parses the `-q -z expert` tally: "Errors (2)", "Warns (1)", ... headings. */
export function parseExpertTally(text: string): Record<ExpertSeverity, number> {
  const tally: Record<ExpertSeverity, number> = { comment: 0, chat: 0, note: 0, warn: 0, error: 0 };
  const headings: [RegExp, ExpertSeverity][] = [
    [/^Errors \((\d+)\)/m, 'error'],
    [/^Warns \((\d+)\)/m, 'warn'],
    [/^Notes \((\d+)\)/m, 'note'],
    [/^Chats \((\d+)\)/m, 'chat'],
    [/^Comments \((\d+)\)/m, 'comment'],
  ];
  for (const [re, sev] of headings) {
    const m = re.exec(text);
    if (m) tally[sev] = Number(m[1]);
  }
  return tally;
}

function run(binary: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { maxBuffer: 512 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
        reject(
          new TortieError(
            missing ? 'ERR_TSHARK_MISSING' : 'ERR_TSHARK_FAILED',
            missing
              ? `tshark not found (${binary}); install it with apt-get install tshark (.ci/run does)`
              : `tshark ${args.join(' ')} failed: ${err.message}\n${stderr}`,
            { cause: err },
          ),
        );
        return;
      }
      resolve(stdout);
    });
  });
}

/** The tshark arguments that pin every preference we depend on. */
export function tsharkPrefArgs(opts: TsharkOptions): string[] {
  const prefs = [
    'ip.check_checksum:TRUE',
    'tcp.check_checksum:TRUE',
    'tcp.analyze_sequence_numbers:TRUE',
    'tcp.desegment_tcp_streams:TRUE',
    'bgp.desegment:TRUE',
    `bgp.asn_len:${opts.asnLen}`,
    ...(opts.prefs ?? []),
  ];
  return ['-n', '-d', 'tcp.port==179,bgp', ...prefs.flatMap((p) => ['-o', p])];
}

/** Dissects `pcapPath` with tshark and reports the BGP messages, expert infos and malformed frames. */
export async function dissectWithTshark(pcapPath: string, opts: TsharkOptions): Promise<TsharkReport> {
  const binary = opts.binary ?? process.env.TSHARK ?? 'tshark';
  const common = ['-r', pcapPath, ...tsharkPrefArgs(opts)];
  const json = await run(binary, [...common, '-T', 'json']);
  const expertText = await run(binary, [...common, '-q', '-z', 'expert']);
  return { ...interpretTsharkJson(json), tally: parseExpertTally(expertText) };
}

/** Expert infos at warning severity or worse, one per line, for failure messages. */
export function formatProblems(report: TsharkReport): string {
  const lines = report.experts
    .filter((e) => e.severity === 'warn' || e.severity === 'error')
    .map((e) => `frame ${e.frame} [${e.layer}] ${e.severity}: ${e.message}`);
  for (const f of report.malformedFrames) lines.push(`frame ${f}: malformed packet`);
  return lines.join('\n');
}
