/**
 * tortiectl: the operator's view of one node's agent, over the control
 * socket. Tables by default; `-o wide` adds columns; `-o json|yaml` print
 * exactly what the API returned.
 */
import yargs from 'yargs';
import { stringify as toYaml } from 'yaml';
import type { PathView, PolicyShowView, PolicyVerifyView, RouteView, SessionView, StatusView } from './api-types.js';
import { renderPolicyShow, renderPolicyVerify } from './policy-render.js';
import { ControlClient } from './control-client.js';
import { TortieError } from '../lib/errors.js';
import type { IpamCheckRequest, IpamCheckView, IpamReleaseRequest, IpamReleaseResponse, IpamShowView } from '../ipam/api-types.js';
import { renderIpamCheck, renderIpamShow, renderReleased } from '../ipam/ctl-render.js';
import { readFile } from 'node:fs/promises';

export const DEFAULT_SOCKET = '/run/tortie/tortie.sock';

type Output = 'table' | 'wide' | 'json' | 'yaml';

export interface CtlIo {
  out: (s: string) => void;
  err: (s: string) => void;
  now?: () => number;
}

/** Pads columns; the last column is not padded. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

export function humanDuration(sec: number): string {
  if (sec < 60) return `${sec}s`;
  if (sec < 3600) return `${Math.floor(sec / 60)}m${sec % 60}s`;
  if (sec < 86400) return `${Math.floor(sec / 3600)}h${Math.floor((sec % 3600) / 60)}m`;
  return `${Math.floor(sec / 86400)}d${Math.floor((sec % 86400) / 3600)}h`;
}

function since(iso: string | undefined, now: number): string {
  if (!iso) return 'never';
  return humanDuration(Math.max(0, Math.floor((now - Date.parse(iso)) / 1000)));
}

function print(io: CtlIo, output: Output, value: unknown, render: (wide: boolean) => string): void {
  if (output === 'json') io.out(JSON.stringify(value, null, 2) + '\n');
  else if (output === 'yaml') io.out(toYaml(value));
  else io.out(render(output === 'wide'));
}

export function renderSessions(sessions: SessionView[], wide: boolean, now: number): string {
  const head = ['PEER', 'ASN', 'TYPE', 'SOURCE', 'STATE', 'SINCE', 'RCVD', 'ACCEPTED', 'ADVERTISED', 'LAST ERROR'];
  if (wide) head.splice(9, 0, 'ROUTER ID', 'FAMILIES', 'STALE', 'FLAPS', 'DESCRIPTION');
  const rows = sessions.map((s) => {
    const r = [
      s.peer, String(s.peerAsn), s.type, s.source ?? 'file', s.state, since(s.since, now), String(s.received), String(s.accepted), String(s.advertised), s.lastError?.text ?? '',
    ];
    if (wide) r.splice(9, 0, s.peerRouterId ?? '', s.families.join(','), String(s.stale), String(s.flaps), s.description ?? '');
    return r;
  });
  return table(head, rows);
}

function pathCells(p: PathView | undefined): string[] {
  if (!p) return ['', '', '', ''];
  return [p.nextHops.join(',') || '(local)', p.asPath || '(empty)', p.peer, p.stale ? 'stale' : ''];
}

export function renderRoutes(routes: RouteView[], wide: boolean): string {
  if (!wide) {
    return table(['PREFIX', 'NEXT HOP', 'AS PATH', 'FROM', 'FLAGS', 'REASON', 'PATHS'],
      routes.map((r) => [r.prefix, ...pathCells(r.best), r.reason, String((r.best ? 1 : 0) + r.alternatives.length)]));
  }
  const rows: string[][] = [];
  for (const r of routes) {
    const mp = new Set(r.multipath.map((p) => p.peer));
    const lp = (p: PathView): string => (p.localPref !== undefined ? String(p.localPref) : '');
    if (r.best) rows.push([r.prefix, '*', ...pathCells(r.best), lp(r.best), r.best.med !== undefined ? String(r.best.med) : '', r.best.communities.join(' '), r.reason]);
    for (const a of r.alternatives) {
      rows.push(['', mp.has(a.peer) ? '=' : '', ...pathCells(a), lp(a), a.med !== undefined ? String(a.med) : '', a.communities.join(' '), '']);
    }
  }
  return table(['PREFIX', 'BEST', 'NEXT HOP', 'AS PATH', 'FROM', 'FLAGS', 'LOCAL PREF', 'MED', 'COMMUNITIES', 'REASON'], rows);
}

export function renderStatus(s: StatusView): string {
  const rows: [string, string][] = [
    ['Node', `${s.node} (AS ${s.asn}, router ID ${s.routerId})`],
    ['Version', s.version],
    ['Up', humanDuration(s.uptimeSec)],
    ['Ready', s.ready ? 'yes' : `no: ${s.notReady.join('; ')}`],
    ['Config', `${s.configFile} (loaded ${s.configLoadedAt})`],
    ['Sessions', `${s.sessions.established}/${s.sessions.configured} established`],
    ['Routes', `${s.routes.bgp} in BGP, ${s.routes.kernel} in the kernel, ${s.routes.originated} originated${s.routes.failed ? `, ${s.routes.failed} refused by the kernel` : ''}`],
  ];
  for (const f of s.routeFailures) rows.push(['Not in kernel', `${f.prefix}: ${f.error}`]);
  if (s.policy) {
    rows.push(['NetworkPolicy', s.policy.error !== undefined ? `NOT ENFORCING: ${s.policy.error}`
      : `${s.policy.programmed}/${s.policy.pods} pods programmed (backend ${s.policy.backend ?? '?'})`]);
  }
  if (s.kubernetes) {
    const k = s.kubernetes;
    const what = `${k.meshMembers} mesh member(s), ${k.bgpPeers} BGPPeer(s), ${k.ipPools} IPPool(s) from ${k.server}`;
    rows.push(['Kubernetes', k.stale ? `STALE since ${k.since} (API unreachable; the last peers and routes stay): ${what}` : `${k.state} since ${k.since}: ${what}`]);
    if (!k.selfFound && k.state === 'synced') rows.push(['Kubernetes', 'this node has no Node object: BGPPeer node selectors cannot match it']);
    for (const p of k.problems.slice(0, 10)) rows.push(['Left out', p]);
    for (const r of k.resources) if (r.lastError !== undefined && !r.connected) rows.push(['API error', `${r.resource}: ${r.lastError}`]);
  }
  if (s.lastReload) rows.push(['Last reload', `${s.lastReload.at}: ${s.lastReload.ok ? 'ok' : 'FAILED'}: ${s.lastReload.message}`]);
  return rows.map(([k, v]) => `${(k + ':').padEnd(15)}${v}`).join('\n') + '\n';
}

/** The global options, as the nested commands see them. */
function common(a: Record<string, unknown>): { socket: string; output: Output } {
  return { socket: String(a.socket), output: a.output as Output };
}

/** Runs tortiectl with `argv`; returns the exit status. */
export async function runCtl(argv: string[], io: CtlIo): Promise<number> {
  let code = 0;
  const now = io.now ?? Date.now;
  const fail = (err: unknown): void => {
    code = err instanceof TortieError && err.code === 'ERR_AGENT_NOT_RUNNING' ? 3 : 1;
    io.err(`tortiectl: ${(err as Error).message}\n`);
  };
  const parser = yargs(argv)
    .scriptName('tortiectl')
    .usage('$0 <command> [options]\n\nShows the state of the tortie agent on this node, read from its control socket.')
    .option('output', { alias: 'o', choices: ['table', 'wide', 'json', 'yaml'] as const, default: 'table', describe: 'Output format: table (default), wide (more columns), json or yaml (the API objects, unchanged)' })
    .option('socket', { type: 'string', default: process.env.TORTIE_SOCKET ?? DEFAULT_SOCKET, describe: 'The agent\'s control socket (env TORTIE_SOCKET)' })
    .command('status', 'Agent status: identity, readiness, sessions and route counts', {}, async (a) => {
      try {
        const o = common(a);
        const s = await new ControlClient(o.socket).get<StatusView>('/v1/status');
        print(io, o.output, s, () => renderStatus(s));
      } catch (err) { fail(err); }
    })
    .command('bgp', 'BGP sessions and routes', (y) => y
      .command('sessions', 'Every BGP session: peer, AS, type (mesh/global/explicit), state, since when, prefix counts and the last error in plain words', {}, async (a) => {
        try {
          const o = common(a);
          const r = await new ControlClient(o.socket).get<{ sessions: SessionView[] }>('/v1/bgp/sessions');
          print(io, o.output, r.sessions, (wide) => renderSessions(r.sessions, wide, now()));
        } catch (err) { fail(err); }
      })
      .command('routes [prefix]', 'The Loc-RIB: best path per prefix, why it won, and the alternatives (-o wide lists every path)', (yy) => yy
        .positional('prefix', { type: 'string', describe: 'Only this prefix (e.g. 10.244.1.0/26)' })
        .option('limit', { type: 'number', default: 1000, describe: 'At most this many prefixes' }), async (a) => {
        try {
          const q = new URLSearchParams();
          if (a.prefix) q.set('prefix', a.prefix);
          q.set('limit', String(a.limit));
          const o = common(a);
          const r = await new ControlClient(o.socket).get<{ routes: RouteView[] }>(`/v1/bgp/routes?${q.toString()}`);
          print(io, o.output, r.routes, (wide) => renderRoutes(r.routes, wide));
        } catch (err) { fail(err); }
      })
      .demandCommand(1, 'Say which: bgp sessions, or bgp routes [prefix].'))
    .command('ipam', 'IP address management: pools, blocks, leaks, releases', (y) => y
      .command('show', 'Pools (utilisation, exhaustion), blocks per node, borrowed addresses (-o wide adds nodes and every allocation)', {}, async (a) => {
        try {
          const o = common(a);
          const v = await new ControlClient(o.socket).get<IpamShowView>(`/v1/ipam/show${o.output === 'table' ? '' : '?allocations=1'}`);
          print(io, o.output, v, (wide) => renderIpamShow(v, wide));
        } catch (err) { fail(err); }
      })
      .command('check', 'Finds leaks (allocations whose pod is gone) and blocks whose node is gone; exit status 1 when it finds any', (yy) => yy
        .option('attachments', { type: 'string', describe: 'A JSON file listing the live attachments, [{"containerId": "...", "ifname": "eth0"}]; default: judge by each allocation\'s netns' })
        .option('network', { type: 'string', describe: 'Only allocations of this CNI network' }), async (a) => {
        try {
          const o = common(a);
          const client = new ControlClient(o.socket);
          let v: IpamCheckView;
          if (a.attachments === undefined && a.network === undefined) {
            v = await client.get<IpamCheckView>('/v1/ipam/check');
          } else {
            const req: IpamCheckRequest = {};
            if (a.attachments !== undefined) req.attachments = JSON.parse(await readFile(a.attachments, 'utf8')) as IpamCheckRequest['attachments'];
            if (a.network !== undefined) req.network = a.network;
            v = await client.post<IpamCheckView>('/v1/ipam/check', req);
          }
          print(io, o.output, v, () => renderIpamCheck(v));
          if (!v.ok) code = 1;
        } catch (err) { fail(err); }
      })
      .command('release', 'Releases one address (--ip) or everything a handle holds (--handle CONTAINERID/IFNAME)', (yy) => yy
        .option('ip', { type: 'string', describe: 'The address to release' })
        .option('handle', { type: 'string', describe: 'The handle whose addresses to release' })
        .check((x) => {
          if ((x.ip === undefined) === (x.handle === undefined)) throw new Error('give exactly one of --ip and --handle');
          return true;
        }), async (a) => {
        try {
          const o = common(a);
          const req: IpamReleaseRequest = a.ip !== undefined ? { ip: a.ip } : { handle: a.handle ?? '' };
          const r = await new ControlClient(o.socket).post<IpamReleaseResponse>('/v1/ipam/release', req);
          print(io, o.output, r, () => renderReleased(r));
        } catch (err) { fail(err); }
      })
      .demandCommand(1, 'Say which: ipam show, ipam check, or ipam release.'))
    .command('policy', 'NetworkPolicy on this node', (y) => y
      .command('show <pod>', 'The policies selecting a pod (namespace/name), per direction, with their effective rules and the pod\'s state (-o wide adds chain names)', (yy) => yy
        .positional('pod', { type: 'string', demandOption: true, describe: 'namespace/name' }), async (a) => {
        try {
          const o = common(a);
          const parts = String(a.pod).split('/');
          if (parts.length !== 2 || parts[0] === '' || parts[1] === '') throw new TortieError('ERR_CTL_USAGE', `expected <namespace>/<pod>, not ${String(a.pod)}`);
          const v = await new ControlClient(o.socket).get<PolicyShowView>(`/v1/policy/pods/${encodeURIComponent(parts[0])}/${encodeURIComponent(parts[1])}`);
          print(io, o.output, v, (wide) => renderPolicyShow(v, wide));
        } catch (err) { fail(err); }
      })
      .command('verify', 'Compares the chains and sets in the kernel with the desired ones; exit status 1 when they differ', {}, async (a) => {
        try {
          const o = common(a);
          const v = await new ControlClient(o.socket, 60000).get<PolicyVerifyView>('/v1/policy/verify');
          print(io, o.output, v, () => renderPolicyVerify(v));
          if (!v.ok) code = 1;
        } catch (err) { fail(err); }
      })
      .demandCommand(1, 'Say which: policy show <namespace>/<pod>, or policy verify.'))
    .demandCommand(1, 'Say which command: status, bgp sessions, bgp routes, ipam show, ipam check, ipam release, policy show, policy verify.')
    .strict()
    .help()
    .version(`tortiectl ${typeof TORTIE_VERSION === 'string' ? TORTIE_VERSION : 'dev'}`)
    .epilogue('Exit status: 0 on success, 1 on an error (and from ipam check when it finds leaks, policy verify when out of sync), 2 on bad usage, 3 when the agent is not running.\nThe control socket is root-only (mode 0600): run as root.')
    .fail((msg, err) => {
      code = 2;
      io.err(`tortiectl: ${msg ?? err?.message ?? 'bad usage'}\nTry tortiectl --help.\n`);
    })
    .exitProcess(false)
    .wrap(Math.min(110, process.stdout.columns || 100));
  await parser.parseAsync(argv, {}, (_err, _argv, output) => {
    if (output) io.out(output + '\n');
  });
  return code;
}

declare const TORTIE_VERSION: string | undefined;
