/**
 * The kernel route model, pure: types, constants, canonical text for
 * prefixes and addresses, validation (normalizeRoute) and route equality.
 * Part of routes.ts (which re-exports it).
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
  const metric = input.metric === undefined ? (v6 ? DEFAULT_METRIC_V6 : DEFAULT_METRIC_V4) : v6 && input.metric === 0 ? DEFAULT_METRIC_V6 : input.metric;
  if (!Number.isInteger(metric) || metric < 0 || metric > 0xffffffff) throw badRoute(input, `bad metric ${String(input.metric)}`);
  const hops = input.nextHops ?? [];
  if (input.kind === 'blackhole') {
    if (hops.length > 0) throw badRoute(input, 'a blackhole route has no next hops');
    return { prefix, kind: 'blackhole', nextHops: [], proto, table, metric };
  }
  if (input.kind !== 'unicast') throw badRoute(input, `unknown kind ${String(input.kind)}`);
  if (hops.length === 0) throw badRoute(input, 'a unicast route needs at least one next hop');
  if (hops.length === 1) {
    // The common case, without the de-duplication and sorting below; a single hop has no weight.
    let hop = checkHop(input, hops[0], v6);
    if (hop.weight !== undefined) hop = hop.dev !== undefined ? { via: hop.via, dev: hop.dev } : { via: hop.via };
    return { prefix, kind: 'unicast', nextHops: [hop], proto, table, metric };
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
  // Weight only when it is not 1 (canonical form).
  if (hop.dev !== undefined) return weight === 1 ? { via, dev: hop.dev } : { via, dev: hop.dev, weight };
  return weight === 1 ? { via } : { via, weight };
}

/** Sorted by (via, dev); weight dropped for a single hop and when it is 1. */
export function canonicalHops(hops: NextHop[]): NextHop[] {
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
