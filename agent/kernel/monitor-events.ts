/**
 * Parsing of `ip -o -N monitor route link` output, pure.
 *
 * iproute2 6.1 has no JSON output for `ip monitor` (`-json` is ignored
 * there; checked), so this reads its text. It is only a trigger: the state
 * we act on always comes from `ip -json route show`. With `-o` every event
 * is one line (a multipath route's next hops follow a backslash and a
 * tab), and `-N` prints numbers for type, proto, table and scope.
 *
 *   route:  [Deleted ][TYPE ]PREFIX [via [inet6 ]GW] [dev D] [table T] [proto P] [metric M] …[ \<TAB>nexthop via GW dev D weight W]…
 *   link:   [Deleted ]IFINDEX: IFNAME[@PEER]: <FLAGS> …
 */
import { type KernelRoute, type RouteSlot, canonicalPrefix, parseIpJsonRoutes } from './routes.js';

export interface MonitorRouteEvent {
  type: 'route';
  deleted: boolean;
  /** Canonical prefix, or undefined when the family cannot be told (a "default" without gateway). */
  prefix: string | undefined;
  table: number;
  proto: number;
  /** Our route as the event describes it, when it is ours and something we manage. */
  route?: KernelRoute;
  /** The slot, when the route is not ours or not something we manage. */
  slot?: RouteSlot;
}

export interface MonitorLinkEvent {
  type: 'link';
  deleted: boolean;
  ifname: string;
  /** Administratively up (the UP flag). */
  up: boolean;
}

export interface MonitorOtherEvent {
  type: 'other';
  text: string;
}

export type MonitorEvent = MonitorRouteEvent | MonitorLinkEvent | MonitorOtherEvent;

const LINK_RE = /^(Deleted )?\d+: ([^:@\s]+)(?:@[^:\s]*)?: <([^>]*)>/;
const TYPE_NAMES = new Set([
  'unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat',
]);

interface JsonishHop {
  gateway?: string;
  dev?: string;
  weight?: number;
}

/** Parses one line of `ip -o -N monitor route link`. */
export function parseMonitorLine(line: string, proto: number): MonitorEvent {
  const text = line.trimEnd();
  const link = LINK_RE.exec(text);
  if (link) {
    return { type: 'link', deleted: link[1] !== undefined, ifname: link[2], up: link[3].split(',').includes('UP') };
  }
  const toks = text.replace(/\\/g, ' ').split(/\s+/).filter((t) => t !== '');
  let i = 0;
  const deleted = toks[0] === 'Deleted';
  if (deleted) i++;
  let rtype: string | undefined;
  const looksLikeDst = (t: string | undefined): boolean => t !== undefined && (t === 'default' || t.includes('.') || t.includes(':'));
  if (!looksLikeDst(toks[i]) && (TYPE_NAMES.has(toks[i] ?? '') || /^\d+$/.test(toks[i] ?? ''))) rtype = toks[i++];
  const dst = toks[i++];
  if (!looksLikeDst(dst)) return { type: 'other', text };
  const entry: { dst: string; type?: string; protocol?: string; table?: string; metric?: number; nexthops?: JsonishHop[] } & JsonishHop = { dst };
  if (rtype !== undefined) entry.type = rtype;
  const hops: JsonishHop[] = [];
  let hop: JsonishHop = entry;
  while (i < toks.length) {
    const key = toks[i];
    const value = toks[i + 1];
    switch (key) {
      case 'nexthop':
        hop = {};
        hops.push(hop);
        i += 1;
        break;
      case 'via':
        if (value === 'inet' || value === 'inet6') {
          hop.gateway = toks[i + 2];
          i += 3;
        } else {
          hop.gateway = value;
          i += 2;
        }
        break;
      case 'dev':
        hop.dev = value;
        i += 2;
        break;
      case 'weight':
        hop.weight = Number(value);
        i += 2;
        break;
      case 'proto':
        entry.protocol = value;
        i += 2;
        break;
      case 'table':
        entry.table = value;
        i += 2;
        break;
      case 'metric':
        entry.metric = Number(value);
        i += 2;
        break;
      default:
        i += 1;
    }
  }
  if (hops.length > 0) entry.nexthops = hops;
  const family = familyOf(dst, entry.gateway ?? hops[0]?.gateway);
  const prefix = canonicalPrefix(dst, family);
  if (prefix === undefined) return { type: 'route', deleted, prefix: undefined, table: tableNumber(entry.table), proto: protoNumber(entry.protocol) };
  const parsed = parseIpJsonRoutes([entry], proto, { family });
  const route = parsed.ours[0];
  const slot = parsed.unmanaged[0] ?? parsed.foreign[0];
  const ev: MonitorRouteEvent = {
    type: 'route',
    deleted,
    prefix,
    table: route?.table ?? slot?.table ?? tableNumber(entry.table),
    proto: route?.proto ?? slot?.proto ?? protoNumber(entry.protocol),
  };
  if (route) ev.route = route;
  if (slot) ev.slot = slot;
  return ev;
}

function familyOf(dst: string, gateway: string | undefined): 4 | 6 | undefined {
  if (dst !== 'default') return dst.includes(':') ? 6 : 4;
  if (gateway !== undefined) return gateway.includes(':') ? 6 : 4;
  return undefined;
}

function tableNumber(t: string | undefined): number {
  if (t === undefined || t === 'main') return 254;
  return /^\d+$/.test(t) ? Number(t) : -1;
}

function protoNumber(p: string | undefined): number {
  if (p === undefined) return 3;
  return /^\d+$/.test(p) ? Number(p) : -1;
}

/** Splits a stream into lines; feed chunks in order. */
export class LineSplitter {
  private partial = '';

  push(chunk: string): string[] {
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    return lines.filter((l) => l !== '');
  }
}
