/**
 * An in-memory stand-in for the filter table of iptables/ip6tables and for
 * ipset, for tests that must not need root: it accepts the restore and
 * `ipset restore` input we write (and rejects what the kernel would
 * reject: unknown chains and sets, deleting a chain that is in use or not
 * empty, creating a set twice without -exist), prints save output in the
 * kernel tools' format, and serves them through a FakeCommandRunner.
 *
 * Only what tortie and its tests use is emulated; anything else throws.
 */
import { FakeCommandRunner, type CommandResult, type FakeRunCall } from '../../agent/kernel/command-runner.js';
import { canonicalCidr, canonicalIp, type Family } from '../compile/cidr.js';

export const BUILTINS = ['INPUT', 'FORWARD', 'OUTPUT'] as const;

export interface FakeSet {
  type: string;
  family: Family;
  /** Member key (address part) -> flags text ('' or 'nomatch'). */
  members: Map<string, string>;
}

export class FakeNetfilterError extends Error {}

export function splitArgs(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let has = false;
  for (const ch of line) {
    if (ch === '"') {
      quoted = !quoted;
      has = true;
    } else if (ch === ' ' && !quoted) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

/** Normalises a rule spec the way save prints it enough for equality: quote the comment. */
function normSpec(args: readonly string[]): string {
  return args.map((a) => (/\s/.test(a) || a.startsWith('tt:') ? `"${a}"` : a)).join(' ');
}

export class FakeNetfilter {
  /** family -> chain -> rule specs (text after `-A CHAIN `). */
  readonly tables = new Map<Family, Map<string, string[]>>();
  readonly sets = new Map<string, FakeSet>();
  /** Every restore input received, per tool, in order. */
  readonly restores: { tool: string; input: string }[] = [];
  backend: 'nft' | 'legacy' = 'nft';
  /** Rules the other backend holds (to emulate a mixed host). */
  otherBackendRules = 0;
  /** When set, the next restore of this tool fails with this stderr. */
  failNext: { tool: RegExp; stderr: string } | undefined;

  constructor() {
    for (const fam of [4, 6] as const) this.tables.set(fam, new Map(BUILTINS.map((b) => [b, []])));
  }

  chains(fam: Family): Map<string, string[]> {
    const t = this.tables.get(fam);
    if (!t) throw new FakeNetfilterError(`no table for IPv${fam}`);
    return t;
  }

  /** `iptables-restore --noflush` (filter table only). */
  restore(fam: Family, text: string): void {
    // Apply to a copy: a restore is one transaction.
    const work = new Map([...this.chains(fam)].map(([k, v]) => [k, [...v]]));
    let inFilter = false;
    let committed = false;
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      const at = `line ${i + 1}`;
      if (line.trim() === '' || line.startsWith('#')) return;
      if (line.startsWith('*')) {
        if (line !== '*filter') throw new FakeNetfilterError(`${at}: only *filter is emulated`);
        inFilter = true;
        return;
      }
      if (!inFilter) throw new FakeNetfilterError(`${at}: rule outside a table`);
      if (line === 'COMMIT') {
        committed = true;
        inFilter = false;
        return;
      }
      if (line.startsWith(':')) {
        const name = line.slice(1).split(' ')[0];
        const l = work.get(name);
        if (l) l.length = 0;
        else work.set(name, []);
        return;
      }
      const args = splitArgs(line);
      const [op, chain] = args;
      const spec = args.slice(op === '-I' && /^\d+$/.test(args[2] ?? '') ? 3 : 2);
      const rules = work.get(chain);
      if (!rules) throw new FakeNetfilterError(`${at}: chain ${chain} does not exist`);
      switch (op) {
        case '-A':
        case '-I': {
          this.checkTargets(work, spec, at);
          const text = normSpec(spec);
          if (op === '-A') rules.push(text);
          else rules.splice(Number(args[2]) - 1, 0, text);
          break;
        }
        case '-D': {
          const text = normSpec(spec);
          const idx = rules.indexOf(text);
          if (idx < 0) throw new FakeNetfilterError(`${at}: no such rule in ${chain}`);
          rules.splice(idx, 1);
          break;
        }
        case '-X': {
          if ((BUILTINS as readonly string[]).includes(chain)) throw new FakeNetfilterError(`${at}: cannot delete built-in chain`);
          if (rules.length > 0) throw new FakeNetfilterError(`${at}: CHAIN_DEL failed (Device or resource busy): chain ${chain}`);
          for (const [other, rs] of work) {
            if (rs.some((r) => targetOf(splitArgs(r)) === chain)) throw new FakeNetfilterError(`${at}: chain ${chain} is referenced by ${other}`);
          }
          work.delete(chain);
          break;
        }
        case '-F':
          rules.length = 0;
          break;
        default:
          throw new FakeNetfilterError(`${at}: unsupported command ${op}`);
      }
    });
    if (!committed) throw new FakeNetfilterError('no COMMIT');
    this.tables.set(fam, work);
  }

  private checkTargets(work: Map<string, string[]>, spec: readonly string[], at: string): void {
    const t = targetOf(spec);
    if (t !== undefined && !['ACCEPT', 'DROP', 'RETURN', 'MARK'].includes(t) && !work.has(t)) throw new FakeNetfilterError(`${at}: target ${t} does not exist`);
    for (let i = 0; i < spec.length; i++) {
      if (spec[i] === '--match-set' && !this.sets.has(spec[i + 1])) throw new FakeNetfilterError(`${at}: Set ${spec[i + 1]} doesn't exist`);
    }
  }

  save(fam: Family): string {
    const t = this.chains(fam);
    const lines = ['# Generated by fake-netfilter', '*filter'];
    for (const b of BUILTINS) lines.push(`:${b} ACCEPT [0:0]`);
    for (const name of [...t.keys()].filter((n) => !(BUILTINS as readonly string[]).includes(n)).sort()) lines.push(`:${name} - [0:0]`);
    for (const [name, rules] of t) for (const r of rules) lines.push(`-A ${name} ${r}`);
    lines.push('COMMIT', '# Completed', '');
    return lines.join('\n');
  }

  /** `ipset restore [-exist]`. */
  ipsetRestore(text: string, exist: boolean): void {
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      const at = `Error in line ${i + 1}`;
      const parts = line.trim().split(/\s+/);
      if (parts[0] === '') return;
      const [cmd, name] = parts;
      const set = this.sets.get(name);
      switch (cmd) {
        case 'create': {
          if (set) {
            if (!exist) throw new FakeNetfilterError(`${at}: Set cannot be created: set with the same name already exists`);
            return;
          }
          const famIdx = parts.indexOf('family');
          this.sets.set(name, { type: parts[2], family: famIdx > 0 && parts[famIdx + 1] === 'inet6' ? 6 : 4, members: new Map() });
          return;
        }
        case 'add': {
          if (!set) throw new FakeNetfilterError(`${at}: The set with the given name does not exist`);
          const key = memberKey(set, parts[2]);
          if (set.members.has(key) && !exist) throw new FakeNetfilterError(`${at}: Element cannot be added to the set: it's already added`);
          if (set.type === 'hash:net' && /\/0$/.test(key)) throw new FakeNetfilterError(`${at}: The value of the CIDR parameter of the IP address is invalid`);
          set.members.set(key, parts[3] === 'nomatch' ? 'nomatch' : '');
          return;
        }
        case 'del': {
          if (!set) throw new FakeNetfilterError(`${at}: The set with the given name does not exist`);
          const key = memberKey(set, parts[2]);
          if (!set.members.delete(key) && !exist) throw new FakeNetfilterError(`${at}: Element cannot be deleted from the set: it's not added`);
          return;
        }
        case 'destroy': {
          if (!set) {
            if (!exist) throw new FakeNetfilterError(`${at}: The set with the given name does not exist`);
            return;
          }
          for (const fam of [4, 6] as const) {
            for (const rules of this.chains(fam).values()) {
              if (rules.some((r) => r.includes(`--match-set ${name} `))) throw new FakeNetfilterError(`${at}: Set cannot be destroyed: it is in use by a kernel component`);
            }
          }
          this.sets.delete(name);
          return;
        }
        default:
          throw new FakeNetfilterError(`${at}: unsupported ipset command ${cmd}`);
      }
    });
  }

  ipsetSave(): string {
    const lines: string[] = [];
    for (const [name, s] of this.sets) {
      lines.push(`create ${name} ${s.type} family ${s.family === 4 ? 'inet' : 'inet6'} hashsize 1024 maxelem 1048576 bucketsize 12 initval 0x12345678`);
      for (const [m, flags] of s.members) lines.push(`add ${name} ${m}${flags ? ` ${flags}` : ''}`);
    }
    return lines.length ? `${lines.join('\n')}\n` : '';
  }

  /** A CommandRunner that serves the iptables, ipset and /proc commands from this state. */
  runner(): FakeCommandRunner {
    return new FakeCommandRunner({
      run: (call) => this.handle(call),
      spawn: () => undefined,
    });
  }

  private handle(call: FakeRunCall): CommandResult {
    const [cmd, ...args] = call.argv;
    const ok = (stdout = ''): CommandResult => ({ stdout, stderr: '', code: 0 });
    const fail = (stderr: string, code = 1): CommandResult => ({ stdout: '', stderr, code });
    const m = /^(ip6?)tables(?:-(nft|legacy))?(-save|-restore)?$/.exec(cmd);
    if (m) {
      const fam: Family = m[1] === 'ip6' ? 6 : 4;
      const backend = (m[2] ?? this.backend) as 'nft' | 'legacy';
      if (!m[3]) return args.includes('--version') ? ok(`${m[1]}tables v1.8.9 (${this.backend === 'nft' ? 'nf_tables' : 'legacy'})\n`) : fail('unsupported');
      if (this.failNext && this.failNext.tool.test(cmd)) {
        const stderr = this.failNext.stderr;
        this.failNext = undefined;
        return fail(stderr, 4);
      }
      if (backend !== this.backend) {
        // The other backend: empty, unless a mixed host is emulated.
        if (m[3] === '-save') return ok(this.otherBackendRules > 0 ? `*filter\n:INPUT ACCEPT [0:0]\n${'-A INPUT -j ACCEPT\n'.repeat(this.otherBackendRules)}COMMIT\n` : '');
        return fail('wrong backend in test');
      }
      if (m[3] === '-save') return ok(this.save(fam));
      this.restores.push({ tool: cmd, input: call.input ?? '' });
      try {
        this.restore(fam, call.input ?? '');
        return ok();
      } catch (err) {
        return fail(`${cmd}: ${(err as Error).message}`, 4);
      }
    }
    if (cmd === 'ipset') {
      if (args[0] === 'save') return ok(this.ipsetSave());
      if (args[0] === 'restore') {
        this.restores.push({ tool: 'ipset', input: call.input ?? '' });
        if (this.failNext && this.failNext.tool.test('ipset')) {
          const stderr = this.failNext.stderr;
          this.failNext = undefined;
          return fail(stderr);
        }
        try {
          this.ipsetRestore(call.input ?? '', args.includes('-exist'));
          return ok();
        } catch (err) {
          return fail(`ipset v7.17: ${(err as Error).message}`);
        }
      }
      return fail('unsupported ipset command');
    }
    if (cmd === 'cat' && /ip6?_tables_names$/.test(args[0] ?? '')) {
      const legacyInUse = this.backend === 'legacy' || this.otherBackendRules > 0;
      return legacyInUse ? ok('filter\n') : fail('No such file or directory');
    }
    return fail(`fake-netfilter: unknown command ${call.argv.join(' ')}`, 127);
  }
}

export function targetOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length - 1; i++) if (args[i] === '-j' || args[i] === '-g') return args[i + 1];
  return undefined;
}

function memberKey(set: FakeSet, raw: string): string {
  if (set.type === 'hash:ip') return canonicalIp(raw) ?? raw;
  if (set.type === 'hash:net') {
    if (!raw.includes('/')) return canonicalIp(raw) ?? raw;
    const c = canonicalCidr(raw) ?? raw;
    return c.endsWith('/32') && !c.includes(':') ? c.slice(0, -3) : c.endsWith('/128') ? c.slice(0, -4) : c;
  }
  const [net, iface] = raw.split(',');
  return `${canonicalIp(net) ?? net},${iface}`;
}
