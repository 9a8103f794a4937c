/**
 * The kernel route model, pure: validation and canonical form, parsing of
 * `ip -json route show` output, the diff between a desired and a current
 * set, and rendering of that diff as `ip -batch` lines.
 *
 * No I/O here. kernel-routes.ts runs the commands.
 *
 * Facts this file relies on (checked with iproute2 6.1 and kernel 6.x):
 *   - A kernel route is identified by (table, prefix, metric). The proto is
 *     not part of the identity (the TOS is, but we never set one). So a
 *     foreign route in the same slot blocks ours, and `route replace` there
 *     would overwrite it. We therefore `add` into empty slots and `replace`
 *     only slots that hold a route with our proto.
 *   - `route del … proto N` deletes only a route whose proto is N, for both
 *     families. Every delete we emit carries our proto.
 *   - IPv6 metric 0 means 1024. For IPv4, metric 0 in a delete matches any
 *     metric, so deletes always name the metric.
 *   - `ip -batch` lines cannot carry `-4`/`-6`. The family comes from the
 *     prefix, also for `blackhole`.
 *   - Nothing may follow the `nexthop …` list of a multipath route: ip
 *     exits on the spot ("nexthop" or end of line is expected instead of
 *     "proto"), which in a batch loses the rest of the batch.
 *   - Numbers only in batch lines: in one `ip -batch` run, `proto bird`,
 *     then `proto 77`, then `proto bird` installed the last one as proto 77
 *     (fixtures/capture-fixtures.ts).
 *   - `ip -json route show proto N` omits the `protocol` field, and so does
 *     a dump for proto boot (3). With `table T` it omits `table`. With `-N`
 *     the type, protocol, scope and table fields are numbers written as
 *     strings ("6" = blackhole).
 */
import { canonicalIpv6, parseIpv4, splitPrefix } from '../../bgp/codec/addr.js';
import { TortieError } from '../../lib/errors.js';

// ---------------------------------------------------------------- constants

/** rtm_table values (linux/rtnetlink.h). */
export const RouteTable = { Unspec: 0, Default: 253, Main: 254, Local: 255 } as const;

/** rtm_type values (linux/rtnetlink.h). */
export const RouteType = {
  Unspec: 0,
  Unicast: 1,
  Local: 2,
  Broadcast: 3,
  Anycast: 4,
  Multicast: 5,
  Blackhole: 6,
  Unreachable: 7,
  Prohibit: 8,
  Throw: 9,
  Nat: 10,
} as const;

const TYPE_BY_NAME: Readonly<Record<string, number>> = {
  unspec: 0, unicast: 1, local: 2, broadcast: 3, anycast: 4, multicast: 5,
  blackhole: 6, unreachable: 7, prohibit: 8, throw: 9, nat: 10,
};

/**
 * rtm_protocol values that iproute2, BIRD, FRR and others already use
 * (/etc/iproute2/rt_protos, linux/rtnetlink.h, FRR's zebra rt_netlink.h).
 * Our proto must not be one of them.
 */
export const RESERVED_PROTOS: ReadonlyMap<number, string> = new Map([
  [0, 'unspec'], [1, 'redirect'], [2, 'kernel'], [3, 'boot'], [4, 'static'],
  [8, 'gated'], [9, 'ra'], [10, 'mrt'], [11, 'zebra'], [12, 'bird'], [13, 'dnrouted'],
  [14, 'xorp'], [15, 'ntk'], [16, 'dhcp'], [17, 'mrouted'], [18, 'keepalived'],
  [42, 'babel'], [99, 'openr'],
  [186, 'bgp (FRR)'], [187, 'isis (FRR)'], [188, 'ospf (FRR)'], [189, 'rip (FRR)'],
  [190, 'ripng (FRR)'], [191, 'nhrp (FRR)'], [192, 'eigrp (FRR)'], [193, 'ldp (FRR)'],
  [194, 'sharp (FRR)'], [195, 'pbr (FRR)'], [196, 'static (FRR)'], [197, 'openfabric (FRR)'],
  [198, 'srte (FRR)'],
]);

const PROTO_BY_NAME: Readonly<Record<string, number>> = {
  unspec: 0, redirect: 1, kernel: 2, boot: 3, static: 4, gated: 8, ra: 9, mrt: 10,
  zebra: 11, bird: 12, dnrouted: 13, xorp: 14, ntk: 15, dhcp: 16, keepalived: 18,
  babel: 42, openr: 99, bgp: 186, isis: 187, ospf: 188, rip: 189, eigrp: 192,
};

export const DEFAULT_METRIC_V4 = 0;
export const DEFAULT_METRIC_V6 = 1024;
/** The kernel's limit on next-hop weights (rtnh_hops + 1). */
export const MAX_NEXTHOP_WEIGHT = 256;

// ---------------------------------------------------------------- model

export type RouteKind = 'unicast' | 'blackhole';

export interface NextHop {
  /** Gateway address, canonical text. */
  via: string;
  /** Outgoing interface; required for an IPv6 link-local gateway. */
  dev?: string;
  /** ECMP weight 1..256 (default 1); only meaningful with several next hops. */
  weight?: number;
}

export interface KernelRoute {
  /** Canonical prefix: "10.0.0.0/24", "2001:db8::/32". */
  prefix: string;
  kind: RouteKind;
  /** Empty for a blackhole; several for ECMP. */
  nextHops: NextHop[];
  /** rtm_protocol, 1..255. */
  proto: number;
  /** Routing table; default main (254). */
  table?: number;
  /** Default 0 for IPv4 and 1024 for IPv6. */
  metric?: number;
}

/** Anything that holds a kernel slot (table, prefix, metric), ours or not. */
export interface RouteSlot {
  prefix: string;
  table: number;
  metric: number;
  proto: number;
  /** What it is, for messages: "unicast", "blackhole", "dev-only", "type 7"… */
  what: string;
}

export function isV6Prefix(prefix: string): boolean {
  return prefix.includes(':');
}

export function tableOf(route: { table?: number }): number {
  return route.table ?? RouteTable.Main;
}

export function metricOf(route: { prefix: string; metric?: number }): number {
  const v6 = isV6Prefix(route.prefix);
  const m = route.metric ?? (v6 ? DEFAULT_METRIC_V6 : DEFAULT_METRIC_V4);
  return v6 && m === 0 ? DEFAULT_METRIC_V6 : m;
}

/** The kernel identity of a route: table, prefix and metric. */
export function slotKey(route: { prefix: string; table?: number; metric?: number }): string {
  return `${tableOf(route)}|${route.prefix}|${metricOf(route)}`;
}

// ---------------------------------------------------------------- addresses

/**
 * The value of a canonical dotted quad in text[start, end), or -1. Canonical
 * means no leading zeros ("010.0.0.1" reads as octal in some parsers, so
 * it is refused rather than guessed at). Hand-written: it runs once per
 * route on the agent's hot path.
 */
function parseCanonicalIpv4(text: string, start: number, end: number): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1; // leading zero
      octet = octet * 10 + (c - 48);
      if (octet > 255) return -1;
      digits++;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

/** A canonical decimal 0..max in text[start, end), or -1. */
function parseSmallInt(text: string, start: number, end: number, max: number): number {
  if (end <= start || end - start > 3 || (end - start > 1 && text.charCodeAt(start) === 48)) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    v = v * 10 + (c - 48);
  }
  return v <= max ? v : -1;
}

/** Canonical text of an IPv4 or IPv6 address, or undefined. */
export function canonicalAddress(text: string): string | undefined {
  if (text.includes(':')) return canonicalIpv6(text);
  return parseCanonicalIpv4(text, 0, text.length) >= 0 ? text : undefined;
}

/**
 * Canonical prefix text, or undefined when `text` is not a prefix or has
 * host bits set. A bare address is a host prefix (/32, /128), as `ip` prints
 * it; "default" needs the family.
 */
export function canonicalPrefix(text: string, family?: 4 | 6): string | undefined {
  if (text === 'default') return family === 6 ? '::/0' : family === 4 ? '0.0.0.0/0' : undefined;
  const v6 = text.includes(':');
  if (family !== undefined && (family === 6) !== v6) return undefined;
  if (!v6) {
    const slash = text.indexOf('/');
    const end = slash < 0 ? text.length : slash;
    const v = parseCanonicalIpv4(text, 0, end);
    const len = slash < 0 ? 32 : parseSmallInt(text, slash + 1, text.length, 32);
    if (v < 0 || len < 0) return undefined;
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    if (((v & ~mask) >>> 0) !== 0) return undefined;
    return slash < 0 ? `${text}/32` : text;
  }
  const parts = splitPrefix(text) ?? { addr: text, len: 128 };
  if (parts.len > 128) return undefined;
  const addr = canonicalIpv6(parts.addr);
  if (addr === undefined || !v6HostBitsClear(addr, parts.len)) return undefined;
  return `${addr}/${parts.len}`;
}

function v6HostBitsClear(canonical: string, len: number): boolean {
  const groups = expandV6(canonical);
  for (let bit = len; bit < 128; bit++) {
    if ((groups[bit >> 4] >> (15 - (bit & 15))) & 1) return false;
  }
  return true;
}

function expandV6(canonical: string): number[] {
  // Canonical text has no embedded IPv4 except ::ffff:a.b.c.d.
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(canonical);
  if (m) {
    const v = parseIpv4(m[1]);
    return [0, 0, 0, 0, 0, 0xffff, v >>> 16, v & 0xffff];
  }
  const [head, tail] = canonical.includes('::') ? canonical.split('::') : [canonical, undefined];
  const h = head === '' ? [] : head.split(':').map((g) => parseInt(g, 16));
  if (tail === undefined) return h;
  const t = tail === '' ? [] : tail.split(':').map((g) => parseInt(g, 16));
  return [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

function isV6LinkLocal(addr: string): boolean {
  return /^fe[89ab][0-9a-f]:/.test(addr);
}

// ---------------------------------------------------------------- validation

/** The route is not something we can install; `code` ERR_KERNEL_ROUTE_INVALID. */
export class KernelRouteError extends TortieError {
  constructor(message: string, cause?: unknown) {
    super('ERR_KERNEL_ROUTE_INVALID', message, { cause });
    this.name = 'KernelRouteError';
  }
}

/** Linux interface names: 1..15 bytes, no '/', ':' or whitespace, not "." or "..". */
const DEV_RE = /^[^\s/:]{1,15}$/;

/** Checks a proto number for our own use; throws ERR_KERNEL_PROTO_INVALID. */
export function checkOwnProto(proto: number): void {
  if (!Number.isInteger(proto) || proto < 1 || proto > 255) {
    throw new TortieError('ERR_KERNEL_PROTO_INVALID', `route proto must be an integer 1..255, got ${String(proto)}`);
  }
  const name = RESERVED_PROTOS.get(proto);
  if (name !== undefined) {
    throw new TortieError('ERR_KERNEL_PROTO_INVALID', `route proto ${proto} is already used by ${name}; choose another`);
  }
}

export function checkTable(table: number): void {
  if (!Number.isInteger(table) || table < 1 || table > 0xffffffff || table === RouteTable.Local) {
    throw new TortieError('ERR_KERNEL_TABLE_INVALID', `route table must be an integer 1..2^32-1 other than local (255), got ${String(table)}`);
  }
}

/** Input to normalizeRoute: proto and table may be left to the caller's defaults. */
export type RouteInput = Omit<KernelRoute, 'proto' | 'table' | 'nextHops'> & {
  proto?: number;
  table?: number;
  nextHops?: readonly NextHop[];
};

/**
 * Validates a route and returns its canonical form: canonical prefix and
 * addresses, next hops de-duplicated and sorted, weight kept only for ECMP
 * and only when not 1, metric and table explicit. Throws KernelRouteError.
 */
export function normalizeRoute(input: RouteInput, defaults: { proto: number; table?: number }): KernelRoute {
  const prefix = typeof input.prefix === 'string' && input.prefix.includes('/') ? canonicalPrefix(input.prefix) : undefined;
  if (prefix === undefined) throw badRoute(input, 'not a prefix "address/length" with the host bits clear');
  const v6 = isV6Prefix(prefix);
  const proto = input.proto ?? defaults.proto;
  if (proto !== defaults.proto) throw badRoute(input, `proto ${proto} is not ours (${defaults.proto})`);
  const ourTable = defaults.table ?? RouteTable.Main;
  const table = input.table ?? ourTable;
  if (table !== ourTable) throw badRoute(input, `table ${table} is not ours`);
  const metric = metricOf({ prefix, metric: input.metric });
  if (!Number.isInteger(metric) || metric < 0 || metric > 0xffffffff) throw badRoute(input, `bad metric ${String(input.metric)}`);
  const hops = input.nextHops ?? [];
  if (input.kind === 'blackhole') {
    if (hops.length > 0) throw badRoute(input, 'a blackhole route has no next hops');
    return { prefix, kind: 'blackhole', nextHops: [], proto, table, metric };
  }
  if (input.kind !== 'unicast') throw badRoute(input, `unknown kind ${String(input.kind)}`);
  if (hops.length === 0) throw badRoute(input, 'a unicast route needs at least one next hop');
  if (hops.length === 1) {
    // The common case, without the de-duplication and sorting below.
    const hop = checkHop(input, hops[0], v6);
    return { prefix, kind: 'unicast', nextHops: [hop.dev !== undefined ? { via: hop.via, dev: hop.dev } : { via: hop.via }], proto, table, metric };
  }
  const seen = new Map<string, NextHop>();
  for (const h of hops) {
    const hop = checkHop(input, h, v6);
    const key = `${hop.via}%${hop.dev ?? ''}`;
    if (!seen.has(key)) seen.set(key, hop);
  }
  return { prefix, kind: 'unicast', nextHops: canonicalHops([...seen.values()]), proto, table, metric };
}

/**
 * A plain function, not a closure in normalizeRoute: under tsx/esbuild
 * (keepNames) every named closure created costs a __name() call, and
 * normalizeRoute runs once per route on the hot path (it tripled its cost).
 */
function badRoute(input: RouteInput, why: string): KernelRouteError {
  return new KernelRouteError(`route ${JSON.stringify(input.prefix)}: ${why}`);
}

function checkHop(input: RouteInput, hop: NextHop, v6: boolean): NextHop {
  const via = typeof hop.via === 'string' ? canonicalAddress(hop.via) : undefined;
  if (via === undefined) throw badRoute(input, `bad next hop address ${JSON.stringify(hop.via)}`);
  if (via.includes(':') !== v6) throw badRoute(input, `next hop ${via} is of the other address family`);
  if (hop.dev !== undefined && (typeof hop.dev !== 'string' || !DEV_RE.test(hop.dev) || hop.dev === '.' || hop.dev === '..')) {
    throw badRoute(input, `bad interface name ${JSON.stringify(hop.dev)}`);
  }
  if (v6 && isV6LinkLocal(via) && hop.dev === undefined) throw badRoute(input, `link-local next hop ${via} needs a dev`);
  const weight = hop.weight ?? 1;
  if (!Number.isInteger(weight) || weight < 1 || weight > MAX_NEXTHOP_WEIGHT) {
    throw badRoute(input, `next hop weight must be 1..${MAX_NEXTHOP_WEIGHT}, got ${String(hop.weight)}`);
  }
  const out: NextHop = { via, weight };
  if (hop.dev !== undefined) out.dev = hop.dev;
  return out;
}

/** Sorted by (via, dev); weight dropped for a single hop and when it is 1. */
function canonicalHops(hops: NextHop[]): NextHop[] {
  const single = hops.length === 1;
  return hops
    .map((h): NextHop => {
      const out: NextHop = { via: h.via };
      if (h.dev !== undefined) out.dev = h.dev;
      if (!single && h.weight !== undefined && h.weight !== 1) out.weight = h.weight;
      return out;
    })
    .sort((a, b) => (a.via === b.via ? cmp(a.dev ?? '', b.dev ?? '') : cmp(a.via, b.via)));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------- equality

/**
 * True when the kernel's `current` route is what `desired` asks for: same
 * slot, kind and next-hop set. A desired hop without `dev` matches any dev
 * (the kernel fills it in); weights count only for ECMP.
 */
export function routeSatisfies(desired: KernelRoute, current: KernelRoute): boolean {
  if (desired.prefix !== current.prefix || desired.kind !== current.kind) return false;
  if (tableOf(desired) !== tableOf(current) || metricOf(desired) !== metricOf(current)) return false;
  if (desired.proto !== current.proto) return false;
  const a = desired.nextHops;
  const b = current.nextHops;
  if (a.length !== b.length) return false;
  const ecmp = a.length > 1;
  const used = new Array<boolean>(b.length).fill(false);
  for (const hop of a) {
    const i = b.findIndex(
      (c, j) =>
        !used[j] &&
        c.via === hop.via &&
        (hop.dev === undefined || c.dev === hop.dev) &&
        (!ecmp || (c.weight ?? 1) === (hop.weight ?? 1)),
    );
    if (i < 0) return false;
    used[i] = true;
  }
  return true;
}

// ---------------------------------------------------------------- parsing `ip -json route show`

/** What parseIpJsonRoutes found. */
export interface ParsedRoutes {
  /** Routes with our proto that we can represent (unicast via gateways, blackhole). */
  ours: KernelRoute[];
  /**
   * Routes with our proto that we do not manage and never delete: dev-only
   * routes (the CNI plugin's `podIP/32 dev <veth> scope link`), unreachable,
   * prohibit… They still hold their slot.
   */
  unmanaged: RouteSlot[];
  /** Routes with another proto. They hold their slot; we never touch them. */
  foreign: RouteSlot[];
}

export interface ParseOptions {
  /** The family of the dump (`-4`/`-6`), needed for "default". Default: from the text. */
  family?: 4 | 6;
  /** The table the dump was filtered on (`table T` omits the field). Default main. */
  table?: number;
  /** The dump was filtered with `proto N` (which omits the field); default false (missing = boot). */
  protoFiltered?: boolean;
}

interface IpJsonNextHop {
  gateway?: unknown;
  via?: unknown;
  dev?: unknown;
  weight?: unknown;
}

interface IpJsonRoute extends IpJsonNextHop {
  type?: unknown;
  dst?: unknown;
  protocol?: unknown;
  table?: unknown;
  metric?: unknown;
  nexthops?: unknown;
}

const TABLE_BY_NAME: Readonly<Record<string, number>> = { default: 253, main: 254, local: 255 };

function numberField(value: unknown, names: Readonly<Record<string, number>>): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  return names[value];
}

/**
 * Parses the output of `ip [-N] -json [-4|-6] route show …`. Routes are
 * sorted into ours / unmanaged / foreign by `proto`. Entries that are not
 * routes at all are ignored; unknown names for table or proto count as
 * foreign (never ours).
 */
export function parseIpJsonRoutes(json: unknown, proto: number, opts: ParseOptions = {}): ParsedRoutes {
  const data: unknown = typeof json === 'string' ? (json.trim() === '' ? [] : JSON.parse(json)) : json;
  if (!Array.isArray(data)) throw new TortieError('ERR_KERNEL_PARSE', 'ip -json route output is not an array');
  const out: ParsedRoutes = { ours: [], unmanaged: [], foreign: [] };
  for (const item of data) {
    if (typeof item !== 'object' || item === null) continue;
    const r = item as IpJsonRoute;
    if (typeof r.dst !== 'string') continue;
    const family = opts.family ?? familyOfEntry(r);
    const prefix = canonicalPrefix(r.dst, family);
    if (prefix === undefined) continue;
    const table = r.table === undefined ? (opts.table ?? RouteTable.Main) : (numberField(r.table, TABLE_BY_NAME) ?? -1);
    const rproto = r.protocol === undefined ? (opts.protoFiltered ? proto : 3) : (numberField(r.protocol, PROTO_BY_NAME) ?? -1);
    const type = r.type === undefined ? RouteType.Unicast : (numberField(r.type, TYPE_BY_NAME) ?? -1);
    const metric = metricOf({ prefix, metric: typeof r.metric === 'number' ? r.metric : undefined });
    const slot = (what: string): RouteSlot => ({ prefix, table, metric, proto: rproto, what });
    if (rproto !== proto) {
      out.foreign.push(slot(typeName(type)));
      continue;
    }
    if (type === RouteType.Blackhole) {
      out.ours.push({ prefix, kind: 'blackhole', nextHops: [], proto, table, metric });
      continue;
    }
    if (type !== RouteType.Unicast) {
      out.unmanaged.push(slot(typeName(type)));
      continue;
    }
    const rawHops: IpJsonNextHop[] = Array.isArray(r.nexthops) ? (r.nexthops as IpJsonNextHop[]) : [r];
    const hops: NextHop[] = [];
    for (const h of rawHops) {
      const gw = typeof h.gateway === 'string' ? h.gateway : undefined;
      const via = gw === undefined ? undefined : canonicalAddress(gw);
      if (via === undefined || via.includes(':') !== isV6Prefix(prefix)) break;
      const hop: NextHop = { via };
      if (typeof h.dev === 'string') hop.dev = h.dev;
      if (typeof h.weight === 'number') hop.weight = h.weight;
      hops.push(hop);
    }
    if (hops.length === 0 || hops.length !== rawHops.length) {
      out.unmanaged.push(slot('dev-only'));
      continue;
    }
    out.ours.push({ prefix, kind: 'unicast', nextHops: canonicalHops(hops), proto, table, metric });
  }
  return out;
}

function familyOfEntry(r: IpJsonRoute): 4 | 6 | undefined {
  if (typeof r.dst === 'string' && r.dst !== 'default') return r.dst.includes(':') ? 6 : 4;
  const gw = typeof r.gateway === 'string' ? r.gateway : undefined;
  if (gw !== undefined) return gw.includes(':') ? 6 : 4;
  if (r.dev === 'lo' && r.type !== undefined) return 6; // IPv6 blackholes show dev lo
  return undefined;
}

function typeName(type: number): string {
  if (type === RouteType.Unicast) return 'unicast';
  const name = Object.entries(TYPE_BY_NAME).find(([, v]) => v === type)?.[0];
  return name ?? `type ${type}`;
}

// ---------------------------------------------------------------- diff

export interface RouteDiff {
  /** Into an empty slot: `route add` (fails rather than overwrite a route that appeared since). */
  add: KernelRoute[];
  /** Over a slot that holds our route: `route replace`. */
  replace: KernelRoute[];
  /** Our routes nobody wants: `route del … proto N`. */
  del: KernelRoute[];
  /** Desired routes whose slot holds a route that is not ours (or that we do not manage): left alone. */
  blocked: { route: KernelRoute; by: RouteSlot }[];
}

export interface DiffOptions {
  /** Slots held by routes we must not touch (ParsedRoutes.foreign and .unmanaged). */
  occupied?: Iterable<RouteSlot>;
  /** Delete current routes that are not desired. Default true; false while adopting. */
  deleteUnwanted?: boolean;
}

export function emptyDiff(): RouteDiff {
  return { add: [], replace: [], del: [], blocked: [] };
}

export function diffSize(d: RouteDiff): number {
  return d.add.length + d.replace.length + d.del.length;
}

/**
 * What to change so the kernel holds `desired`. Both sides are canonical
 * (normalizeRoute / parseIpJsonRoutes). Desired routes are compared with
 * the current ones slot by slot; next hops compare as sets.
 */
export function diffRoutes(desired: Iterable<KernelRoute>, current: Iterable<KernelRoute>, opts: DiffOptions = {}): RouteDiff {
  const diff = emptyDiff();
  const currentBySlot = new Map<string, KernelRoute>();
  for (const c of current) currentBySlot.set(slotKey(c), c);
  const occupied = new Map<string, RouteSlot>();
  for (const s of opts.occupied ?? []) occupied.set(slotKey(s), s);
  const wanted = new Set<string>();
  for (const d of desired) {
    const key = slotKey(d);
    wanted.add(key);
    const c = currentBySlot.get(key);
    if (c !== undefined) {
      if (!routeSatisfies(d, c)) diff.replace.push(d);
      continue;
    }
    const by = occupied.get(key);
    if (by !== undefined) diff.blocked.push({ route: d, by });
    else diff.add.push(d);
  }
  if (opts.deleteUnwanted ?? true) {
    for (const [key, c] of currentBySlot) if (!wanted.has(key)) diff.del.push(c);
  }
  return diff;
}

// ---------------------------------------------------------------- rendering

/** One `ip -batch` line for a route (`verb` add or replace). */
export function renderRouteLine(verb: 'add' | 'replace', r: KernelRoute): string {
  if (r.kind === 'blackhole') return `route ${verb} blackhole ${r.prefix}${renderTail(r)}`;
  if (r.nextHops.length === 1) return `route ${verb} ${r.prefix} ${renderHop(r.nextHops[0], false)}${renderTail(r)}`;
  // ip takes nothing after the nexthop list: the tail goes first.
  return `route ${verb} ${r.prefix}${renderTail(r)} ${r.nextHops.map((h) => `nexthop ${renderHop(h, true)}`).join(' ')}`;
}

/** The `ip -batch` line that deletes our route in `r`'s slot, and only ours. */
export function renderDeleteLine(r: { prefix: string; proto: number; table?: number; metric?: number }): string {
  return `route del ${r.prefix}${renderTail(r)}`;
}

function renderHop(h: NextHop, ecmp: boolean): string {
  let s = `via ${h.via}`;
  if (h.dev !== undefined) s += ` dev ${h.dev}`;
  if (ecmp && h.weight !== undefined && h.weight !== 1) s += ` weight ${h.weight}`;
  return s;
}

function renderTail(r: { prefix: string; proto: number; table?: number; metric?: number }): string {
  const table = tableOf(r);
  return ` proto ${r.proto}${table === RouteTable.Main ? '' : ` table ${table}`} metric ${metricOf(r)}`;
}

/**
 * `ip -batch` lines for a diff: deletes first (they free slots), then
 * replaces, then adds. Every line carries our proto. Nothing for blocked
 * routes. The result's `routes[i]` is the route behind `lines[i]`.
 */
export function renderBatch(diff: RouteDiff): string[] {
  return renderBatchWithRoutes(diff).lines;
}

export interface RenderedBatch {
  lines: string[];
  ops: { op: 'add' | 'replace' | 'del'; route: KernelRoute }[];
}

export function renderBatchWithRoutes(diff: RouteDiff): RenderedBatch {
  const lines: string[] = [];
  const ops: RenderedBatch['ops'] = [];
  for (const r of diff.del) {
    lines.push(renderDeleteLine(r));
    ops.push({ op: 'del', route: r });
  }
  for (const r of diff.replace) {
    lines.push(renderRouteLine('replace', r));
    ops.push({ op: 'replace', route: r });
  }
  for (const r of diff.add) {
    lines.push(renderRouteLine('add', r));
    ops.push({ op: 'add', route: r });
  }
  return { lines, ops };
}

/** Human-readable form of a route for logs and status: "10.0.0.0/24 via 192.0.2.1 dev eth0". */
export function describeRoute(r: KernelRoute): string {
  return renderRouteLine('add', r).slice('route add '.length);
}
