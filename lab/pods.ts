/**
 * Pods on lab nodes, made the way a container runtime makes them: a fresh
 * network namespace, then the tortie CNI plugin (dist/bin/tortie, which
 * delegates addresses to dist/bin/tortie-ipam) run in the node's namespace
 * with the CNI_* environment and the network configuration on stdin
 * (CNI spec 1.0, "Execution Protocol"). Nothing here wires a pod by hand.
 *
 * Every pod is written into the lab state before its namespace is created;
 * `down` deletes pod namespaces with the rest.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TortieError } from '../lib/errors.js';
import { run, runIn } from './command.js';
import { labPath, REPO_ROOT, tortiePaths } from './daemons.js';
import type { Lab } from './lab.js';
import { checkName, podNamespace } from './names.js';
import type { PodRecord } from './state.js';

export const CNI_BIN_DIR = join(REPO_ROOT, 'dist/bin');
export const CNI_VERSION = '1.0.0';
export const POD_IFNAME = 'eth0';

/** A CNI error result (spec: "Error"). */
export class CniError extends TortieError {
  constructor(readonly command: string, readonly cniCode: number | undefined, message: string, readonly details?: string) {
    super('ERR_LAB_CNI', `CNI ${command} failed${cniCode !== undefined ? ` (code ${cniCode})` : ''}: ${message}${details ? ` (${details})` : ''}`);
    this.name = 'CniError';
  }
}

export interface CniResult {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
}

/** The network configuration list a lab node's runtime would have in /etc/cni/net.d. */
export function nodeConflist(lab: Lab, node: string): { cniVersion: string; name: string; plugins: Record<string, unknown>[] } {
  const socket = tortiePaths(join(lab.store.dir, node)).socket;
  return {
    cniVersion: CNI_VERSION,
    name: 'tortie',
    plugins: [{ type: 'tortie', socket, ipam: { type: 'tortie-ipam', socket } }],
  };
}

/** Writes the node's conflist into its lab directory (for people exploring the lab) and returns the path. */
export function writeConflist(lab: Lab, node: string): string {
  const dir = join(lab.store.dir, node, 'cni');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, '10-tortie.conflist');
  writeFileSync(file, `${JSON.stringify(nodeConflist(lab, node), null, 2)}\n`);
  return file;
}

export interface CniInvocation {
  command: 'ADD' | 'DEL' | 'CHECK' | 'VERSION';
  /** The node's namespace: the "host" side of the plugin. */
  hostNs: string;
  containerId: string;
  netnsPath: string;
  ifname: string;
  podName: string;
  podNamespace: string;
  config: Record<string, unknown>;
}

/** Runs the tortie plugin once, exactly as a runtime would; resolves with its parsed stdout. */
export function invokeCni(inv: CniInvocation, timeoutMs = 30_000): Promise<unknown> {
  const plugin = join(CNI_BIN_DIR, 'tortie');
  if (!existsSync(plugin) || !existsSync(join(CNI_BIN_DIR, 'tortie-ipam'))) {
    return Promise.reject(new TortieError('ERR_LAB_PREREQ', `${plugin} and tortie-ipam are not built; run \`npm run build\``));
  }
  // A runtime gives a plugin a small environment: the CNI_* variables and PATH.
  const env: Record<string, string> = {
    CNI_COMMAND: inv.command,
    CNI_CONTAINERID: inv.containerId,
    CNI_NETNS: inv.netnsPath,
    CNI_IFNAME: inv.ifname,
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${inv.podNamespace};K8S_POD_NAME=${inv.podName};K8S_POD_INFRA_CONTAINER_ID=${inv.containerId}`,
    CNI_PATH: CNI_BIN_DIR,
    PATH: labPath(),
  };
  const argv = ['netns', 'exec', inv.hostNs, 'env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), plugin];
  return new Promise((resolve, reject) => {
    const child = spawn('ip', argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new CniError(inv.command, undefined, e.message));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      let parsed: unknown;
      try {
        parsed = out.trim() ? JSON.parse(out) : {};
      } catch {
        return reject(new CniError(inv.command, undefined, `exit ${code}, stdout is not JSON: ${out.slice(0, 500)}`, err.trim().slice(0, 500) || undefined));
      }
      if (code !== 0) {
        const e = parsed as { code?: number; msg?: string; details?: string };
        return reject(new CniError(inv.command, e.code, e.msg ?? `exit ${code}`, e.details ?? (err.trim().slice(0, 500) || undefined)));
      }
      resolve(parsed);
    });
    child.stdin.end(JSON.stringify(inv.config));
  });
}

/** The single plugin's configuration as a runtime passes it: the plugin object plus the list's name and version. */
function pluginConfig(lab: Lab, node: string): Record<string, unknown> {
  const list = nodeConflist(lab, node);
  return { cniVersion: list.cniVersion, name: list.name, ...list.plugins[0] };
}

function containerIdFor(lab: Lab, node: string, pod: string): string {
  // A runtime uses a random 64-hex ID; ours is stable per pod so DEL finds the allocation again.
  return Buffer.from(`${lab.name}/${node}/${pod}`).toString('hex').padEnd(64, '0').slice(0, 64);
}

/**
 * Creates pod `pod` on tortie node `node`: a network namespace and a CNI ADD.
 * On failure the pod is deleted again (CNI DEL, namespace) and the error rethrown.
 */
export async function addPod(lab: Lab, node: string, pod: string): Promise<PodRecord> {
  checkName('pod name', pod);
  if (lab.node(node).role !== 'tortie') throw new TortieError('ERR_LAB_USAGE', `${node} is not a tortie node; pods live on tortie nodes`);
  if (!lab.isUp()) throw new TortieError('ERR_LAB_NOT_UP', `lab ${lab.name} is not up`);
  const netns = podNamespace(lab.name, node, pod);
  if (lab.state()?.pods.some((p) => p.netns === netns)) throw new TortieError('ERR_LAB_POD_EXISTS', `pod ${pod} already exists on ${node}`);
  const rec: PodRecord = { node, name: pod, netns, containerId: containerIdFor(lab, node, pod), ifname: POD_IFNAME, addresses: [] };
  lab.store.update((s) => s.pods.push(rec));
  writeConflist(lab, node);
  try {
    await run('ip', ['netns', 'add', netns]);
    // The runtime's job (the loopback plugin), not tortie's.
    await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    const result = (await invokeCni(invocation(lab, rec, 'ADD'))) as CniResult;
    rec.addresses = (result.ips ?? []).map((ip) => ip.address);
    if (rec.addresses.length === 0) throw new CniError('ADD', undefined, `result has no IPs: ${JSON.stringify(result)}`);
    lab.store.update((s) => {
      const p = s.pods.find((x) => x.netns === netns);
      if (p) p.addresses = rec.addresses;
    });
    return rec;
  } catch (err) {
    await deletePod(lab, node, pod).catch(() => undefined);
    throw err;
  }
}

function invocation(lab: Lab, rec: PodRecord, command: CniInvocation['command']): CniInvocation {
  return {
    command, hostNs: lab.ns(rec.node), containerId: rec.containerId, netnsPath: `/run/netns/${rec.netns}`, ifname: rec.ifname,
    podName: rec.name, podNamespace: 'default', config: pluginConfig(lab, rec.node),
  };
}

/** CNI DEL (a missing namespace is passed as the spec allows), then the namespace goes. Idempotent. */
export async function deletePod(lab: Lab, node: string, pod: string): Promise<void> {
  const netns = podNamespace(lab.name, node, pod);
  const rec = lab.state()?.pods.find((p) => p.netns === netns) ?? { node, name: pod, netns, containerId: containerIdFor(lab, node, pod), ifname: POD_IFNAME, addresses: [] };
  let delError: Error | undefined;
  try {
    const inv = invocation(lab, rec, 'DEL');
    if (!existsSync(inv.netnsPath)) inv.netnsPath = '';
    await invokeCni(inv);
  } catch (err) {
    delError = err instanceof Error ? err : new Error(String(err));
  }
  if (existsSync(`/run/netns/${netns}`)) await run('ip', ['netns', 'del', netns]);
  if (lab.isUp()) lab.store.update((s) => (s.pods = s.pods.filter((p) => p.netns !== netns)));
  if (delError) throw delError;
}

/** The pod's first address of a family, without the prefix length. */
export function podAddress(p: PodRecord, family: 4 | 6 = 4): string {
  const a = p.addresses.find((x) => x.includes(':') === (family === 6));
  if (!a) throw new TortieError('ERR_LAB_POD_NO_ADDRESS', `pod ${p.name} on ${p.node} has no IPv${family} address (${p.addresses.join(', ') || 'none'})`);
  return a.replace(/\/\d+$/, '');
}

/** Runs a command inside a pod's namespace. */
export function podExec(p: PodRecord, argv: readonly string[], timeoutMs = 20_000): Promise<{ stdout: string; stderr: string }> {
  return runIn(p.netns, argv[0], argv.slice(1), { timeoutMs });
}
