/**
 * Shared pieces of the tortie CNI integration tests (test/integration/cni-*.test.ts):
 *
 *  - the plugin bundled from cni/main.ts with esbuild into a private temp
 *    directory (the same single-file CommonJS form scripts/build.mjs makes),
 *    so the tests always run the current source and never race over dist/;
 *  - a CNI bin directory holding it, Debian's reference plugins
 *    (/usr/lib/cni) and small fake IPAM scripts;
 *  - a "node" namespace with a default route over a veth to a "peer"
 *    namespace (proxy ARP for 169.254.1.1 needs one; notes.md), pods as
 *    further namespaces, and a runner that invokes a plugin inside the node
 *    namespace with the small environment a runtime gives (`env -i`,
 *    CNI_*, PATH whose first entry is this Node 24, so the bundle's
 *    `#!/usr/bin/env node` finds it and not the system Node 20);
 *  - a snapshot of the node's state (links, addresses, routes, sysctls,
 *    host-local allocations) to prove a failed call changed nothing.
 */
import { build } from 'esbuild';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildNodePeer } from '../support/kernel-topology.js';
import { isRoot, requireCommands, run, type Netns, type Topology } from '../support/netns.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const REFERENCE_DIR = '/usr/lib/cni';

/** PATH for plugins: our Node first (the bundles say `#!/usr/bin/env node`). */
export const PLUGIN_PATH = `${dirname(process.execPath)}:/usr/sbin:/usr/bin:/sbin:/bin`;

export function requireCniPrereqs(): void {
  if (!isRoot()) throw new Error('the CNI integration tests need root (network namespaces)');
  requireCommands(['ip', 'nsenter', 'busybox', `${REFERENCE_DIR}/host-local`, `${REFERENCE_DIR}/portmap`, `${REFERENCE_DIR}/bandwidth`, `${REFERENCE_DIR}/ptp`]);
}

/** Bundles cni/main.ts to `<dir>/tortie` (mode 0755). */
export async function bundlePlugin(dir: string): Promise<string> {
  const outfile = join(dir, 'tortie');
  await build({
    absWorkingDir: ROOT,
    entryPoints: ['cni/main.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    banner: { js: '#!/usr/bin/env node' },
    define: { TORTIE_VERSION: '"test"' },
    logLevel: 'warning',
  });
  chmodSync(outfile, 0o755);
  return outfile;
}

/** Writes an executable shell script (a fake IPAM plugin) into `dir`. */
export function writeScript(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

export interface PluginRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, when it is. */
  json: Record<string, unknown> | undefined;
}

export interface CallOptions {
  containerId?: string;
  ifname?: string;
  /** CNI_NETNS; '' leaves it unset. */
  netns?: string;
  /** CNI_ARGS. Default IgnoreUnknown=1 plus the pod identity when given. */
  args?: string;
  pod?: { namespace: string; name: string };
  /** Replaces or removes (undefined) CNI_* variables. */
  envOverride?: Record<string, string | undefined>;
  /** Raw stdin instead of JSON.stringify(conf). */
  stdin?: string;
  plugin?: string;
}

export interface CniLab {
  topo: Topology;
  node: Netns;
  peer: Netns;
  /** The CNI bin directory (CNI_PATH). */
  bin: string;
  /** host-local's dataDir. */
  ipamDir: string;
  newPod(label?: string): Promise<Netns>;
  netnsPath(ns: Netns): string;
  /** Runs `plugin` (default tortie) for `command` in the node namespace. */
  call(command: string, conf: unknown, opts?: CallOptions): Promise<PluginRun>;
  /** Throws unless the call exits 0; returns the parsed result (ADD) or undefined. */
  ok(command: string, conf: unknown, opts?: CallOptions): Promise<Record<string, unknown> | undefined>;
  snapshot(): Promise<NodeSnapshot>;
  /** IPs host-local has handed out (file names in its data dir), sorted. */
  allocations(): string[];
  destroy(): Promise<void>;
}

let counter = 0;

/** A fresh lab: node + peer namespaces (forwarding on unless told), bin dir with our bundle and the reference plugins. */
export async function buildLab(opts: { forwarding?: boolean } = {}): Promise<CniLab> {
  requireCniPrereqs();
  const { topo, node, peer } = await buildNodePeer();
  try {
    await node.ip(['route', 'add', 'default', 'via', '192.0.2.2']);
    await node.ip(['-6', 'route', 'add', 'default', 'via', '2001:db8:1::2']);
    // A node that runs pods forwards; ADD turns these on when they are off, and
    // turning IPv6 forwarding on changes more (subnet-router anycast routes), so
    // state-comparing tests start from a forwarding node.
    if (opts.forwarding ?? true) await node.sysctl({ 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.forwarding': '1' });
    const bin = join(topo.tmpDir, 'bin');
    const ipamDir = join(topo.tmpDir, 'ipam');
    mkdirSync(bin);
    mkdirSync(ipamDir);
    await bundlePlugin(bin);
    for (const p of ['host-local', 'portmap', 'bandwidth', 'ptp']) symlinkSync(join(REFERENCE_DIR, p), join(bin, p));

    const netnsPath = (ns: Netns): string => `/var/run/netns/${ns.name}`;
    const call = async (command: string, conf: unknown, opts: CallOptions = {}): Promise<PluginRun> => {
      const podArgs = opts.pod ? `;K8S_POD_NAMESPACE=${opts.pod.namespace};K8S_POD_NAME=${opts.pod.name}` : '';
      const env: Record<string, string | undefined> = {
        PATH: PLUGIN_PATH,
        CNI_COMMAND: command,
        CNI_CONTAINERID: opts.containerId ?? 'c0',
        CNI_NETNS: opts.netns ?? '',
        CNI_IFNAME: opts.ifname ?? 'eth0',
        CNI_PATH: bin,
        CNI_ARGS: opts.args ?? `IgnoreUnknown=1${podArgs}`,
        ...opts.envOverride,
      };
      const pairs = Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '').map(([k, v]) => `${k}=${v}`);
      const plugin = join(bin, opts.plugin ?? 'tortie');
      const input = opts.stdin ?? JSON.stringify(conf);
      const r = await run('ip', ['netns', 'exec', node.name, 'env', '-i', ...pairs, plugin], { input, timeoutMs: 60_000 }).then(
        (x) => ({ code: 0, ...x }),
        (err: unknown) => {
          const e = err as { exitCode?: number | null; stdout?: string; stderr?: string };
          return { code: e.exitCode ?? null, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
        },
      );
      let json: Record<string, unknown> | undefined;
      try {
        json = r.stdout.trim() === '' ? undefined : (JSON.parse(r.stdout) as Record<string, unknown>);
      } catch {
        json = undefined;
      }
      return { ...r, json };
    };
    const lab: CniLab = {
      topo,
      node,
      peer,
      bin,
      ipamDir,
      newPod: (label = `pod${counter++}`) => topo.addNamespace(label),
      netnsPath,
      call,
      async ok(command, conf, opts) {
        const r = await call(command, conf, opts);
        if (r.code !== 0) throw new Error(`${opts?.plugin ?? 'tortie'} ${command} failed (exit ${r.code}): ${r.stdout}${r.stderr}`);
        return r.json;
      },
      snapshot: () => snapshotNode(node, ipamDir),
      allocations: () => listAllocations(ipamDir),
      destroy: () => topo.destroy(),
    };
    return lab;
  } catch (err) {
    await topo.destroy();
    throw err;
  }
}

/** A host-local IPAM section with one IPv4 and (optionally) one IPv6 range. */
export function hostLocal(ipamDir: string, v4 = '10.77.0.0/24', v6: string | undefined = 'fd77::/64'): Record<string, unknown> {
  return { type: 'host-local', dataDir: ipamDir, ranges: [[{ subnet: v4 }], ...(v6 ? [[{ subnet: v6 }]] : [])] };
}

export function tortieConf(ipamDir: string, cniVersion = '1.0.0', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cniVersion, name: 'tortie-test', type: 'tortie', ipam: hostLocal(ipamDir), ...extra };
}

// ---------------------------------------------------------------- snapshots

export interface NodeSnapshot {
  links: unknown[];
  addresses: unknown[];
  routes: unknown[];
  sysctls: Record<string, string>;
  allocations: string[];
}

function listAllocations(ipamDir: string): string[] {
  const out: string[] = [];
  if (!existsSync(ipamDir)) return out;
  for (const net of readdirSync(ipamDir)) {
    const dir = join(ipamDir, net);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const f of names) if (!f.startsWith('last_reserved_ip') && f !== 'lock') out.push(`${net}/${f}`);
  }
  return out.sort();
}

/** Strips counters and other fields that change by themselves. */
function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (['stats64', 'stats', 'valid_life_time', 'preferred_life_time', 'operstate', 'flags', 'qdisc', 'linkmode'].includes(k)) continue;
    out[k] = stable(v);
  }
  return out;
}

const GLOBAL_SYSCTLS = ['net/ipv4/ip_forward', 'net/ipv6/conf/all/forwarding', 'net/ipv4/conf/all/proxy_arp', 'net/ipv6/conf/default/forwarding'];
const LINK_SYSCTLS = ['ipv4/conf/%/proxy_arp', 'ipv4/conf/%/forwarding', 'ipv4/neigh/%/proxy_delay', 'ipv6/conf/%/forwarding'];

export async function snapshotNode(node: Netns, ipamDir: string): Promise<NodeSnapshot> {
  const links = await node.ipJson<{ ifname: string }[]>(['-d', 'link', 'show']);
  const addresses = await node.ipJson<unknown[]>(['addr', 'show']);
  const routes = await node.ipJson<unknown[]>(['route', 'show', 'table', 'all']);
  const names = links.map((l) => l.ifname);
  const paths = [...GLOBAL_SYSCTLS, ...names.flatMap((n) => LINK_SYSCTLS.map((p) => `net/${p.replace('%', n)}`))];
  const { stdout } = await node.exec('sh', ['-c', paths.map((p) => `printf '%s=' ${p}; cat /proc/sys/${p} 2>/dev/null || echo missing`).join('; ')]);
  const sysctls: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) sysctls[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return { links: stable(links) as unknown[], addresses: stable(addresses) as unknown[], routes: stable(routes) as unknown[], sysctls, allocations: listAllocations(ipamDir) };
}

/** Links in a namespace, by name. */
export async function linkNames(ns: Netns): Promise<string[]> {
  return (await ns.ipJson<{ ifname: string }[]>(['link', 'show'])).map((l) => l.ifname);
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}
