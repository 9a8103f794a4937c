/**
 * The runtime-test harness: a "node" network namespace with an uplink, a
 * private container runtime running inside it (containerd with CRI, or
 * podman), a CNI conflist, and helpers that run pod sandboxes and look at
 * what they leave behind.
 *
 *   upstream (192.0.2.254) ── veth ── node (192.0.2.1, default route via upstream)
 *                                       ├─ containerd + CRI, or podman (+ tortie-agent)
 *                                       └─ pod veths, one per sandbox
 *
 * The node namespace stands in for the host: the pods' host-side veths and
 * routes are created there, never on the machine's real network. The
 * default route gives proxy ARP something to resolve through (notes.md).
 */
import { expect } from 'chai';
import { copyFileSync, chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TortieError } from '../../lib/errors.js';
import { Containerd } from '../support/containerd.js';
import { Podman } from '../support/podman.js';
import { PodSandboxState, type CriClient } from '../support/cri/cri-client.js';
import { requireCommands, run, type Netns, type RunResult, type Topology } from '../support/netns.js';
import { buildSandboxImage, SANDBOX_HTTP_BODY, SANDBOX_HTTP_PORT } from '../support/sandbox-image.js';

export const REPO = resolve(import.meta.dirname, '../..');
/** The reference plugins from Debian's containernetworking-plugins. */
export const REFERENCE_CNI_DIR = '/usr/lib/cni';
/** Name of our conflist: CRI reads only the first one in name order. */
export const CONFLIST_NAME = '10-tortie.conflist';
/** Kubernetes namespace the test pods claim to be in. */
export const POD_NAMESPACE = 'tortie-rt';

export const NODE_ADDR = '192.0.2.1';
export const UPSTREAM_ADDR = '192.0.2.254';

/** Throws ERR_TEST_PREREQ with what to install unless everything the runtime tests need is here. */
export function requireRuntimePrereqs(): void {
  if (process.getuid?.() !== 0) throw new TortieError('ERR_TEST_PREREQ', 'runtime tests need root (CI runs them as root)');
  requireCommands(['ip', 'nsenter', 'unshare', 'tar', 'busybox', 'containerd', 'ctr', 'runc', 'containerd-shim-runc-v2']);
  for (const plugin of ['loopback', 'ptp', 'host-local']) {
    if (!existsSync(join(REFERENCE_CNI_DIR, plugin))) {
      throw new TortieError('ERR_TEST_PREREQ', `${REFERENCE_CNI_DIR}/${plugin} is missing: apt-get install containernetworking-plugins`);
    }
  }
}

/**
 * The directory holding the project's Node 24 (the devDependency `node`),
 * for containerd's PATH: the tortie bundles run `#!/usr/bin/env node`, and
 * the machine's own node is v20.
 */
export async function node24BinDir(): Promise<string> {
  const dir = join(REPO, 'node_modules/node/bin');
  const bin = join(dir, 'node');
  if (!existsSync(bin)) throw new TortieError('ERR_TEST_PREREQ', `${bin} is missing: run npm ci`);
  const { stdout } = await run(bin, ['--version']);
  if (!stdout.startsWith('v24.')) throw new TortieError('ERR_TEST_PREREQ', `${bin} is ${stdout.trim()}, expected v24`);
  return dir;
}

export interface RuntimeNode {
  node: Netns;
  upstream: Netns;
  /** The node's uplink interface (in `node`). */
  uplink: string;
  uplinkMtu: number;
}

/** Builds the node and upstream namespaces, joined by a veth, with the node's default route via upstream. */
export async function createNode(topo: Topology, uplinkMtu = 1500): Promise<RuntimeNode> {
  const node = await topo.addNamespace('node');
  const upstream = await topo.addNamespace('upstream');
  const uplink = 'uplink0';
  await topo.link(node, upstream, {
    aName: uplink,
    bName: 'down0',
    aAddresses: [`${NODE_ADDR}/24`],
    bAddresses: [`${UPSTREAM_ADDR}/24`],
    mtu: uplinkMtu,
  });
  await node.ip(['route', 'add', 'default', 'via', UPSTREAM_ADDR, 'dev', uplink]);
  await node.sysctl({ 'net.ipv4.ip_forward': '1' });
  return { node, upstream, uplink, uplinkMtu };
}

export interface NodeRuntimeOptions {
  /** CNI binaries to install into containerd's bin_dir: name → source path. `loopback` is always added. */
  plugins: Record<string, string>;
  /** The conflist (an object; written as JSON to 10-tortie.conflist). */
  conflist: object;
  pathPrefix?: readonly string[];
}

/** Copies the plugins (plus `loopback`) into `binDir`, as a DaemonSet's init container would, and writes our conflist. */
export function installCni(binDir: string, confDir: string, plugins: Record<string, string>, conflist: object): void {
  for (const d of [binDir, confDir]) mkdirSync(d, { recursive: true });
  for (const [name, src] of Object.entries({ loopback: join(REFERENCE_CNI_DIR, 'loopback'), ...plugins })) {
    if (!existsSync(src)) throw new TortieError('ERR_TEST_PREREQ', `CNI plugin ${name}: ${src} does not exist`);
    copyFileSync(src, join(binDir, name));
    chmodSync(join(binDir, name), 0o755);
  }
  writeFileSync(join(confDir, CONFLIST_NAME), `${JSON.stringify(conflist, null, 2)}\n`);
}

/**
 * Installs the plugins and the conflist, starts containerd in the node
 * namespace and imports the sandbox image into it.
 */
export async function startNodeRuntime(topo: Topology, rn: RuntimeNode, opts: NodeRuntimeOptions): Promise<Containerd> {
  const dir = join(topo.tmpDir, `containerd-${rn.node.name}`);
  const cniBinDir = join(dir, 'cni/bin');
  const cniConfDir = join(dir, 'cni/net.d');
  installCni(cniBinDir, cniConfDir, opts.plugins, opts.conflist);
  const image = await buildSandboxImage(mkdirp(join(topo.tmpDir, `image-${rn.node.name}`)));
  const cd = await Containerd.start({ topo, ns: rn.node, dir, cniBinDir, cniConfDir, sandboxImage: image.ref, pathPrefix: opts.pathPrefix });
  await cd.importImage(image.archive);
  return cd;
}

/** The same for podman: plugins, conflist, the holder of its namespaces, and the image (podman import). */
export async function startNodePodman(topo: Topology, rn: RuntimeNode, opts: NodeRuntimeOptions): Promise<{ podman: Podman; image: string }> {
  const dir = join(topo.tmpDir, `podman-${rn.node.name}`);
  const cniBinDir = join(dir, 'cni/bin');
  const cniConfDir = join(dir, 'cni/net.d');
  installCni(cniBinDir, cniConfDir, opts.plugins, opts.conflist);
  const image = await buildSandboxImage(mkdirp(join(topo.tmpDir, `image-${rn.node.name}`)));
  const podman = await Podman.start({ topo, ns: rn.node, dir, cniBinDir, cniConfDir, pathPrefix: opts.pathPrefix });
  await podman.importImage(image.rootfsTar, image.ref, image.entrypoint);
  return { podman, image: image.ref };
}

function mkdirp(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

export interface Pod {
  name: string;
  id: string;
  ip: string;
  /** The pod netns path as the runtime (and CNI) see it. */
  netns: string;
  /** The sandbox process (busybox httpd), as seen from the host. */
  pid: number;
  /** The identity the runtime passes in CNI_ARGS (K8S_POD_NAMESPACE, K8S_POD_NAME). */
  k8s: { namespace: string; name: string };
}

/** A runtime whose mount namespace holds the pod netns mounts (Containerd, Podman). */
export interface NetnsHolder {
  /** A path in the runtime's mount namespace, as the test process can open it. */
  hostPath(path: string): string;
}

interface SandboxInfo {
  pid?: number;
  runtimeSpec?: { linux?: { namespaces?: { type: string; path?: string }[] } };
}

/** RunPodSandbox with kubelet-like metadata, then reads back its IP, netns path and PID. */
export async function runPod(cri: CriClient, cd: Containerd, name: string): Promise<Pod> {
  const id = await cri.runPodSandbox({
    metadata: { name, uid: `uid-${name}`, namespace: POD_NAMESPACE, attempt: 0 },
    hostname: name,
    labels: { 'io.kubernetes.pod.name': name, 'io.kubernetes.pod.namespace': POD_NAMESPACE, app: 'tortie-runtime-test' },
    linux: { cgroupParent: cd.cgroupParent },
  });
  const { status, info } = await cri.podSandboxStatus(id, true);
  if (!status) throw new TortieError('ERR_TEST_CRI', `PodSandboxStatus(${id}) returned no status`);
  expect(status.state, `${name} state`).to.equal(PodSandboxState.SandboxReady);
  expect(status.ip, `${name} has a pod IP in PodSandboxStatus`).to.match(/^\d+\.\d+\.\d+\.\d+$/);
  const parsed = JSON.parse(info.info ?? '{}') as SandboxInfo;
  const netns = parsed.runtimeSpec?.linux?.namespaces?.find((n) => n.type === 'network')?.path;
  if (!netns) throw new TortieError('ERR_TEST_CRI', `no network namespace path in the verbose status of ${name}: ${info.info}`);
  if (!parsed.pid) throw new TortieError('ERR_TEST_CRI', `no sandbox pid in the verbose status of ${name}`);
  expect(netns.startsWith(cd.netnsDir), `netns ${netns} under ${cd.netnsDir}`).to.equal(true);
  return { name, id, ip: status.ip, netns, pid: parsed.pid, k8s: { namespace: POD_NAMESPACE, name } };
}

/** Runs a host command inside the pod's network namespace (opened through the runtime's mount namespace). */
export function inPod(cd: NetnsHolder, pod: Pod, cmd: string, args: readonly string[], timeoutMs = 15_000): Promise<RunResult> {
  return run('nsenter', [`--net=${cd.hostPath(pod.netns)}`, '--', cmd, ...args], { timeoutMs });
}

/** ping and an HTTP GET to the other pod's sandbox process, from inside `from`. */
export async function expectReach(cd: NetnsHolder, from: Pod, to: Pod): Promise<void> {
  await inPod(cd, from, 'busybox', ['ping', '-c', '2', '-i', '0.2', '-W', '2', to.ip]);
  // No `wget -T`: busybox 1.35's static build segfaults with it; run() has its own timeout.
  const { stdout } = await inPod(cd, from, 'busybox', ['wget', '-q', '-O', '-', `http://${to.ip}:${SANDBOX_HTTP_PORT}/`]);
  expect(stdout, `HTTP ${from.name} -> ${to.name}`).to.equal(SANDBOX_HTTP_BODY);
}

interface IpLink {
  ifname: string;
  link_type?: string;
  linkinfo?: { info_kind?: string };
}

interface IpRoute {
  dst: string;
  dev?: string;
  protocol?: string | number;
  type?: string;
}

/** What the node namespace looks like: link names and routes (v4 and v6, all tables) as "<type> <dst> dev <dev> proto <proto>". */
export interface NodeSnapshot {
  links: string[];
  routes: string[];
}

export async function snapshotNode(node: Netns): Promise<NodeSnapshot> {
  const links = await node.ipJson<IpLink[]>(['link', 'show']);
  const routes: string[] = [];
  for (const family of ['-4', '-6']) {
    const rs = await node.ipJson<IpRoute[]>([family, 'route', 'show', 'table', 'all']);
    for (const r of rs) routes.push(`${r.type ?? 'unicast'} ${r.dst} dev ${r.dev ?? '-'} proto ${String(r.protocol ?? '-')}`);
  }
  return { links: links.map((l) => l.ifname).sort(), routes: routes.sort() };
}

/** Routes in the node namespace carrying routing protocol `proto` (v4 and v6). */
export async function routesWithProto(node: Netns, proto: number): Promise<string[]> {
  const out: string[] = [];
  for (const family of ['-4', '-6']) {
    const rs = await node.ipJson<IpRoute[]>([family, 'route', 'show', 'table', 'all', 'proto', String(proto)]);
    for (const r of rs) out.push(`${r.dst} dev ${r.dev ?? '-'}`);
  }
  return out.sort();
}

/**
 * Everything a removed pod could leave behind that the runtime and the CNI
 * plugin are responsible for, as a list of problems (empty = clean).
 * Note: the kernel deletes a veth (and its routes) when the pod netns goes,
 * so a DEL that does nothing still leaves no link here; the IPAM allocation
 * check of each variant is what catches it (checked with a ptp whose DEL
 * was a no-op: links and routes clean, host-local allocation left).
 */
export async function runtimeLeftovers(
  cd: Containerd,
  cri: CriClient,
  rn: RuntimeNode,
  baseline: NodeSnapshot,
  opts: { ignoreRoute?: (route: string) => boolean } = {},
): Promise<string[]> {
  const problems: string[] = [];
  const sandboxes = await cri.listPodSandbox();
  if (sandboxes.length) problems.push(`sandboxes still listed: ${sandboxes.map((s) => s.metadata.name).join(', ')}`);
  const now = await snapshotNode(rn.node);
  const extraLinks = now.links.filter((l) => !baseline.links.includes(l));
  if (extraLinks.length) problems.push(`links left in the node namespace: ${extraLinks.join(', ')}`);
  const extraRoutes = now.routes.filter((r) => !baseline.routes.includes(r) && !(opts.ignoreRoute?.(r) ?? false));
  if (extraRoutes.length) problems.push(`routes left in the node namespace: ${extraRoutes.join('; ')}`);
  const netns = cd.netnsEntries();
  if (netns.length) problems.push(`netns files left in ${cd.netnsDir}: ${netns.join(', ')}`);
  const mounts = cd.netnsMounts();
  if (mounts.length) problems.push(`netns still mounted: ${mounts.join(', ')}`);
  const tasks = cd.taskDirs();
  if (tasks.length) problems.push(`runtime tasks left: ${tasks.join(', ')}`);
  const cgroups = cd.cgroupLeftovers();
  if (cgroups.length) problems.push(`pod cgroups left: ${cgroups.join(', ')}`);
  return problems;
}
