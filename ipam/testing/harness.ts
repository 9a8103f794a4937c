/**
 * Real agents and real tortie-ipam processes for the IPAM integration tests
 * and bench:ipam. Each agent runs in its own network namespace (so its
 * blackhole routes stay there) with a unique temp directory and control
 * socket; the plugin runs as the built bundle (dist/bin/tortie-ipam) with a
 * bare environment, as a container runtime would start it.
 *
 * Test support: not part of the agent.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ControlClient } from '../../agent/control-client.js';
import { waitFor, type Netns, type Topology, type TrackedProcess } from '../../test/support/netns.js';
import type { IpamStatusView } from '../api-types.js';
import { addressTextAt, decodeBlock } from '../core/block.js';
import { cidrOf } from '../core/ip.js';
import { openLocalDatastore } from '../datastore/store-local.js';

const execFileP = promisify(execFile);

export const REPO = resolve(import.meta.dirname, '../..');
export const IPAM_BIN = join(REPO, 'dist/bin/tortie-ipam');
export const AGENT_BIN = join(REPO, 'dist/bin/tortie-agent');
export const CTL_BIN = join(REPO, 'dist/bin/tortiectl');

let built: Promise<void> | undefined;

/** Builds dist/bin once per process (scripts/build.mjs), as the bundle test does. */
export function ensureBuilt(): Promise<void> {
  built ??= execFileP(process.execPath, [join(REPO, 'scripts/build.mjs')], { cwd: REPO }).then(() => undefined);
  return built;
}

export interface AgentSpec {
  name: string;
  /** IPv4 router ID (and BGP address when `bgp` is given). */
  routerId: string;
  /** The `ipam:` section body, as YAML (indented by the caller's two spaces). */
  ipamYaml: string;
  /** A `bgp:` section; default: no listener, no peers, no mesh. */
  bgpYaml?: string;
  /** Extra `node:` lines. */
  nodeYaml?: string;
  /** Extra Node.js options for the agent process (e.g. `--cpu-prof`), placed before the bundle. */
  nodeArgs?: readonly string[];
}

export class AgentHandle {
  proc: TrackedProcess | undefined;
  readonly socket: string;
  readonly client: ControlClient;
  readonly configFile: string;
  private starts = 0;

  constructor(readonly ns: Netns, readonly dir: string, readonly spec: AgentSpec) {
    mkdirSync(dir, { recursive: true });
    this.socket = join(dir, 'ctl.sock');
    this.client = new ControlClient(this.socket, 30_000);
    this.configFile = join(dir, 'tortie.yaml');
    writeFileSync(this.configFile, agentYaml(spec, dir));
  }

  /** Starts the agent (bundle) and waits until its IPAM answers. */
  async start(): Promise<void> {
    this.proc = this.ns.spawn(process.execPath, ['--max-semi-space-size=8', ...(this.spec.nodeArgs ?? []), AGENT_BIN, '--config', this.configFile], {
      logFile: join(this.dir, `agent-${this.starts++}.log`),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TORTIE_LOG_LEVEL: 'info' },
      stopTimeoutMs: 5000,
    });
    const proc = this.proc;
    await waitFor(`agent ${this.spec.name} to serve IPAM`, async () => (await this.client.get<IpamStatusView>('/v1/ipam/status')) ?? undefined, {
      timeoutMs: 60_000, intervalMs: 100,
      failFast: () => (proc.running ? undefined : `the agent exited (${JSON.stringify(proc.exit)}):\n${proc.logTail(20)}`),
    });
  }

  kill(): void {
    this.proc?.signal('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
  }
}

export function agentYaml(s: AgentSpec, dir: string): string {
  return `node:
  name: ${s.name}
  asn: 65001
  routerId: ${s.routerId}
${s.nodeYaml ?? ''}
bgp:
${s.bgpYaml ?? '  listen: { enabled: false }\n  nodeToNodeMesh: { enabled: false }'}
ipam:
${s.ipamYaml}
paths:
  stateDir: ${dir}/state
  controlSocket: ${dir}/ctl.sock
metrics: { port: 0 }
health: { port: 0 }
logLevel: info
`;
}

/** An agent in `ns` (default: a new namespace of its own), started. */
export async function startAgent(topo: Topology, spec: AgentSpec, ns?: Netns): Promise<AgentHandle> {
  const a = new AgentHandle(ns ?? (await topo.addNamespace(spec.name)), join(topo.tmpDir, spec.name), spec);
  await a.start();
  return a;
}

// ---------------------------------------------------------------- the plugin as a process

export interface PluginRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface PluginCall {
  command: 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';
  containerId?: string;
  ifname?: string;
  netns?: string;
  cniArgs?: string;
  /** The network config (stdin). */
  conf: Record<string, unknown>;
  /** SIGKILL the process this many ms after it started. */
  killAfterMs?: number;
}

/** The network config for tortie-ipam with the agent's socket. */
export function netConf(socket: string, extra: Record<string, unknown> = {}, ipamExtra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cniVersion: '1.1.0', name: 'podnet', type: 'tortie', ipam: { type: 'tortie-ipam', socket, ...ipamExtra }, ...extra };
}

/** Runs dist/bin/tortie-ipam with a bare environment: PATH (for node) and the CNI variables only. */
export function runPlugin(c: PluginCall): Promise<PluginRun> {
  const env: Record<string, string> = {
    PATH: `${resolve(process.execPath, '..')}:/usr/bin:/bin`,
    CNI_COMMAND: c.command,
    CNI_PATH: '/opt/cni/bin',
  };
  if (c.containerId !== undefined) env.CNI_CONTAINERID = c.containerId;
  if (c.ifname !== undefined || c.containerId !== undefined) env.CNI_IFNAME = c.ifname ?? 'eth0';
  if (c.netns !== undefined || c.command === 'ADD' || c.command === 'CHECK') env.CNI_NETNS = c.netns ?? `/var/run/netns/${c.containerId ?? 'x'}`;
  if (c.cniArgs !== undefined) env.CNI_ARGS = c.cniArgs;
  const t0 = performance.now();
  return new Promise((res) => {
    const child: ChildProcess = spawn(process.execPath, [IPAM_BIN], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr?.on('data', (b: Buffer) => { stderr += b.toString(); });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(JSON.stringify(c.conf));
    let timer: NodeJS.Timeout | undefined;
    if (c.killAfterMs !== undefined) timer = setTimeout(() => child.kill('SIGKILL'), c.killAfterMs);
    // 'close', not 'exit': only then has all of stdout been read.
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      res({ code, signal, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** The addresses of an ADD result. */
export function resultAddresses(r: PluginRun): string[] {
  const v = JSON.parse(r.stdout) as { ips?: { address: string }[] };
  return (v.ips ?? []).map((x) => x.address);
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

// ---------------------------------------------------------------- reading the store directly

export interface StoredAllocation {
  address: string;
  handle: string;
  node: string;
  block: string;
  blockNode: string | null;
}

/** Every allocation in a local datastore directory, read without any agent; throws on a corrupt block. */
export async function readAllocations(storeDir: string): Promise<{ allocations: StoredAllocation[]; blocks: { cidr: string; node: string | null }[] }> {
  const store = await openLocalDatastore(storeDir);
  const allocations: StoredAllocation[] = [];
  const blocks: { cidr: string; node: string | null }[] = [];
  for (const e of await store.list('blocks/')) {
    const b = decodeBlock(e.value, e.key);
    blocks.push({ cidr: b.cidr, node: b.affinity });
    for (const a of b.allocations) {
      allocations.push({ address: addressTextAt(cidrOf(b.cidr), a.ordinal), handle: a.handle, node: a.attrs.node, block: b.cidr, blockNode: b.affinity });
    }
  }
  return { allocations, blocks };
}

/** Addresses that appear more than once. */
export function duplicates(addresses: readonly string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const a of addresses) {
    if (seen.has(a)) dup.add(a);
    seen.add(a);
  }
  return [...dup];
}
