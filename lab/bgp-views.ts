/**
 * One view of BGP sessions and BGP tables for every kind of lab node:
 * tortie-agent (its control API), FRR (`vtysh … json`) and BIRD (`birdc`,
 * which has no JSON output, so its text is parsed here by
 * `parseBirdProtocols` / `parseBirdRoutes`, both pure).
 */
import type { RouteView, SessionView } from '../agent/api-types.js';
import { ControlClient } from '../agent/control-client.js';
import type { Lab } from './lab.js';
import { agentSocket, birdc, vtysh } from './tools.js';

export interface LabSession {
  peer: string;
  peerAsn: number;
  state: string;
  description?: string;
}

export interface LabPath {
  /** AS_PATH as numbers, nearest AS first; empty for an iBGP-learned or local route. */
  asPath: number[];
  nextHops: string[];
  best: boolean;
}

export interface LabRoute {
  prefix: string;
  paths: LabPath[];
}

export type Family = 'ipv4' | 'ipv6';

export async function sessionsOf(lab: Lab, node: string): Promise<LabSession[]> {
  const n = lab.node(node);
  switch (n.role) {
    case 'tortie': {
      const r = await new ControlClient(agentSocket(lab, node), 5_000).get<{ sessions: SessionView[] }>('/v1/bgp/sessions');
      return r.sessions.map((s) => ({ peer: s.peer, peerAsn: s.peerAsn, state: s.state, ...(s.description ? { description: s.description } : {}) }));
    }
    case 'frr': {
      const nbrs = JSON.parse(await vtysh(lab, node, 'show bgp neighbors json')) as Record<string, { remoteAs?: number; bgpState?: string; nbrDesc?: string }>;
      return Object.entries(nbrs).map(([peer, v]) => ({ peer, peerAsn: v.remoteAs ?? 0, state: v.bgpState ?? 'unknown', ...(v.nbrDesc ? { description: v.nbrDesc } : {}) }));
    }
    case 'bird':
      return parseBirdProtocols(await birdc(lab, node, 'show protocols all'));
    case 'host':
      return [];
  }
}

/** BIRD `show protocols all` → its BGP sessions. */
export function parseBirdProtocols(text: string): LabSession[] {
  const out: LabSession[] = [];
  for (const block of text.split(/\n(?=\S)/)) {
    if (!/^\S+\s+BGP\s/.test(block)) continue;
    const addr = /Neighbor address:\s+(\S+)/.exec(block)?.[1];
    if (!addr) continue;
    const asn = Number(/Neighbor AS:\s+(\d+)/.exec(block)?.[1] ?? 0);
    const state = /BGP state:\s+(\w+)/.exec(block)?.[1] ?? 'unknown';
    const desc = /Description:\s+(.+)/.exec(block)?.[1]?.trim();
    out.push({ peer: addr.replace(/%.*$/, ''), peerAsn: asn, state, ...(desc ? { description: desc } : {}) });
  }
  return out;
}

/** The BGP routes a node holds for a family (for tortie: its Loc-RIB; for routers: BGP-learned routes). */
export async function bgpRoutesOf(lab: Lab, node: string, family: Family = 'ipv4'): Promise<LabRoute[]> {
  const n = lab.node(node);
  switch (n.role) {
    case 'tortie': {
      const r = await new ControlClient(agentSocket(lab, node), 5_000).get<{ routes: RouteView[] }>('/v1/bgp/routes?limit=100000');
      return r.routes
        .filter((x) => x.prefix.includes(':') === (family === 'ipv6'))
        .map((x) => ({
          prefix: x.prefix,
          paths: [...(x.best ? [{ ...pathOf(x.best), best: true }] : []), ...x.alternatives.map((p) => ({ ...pathOf(p), best: false }))],
        }));
    }
    case 'frr':
      return parseFrrRoutes(await vtysh(lab, node, `show bgp ${family} unicast json`));
    case 'bird':
      return parseBirdRoutes(await birdc(lab, node, `show route all table ${family === 'ipv4' ? 'master4' : 'master6'} where source = RTS_BGP`));
    case 'host':
      return [];
  }
}

function pathOf(p: { asPath: string; nextHops: string[]; peer: string }): Omit<LabPath, 'best'> {
  return { asPath: asPathNumbers(p.asPath), nextHops: p.nextHops };
}

/** "65000 65002 {1,2}" → [65000, 65002, 1, 2] (sets flattened; enough for the lab's checks). */
export function asPathNumbers(text: string): number[] {
  return (text.match(/\d+/g) ?? []).map(Number);
}

interface FrrPath {
  valid?: boolean;
  bestpath?: boolean | { overall?: boolean };
  path?: string;
  aspath?: { string?: string };
  nexthops?: { ip?: string; used?: boolean }[];
}

/** FRR `show bgp <afi> unicast json` → routes (valid paths only). */
export function parseFrrRoutes(json: string): LabRoute[] {
  const doc = JSON.parse(json) as { routes?: Record<string, FrrPath[]> };
  return Object.entries(doc.routes ?? {}).map(([prefix, paths]) => ({
    prefix,
    paths: paths.filter((p) => p.valid !== false).map((p) => ({
      asPath: asPathNumbers(p.path ?? p.aspath?.string ?? ''),
      nextHops: (p.nexthops ?? []).map((h) => h.ip ?? '').filter((ip) => ip !== '' && ip !== '0.0.0.0' && ip !== '::'),
      best: p.bestpath === true || (typeof p.bestpath === 'object' && p.bestpath.overall === true),
    })),
  }));
}

/** BIRD `show route all …` → routes, each path with its BGP.as_path and gateway. */
export function parseBirdRoutes(text: string): LabRoute[] {
  const routes: LabRoute[] = [];
  let current: LabRoute | undefined;
  let path: LabPath | undefined;
  for (const line of text.split('\n')) {
    const head = /^(\S+)?\s+(?:unicast|blackhole|unreachable|prohibited)\s+\[[^\]]*\](\s+\*)?/.exec(line);
    if (head && (head[1] === undefined || /\//.test(head[1]))) {
      if (head[1] !== undefined) {
        current = { prefix: head[1], paths: [] };
        routes.push(current);
      }
      if (!current) continue;
      path = { asPath: [], nextHops: [], best: head[2] !== undefined };
      current.paths.push(path);
      continue;
    }
    if (!path) continue;
    const via = /^\s+via\s+(\S+)/.exec(line);
    if (via) path.nextHops.push(via[1]);
    const asp = /^\s+BGP\.as_path:\s*(.*)$/.exec(line);
    if (asp) path.asPath = asPathNumbers(asp[1]);
  }
  return routes;
}

/** True when every session of every BGP speaker in the lab is Established. */
export async function allEstablished(lab: Lab): Promise<boolean> {
  for (const n of lab.topo.nodes) {
    if (n.role === 'host') continue;
    const s = await sessionsOf(lab, n.name);
    if (s.length === 0 || s.some((x) => x.state !== 'Established')) return false;
  }
  return true;
}

/** The prefixes a tortie node originates: its Loc-RIB entries whose best path is local. */
export async function ownBlocks(lab: Lab, node: string): Promise<string[]> {
  const out: string[] = [];
  for (const f of ['ipv4', 'ipv6'] as const) {
    for (const r of await bgpRoutesOf(lab, node, f)) {
      if (r.paths.some((p) => p.best && p.asPath.length === 0 && p.nextHops.length === 0)) out.push(r.prefix);
    }
  }
  return out.sort();
}
