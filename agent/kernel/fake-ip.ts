/**
 * An in-memory stand-in for the kernel's routing tables and the `ip`
 * commands the agent runs, for unit tests without root:
 *
 *   ip -N -json -4|-6 route show table T         (one-shot, JSON like iproute2 6.1 with -N)
 *   ip -force -batch -                           (long-lived; `route add|replace|del`, -force semantics)
 *   ip -o -N [-rc N] monitor route link          (long-lived; one line per change)
 *
 * It keeps the kernel rules that matter to us: a route's identity is
 * (table, prefix, metric); `add` into a taken slot fails with "File exists";
 * `del … proto N` matches only proto N; IPv4 metric 0 in a delete matches
 * any metric; a gateway must lie in a connected subnet; IPv6 metric 0 is
 * 1024. Output formats copy what iproute2 prints (see fixtures/).
 *
 * Its own small parser reads the batch lines, so it also checks what
 * routes.ts renders.
 */
import { TortieError } from '../../lib/errors.js';
import {
  type CommandResult,
  FakeCommandRunner,
  type FakeProcessControl,
  type FakeProcessHandler,
  type FakeRunCall,
} from './command-runner.js';
import { canonicalAddress, canonicalPrefix, isV6Prefix } from './routes.js';

export interface FakeHop {
  via?: string;
  dev: string;
  weight: number;
}

export interface FakeRoute {
  prefix: string;
  table: number;
  metric: number;
  proto: number;
  /** rtm_type: 1 unicast, 6 blackhole, 7 unreachable… */
  type: number;
  hops: FakeHop[];
}

const TYPES: Readonly<Record<string, number>> = { unicast: 1, blackhole: 6, unreachable: 7, prohibit: 8, throw: 9 };

function v6(prefix: string): boolean {
  return isV6Prefix(prefix);
}

function slot(r: { table: number; prefix: string; metric: number }): string {
  return `${r.table}|${r.prefix}|${r.metric}`;
}

function inPrefix(addr: string, prefix: string): boolean {
  const [net, lenText] = prefix.split('/');
  const len = Number(lenText);
  const a = addrBits(addr);
  const n = addrBits(net);
  if (a === undefined || n === undefined || a.length !== n.length) return false;
  return a.slice(0, len) === n.slice(0, len);
}

function addrBits(addr: string): string | undefined {
  if (addr.includes(':')) {
    const c = canonicalAddress(addr);
    if (c === undefined) return undefined;
    const [head, tail] = c.includes('::') ? c.split('::') : [c, undefined];
    const h = head === '' ? [] : head.split(':');
    const t = tail === undefined || tail === '' ? [] : tail.split(':');
    const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
    return groups.map((g) => parseInt(g, 16).toString(2).padStart(16, '0')).join('');
  }
  const parts = addr.split('.').map(Number);
  if (parts.length !== 4) return undefined;
  return parts.map((p) => p.toString(2).padStart(8, '0')).join('');
}

export class FakeIpKernel {
  readonly routes = new Map<string, FakeRoute>();
  /** Connected subnets: where gateways resolve, and on which dev. */
  readonly connected: { prefix: string; dev: string }[] = [];
  readonly links = new Set<string>(['lo']);
  /** Every batch line executed, in order (markers excluded). */
  readonly batchLog: string[] = [];
  /** Return a message to make a batch line fail with it (ip's -force semantics still apply). */
  rejectLine: ((line: string) => string | undefined) | undefined;
  /** Return true to make ip exit (as on a malformed argument) when it reaches this line. */
  crashOnLine: ((line: string) => boolean) | undefined;
  /** How many `route show` dumps were served. */
  dumps = 0;
  private readonly monitors = new Set<FakeProcessControl>();
  readonly runner: FakeCommandRunner;

  constructor() {
    this.runner = new FakeCommandRunner({
      run: (call) => this.runOnce(call),
      spawn: (argv, _netns, ctl) => this.spawnHandler(argv, ctl),
    });
  }

  /** A link with an address: `addr` like "192.0.2.1/24" makes its subnet connected. */
  addLink(dev: string, ...addrs: string[]): void {
    this.links.add(dev);
    for (const a of addrs) {
      const [ip, len] = a.split('/');
      const bits = addrBits(ip) ?? '';
      const netBits = bits.slice(0, Number(len)).padEnd(bits.length, '0');
      const net = ip.includes(':') ? bitsToV6(netBits) : bitsToV4(netBits);
      this.connected.push({ prefix: `${net}/${len}`, dev });
    }
  }

  /** Link goes down: its routes vanish without route events (as IPv4 does), one link event. */
  linkDown(dev: string): void {
    for (const [k, r] of this.routes) if (r.hops.some((h) => h.dev === dev)) this.routes.delete(k);
    this.connected.splice(0, this.connected.length, ...this.connected.filter((c) => c.dev !== dev));
    this.emit(`7: ${dev}@if8: <BROADCAST,MULTICAST> mtu 1500 qdisc noqueue state DOWN group default \\    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff`);
  }

  /** Link comes (back) up with these addresses; one link event. */
  linkUp(dev: string, ...addrs: string[]): void {
    this.addLink(dev, ...addrs);
    this.emit(`7: ${dev}@if8: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default \\    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff`);
  }

  /** Puts a route straight into the table (a foreign writer), with a monitor event. */
  insert(r: FakeRoute): void {
    this.routes.set(slot(r), r);
    this.emit(formatEvent(r, false));
  }

  /** Removes a route by slot (someone's `ip route del`), with a monitor event. */
  remove(prefix: string, opts: { table?: number; metric?: number } = {}): boolean {
    const table = opts.table ?? 254;
    const metric = opts.metric ?? (v6(prefix) ? 1024 : 0);
    const r = this.routes.get(slot({ table, prefix, metric }));
    if (!r) return false;
    this.routes.delete(slot(r));
    this.emit(formatEvent(r, true));
    return true;
  }

  /** Routes with `proto`, sorted by prefix. */
  list(proto?: number): FakeRoute[] {
    return [...this.routes.values()].filter((r) => proto === undefined || r.proto === proto).sort((a, b) => (a.prefix < b.prefix ? -1 : 1));
  }

  /** Emits a raw monitor line to every monitor (e.g. an overrun message is stderr; use monitorStderr). */
  emit(line: string): void {
    for (const m of this.monitors) m.stdout(`${line}\n`);
  }

  monitorStderr(text: string): void {
    for (const m of this.monitors) m.stderr(text);
  }

  get monitorCount(): number {
    return this.monitors.size;
  }

  // ------------------------------------------------------------ commands

  private runOnce(call: FakeRunCall): CommandResult {
    const a = call.argv;
    const family = a.includes('-6') ? 6 : 4;
    const show = a.indexOf('show');
    if (a[0] !== 'ip' || a[show - 1] !== 'route' || !a.includes('-json')) {
      return { stdout: '', stderr: `fake ip: unsupported command ${a.join(' ')}\n`, code: 1 };
    }
    const tableAt = a.indexOf('table');
    const table = tableAt > 0 ? Number(a[tableAt + 1]) : 254;
    this.dumps++;
    const rows = [...this.routes.values()].filter((r) => r.table === table && v6(r.prefix) === (family === 6)).map(toJson);
    return { stdout: JSON.stringify(rows), stderr: '', code: 0 };
  }

  private spawnHandler(argv: readonly string[], ctl: FakeProcessControl): FakeProcessHandler | undefined {
    if (argv[0] !== 'ip') return undefined;
    if (argv.includes('-batch')) {
      let lineNo = 0;
      let partial = '';
      return {
        onInput: (text) => {
          const lines = (partial + text).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) {
            if (!ctl.running) return;
            lineNo++;
            if (this.crashOnLine?.(line)) {
              ctl.stderr(`Error: inet prefix is expected rather than "${line}".\n`);
              ctl.exit(255);
              return;
            }
            const fatal = fatalLineError(line);
            if (fatal !== undefined) {
              ctl.stderr(`${fatal}\n`);
              ctl.exit(255);
              return;
            }
            const err = this.execLine(line);
            if (err !== undefined) ctl.stderr(`${err}\nCommand failed -:${lineNo}\n`);
          }
        },
      };
    }
    if (argv.includes('monitor')) {
      this.monitors.add(ctl);
      const stop = (): void => {
        this.monitors.delete(ctl);
      };
      return {
        onEnd: () => undefined,
        onKill: (signal) => {
          stop();
          ctl.exit(null, signal);
        },
      };
    }
    return undefined;
  }

  /** Ends every monitor process as if it had crashed. */
  crashMonitors(): void {
    for (const m of this.monitors) m.exit(1);
    this.monitors.clear();
  }

  /** Runs one batch line; returns ip's error message or undefined. */
  execLine(line: string): string | undefined {
    const toks = line.trim().split(/\s+/);
    if (toks[0] !== 'route') return `Object "${toks[0]}" is unknown, try "ip help".`;
    const fatal = fatalLineError(line);
    if (fatal !== undefined) return fatal;
    this.batchLog.push(line);
    const injected = this.rejectLine?.(line);
    if (injected !== undefined) return injected;
    const verb = toks[1];
    let i = 2;
    let type = 1;
    if (TYPES[toks[i]] !== undefined) type = TYPES[toks[i++]];
    const prefix = canonicalPrefix(toks[i++]);
    if (prefix === undefined) return 'Error: invalid prefix';
    let proto = 3;
    let table = 254;
    let metric: number | undefined;
    const hops: { via?: string; dev?: string; weight: number }[] = [];
    let hop: { via?: string; dev?: string; weight: number } = { weight: 1 };
    let multipath = false;
    while (i < toks.length) {
      const k = toks[i];
      const v = toks[i + 1];
      if (k === 'nexthop') {
        if (multipath || hop.via !== undefined || hop.dev !== undefined) hops.push(hop);
        multipath = true;
        hop = { weight: 1 };
        i++;
        continue;
      }
      if (k === 'via') hop.via = v;
      else if (k === 'dev') hop.dev = v;
      else if (k === 'weight') hop.weight = Number(v);
      else if (k === 'proto') proto = Number(v);
      else if (k === 'table') table = Number(v);
      else if (k === 'metric') metric = Number(v);
      else return `Error: either "to" is duplicate, or "${k}" is a garbage.`;
      i += 2;
    }
    if (hop.via !== undefined || hop.dev !== undefined) hops.push(hop);
    const m = metric === undefined || (metric === 0 && v6(prefix)) ? (v6(prefix) ? 1024 : 0) : metric;
    if (verb === 'del') return this.del(prefix, table, metric === undefined ? undefined : m, proto);
    if (verb !== 'add' && verb !== 'replace') return `Command "${verb}" is unknown, try "ip route help".`;
    const resolved: FakeHop[] = [];
    for (const h of hops) {
      if (h.dev !== undefined && !this.links.has(h.dev)) return `Cannot find device "${h.dev}"`;
      const c = h.via === undefined ? undefined : this.connected.find((x) => inPrefix(h.via ?? '', x.prefix) && (h.dev === undefined || h.dev === x.dev));
      if (h.via !== undefined && c === undefined && !(h.via.startsWith('fe80:') && h.dev !== undefined)) return 'Error: Nexthop has invalid gateway.';
      resolved.push({ ...(h.via !== undefined ? { via: canonicalAddress(h.via) } : {}), dev: h.dev ?? c?.dev ?? 'lo', weight: h.weight });
    }
    if (type === 1 && resolved.length === 0) return 'Error: Device for nexthop is not up.';
    const route: FakeRoute = { prefix, table, metric: m, proto, type, hops: type === 1 ? resolved : [] };
    const key = slot(route);
    if (verb === 'add' && this.routes.has(key)) return 'RTNETLINK answers: File exists';
    this.routes.set(key, route);
    this.emit(formatEvent(route, false));
    return undefined;
  }

  private del(prefix: string, table: number, metric: number | undefined, proto: number): string | undefined {
    const candidates = [...this.routes.values()]
      .filter((r) => r.prefix === prefix && r.table === table && r.proto === proto)
      .filter((r) => metric === undefined || (metric === 0 && !v6(prefix)) || r.metric === metric)
      .sort((a, b) => a.metric - b.metric);
    const r = candidates[0];
    if (r === undefined) return 'RTNETLINK answers: No such process';
    this.routes.delete(slot(r));
    this.emit(formatEvent(r, true));
    return undefined;
  }
}

/**
 * ip exits (invarg) rather than report some errors; the one we model:
 * anything but via/dev/weight after the first `nexthop`.
 */
export function fatalLineError(line: string): string | undefined {
  const toks = line.trim().split(/\s+/);
  const at = toks.indexOf('nexthop');
  if (at < 0) return undefined;
  for (let i = at; i < toks.length; ) {
    const t = toks[i];
    if (t === 'nexthop') i += 1;
    else if (t === 'via' || t === 'dev' || t === 'weight') i += 2;
    else return `Error: "nexthop" or end of line is expected instead of "${t}"`;
  }
  return undefined;
}

function toJson(r: FakeRoute): Record<string, unknown> {
  const host = r.prefix.endsWith(v6(r.prefix) ? '/128' : '/32');
  const o: Record<string, unknown> = {};
  if (r.type !== 1) o.type = String(r.type);
  o.dst = host ? r.prefix.slice(0, r.prefix.lastIndexOf('/')) : r.prefix;
  if (r.hops.length === 1) {
    if (r.hops[0].via !== undefined) o.gateway = r.hops[0].via;
    o.dev = r.hops[0].dev;
  } else if (r.type === 6 && v6(r.prefix)) {
    o.dev = 'lo';
  }
  o.protocol = String(r.proto);
  if (r.hops.length === 1 && r.hops[0].via === undefined) o.scope = '253';
  if (v6(r.prefix) || r.metric !== 0) o.metric = r.metric;
  o.flags = [];
  if (r.hops.length > 1) o.nexthops = r.hops.map((h) => ({ ...(h.via !== undefined ? { gateway: h.via } : {}), dev: h.dev, weight: h.weight, flags: [] }));
  return o;
}

/** One `ip -o -N monitor` line for a route. */
export function formatEvent(r: FakeRoute, deleted: boolean): string {
  let s = deleted ? 'Deleted ' : '';
  if (r.type !== 1) s += `${r.type} `;
  s += r.prefix.endsWith(v6(r.prefix) ? '/128' : '/32') ? r.prefix.slice(0, r.prefix.lastIndexOf('/')) : r.prefix;
  if (r.hops.length === 1) s += `${r.hops[0].via !== undefined ? ` via ${r.hops[0].via}` : ''} dev ${r.hops[0].dev}`;
  if (r.table !== 254) s += ` table ${r.table}`;
  s += ` proto ${r.proto}`;
  if (v6(r.prefix) || r.metric !== 0) s += ` metric ${r.metric}`;
  if (r.hops.length > 1) for (const h of r.hops) s += ` \\\tnexthop${h.via !== undefined ? ` via ${h.via}` : ''} dev ${h.dev} weight ${h.weight}`;
  return `${s} `;
}

function bitsToV4(bits: string): string {
  return [0, 8, 16, 24].map((o) => parseInt(bits.slice(o, o + 8), 2)).join('.');
}

function bitsToV6(bits: string): string {
  const groups = [];
  for (let o = 0; o < 128; o += 16) groups.push(parseInt(bits.slice(o, o + 16), 2).toString(16));
  const c = canonicalAddress(groups.join(':'));
  if (c === undefined) throw new TortieError('ERR_FAKE_IP', `bad address bits ${bits}`);
  return c;
}
