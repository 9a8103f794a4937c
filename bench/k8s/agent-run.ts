/**
 * One tortie-agent (the bundle, dist/bin/tortie-agent, with the flags of
 * its shebang) in the bench's network namespace, and what bench:k8s reads
 * from it: the control socket's sessions and status, /proc/PID/status
 * memory lines, its log, and (through a preload) process.memoryUsage() and
 * V8 heap space statistics after a full GC.
 *
 * The preload polls for a trigger file every 200 ms; when it appears it
 * records memoryUsage(), runs gc() (the agent gets --expose-gc), records
 * memoryUsage() and the heap spaces again and writes them as JSON. Nothing
 * else changes in the agent; RSS figures are read before any forced GC.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { SessionView, StatusView } from '../../agent/api-types.js';
import { ControlClient } from '../../agent/control-client.js';
import { TortieError } from '../../lib/errors.js';
import { AGENT_BIN } from '../../ipam/testing/harness.js';
import { sleep, waitFor, type Netns, type TrackedProcess } from '../../test/support/netns.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The bundle's shebang: `#!/usr/bin/env -S node --max-semi-space-size=8`. */
export const AGENT_NODE_FLAGS = ['--max-semi-space-size=8'];

/**
 * How deploy/daemonset.yaml runs the agent in a cluster: the Node.js flags
 * before the bundle in the agent container's command, and its environment
 * variables with literal values. Read from the manifest so the bench cannot
 * drift from what ships.
 */
export function daemonSetAgentRuntime(file = join(ROOT, 'deploy', 'daemonset.yaml')): { nodeArgs: string[]; env: Record<string, string> } {
  const ds = parseYaml(readFileSync(file, 'utf8')) as {
    spec?: { template?: { spec?: { containers?: { name?: string; command?: string[]; env?: { name: string; value?: string }[] }[] } } };
  };
  const agent = ds.spec?.template?.spec?.containers?.find((c) => c.name === 'agent');
  if (!agent?.command) throw new TortieError('ERR_BENCH_SETUP', `${file}: no agent container with a command`);
  const bundle = agent.command.findIndex((a) => a.endsWith('/tortie-agent'));
  const nodeArgs = bundle > 0 && agent.command[0] === 'node' ? agent.command.slice(1, bundle) : [];
  const env = Object.fromEntries((agent.env ?? []).filter((e) => typeof e.value === 'string').map((e) => [e.name, e.value as string]));
  return { nodeArgs, env };
}

const PRELOAD = `
const fs = require('node:fs');
const v8 = require('node:v8');
const trigger = process.env.TORTIE_BENCH_MEM_TRIGGER;
const out = process.env.TORTIE_BENCH_MEM_OUT;
if (trigger && out) {
  const t = setInterval(() => {
    if (!fs.existsSync(trigger)) return;
    fs.rmSync(trigger, { force: true });
    const before = process.memoryUsage();
    if (typeof globalThis.gc === 'function') { globalThis.gc(); globalThis.gc(); }
    const after = process.memoryUsage();
    const spaces = v8.getHeapSpaceStatistics().map((s) => ({ name: s.space_name, size: s.space_size, used: s.space_used_size }));
    const heap = v8.getHeapStatistics();
    fs.writeFileSync(out + '.tmp', JSON.stringify({ before, after, spaces, heap }));
    fs.renameSync(out + '.tmp', out);
  }, 200);
  t.unref();
}
`;

export interface ProcMemory {
  vmRssKiB: number;
  vmHwmKiB: number;
  rssAnonKiB: number;
  rssFileKiB: number;
  threads: number;
}

/** VmRSS, VmHWM, RssAnon, RssFile from /proc/PID/status. */
export function procMemory(pid: number): ProcMemory {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text);
    if (!m) throw new TortieError('ERR_BENCH', `/proc/${pid}/status has no ${key}`);
    return Number(m[1]);
  };
  return { vmRssKiB: kib('VmRSS'), vmHwmKiB: kib('VmHWM'), rssAnonKiB: kib('RssAnon'), rssFileKiB: kib('RssFile'), threads: kib('Threads') };
}

/**
 * Where the anonymous resident memory is, from /proc/PID/smaps: glibc's
 * main heap (`[heap]`, brk), glibc's per-thread arenas (a 64 MiB-aligned
 * read-write mapping followed by the reserved, inaccessible rest of its
 * 64 MiB), thread stacks, and every other anonymous mapping (V8's heap
 * pages, its code range, Node's own mmaps).
 */
export interface AnonBreakdown {
  brkHeapKiB: number;
  arenaKiB: number;
  arenas: number;
  stackKiB: number;
  otherKiB: number;
  /** The largest other anonymous mappings by Rss, "size/rss KiB". */
  largestOther: string[];
}

interface Vma {
  start: bigint;
  end: bigint;
  perms: string;
  name: string;
  rssKiB: number;
  anon: boolean;
}

const ARENA_BYTES = 64n * 1024n * 1024n;

export function anonBreakdown(pid: number): AnonBreakdown {
  const vmas: Vma[] = [];
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head) {
      vmas.push({ start: BigInt(`0x${head[1]}`), end: BigInt(`0x${head[2]}`), perms: head[3], name: head[5], rssKiB: 0, anon: head[4] === '0' });
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    const last = vmas.at(-1);
    if (rss && last) last.rssKiB = Number(rss[1]);
  }
  const out: AnonBreakdown = { brkHeapKiB: 0, arenaKiB: 0, arenas: 0, stackKiB: 0, otherKiB: 0, largestOther: [] };
  const others: Vma[] = [];
  vmas.forEach((v, i) => {
    if (v.name === '[heap]') out.brkHeapKiB += v.rssKiB;
    else if (v.name.startsWith('[stack')) out.stackKiB += v.rssKiB;
    else if (v.anon && v.name === '' && v.rssKiB > 0) {
      const next = vmas[i + 1];
      const arena = v.start % ARENA_BYTES === 0n && next !== undefined && next.start === v.end && next.perms.startsWith('---') && next.end - v.start === ARENA_BYTES;
      if (arena) {
        out.arenaKiB += v.rssKiB;
        out.arenas++;
      } else {
        out.otherKiB += v.rssKiB;
        others.push(v);
      }
    }
  });
  out.largestOther = others.sort((a, b) => b.rssKiB - a.rssKiB).slice(0, 6).map((v) => `${Number((v.end - v.start) / 1024n)}/${v.rssKiB}`);
  return out;
}

export interface MemStats {
  before: NodeJS.MemoryUsage;
  after: NodeJS.MemoryUsage;
  spaces: { name: string; size: number; used: number }[];
  heap: { total_heap_size: number; used_heap_size: number; malloced_memory: number; external_memory: number };
  /** Read right after the GC. */
  anon?: AnonBreakdown;
}

export interface AgentOptions {
  name: string;
  ns: Netns;
  dir: string;
  /** kubernetes.enabled with this kubeconfig; undefined: standalone. */
  kubeconfig?: string;
  policy: boolean;
  /** Another agent bundle to run (default dist/bin/tortie-agent). */
  bundle?: string;
  /** Extra Node.js flags (after the bundle's own) and environment, for experiments. */
  nodeArgs?: readonly string[];
  env?: Readonly<Record<string, string>>;
}

export function agentConfigYaml(o: AgentOptions): string {
  const kube = o.kubeconfig !== undefined ? `kubernetes:\n  enabled: true\n  kubeconfig: ${o.kubeconfig}\n` : 'kubernetes: { enabled: false }\n';
  const policy = o.policy ? 'policy:\n  enabled: true\n  resyncIntervalSec: 0\n' : '';
  return `node:
  name: ${o.name}
  asn: 65001
  routerId: 192.0.2.1
bgp:
  listen: { address: 127.0.0.1, port: 0 }
  nodeToNodeMesh: { enabled: true }
${kube}${policy}paths:
  stateDir: ${o.dir}/state
  controlSocket: ${o.dir}/ctl.sock
metrics: { port: 0 }
health: { port: 0 }
logLevel: info
`;
}

export class BenchAgent {
  readonly client: ControlClient;
  readonly logFile: string;
  private readonly trigger: string;
  private readonly memOut: string;

  private constructor(readonly proc: TrackedProcess, readonly dir: string, logFile: string) {
    this.client = new ControlClient(join(dir, 'ctl.sock'), 30_000);
    this.logFile = logFile;
    this.trigger = join(dir, 'mem.trigger');
    this.memOut = join(dir, 'mem.json');
  }

  /** Starts the agent and waits until its control socket answers (and, with Kubernetes, its API source is synced). */
  static async start(o: AgentOptions): Promise<BenchAgent> {
    mkdirSync(o.dir, { recursive: true });
    const config = join(o.dir, 'tortie.yaml');
    writeFileSync(config, agentConfigYaml(o));
    const preload = join(o.dir, 'mem-preload.cjs');
    writeFileSync(preload, PRELOAD);
    const logFile = join(o.dir, 'agent.log');
    const proc = o.ns.spawn(process.execPath, [...AGENT_NODE_FLAGS, ...(o.nodeArgs ?? []), '--expose-gc', '--require', preload, o.bundle ?? AGENT_BIN, '--config', config], {
      logFile,
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        TORTIE_LOG_LEVEL: 'info',
        TORTIE_BENCH_MEM_TRIGGER: join(o.dir, 'mem.trigger'),
        TORTIE_BENCH_MEM_OUT: join(o.dir, 'mem.json'),
        ...o.env,
      },
      stopTimeoutMs: 5000,
    });
    const agent = new BenchAgent(proc, o.dir, logFile);
    await waitFor(`agent ${o.name} to answer${o.kubeconfig !== undefined ? ' with its Kubernetes source synced' : ''}`, async () => {
      const s = await agent.status();
      if (o.kubeconfig === undefined) return s;
      return s.kubernetes?.state === 'synced' ? s : undefined;
    }, {
      timeoutMs: 60_000, intervalMs: 100,
      failFast: () => (proc.running ? undefined : `the agent exited (${JSON.stringify(proc.exit)}):\n${proc.logTail(30)}`),
      describe: () => proc.logTail(20),
    });
    return agent;
  }

  status(): Promise<StatusView> {
    return this.client.get<StatusView>('/v1/status');
  }

  async sessions(): Promise<SessionView[]> {
    return (await this.client.get<{ sessions: SessionView[] }>('/v1/bgp/sessions')).sessions;
  }

  memory(): ProcMemory {
    return procMemory(this.proc.pid);
  }

  /** memoryUsage() before and after a full GC, and the heap spaces after it. */
  async memStats(): Promise<MemStats> {
    rmSync(this.memOut, { force: true });
    writeFileSync(this.trigger, '');
    for (let i = 0; i < 100; i++) {
      if (existsSync(this.memOut)) return { ...(JSON.parse(readFileSync(this.memOut, 'utf8')) as MemStats), anon: anonBreakdown(this.proc.pid) };
      await sleep(100);
    }
    throw new TortieError('ERR_BENCH', 'the agent\'s memory preload did not answer within 10 s');
  }

  /** The agent's log records (bunyan JSON lines) whose message starts with `prefix`, with their time in ms since the epoch. */
  logTimes(prefix: string): { at: number; msg: string }[] {
    let text: string;
    try {
      text = readFileSync(this.logFile, 'utf8');
    } catch {
      return [];
    }
    const out: { at: number; msg: string }[] = [];
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const r = JSON.parse(line) as { msg?: string; time?: string };
        if (r.msg?.startsWith(prefix) && r.time !== undefined) out.push({ at: Date.parse(r.time), msg: r.msg });
      } catch {
        // not a log record
      }
    }
    return out;
  }

  async stop(): Promise<void> {
    await this.proc.stop();
  }
}
