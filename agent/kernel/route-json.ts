/**
 * Parsing of `ip -json route show` output, pure. Part of routes.ts.
 *
 * Facts (iproute2 6.1): `ip -json route show proto N` omits the `protocol`
 * field, and so does a dump for proto boot (3). With `table T` it omits
 * `table`. With `-N` the type, protocol, scope and table fields are numbers
 * written as strings ("6" = blackhole). A host route's dst has no length
 * ("10.0.0.5"), a default route's is "default", and an IPv6 blackhole shows
 * `dev lo`.
 */
import { TortieError } from '../../lib/errors.js';
import {
  type KernelRoute,
  type NextHop,
  type RouteSlot,
  RouteTable,
  RouteType,
  canonicalAddress,
  canonicalHops,
  canonicalPrefix,
  isV6Prefix,
  metricOf,
} from './route-model.js';

const TYPE_BY_NAME: Readonly<Record<string, number>> = {
  unspec: 0, unicast: 1, local: 2, broadcast: 3, anycast: 4, multicast: 5,
  blackhole: 6, unreachable: 7, prohibit: 8, throw: 9, nat: 10,
};

const PROTO_BY_NAME: Readonly<Record<string, number>> = {
  unspec: 0, redirect: 1, kernel: 2, boot: 3, static: 4, gated: 8, ra: 9, mrt: 10,
  zebra: 11, bird: 12, dnrouted: 13, xorp: 14, ntk: 15, dhcp: 16, keepalived: 18,
  babel: 42, openr: 99, bgp: 186, isis: 187, ospf: 188, rip: 189, eigrp: 192,
};

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
    if (rproto !== proto) {
      out.foreign.push({ prefix, table, metric, proto: rproto, what: typeName(type) });
      continue;
    }
    if (type === RouteType.Blackhole) {
      out.ours.push({ prefix, kind: 'blackhole', nextHops: [], proto, table, metric });
      continue;
    }
    if (type !== RouteType.Unicast) {
      out.unmanaged.push({ prefix, table, metric, proto: rproto, what: typeName(type) });
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
      out.unmanaged.push({ prefix, table, metric, proto: rproto, what: 'dev-only' });
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
