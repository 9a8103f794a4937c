/**
 * What runs inside each node of a lab: tortie-agent for tortie nodes, zebra
 * and bgpd for FRR routers, bird for BIRD routers. Each start writes the
 * node's configuration (taken from the topology's binds) into the node's
 * state directory, starts the processes detached, records their PIDs and
 * waits until their control interface answers.
 *
 * FRR runs as in test/support/daemons.ts: as the `frr` user, with private
 * sockets (`--vty_socket`, `-z`) and a private pathspace (`-N`), but without
 * `-n`: a lab router installs what it learns into its namespace's kernel.
 */
import { createHash } from 'node:crypto';
import { chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { ControlClient } from '../agent/control-client.js';
import type { StatusView } from '../agent/api-types.js';
import { TortieError } from '../lib/errors.js';
import { bindFor, type ClabNode } from './clab-file.js';
import { run, waitFor } from './command.js';
import { isAlive, spawnDetached } from './procs.js';
import type { ProcRecord } from './state.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
export const NODE24 = join(REPO_ROOT, 'node_modules/.bin/node');
export const FRR_SBIN = '/usr/lib/frr';
export const FRR_RUN_DIR = '/var/run/frr';
const FRR_USER = 'frr';

/** Where each role's configuration sits inside the container (the bind's container path). */
export const CONFIG_PATHS = {
  tortie: ['/etc/tortie/tortie.yaml'],
  frr: ['/etc/frr/frr.conf'],
  bird: ['/etc/bird.conf', '/etc/bird/bird.conf'],
} as const;

/** How tortie-agent and tortiectl are run: the built bundles, or the TypeScript sources through tsx. */
export type AgentBuild = 'bundle' | 'source';

export function defaultAgentBuild(): AgentBuild {
  if (process.env.TORTIE_LAB_FROM_SOURCE === '1') return 'source';
  return existsSync(join(REPO_ROOT, 'dist/bin/tortie-agent')) ? 'bundle' : 'source';
}

/** PATH for lab processes: the pinned Node 24 first (the bundles' `#!/usr/bin/env node` finds it). */
export function labPath(): string {
  return [join(REPO_ROOT, 'node_modules/.bin'), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(':');
}

/** argv that runs one of our executables (tortie-agent, tortiectl) from a bundle or from source. */
export function toolArgv(tool: 'tortie-agent' | 'tortiectl', build: AgentBuild): string[] {
  if (build === 'bundle') return [join(REPO_ROOT, 'dist/bin', tool)];
  const entry = tool === 'tortie-agent' ? 'agent/main.ts' : 'agent/ctl-main.ts';
  const loader = new URL('node_modules/tsx/dist/loader.mjs', `file://${REPO_ROOT}/`).href;
  return [NODE24, '--import', loader, join(REPO_ROOT, entry)];
}

export interface NodeContext {
  lab: string;
  /** A bind's host path with containerlab's `__clabDir__` / `__clabNodeDir__` resolved. */
  hostPathOf: (hostPath: string) => string;
  node: ClabNode;
  ns: string;
  /** The node's directory in the lab state dir. */
  dir: string;
  build: AgentBuild;
  readyTimeoutMs: number;
  /** Called with every process as soon as it is started (before waiting for readiness). */
  record: (p: ProcRecord) => void;
}

function requireBind(ctx: NodeContext, paths: readonly string[]): string {
  const b = bindFor(ctx.node, ...paths);
  if (!b) throw new TortieError('ERR_LAB_CONFIG_MISSING', `node ${ctx.node.name} (${ctx.node.image}) has no bind for ${paths.join(' or ')}`);
  const host = ctx.hostPathOf(b.hostPath);
  if (!existsSync(host)) throw new TortieError('ERR_LAB_CONFIG_MISSING', `node ${ctx.node.name}: ${host} (bound to ${b.containerPath}) does not exist`);
  return host;
}

/**
 * Where a path inside the container lives on the host: under the bind that
 * covers it (the longest container path wins), else nowhere (undefined).
 */
export function hostPathFor(ctx: Pick<NodeContext, 'node' | 'hostPathOf'>, containerPath: string): string | undefined {
  const covering = ctx.node.binds
    .filter((b) => containerPath === b.containerPath || containerPath.startsWith(`${b.containerPath.replace(/\/+$/, '')}/`))
    .sort((x, y) => y.containerPath.length - x.containerPath.length)[0];
  return covering ? `${ctx.hostPathOf(covering.hostPath)}${containerPath.slice(covering.containerPath.replace(/\/+$/, '').length)}` : undefined;
}

// ---------------------------------------------------------------- tortie

export interface TortiePaths {
  config: string;
  socket: string;
  stateDir: string;
}

export function tortiePaths(dir: string): TortiePaths {
  return { config: join(dir, 'tortie.yaml'), socket: join(dir, 'tortie.sock'), stateDir: join(dir, 'state') };
}

/**
 * The node's tortie.yaml as the agent sees it in the netns runner, where all
 * nodes share one file system: the paths a container keeps private (state
 * directory, control socket) move into the node's lab directory, and a path
 * that a bind maps (`ipam.datastore.directory`, e.g. a datastore shared by
 * every node) becomes the bind's host path. Comments and the rest stay.
 */
export function rewriteAgentConfig(text: string, paths: TortiePaths, hostPath: (containerPath: string) => string | undefined = () => undefined): string {
  const doc = parseDocument(text);
  doc.setIn(['paths', 'stateDir'], paths.stateDir);
  doc.setIn(['paths', 'controlSocket'], paths.socket);
  const ds = doc.getIn(['ipam', 'datastore', 'directory']);
  if (typeof ds === 'string') {
    const mapped = hostPath(ds);
    if (mapped !== undefined) doc.setIn(['ipam', 'datastore', 'directory'], mapped);
  }
  return doc.toString();
}

export async function startTortie(ctx: NodeContext): Promise<void> {
  const src = requireBind(ctx, CONFIG_PATHS.tortie);
  const p = tortiePaths(ctx.dir);
  writeFileSync(p.config, rewriteAgentConfig(readFileSync(src, 'utf8'), p, (c) => hostPathFor(ctx, c)));
  // Docker creates a missing bind source directory; so do we for the lab's own (e.g. a shared IPAM datastore).
  for (const b of ctx.node.binds) {
    if (b.hostPath.startsWith('__clab')) mkdirSync(ctx.hostPathOf(b.hostPath), { recursive: true, mode: 0o755 });
  }
  rmSync(p.socket, { force: true });
  const proc = await spawnDetached({
    node: ctx.node.name,
    name: 'tortie-agent',
    ns: ctx.ns,
    argv: [...toolArgv('tortie-agent', ctx.build), '--config', p.config],
    log: join(ctx.dir, 'tortie-agent.log'),
    pidFile: join(ctx.dir, 'tortie-agent.pid'),
    env: { ...ctx.node.env, PATH: labPath(), NODE_NAME: ctx.node.name, HOME: ctx.dir },
  });
  ctx.record(proc);
  await waitReady(ctx, [proc], 'control socket', async () => {
    await new ControlClient(p.socket, 2_000).get<StatusView>('/v1/status');
    return true;
  });
}

// ---------------------------------------------------------------- FRR

/**
 * The pathspace (`-N`) of a lab router. FRR refuses dots in it, so it is a
 * digest of the namespace name: unique per lab and node, and recorded in the
 * lab state so `down` removes /var/run/frr/<pathspace>.
 */
export function frrPathspace(ns: string): string {
  return `tl-${createHash('sha256').update(ns).digest('hex').slice(0, 12)}`;
}

export function frrDir(dir: string): string {
  return join(dir, 'frr');
}

export async function startFrr(ctx: NodeContext): Promise<void> {
  const src = requireBind(ctx, CONFIG_PATHS.frr);
  const uid = await idOf('-u');
  const gid = await idOf('-g');
  const dir = frrDir(ctx.dir);
  mkdirSync(dir, { recursive: true });
  chownSync(dir, uid, gid);
  // `-N` puts the daemons' runtime files under /var/run/frr/<pathspace>; /run is a tmpfs,
  // so after a reboot without FRR's own service the parent may be missing.
  if (!existsSync(FRR_RUN_DIR)) {
    mkdirSync(FRR_RUN_DIR, { recursive: true, mode: 0o755 });
    chownSync(FRR_RUN_DIR, uid, gid);
  }
  const files = { zebra: join(dir, 'zebra.conf'), bgpd: join(dir, 'bgpd.conf') };
  writeFileSync(files.zebra, `hostname ${ctx.node.name}\nlog stdout informational\n`, { mode: 0o640 });
  copyFileSync(src, files.bgpd);
  for (const f of Object.values(files)) chownSync(f, uid, gid);
  const zserv = join(dir, 'zserv.api');
  const common = (daemon: string): string[] => [
    '-N', frrPathspace(ctx.ns), '-u', FRR_USER, '-g', FRR_USER, '--vty_socket', dir, '-z', zserv,
    '-i', join(dir, `${daemon}.pid`), '-f', join(dir, `${daemon}.conf`), '--log', 'stdout',
  ];
  const zebra = await spawnDetached({
    node: ctx.node.name, name: 'zebra', ns: ctx.ns, argv: [`${FRR_SBIN}/zebra`, ...common('zebra')],
    log: join(ctx.dir, 'zebra.log'), pidFile: join(ctx.dir, 'zebra.lab.pid'),
  });
  ctx.record(zebra);
  await waitReady(ctx, [zebra], 'zebra', () => Promise.resolve(existsSync(zserv) && existsSync(join(dir, 'zebra.vty')) ? true : undefined));
  const bgpd = await spawnDetached({
    node: ctx.node.name, name: 'bgpd', ns: ctx.ns, argv: [`${FRR_SBIN}/bgpd`, ...common('bgpd')],
    log: join(ctx.dir, 'bgpd.log'), pidFile: join(ctx.dir, 'bgpd.lab.pid'),
  });
  ctx.record(bgpd);
  await waitReady(ctx, [zebra, bgpd], 'bgpd', async () => {
    if (!existsSync(join(dir, 'bgpd.vty'))) return undefined;
    const { stdout } = await run('vtysh', ['--vty_socket', dir, '-c', 'show bgp summary json'], { timeoutMs: 5_000 });
    return stdout.trim().startsWith('{') ? true : undefined;
  });
}

async function idOf(flag: '-u' | '-g'): Promise<number> {
  const { stdout } = await run('id', [flag, FRR_USER]).catch(() => ({ stdout: '' }));
  const n = Number(stdout.trim());
  if (stdout.trim() === '' || !Number.isInteger(n)) throw new TortieError('ERR_LAB_PREREQ', `no ${FRR_USER} user (is the frr package installed?)`);
  return n;
}

// ---------------------------------------------------------------- BIRD

export function birdSocket(dir: string): string {
  return join(dir, 'bird.ctl');
}

export async function startBird(ctx: NodeContext): Promise<void> {
  const src = requireBind(ctx, CONFIG_PATHS.bird);
  const conf = join(ctx.dir, 'bird.conf');
  const text = readFileSync(src, 'utf8');
  // Without a log statement a foreground BIRD logs to syslog; keep its words in the lab log.
  writeFileSync(conf, /^\s*log\s/m.test(text) ? text : `log stderr all;\n${text}`);
  const sock = birdSocket(ctx.dir);
  const bird = await spawnDetached({
    node: ctx.node.name, name: 'bird', ns: ctx.ns,
    argv: ['bird', '-f', '-c', conf, '-s', sock, '-P', join(ctx.dir, 'bird.pid')],
    log: join(ctx.dir, 'bird.log'), pidFile: join(ctx.dir, 'bird.lab.pid'),
  });
  ctx.record(bird);
  await waitReady(ctx, [bird], 'bird', async () => {
    const { stdout } = await run('birdc', ['-s', sock, 'show', 'status'], { timeoutMs: 5_000 });
    return /Daemon is up and running/.test(stdout) ? true : undefined;
  });
}

// ---------------------------------------------------------------- readiness

async function waitReady(ctx: NodeContext, procs: ProcRecord[], what: string, probe: () => Promise<true | undefined>): Promise<void> {
  try {
    await waitFor(`${ctx.node.name}: ${what}`, probe, ctx.readyTimeoutMs, 100, () => {
      const dead = procs.find((p) => !isAlive(p));
      return dead ? `${dead.name} (pid ${dead.pid}) exited` : undefined;
    });
  } catch (err) {
    const logs = procs.map((p) => `--- ${p.log}\n${tail(p.log, 25)}`).join('\n');
    throw new TortieError('ERR_LAB_DAEMON_START', `${ctx.node.name}: ${what} did not become ready: ${(err as Error).message}\n${logs}`, { cause: err });
  }
}

export function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '(no log)';
  }
}
