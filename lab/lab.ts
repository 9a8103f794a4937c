/**
 * The netns runner: builds a containerlab topology out of network
 * namespaces and veth pairs on this machine, runs each node's processes in
 * its namespace, and takes all of it down again.
 *
 * Everything it creates is written into the lab's state directory first
 * (state.ts), so `down` works after any crash; `down` also sweeps every
 * namespace carrying the lab's prefix (names.ts). Differences from
 * containerlab are listed in docs/lab.md.
 */
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { TortieError } from '../lib/errors.js';
import { parseClab, type ClabNode, type ClabTopology } from './clab-file.js';
import { run, runIn, splitCommand, type RunOptions, type RunResult } from './command.js';
import {
  defaultAgentBuild, FRR_RUN_DIR, frrPathspace, startBird, startFrr, startTortie, type AgentBuild, type NodeContext,
} from './daemons.js';
import { belongsToLab, checkName, labPrefix, labStateDir, nodeNamespace, STATE_ROOT } from './names.js';
import { isAlive, signal, stopProcess } from './procs.js';
import { LabStateStore, type LabState, type ProcRecord } from './state.js';

export interface LabOptions {
  /** Overrides the topology's `name` (containerlab's `--name`), e.g. to run a second copy. */
  name?: string;
  stateRoot?: string;
  build?: AgentBuild;
  readyTimeoutMs?: number;
  /** Progress lines (the CLI prints them). */
  log?: (line: string) => void;
}

export interface DownReport {
  processes: { node: string; name: string; pid: number; result: string }[];
  namespaces: string[];
  stateDirRemoved: boolean;
}

/** Commands `up` needs, per node role. */
const ROLE_COMMANDS: Record<string, string[]> = {
  any: ['ip', 'sysctl'],
  frr: ['/usr/lib/frr/zebra', '/usr/lib/frr/bgpd', 'vtysh'],
  bird: ['bird', 'birdc'],
};

export class Lab {
  readonly topo: ClabTopology;
  readonly name: string;
  readonly store: LabStateStore;
  readonly build: AgentBuild;
  private readonly readyTimeoutMs: number;
  private readonly log: (line: string) => void;

  constructor(topo: ClabTopology, opts: LabOptions = {}) {
    this.topo = topo;
    this.name = opts.name ?? topo.name;
    checkName('lab name', this.name);
    this.store = new LabStateStore(labStateDir(this.name, opts.stateRoot ?? STATE_ROOT));
    this.build = opts.build ?? defaultAgentBuild();
    this.readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
    this.log = opts.log ?? (() => undefined);
  }

  /** Reads and parses a topology file (relative paths are taken from the current directory). */
  static load(file: string, opts: LabOptions = {}): Lab {
    const abs = isAbsolute(file) ? file : resolve(file);
    let text: string;
    try {
      text = readFileSync(abs, 'utf8');
    } catch (err) {
      throw new TortieError('ERR_LAB_TOPOLOGY_READ', `cannot read ${abs}: ${(err as Error).message}`, { cause: err });
    }
    return new Lab(parseClab(text, abs), opts);
  }

  ns(node: string): string {
    return nodeNamespace(this.name, this.node(node).name);
  }

  node(name: string): ClabNode {
    const n = this.topo.nodes.find((x) => x.name === name);
    if (!n) throw new TortieError('ERR_LAB_NODE_NOT_FOUND', `lab ${this.name} has no node ${name} (nodes: ${this.topo.nodes.map((x) => x.name).join(', ')})`);
    return n;
  }

  nodesOf(role: ClabNode['role']): ClabNode[] {
    return this.topo.nodes.filter((n) => n.role === role);
  }

  state(): LabState | undefined {
    return this.store.read();
  }

  isUp(): boolean {
    return this.store.exists();
  }

  // ------------------------------------------------------------ up

  /** Builds the lab. On failure everything built so far is removed before the error is rethrown. */
  async up(): Promise<void> {
    if (this.store.exists()) {
      throw new TortieError('ERR_LAB_ALREADY_UP', `lab ${this.name} is already up (state in ${this.store.dir}); run \`npm run lab -- down ${this.topo.file}\` first`);
    }
    await this.checkPrerequisites();
    const leftovers = await listLabNamespaces(this.name);
    if (leftovers.length) {
      throw new TortieError('ERR_LAB_LEFTOVERS', `namespaces of lab ${this.name} already exist (${leftovers.join(', ')}); run \`npm run lab -- down ${this.topo.file}\` first`);
    }
    this.store.write({ lab: this.name, file: this.topo.file, createdAt: new Date().toISOString(), namespaces: [], processes: [], pods: [], frrPathspaces: [] });
    try {
      const t0 = Date.now();
      for (const n of this.topo.nodes) await this.createNamespace(n);
      for (const l of this.topo.links) await this.createLink(l.a.node, l.a.iface, l.b.node, l.b.iface, l.mtu);
      for (const n of this.topo.nodes) await this.runExec(n);
      this.log(`${this.topo.nodes.length} namespaces, ${this.topo.links.length} links (${Date.now() - t0} ms)`);
      // Routers first, so the agents find their peers listening; each role in parallel.
      for (const role of ['frr', 'bird', 'tortie'] as const) {
        await Promise.all(this.nodesOf(role).map((n) => this.startDaemons(n)));
      }
      this.log(`daemons started (${Date.now() - t0} ms)`);
    } catch (err) {
      this.log(`up failed, removing what was built: ${(err as Error).message.split('\n')[0]}`);
      await this.down();
      throw err;
    }
  }

  private async checkPrerequisites(): Promise<void> {
    if (process.getuid?.() !== 0) throw new TortieError('ERR_LAB_PREREQ', 'the netns runner needs root (network namespaces, veths, daemons)');
    const need = new Set(ROLE_COMMANDS.any);
    for (const n of this.topo.nodes) for (const c of ROLE_COMMANDS[n.role] ?? []) need.add(c);
    const missing: string[] = [];
    for (const c of need) {
      const ok = c.startsWith('/') ? existsSync(c) : await run('sh', ['-c', `command -v ${c}`]).then(() => true, () => false);
      if (!ok) missing.push(c);
    }
    if (missing.length) throw new TortieError('ERR_LAB_PREREQ', `missing commands: ${missing.join(', ')} (run \`bash scripts/install-deps.sh\` as root)`);
  }

  private async createNamespace(n: ClabNode): Promise<void> {
    const ns = nodeNamespace(this.name, n.name);
    this.store.update((s) => s.namespaces.push(ns));
    await run('ip', ['netns', 'add', ns]);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    // No DAD, so IPv6 addresses are usable at once (a container's defaults differ; docs/lab.md).
    const sysctls: Record<string, string> = {
      'net.ipv6.conf.all.accept_dad': '0',
      'net.ipv6.conf.default.accept_dad': '0',
      'net.ipv6.conf.default.dad_transmits': '0',
      ...n.sysctls,
    };
    await runIn(ns, 'sysctl', ['-q', '-w', ...Object.entries(sysctls).map(([k, v]) => `${k}=${v}`)]);
  }

  private async createLink(a: string, aIf: string, b: string, bIf: string, mtu?: number): Promise<void> {
    const nsA = this.ns(a);
    const nsB = this.ns(b);
    // Both ends are created inside the lab's namespaces: nothing ever appears in the host's.
    await run('ip', ['-n', nsA, 'link', 'add', aIf, ...(mtu ? ['mtu', String(mtu)] : []), 'type', 'veth', 'peer', 'name', bIf, ...(mtu ? ['mtu', String(mtu)] : []), 'netns', nsB]);
    await run('ip', ['-n', nsA, 'link', 'set', aIf, 'up']);
    await run('ip', ['-n', nsB, 'link', 'set', bIf, 'up']);
  }

  private async runExec(n: ClabNode): Promise<void> {
    for (const line of n.exec) {
      const argv = splitCommand(line);
      if (argv.length === 0) continue;
      try {
        await runIn(this.ns(n.name), argv[0], argv.slice(1));
      } catch (err) {
        throw new TortieError('ERR_LAB_EXEC', `${n.name}: exec \`${line}\` failed: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  /** A bind's host path with containerlab's `__clabDir__` (the lab's state dir) and `__clabNodeDir__` resolved. */
  hostPathOf(node: string, hostPath: string): string {
    return hostPath
      .replace(/^__clabNodeDir__(?=\/|$)/, join(this.store.dir, node))
      .replace(/^__clabDir__(?=\/|$)/, this.store.dir);
  }

  private context(n: ClabNode): NodeContext {
    return {
      lab: this.name, node: n, hostPathOf: (p) => this.hostPathOf(n.name, p), ns: this.ns(n.name), dir: this.store.nodeDir(n.name), build: this.build, readyTimeoutMs: this.readyTimeoutMs,
      record: (p) => this.store.update((s) => {
        s.processes = s.processes.filter((x) => !(x.node === p.node && x.name === p.name));
        s.processes.push(p);
      }),
    };
  }

  private async startDaemons(n: ClabNode): Promise<void> {
    const ctx = this.context(n);
    switch (n.role) {
      case 'tortie':
        return startTortie(ctx);
      case 'frr':
        this.store.update((s) => s.frrPathspaces.push(frrPathspace(ctx.ns)));
        return startFrr(ctx);
      case 'bird':
        return startBird(ctx);
      case 'host':
        return;
    }
  }

  // ------------------------------------------------------------ down

  /** Removes everything of this lab. Idempotent; safe after a crash or a half-built lab. */
  down(): Promise<DownReport> {
    return teardown(this.name, this.store);
  }

  // ------------------------------------------------------------ running things in nodes

  /** Runs a command in a node's namespace and returns its output. */
  exec(node: string, argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    if (argv.length === 0) throw new TortieError('ERR_LAB_USAGE', 'no command given');
    return runIn(this.ns(node), argv[0], argv.slice(1), opts);
  }

  /** The processes recorded for a node. */
  processes(node: string): ProcRecord[] {
    return (this.state()?.processes ?? []).filter((p) => p.node === node);
  }

  /**
   * Stops a node: every process of the node gets SIGKILL (`graceful`:
   * SIGTERM first, so the agent sends its Cease), and once they are gone
   * (their kernel has closed their TCP sessions) the node's lab interfaces
   * go down. Pods stay, unreachable.
   */
  async stopNode(node: string, mode: 'graceful' | 'crash' = 'crash'): Promise<void> {
    const procs = this.processes(node);
    if (mode === 'graceful') await Promise.all(procs.map((p) => stopProcess(p, 5_000)));
    else for (const p of procs) signal(p, 'SIGKILL');
    for (const p of procs) for (let i = 0; i < 500 && isAlive(p); i++) await new Promise((r) => setTimeout(r, 10));
    // Let the FINs of the closed sessions cross the links before they go down.
    await new Promise((r) => setTimeout(r, 300));
    for (const l of this.topo.links) {
      for (const end of [l.a, l.b]) if (end.node === node) await run('ip', ['-n', this.ns(node), 'link', 'set', end.iface, 'down']);
    }
  }

  /** Brings a stopped node back: links up, its exec commands again (existing state tolerated), its daemons. */
  async startNode(node: string): Promise<void> {
    const n = this.node(node);
    for (const l of this.topo.links) {
      for (const end of [l.a, l.b]) if (end.node === node) await run('ip', ['-n', this.ns(node), 'link', 'set', end.iface, 'up']);
    }
    for (const line of n.exec) {
      const argv = splitCommand(line);
      if (argv.length) await runIn(this.ns(node), argv[0], argv.slice(1)).catch((err: unknown) => {
        if (!/File exists|already assigned/.test((err as Error).message)) throw err;
      });
    }
    await this.startDaemons(n);
  }

  /**
   * Restarts a tortie node's agent: `signal` (SIGTERM: a clean stop with
   * Cease; SIGKILL: a crash) to the recorded PID, then a fresh agent.
   */
  async restartAgent(node: string, sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const n = this.node(node);
    if (n.role !== 'tortie') throw new TortieError('ERR_LAB_USAGE', `${node} is not a tortie node`);
    const agent = this.processes(node).find((p) => p.name === 'tortie-agent');
    if (agent) {
      if (sig === 'SIGTERM') await stopProcess(agent, 10_000);
      else {
        signal(agent, sig);
        for (let i = 0; i < 500 && isAlive(agent); i++) await new Promise((r) => setTimeout(r, 10));
      }
    }
    await startTortie(this.context(n));
  }
}

// ---------------------------------------------------------------- teardown

/** Namespaces whose name carries the lab's prefix. */
export async function listLabNamespaces(lab: string): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync('/run/netns');
  } catch {
    const { stdout } = await run('ip', ['-json', 'netns', 'list']).catch(() => ({ stdout: '[]' }));
    names = (JSON.parse(stdout.trim() || '[]') as { name: string }[]).map((x) => x.name);
  }
  return names.filter((n) => belongsToLab(n, lab)).sort();
}

/** PIDs of the processes whose network namespace is `ns` (`ip netns pids`). */
async function pidsIn(ns: string): Promise<number[]> {
  const { stdout } = await run('ip', ['netns', 'pids', ns]).catch(() => ({ stdout: '' }));
  return stdout.split(/\s+/).filter(Boolean).map(Number).filter((n) => Number.isInteger(n) && n > 1 && n !== process.pid);
}

/**
 * Takes lab `lab` down: stops every recorded process (by PID, only while its
 * start time matches), then any process still inside one of the lab's
 * namespaces, deletes the namespaces (recorded ones and any with the lab's
 * prefix), FRR's pathspace directories, and the state directory.
 */
export async function teardown(lab: string, store: LabStateStore): Promise<DownReport> {
  const report: DownReport = { processes: [], namespaces: [], stateDirRemoved: false };
  const state = store.read();
  const procs = [...(state?.processes ?? [])];
  // Pidfiles too: a process started just before a crash may be missing from state.json.
  if (existsSync(store.dir)) {
    for (const node of readdirSync(store.dir, { withFileTypes: true })) {
      if (!node.isDirectory()) continue;
      for (const f of readdirSync(join(store.dir, node.name))) {
        if (!f.endsWith('.pid') || f === 'bird.pid' || /^(zebra|bgpd)\.pid$/.test(f)) continue;
        const [pid, startTime] = readFileSync(join(store.dir, node.name, f), 'utf8').trim().split(/\s+/).map(Number);
        if (Number.isInteger(pid) && Number.isInteger(startTime) && !procs.some((p) => p.pid === pid)) {
          procs.push({ node: node.name, name: f.replace(/(\.lab)?\.pid$/, ''), pid: pid, startTime: startTime, argv: [], log: '', pidFile: join(store.dir, node.name, f) });
        }
      }
    }
  }
  // Agents first (they leave kernel routes alone on stop), then routers; zebra after bgpd.
  const order = (p: ProcRecord): number => ({ 'tortie-agent': 0, bgpd: 1, bird: 1, zebra: 2 } as Record<string, number>)[p.name] ?? 1;
  for (const rank of [0, 1, 2]) {
    const results = await Promise.all(procs.filter((p) => order(p) === rank).map(async (p) => ({ p, result: await stopProcess(p, 5_000) })));
    for (const { p, result } of results) report.processes.push({ node: p.node, name: p.name, pid: p.pid, result });
  }
  const namespaces = new Set([...(state?.namespaces ?? []), ...(state?.pods ?? []).map((p) => p.netns), ...(await listLabNamespaces(lab))]);
  // Anything still running inside our namespaces (e.g. a shell from `lab exec`, a crashed up's children).
  for (const ns of namespaces) {
    if (!existsSync(`/run/netns/${ns}`)) continue;
    for (const pid of await pidsIn(ns)) {
      try {
        process.kill(pid, 'SIGKILL');
        report.processes.push({ node: ns, name: 'stray', pid, result: 'killed' });
      } catch {
        // already gone
      }
    }
  }
  for (const ns of [...namespaces].sort().reverse()) {
    if (!existsSync(`/run/netns/${ns}`)) continue;
    await run('ip', ['netns', 'del', ns]).then(() => report.namespaces.push(ns), () => undefined);
  }
  for (const ps of state?.frrPathspaces ?? []) {
    try {
      rmSync(join(FRR_RUN_DIR, ps), { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  if (existsSync(store.dir)) {
    rmSync(store.dir, { recursive: true, force: true });
    report.stateDirRemoved = true;
  }
  try {
    rmdirSync(dirname(store.dir));
  } catch {
    // other labs still there, or never created
  }
  return report;
}

export { labPrefix };
