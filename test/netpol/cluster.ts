/**
 * The conformance cluster on one node: a node namespace, the nine model
 * pods (each its own namespace, wired by the selected PodWiring, running
 * pod-agent.mjs as workload and prober), a PolicyEnforcer programming the
 * node, and a manifest directory watched by ManifestDirectorySource that
 * drives it, as in standalone mode.
 */
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { TortieError } from '../../lib/errors.js';
import type { Attachment } from '../../policy/compile/model.js';
import { PolicyEnforcer, withAttachments, type ApplyResult } from '../../policy/enforcer.js';
import { HelperCommandRunner } from '../../policy/helper-runner.js';
import { ManifestDirectorySource, type ManifestSnapshot } from '../../policy/manifest-source.js';
import { Topology, type Netns, type TrackedProcess } from '../support/netns.js';
import { ALL_PODS, NODE_IP4, NODE_IP6, PORTS, podAddresses, VETH_PREFIX } from './model.js';
import type { Probe } from './cases.js';
import { prepareNode, type PodWiring, type WiredPod } from './wiring.js';

const AGENT = join(dirname(fileURLToPath(import.meta.url)), 'pod-agent.mjs');

export type ProbeOutcome = 'connected' | 'blocked' | 'unavailable' | 'error';

interface Agent {
  proc: TrackedProcess;
  pending: Map<number, (results: string[]) => void>;
}

export interface ClusterOptions {
  readonly wiring: PodWiring;
  /** Probe timeout for one connection attempt (a blocked attempt takes this long). */
  readonly probeTimeoutMs?: number;
  readonly ipv6?: boolean;
}

export class NetpolCluster {
  readonly topo = new Topology();
  node!: Netns;
  readonly pods = new Map<string, WiredPod>();
  enforcer!: PolicyEnforcer;
  /** The agent's runner, so conformance runs the production write path (long-lived restore processes). */
  private readonly runner = new HelperCommandRunner();
  source!: ManifestDirectorySource;
  readonly manifestDir: string;
  private readonly agents = new Map<string, Agent>();
  private nextId = 1;
  private nextPort = 0;
  private readonly attachments = new Map<string, Attachment>();
  private snapshotWaiters: ((s: ManifestSnapshot) => boolean)[] = [];
  private lastApply: Promise<ApplyResult> | undefined;
  readonly timings: { case: string; applyMs: number; propagateMs: number }[] = [];

  private constructor(readonly opts: ClusterOptions) {
    this.manifestDir = join(this.topo.tmpDir, 'manifests');
    mkdirSync(this.manifestDir);
  }

  static async create(opts: ClusterOptions): Promise<NetpolCluster> {
    const c = new NetpolCluster(opts);
    try {
      await c.build();
      return c;
    } catch (err) {
      await c.destroy();
      throw err;
    }
  }

  private async build(): Promise<void> {
    this.node = await prepareNode(this.topo);
    // The enforcer first: every pod is wired into a node that already drops unprogrammed interfaces.
    this.enforcer = new PolicyEnforcer({ runner: this.runner, netns: this.node.name, ifacePrefix: VETH_PREFIX, nodeAddresses: [NODE_IP4, NODE_IP6], families: this.opts.ipv6 === false ? [4] : [4, 6] });
    await this.enforcer.start();
    await this.enforcer.apply();
    // Create all pod namespaces, then wire and start them in parallel.
    const nss = new Map<string, Netns>();
    for (const key of ALL_PODS) nss.set(key, await this.topo.addNamespace(key.replace('/', '-')));
    await Promise.all(
      ALL_PODS.map(async (key) => {
        const pod = nss.get(key);
        if (!pod) return;
        const a = podAddresses(key);
        const wired = await this.opts.wiring.wire(this.node, pod, { key, ip4: a.ip4, ...(this.opts.ipv6 === false ? {} : { ip6: a.ip6 }) });
        this.pods.set(key, wired);
        this.attachments.set(key, { ifName: wired.hostIf, ips: wired.ips });
        await this.startAgent(key, pod);
      }),
    );
    this.source = new ManifestDirectorySource({ dir: this.manifestDir, onChange: (s) => this.onSnapshot(s), debounceMs: 20 });
    await this.source.start();
  }

  private onSnapshot(s: ManifestSnapshot): void {
    this.enforcer.setState(withAttachments(s, this.attachments));
    this.lastApply = this.enforcer.apply();
    this.lastApply.catch(() => undefined);
    this.snapshotWaiters = this.snapshotWaiters.filter((w) => !w(s));
  }

  private startAgent(key: string, ns: Netns): Promise<void> {
    const ports = PORTS.join(',');
    const proc = ns.spawn(process.execPath, [AGENT, key, ports, ports], { pipeStdio: true, logFile: join(this.topo.tmpDir, `${key.replace('/', '-')}.log`) });
    const agent: Agent = { proc, pending: new Map() };
    this.agents.set(key, agent);
    return new Promise((resolve, reject) => {
      const stdout = proc.stdout;
      if (!stdout) return reject(new TortieError('ERR_TEST_AGENT', 'no stdout'));
      const rl = createInterface({ input: stdout });
      const timer = setTimeout(() => reject(new TortieError('ERR_TEST_AGENT', `pod agent ${key} not ready: ${proc.logTail()}`)), 15_000);
      rl.on('line', (line) => {
        let msg: { ready?: string; fatal?: string; id?: number; results?: string[] };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          return;
        }
        if (msg.ready) {
          clearTimeout(timer);
          resolve();
        } else if (msg.fatal) {
          clearTimeout(timer);
          reject(new TortieError('ERR_TEST_AGENT', `pod agent ${key}: ${msg.fatal}`));
        } else if (msg.id !== undefined && msg.results) {
          agent.pending.get(msg.id)?.(msg.results);
          agent.pending.delete(msg.id);
        }
      });
    });
  }

  /**
   * Writes the manifests (atomically), waits until the source has seen
   * exactly these policies and the enforcer has programmed them.
   */
  async applyManifests(cluster: string, policies: string, policyNames: readonly string[], label: string): Promise<void> {
    const t0 = performance.now();
    const want = [...policyNames].sort().join(',');
    const seen = new Promise<void>((resolve) => {
      this.snapshotWaiters.push((s) => {
        const got = s.policies.map((p) => `${p.namespace}/${p.name}`).sort().join(',');
        if (got !== want || s.pods.length !== ALL_PODS.length) return false;
        resolve();
        return true;
      });
    });
    writeAtomic(join(this.manifestDir, '00-cluster.yaml'), cluster);
    writeAtomic(join(this.manifestDir, '50-policies.yaml'), policies);
    await withTimeout(seen, 5_000, `manifests for ${label} not picked up`);
    const t1 = performance.now();
    // The apply started by that snapshot (and any later one) must have finished.
    await this.lastApply;
    await this.enforcer.apply();
    const t2 = performance.now();
    this.timings.push({ case: label, propagateMs: t1 - t0, applyMs: t2 - t1 });
  }

  /** Probes every ordered pair (loopback included, ignored by comparisons) for each probe. */
  async probeAll(probes: readonly Probe[], timeoutMs = this.opts.probeTimeoutMs ?? 600): Promise<Map<string, Map<string, ProbeOutcome>>> {
    const out = new Map<string, Map<string, ProbeOutcome>>();
    await Promise.all(
      ALL_PODS.map(async (from) => {
        const reqs = probes.flatMap((p) => ALL_PODS.map((to) => ({ to, p })));
        const results = await this.ask(
          from,
          reqs.map(({ to, p }) => ({ host: podAddresses(to).ip4, port: p.port, proto: p.proto.toLowerCase(), timeoutMs, localPort: this.takePort() })),
        );
        reqs.forEach(({ to, p }, i) => {
          const key = `${p.proto}/${p.port}`;
          let m = out.get(key);
          if (!m) out.set(key, (m = new Map<string, ProbeOutcome>()));
          m.set(`${from}>${to}`, classify(results[i]));
        });
      }),
    );
    return out;
  }

  /** Probes the given pairs only (re-checks), with a longer timeout. */
  async probePairs(pairs: readonly { from: string; to: string; probe: Probe }[], timeoutMs: number): Promise<ProbeOutcome[]> {
    const byFrom = new Map<string, number[]>();
    pairs.forEach((p, i) => {
      let l = byFrom.get(p.from);
      if (!l) byFrom.set(p.from, (l = []));
      l.push(i);
    });
    const out: ProbeOutcome[] = new Array<ProbeOutcome>(pairs.length).fill('error');
    await Promise.all(
      [...byFrom].map(async ([from, idx]) => {
        const res = await this.ask(
          from,
          idx.map((i) => ({ host: podAddresses(pairs[i].to).ip4, port: pairs[i].probe.port, proto: pairs[i].probe.proto.toLowerCase(), timeoutMs, localPort: this.takePort() })),
        );
        idx.forEach((i, j) => (out[i] = classify(res[j])));
      }),
    );
    return out;
  }

  /** A source port never used before in this run, so no stale conntrack entry can answer for a probe. */
  private takePort(): number {
    const p = 20000 + (this.nextPort % 40000);
    this.nextPort++;
    return p;
  }

  private ask(from: string, probes: unknown[]): Promise<string[]> {
    const agent = this.agents.get(from);
    if (!agent) return Promise.reject(new TortieError('ERR_TEST_AGENT', `no agent for ${from}`));
    const id = this.nextId++;
    return withTimeout(
      new Promise<string[]>((resolve) => {
        agent.pending.set(id, resolve);
        agent.proc.stdin?.write(`${JSON.stringify({ id, probes })}\n`);
      }),
      30_000,
      `probe answer from ${from}`,
    );
  }

  async destroy(): Promise<void> {
    this.source?.stop();
    this.enforcer?.close();
    this.runner.close();
    for (const a of this.agents.values()) a.proc.stdin?.end();
    await this.topo.destroy();
  }
}

function classify(result: string | undefined): ProbeOutcome {
  if (result === undefined) return 'error';
  if (result.startsWith('ok:')) return 'connected';
  if (result === 'timeout') return 'blocked';
  if (result === 'unavailable') return 'unavailable';
  return 'error';
}

function writeAtomic(path: string, text: string): void {
  const tmp = join(dirname(path), `.${Date.now()}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new TortieError('ERR_TEST_TIMEOUT', `timed out after ${ms} ms: ${what}`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
