/**
 * Walks one packet through a FakeNetfilter's filter table the way the
 * kernel would (jump, goto, RETURN, built-in policy ACCEPT) and says what
 * happens to it. It understands the matches and targets tortie writes and
 * a few more that tests put into other tools' chains; any other option
 * throws, so a rule it cannot judge never passes silently.
 */
import { cidrContainsIp, parseCidr, parseIp, type Family } from '../compile/cidr.js';
import { splitArgs, type FakeNetfilter, type FakeSet } from './fake-netfilter.js';

export type CtState = 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID';

export interface Packet {
  readonly family: Family;
  readonly src: string;
  readonly dst: string;
  readonly proto: 'tcp' | 'udp' | 'sctp' | 'icmp' | 'ipv6-icmp';
  readonly dport?: number;
  readonly icmpType?: number;
  /** Incoming interface (FORWARD, INPUT). */
  readonly inIf?: string;
  /** Outgoing interface (FORWARD, OUTPUT). */
  readonly outIf?: string;
  readonly ct?: CtState;
  readonly mark?: number;
}

export interface SimResult {
  readonly verdict: 'ACCEPT' | 'DROP';
  /** Chains entered and the rule that decided, for failure messages. */
  readonly trace: readonly string[];
}

interface Parsed {
  inIf?: string;
  outIf?: string;
  proto?: string;
  dport?: [number, number];
  sets: { name: string; dirs: string[]; negate: boolean }[];
  ctstates?: string[];
  mark?: [number, number];
  icmp6Type?: number;
  src?: string;
  dst?: string;
  jump?: string;
  goto?: string;
  setXmark?: [number, number];
}

const cache = new Map<string, Parsed>();

function parseRule(spec: string): Parsed {
  let p = cache.get(spec);
  if (p) return p;
  p = { sets: [] };
  const a = splitArgs(spec);
  for (let i = 0; i < a.length; i++) {
    const t = a[i];
    const next = (): string => {
      const v = a[++i];
      if (v === undefined) throw new Error(`packet-sim: ${t} needs a value in: ${spec}`);
      return v;
    };
    switch (t) {
      case '-i':
        p.inIf = next();
        break;
      case '-o':
        p.outIf = next();
        break;
      case '-p':
        p.proto = next();
        break;
      case '-s':
        p.src = next();
        break;
      case '-d':
        p.dst = next();
        break;
      case '-m': {
        const mod = next();
        if (!['tcp', 'udp', 'sctp', 'set', 'conntrack', 'mark', 'comment', 'icmp6'].includes(mod)) throw new Error(`packet-sim: module ${mod} in: ${spec}`);
        break;
      }
      case '--comment':
        next();
        break;
      case '--dport': {
        const [lo, hi] = next().split(':').map(Number);
        p.dport = [lo, hi ?? lo];
        break;
      }
      case '!':
        if (a[i + 1] !== '--match-set') throw new Error(`packet-sim: negation only for --match-set: ${spec}`);
        i++;
        p.sets.push({ name: next(), dirs: next().split(','), negate: true });
        break;
      case '--match-set':
        p.sets.push({ name: next(), dirs: next().split(','), negate: false });
        break;
      case '--ctstate':
        p.ctstates = next().split(',');
        break;
      case '--mark': {
        const [v, m] = next().split('/').map((x) => Number(x));
        p.mark = [v, m ?? 0xffffffff];
        break;
      }
      case '--icmpv6-type':
        p.icmp6Type = Number(next());
        break;
      case '-j':
        p.jump = next();
        break;
      case '-g':
        p.goto = next();
        break;
      case '--set-xmark': {
        const [v, m] = next().split('/').map((x) => Number(x));
        p.setXmark = [v, m ?? 0xffffffff];
        break;
      }
      default:
        throw new Error(`packet-sim: unsupported option ${t} in: ${spec}`);
    }
  }
  cache.set(spec, p);
  return p;
}

function ifMatch(pattern: string | undefined, name: string | undefined): boolean {
  if (pattern === undefined) return true;
  if (name === undefined) return false;
  return pattern.endsWith('+') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

function inSet(set: FakeSet, pkt: Packet, dirs: readonly string[]): boolean {
  const ipText = dirs[0] === 'src' ? pkt.src : pkt.dst;
  const ip = parseIp(ipText);
  if (!ip || ip.family !== set.family) return false;
  if (set.type === 'hash:ip') {
    for (const m of set.members.keys()) {
      const a = parseIp(m);
      if (a && a.value === ip.value) return true;
    }
    return false;
  }
  if (set.type === 'hash:net') {
    // Most specific prefix wins; a nomatch entry there means "not in the set".
    let best: { len: number; nomatch: boolean } | undefined;
    for (const [m, flags] of set.members) {
      const c = parseCidr(m.includes('/') ? m : `${m}/${set.family === 4 ? 32 : 128}`);
      if (c && cidrContainsIp(c, ip) && (!best || c.prefixLen > best.len)) best = { len: c.prefixLen, nomatch: flags === 'nomatch' };
    }
    return best !== undefined && !best.nomatch;
  }
  if (set.type === 'hash:net,iface') {
    const iface = dirs[1] === 'src' ? pkt.inIf : pkt.outIf;
    for (const m of set.members.keys()) {
      const [net, name] = m.split(',');
      const c = parseCidr(net.includes('/') ? net : `${net}/${set.family === 4 ? 32 : 128}`);
      if (c && cidrContainsIp(c, ip) && name === iface) return true;
    }
    return false;
  }
  throw new Error(`packet-sim: set type ${set.type}`);
}

function matches(nf: FakeNetfilter, p: Parsed, pkt: Packet, mark: number): boolean {
  if (!ifMatch(p.inIf, pkt.inIf) || !ifMatch(p.outIf, pkt.outIf)) return false;
  if (p.proto !== undefined && p.proto !== pkt.proto) return false;
  if (p.dport && (pkt.dport === undefined || pkt.dport < p.dport[0] || pkt.dport > p.dport[1])) return false;
  if (p.icmp6Type !== undefined && (pkt.proto !== 'ipv6-icmp' || pkt.icmpType !== p.icmp6Type)) return false;
  if (p.src !== undefined) {
    const c = parseCidr(p.src.includes('/') ? p.src : `${p.src}/${pkt.family === 4 ? 32 : 128}`);
    const ip = parseIp(pkt.src);
    if (!c || !ip || !cidrContainsIp(c, ip)) return false;
  }
  if (p.dst !== undefined) {
    const c = parseCidr(p.dst.includes('/') ? p.dst : `${p.dst}/${pkt.family === 4 ? 32 : 128}`);
    const ip = parseIp(pkt.dst);
    if (!c || !ip || !cidrContainsIp(c, ip)) return false;
  }
  if (p.ctstates && !p.ctstates.includes(pkt.ct ?? 'NEW')) return false;
  if (p.mark && (mark & p.mark[1]) !== p.mark[0]) return false;
  for (const s of p.sets) {
    const set = nf.sets.get(s.name);
    if (!set) throw new Error(`packet-sim: set ${s.name} does not exist`);
    if (inSet(set, pkt, s.dirs) === s.negate) return false;
  }
  return true;
}

/** Runs `pkt` through built-in chain `hook` (FORWARD, INPUT or OUTPUT). */
export function simulate(nf: FakeNetfilter, hook: 'FORWARD' | 'INPUT' | 'OUTPUT', pkt: Packet): SimResult {
  const chains = nf.chains(pkt.family);
  const trace: string[] = [];
  let mark = pkt.mark ?? 0;
  // The call stack holds (chain, next rule index) of chains entered by -j.
  const stack: { chain: string; idx: number }[] = [];
  let chain: string = hook;
  let idx = 0;
  trace.push(chain);
  for (let steps = 0; steps < 100_000; steps++) {
    const rules = chains.get(chain);
    if (!rules) throw new Error(`packet-sim: chain ${chain} does not exist`);
    if (idx >= rules.length) {
      // End of chain: built-in -> policy ACCEPT; user chain -> implicit RETURN.
      const frame = stack.pop();
      if (!frame) return { verdict: 'ACCEPT', trace: [...trace, `${chain}: end (policy ACCEPT)`] };
      chain = frame.chain;
      idx = frame.idx;
      continue;
    }
    const spec = rules[idx];
    const p = parseRule(spec);
    idx++;
    if (!matches(nf, p, pkt, mark)) continue;
    const target = p.jump ?? p.goto;
    if (target === undefined) continue;
    if (target === 'ACCEPT' || target === 'DROP') return { verdict: target, trace: [...trace, `${chain}: ${spec}`] };
    if (target === 'MARK') {
      if (p.setXmark) mark = (mark & ~p.setXmark[1]) ^ p.setXmark[0];
      continue;
    }
    if (target === 'RETURN') {
      const frame = stack.pop();
      if (!frame) return { verdict: 'ACCEPT', trace: [...trace, `${chain}: RETURN from built-in (policy ACCEPT)`] };
      chain = frame.chain;
      idx = frame.idx;
      continue;
    }
    if (p.jump !== undefined) stack.push({ chain, idx });
    // -g: no frame, so a RETURN goes back to whoever -j'd into the current chain.
    chain = target;
    idx = 0;
    trace.push(chain);
  }
  throw new Error('packet-sim: loop');
}
