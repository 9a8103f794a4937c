/**
 * tortie-agent: one per node. It loads the YAML configuration, runs the BGP
 * speaker, keeps the kernel's routes equal to the speaker's best paths, and
 * serves the control API, metrics and health probes. Reloads (SIGHUP or a
 * change of the file) apply only the difference.
 */
import { watch, type FSWatcher } from 'node:fs';
import type { Server } from 'node:http';
import { Origin } from '../bgp/codec/index.js';
import { formatAsPath, formatCommunity, type Path } from '../bgp/rib/index.js';
import { BgpSpeaker } from '../bgp/speaker/speaker.js';
import type { BestPathEvent, PeerStatus } from '../bgp/speaker/types.js';
import { TortieError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { ipamRoutes } from '../ipam/api.js';
import { openLocalDatastore } from '../ipam/datastore/store-local.js';
import { IpamService } from '../ipam/service.js';
import type { PathView, RouteView, SessionView, StatusView, PeerType } from './api-types.js';
import type { Datastore } from '../ipam/core/datastore.js';
import {
  diffConfig, effectivePeers, formatIssues, readConfigFile, speakerConfig, speakerPeerConfig,
  type AgentConfig, type ConfigEnv, type EffectivePeer,
} from './config/index.js';
import { ControlServer } from './control-server.js';
import { describeLastError } from './describe.js';
import type { CommandRunner } from './kernel/command-runner.js';
import { KernelRoutes } from './kernel/kernel-routes.js';
import { AgentMetrics, recordPolicyApply, serveHttp, type MetricsSource } from './metrics.js';
import type { KubeHost } from './kube-host.js';
import { formatOrigin, type PeerOrigin } from './k8s/merge-peers.js';
import { NodeGc } from './node-gc.js';
import { PolicyHost, removePolicyIfDisabled } from './policy-host.js';
import { firstByPrefix } from './prefix-order.js';
import { readiness } from './readiness.js';

declare const TORTIE_VERSION: string | undefined;
export const AGENT_VERSION = typeof TORTIE_VERSION === 'string' ? TORTIE_VERSION : 'dev';

export interface AgentOptions {
  configFile: string;
  runner: CommandRunner;
  log: Logger;
  env?: ConfigEnv;
  /** Watch the file for changes (SIGHUP always works). Default true. */
  watchConfig?: boolean;
}

const ORIGIN_NAMES: Record<number, string> = { [Origin.Igp]: 'igp', [Origin.Egp]: 'egp', [Origin.Incomplete]: 'incomplete' };

export class Agent {
  /** What runs: the file merged with the cluster's peers (the file alone without Kubernetes). */
  private cfg!: AgentConfig;
  /** The file as last loaded (a cluster change re-merges it without re-reading). */
  private fileCfg!: AgentConfig;
  /** Where each peer came from (keyed by peer address); absent means the file. */
  private origins: ReadonlyMap<string, PeerOrigin> = new Map();
  /** The Kubernetes API, when kubernetes.enabled. */
  private kube: KubeHost | undefined;
  /** The cluster peers the running configuration was merged from at start. */
  private mergedFrom: unknown;
  /** IPAM blocks of deleted Nodes, when kubernetes.enabled. */
  private nodeGc: NodeGc | undefined;
  private speaker!: BgpSpeaker;
  private kernel!: KernelRoutes;
  private control: ControlServer | undefined;
  private http: Server[] = [];
  private watcher: FSWatcher | undefined;
  private peerTypes = new Map<string, PeerType>();
  private metrics!: AgentMetrics;
  private readonly log: Logger;
  private readonly startedAt = Date.now();
  private configLoadedAt = new Date();
  private lastReload: StatusView['lastReload'];
  private reloading: Promise<void> | undefined;
  /** The run queued behind the current one, shared by every caller folded into it. */
  private reloadNext: Promise<void> | undefined;
  /** A folded reload wanted the file re-read. */
  private rereadAgain = false;
  private convergeTimer: NodeJS.Timeout | undefined;
  private originated = new Set<string>();
  private ipam!: IpamService;
  private appliedIpamLabels: Record<string, string> = {};
  /** What IPAM asks us to advertise: this node's blocks, and host routes for borrowed addresses. */
  private ipamOriginated: { blocks: string[]; borrowed: string[] } = { blocks: [], borrowed: [] };
  /**
   * Host routes of borrowed addresses we advertise (now or before). The pod's
   * own /32 route (from the CNI plugin) carries the traffic, so these never
   * get a blackhole in the kernel, and their withdrawal removes nothing there.
   */
  private readonly borrowedPrefixes = new Set<string>();
  private lastTick = Date.now();
  private tick: NodeJS.Timeout | undefined;
  private stopping = false;
  /** NetworkPolicy, when policy.enabled. */
  private policy: PolicyHost | undefined;

  constructor(private readonly opts: AgentOptions) {
    this.log = opts.log;
  }

  // ------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    const loaded = await readConfigFile(this.opts.configFile, this.opts.env);
    if (!loaded.ok) throw new TortieError('ERR_CONFIG_INVALID', `configuration ${this.opts.configFile} is invalid:\n${formatIssues(loaded.issues)}`);
    this.fileCfg = loaded.config;
    this.cfg = loaded.config;
    this.log.info({ file: this.opts.configFile, node: this.cfg.node.name, asn: this.cfg.node.asn, routerId: this.cfg.node.routerId }, 'configuration loaded');
    if (this.fileCfg.kubernetes.enabled) {
      // Loaded only here: a standalone node never loads the Kubernetes client.
      const { KubeHost } = await import('./kube-host.js');
      this.kube = new KubeHost({ config: this.fileCfg, log: this.log.child({ component: 'k8s' }), ...(this.opts.env ? { env: this.opts.env.env } : {}) });
      await this.kube.start();
      this.mergedFrom = this.kube.cluster.current();
      const m = this.kube.merge(this.fileCfg);
      this.cfg = m.config;
      this.origins = m.origins;
    }
    const cfg = this.cfg;

    // Kernel first: adopt what a previous run left, delete nothing yet.
    this.kernel = new KernelRoutes({
      proto: cfg.routes.protocol, table: cfg.routes.table, runner: this.opts.runner, log: this.log.child({ component: 'kernel' }),
      onApply: (info) => this.metrics.routeProgramming.observe(info.durationMs / 1000),
    });
    this.metrics = new AgentMetrics(this.metricsSource());
    const adopted = await this.kernel.start();
    // Routes that survived us mean we are restarting with forwarding state: tell peers (RFC 4724).
    const restarting = adopted.adopted > 0 && cfg.bgp.gracefulRestart.enabled;
    this.speaker = new BgpSpeaker({ ...speakerConfig(cfg, restarting), warmUp: true }, this.log.child({ component: 'bgp' }));
    this.speaker.onBestPath((e) => this.onBestPath(e));
    const peers = effectivePeers(cfg);
    for (const w of peers.warnings) this.log.warn({}, w);
    for (const p of peers.peers) this.addPeer(p);
    await this.startIpam();
    await this.startPolicy();
    this.originateAll();
    await this.speaker.start();
    this.watchConvergence();

    this.control = new ControlServer(cfg.paths.controlSocket, this.apiRoutes(), this.log.child({ component: 'api' }));
    await this.control.start();
    await this.startHttp();
    this.tick = setInterval(() => { this.lastTick = Date.now(); }, 1000);
    this.tick.unref();
    if (this.opts.watchConfig !== false) this.watchFile();
    if (this.kube) {
      // Changes that came while starting are applied by this first reload.
      this.kube.cluster.onChange(() => this.reloadInBackground('kubernetes: cluster peers changed', { rereadFile: false }));
      // Changes between the merge above and now (start-up takes seconds) are applied by this first reload.
      if (this.kube.cluster.current() !== this.mergedFrom) this.reloadInBackground('kubernetes: cluster peers changed while starting', { rereadFile: false });
    }
    this.log.info({ socket: cfg.paths.controlSocket, metrics: cfg.metrics, health: cfg.health, adoptedRoutes: adopted.adopted, restarting }, 'agent started');
  }

  /**
   * Stops sessions and servers. Kernel routes stay: a restart must not
   * disturb traffic.
   *
   * - `restart` (SIGTERM, SIGINT): with graceful restart on, sessions close
   *   without a NOTIFICATION, as RFC 4724 expects of a restarting speaker, so
   *   peers keep routing to this node (its routes marked stale) for
   *   `restartTimeSec` while the agent comes back. Without graceful restart,
   *   the same as `drain`.
   * - `drain` (SIGUSR2): every session gets Cease / Administrative Shutdown,
   *   so peers withdraw this node's routes at once: for taking a node away.
   */
  async stop(reason = 'agent stopping', mode: 'restart' | 'drain' = 'restart'): Promise<void> {
    this.stopping = true;
    const graceful = mode === 'restart' && this.cfg.bgp.gracefulRestart.enabled;
    this.log.info(
      { reason, mode, sessions: graceful ? 'closed without NOTIFICATION (graceful restart: peers keep our routes as stale)' : 'closed with Cease (peers withdraw our routes)' },
      'agent stopping; kernel routes are left in place',
    );
    this.watcher?.close();
    if (this.tick) clearInterval(this.tick);
    if (this.convergeTimer) clearInterval(this.convergeTimer);
    // Every part is stopped even when an earlier one fails; the first failure is reported at the end.
    const failures: { part: string; err: unknown }[] = [];
    const step = async (part: string, fn: () => unknown): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        failures.push({ part, err });
        this.log.error({ part, err: (err as Error).message }, 'failed to stop cleanly');
      }
    };
    // The API first: no cluster change may start a reload while the rest stops.
    await step('ipam node gc', () => this.nodeGc?.stop());
    await step('kubernetes', () => this.kube?.stop());
    await step('bgp', () => (graceful ? this.speaker.abort() : this.speaker.stop(reason)));
    await step('kernel routes', () => this.kernel.stop());
    await step('policy', () => this.policy?.stop());
    await step('control socket', () => this.control?.stop());
    await step('ipam', () => this.ipam?.stop());
    await step('http', () => Promise.all(this.http.map((s) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); }))));
    if (failures.length > 0) {
      throw new TortieError('ERR_AGENT_STOP', `stopping left ${failures.map((f) => `${f.part}: ${(f.err as Error).message}`).join('; ')}`, { cause: failures[0].err });
    }
  }

  // ------------------------------------------------------------ routes to the kernel

  private onBestPath(e: BestPathEvent): void {
    // While stopping, sessions go down and their routes leave the RIB; the
    // kernel must keep them (a restart must not disturb traffic).
    if (this.stopping) return;
    if (this.borrowedPrefixes.has(e.prefix) && (e.local || e.withdrawn)) return;
    try {
      if (e.withdrawn) this.kernel.remove(e.prefix);
      else if (e.local) this.kernel.upsert({ prefix: e.prefix, kind: 'blackhole' });
      else if (e.nextHops.length > 0) this.kernel.upsert({ prefix: e.prefix, kind: 'unicast', nextHops: e.nextHops.map((via) => ({ via })) });
    } catch (err) {
      this.log.warn({ prefix: e.prefix, err: (err as Error).message }, 'route not programmed');
    }
  }

  /** Once BGP has converged, routes adopted at start that nothing re-learned may go. */
  private watchConvergence(): void {
    const deadline = Date.now() + (this.cfg.bgp.gracefulRestart.deferralSec + 5) * 1000;
    this.convergeTimer = setInterval(() => {
      if (this.speaker.converged || Date.now() > deadline) {
        if (this.convergeTimer) clearInterval(this.convergeTimer);
        this.convergeTimer = undefined;
        this.log.info({ converged: this.speaker.converged }, 'initial routing complete: kernel routes now follow BGP exactly');
        this.kernel.declareComplete();
      }
    }, 200);
    this.convergeTimer.unref();
  }

  // ------------------------------------------------------------ peers and originated prefixes

  /** "file", "node/<name>" or "bgppeer/<name>". */
  /** Where a peer came from, in `origins` (default: the running configuration's). */
  private originOf(peer: string, origins = this.origins): string {
    const o = origins.get(peer);
    return o ? formatOrigin(o) : 'file';
  }

  private addPeer(p: EffectivePeer): void {
    this.speaker.addPeer(speakerPeerConfig(p));
    this.peerTypes.set(p.key, p.source === 'mesh' ? 'mesh' : 'explicit');
  }

  // ------------------------------------------------------------ IPAM

  /** IP pool node selectors match these: the Node object's labels (in a cluster), then the file's node.labels. */
  private ipamLabels(cfg: AgentConfig): Record<string, string> {
    return { 'kubernetes.io/hostname': cfg.node.name, ...this.kube?.cluster.selfLabels(), ...cfg.node.labels };
  }

  private async startIpam(): Promise<void> {
    const cfg = this.cfg;
    let store: Datastore;
    if (cfg.ipam.datastore.type === 'kubernetes') {
      if (!this.kube) throw new TortieError('ERR_CONFIG_INVALID', 'ipam.datastore.type kubernetes needs kubernetes.enabled');
      store = this.kube.datastore();
    } else {
      const local = await openLocalDatastore(cfg.ipam.datastore.directory);
      const swept = await local.sweep(Date.now());
      if (swept > 0) this.log.info({ swept }, 'IPAM datastore: removed temporary files left by interrupted writes');
      store = local;
    }
    this.appliedIpamLabels = this.ipamLabels(cfg);
    const k = this.kube;
    this.ipam = new IpamService({
      node: cfg.node.name, labels: this.appliedIpamLabels, config: cfg.ipam, store, log: this.log.child({ component: 'ipam' }),
      ...(k ? { podAnnotations: (ns: string, name: string) => k.pods.podAnnotations(ns, name), liveNodes: () => k.cluster.nodeNames() } : {}),
      onOriginated: (o) => {
        this.ipamOriginated = o;
        this.originateAll();
      },
    });
    await this.ipam.start();
    this.ipamOriginated = this.ipam.originatedPrefixes();
    const kube = this.kube;
    if (kube) {
      this.nodeGc = new NodeGc({
        self: cfg.node.name, ipam: this.ipam, graceSec: () => this.cfg.kubernetes.nodeGcGraceSec, log: this.log.child({ component: 'ipam-node-gc' }),
        source: { nodeNames: () => kube.cluster.nodeNames(), stale: () => kube.cluster.status().stale },
      });
      this.nodeGc.start();
    }
  }

  // ------------------------------------------------------------ NetworkPolicy

  private async startPolicy(): Promise<void> {
    const log = this.log.child({ component: 'policy' });
    if (!this.cfg.policy.enabled) {
      await removePolicyIfDisabled(this.cfg.policy, this.cfg.paths.stateDir, log);
      return;
    }
    // Input: the manifest directory when configured, else the API (KubePolicySource, kube.pods).
    const fromApi = this.cfg.policy.manifestDir === undefined ? this.kube?.pods : undefined;
    this.policy = new PolicyHost({
      config: () => this.cfg.policy, log, stateDir: this.cfg.paths.stateDir,
      onApplied: (r) => recordPolicyApply(this.metrics, r),
      ...(fromApi ? { source: fromApi } : {}),
    });
    log.info({ source: fromApi ? 'kubernetes' : `manifest directory ${this.cfg.policy.manifestDir ?? ''}` }, 'NetworkPolicy input');
    await this.policy.start();
  }

  private originateAll(): void {
    for (const p of this.ipamOriginated.borrowed) this.borrowedPrefixes.add(p);
    const wanted = new Set([...this.cfg.routes.originate, ...this.ipamOriginated.blocks, ...this.ipamOriginated.borrowed]);
    for (const p of this.originated) if (!wanted.has(p)) this.speaker.withdrawOrigin(p);
    for (const p of wanted) {
      this.speaker.originate(p, {
        ...(this.cfg.bgp.communities.length ? { communities: [...this.cfg.bgp.communities] } : {}),
        ...(this.cfg.bgp.largeCommunities.length ? { largeCommunities: [...this.cfg.bgp.largeCommunities] } : {}),
      });
    }
    this.originated = wanted;
    // A host route that is no longer borrowed (nor advertised) goes back to normal handling.
    for (const p of [...this.borrowedPrefixes]) if (!wanted.has(p)) this.borrowedPrefixes.delete(p);
  }

  // ------------------------------------------------------------ reload

  /**
   * Reloads the file (or, for a cluster change, re-merges the file as last
   * loaded) and applies the difference. Concurrent calls are folded into one
   * more run, which re-reads the file if any of them asked for it.
   */
  reload(trigger: string, opts: { rereadFile?: boolean } = {}): Promise<void> {
    const reread = opts.rereadFile ?? true;
    if (this.stopping) return Promise.resolve();
    if (this.reloading) {
      // Folded into the run after the current one: the caller hears about that run, which covers its request.
      this.rereadAgain ||= reread;
      this.reloadNext ??= this.reloading.then(() => {
        const again = this.rereadAgain;
        this.reloadNext = undefined;
        this.rereadAgain = false;
        return this.reload('changed again during reload', { rereadFile: again });
      });
      return this.reloadNext;
    }
    this.reloading = this.doReload(trigger, reread).finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  /** A reload nobody waits for (a file or cluster change): failures are logged, never unhandled. */
  private reloadInBackground(trigger: string, opts: { rereadFile?: boolean } = {}): void {
    this.reload(trigger, opts).catch((err: unknown) => {
      this.log.error({ trigger, err: (err as Error).message }, 'reload failed unexpectedly; the running configuration stays as far as it was applied');
    });
  }

  private async doReload(trigger: string, rereadFile: boolean): Promise<void> {
    const at = new Date().toISOString();
    const fail = (message: string): void => {
      this.lastReload = { at, ok: false, message };
      this.metrics.reloads.inc({ result: 'failure' });
      this.log.error({ trigger, file: this.opts.configFile }, `reload rejected, the running configuration stays: ${message}`);
    };
    let nextFile = this.fileCfg;
    if (rereadFile) {
      const loaded = await readConfigFile(this.opts.configFile, this.opts.env);
      if (!loaded.ok) return fail(`invalid configuration:\n${formatIssues(loaded.issues)}`);
      nextFile = loaded.config;
    }
    if (this.stopping) return;
    const merged = this.kube?.merge(nextFile);
    const nextCfg = merged?.config ?? nextFile;
    const d = diffConfig(this.cfg, nextCfg);
    if (d.restartRequired.length > 0) return fail(`these changes need a restart of the agent: ${d.restartRequired.join('; ')}`);
    const old = this.cfg;
    const oldOrigins = this.origins;
    this.fileCfg = nextFile;
    this.cfg = nextCfg;
    if (merged) this.origins = merged.origins;
    if (rereadFile) this.configLoadedAt = new Date();
    const peers = new Map(effectivePeers(this.cfg).peers.map((p) => [p.key, p]));
    const done: string[] = [];
    for (const r of d.peersRemoved) {
      this.speaker.removePeer(r.key);
      this.peerTypes.delete(r.key);
      // A removed peer is not in the new origins: name where it came from.
      this.log.info({ peer: r.key, source: r.source, origin: this.originOf(r.key, oldOrigins) }, 'session removed: peer no longer configured');
      done.push(`removed ${r.key}`);
    }
    for (const c of d.peersChanged) {
      const p = peers.get(c.key);
      if (!p) continue;
      if (c.resetRequired) {
        this.speaker.removePeer(c.key);
        this.addPeer(p);
        this.log.info({ peer: c.key, why: c.reasons }, 'session reset: its parameters changed');
        done.push(`reset ${c.key} (${c.reasons.join(', ')})`);
      } else {
        const policies: { importPolicy?: typeof p.importPolicy; exportPolicy?: typeof p.exportPolicy } = {};
        if (c.reasons.some((x) => x.startsWith('import policy'))) policies.importPolicy = p.importPolicy;
        if (c.reasons.some((x) => x.startsWith('export policy'))) policies.exportPolicy = p.exportPolicy;
        if (Object.keys(policies).length > 0) this.speaker.setPeerPolicies(c.key, policies);
        this.log.info({ peer: c.key, why: c.reasons }, 'session kept: changes applied without a reset');
        done.push(`updated ${c.key} (${c.reasons.join(', ')})`);
      }
    }
    for (const a of d.peersAdded) {
      const p = peers.get(a.key);
      if (!p) continue;
      this.addPeer(p);
      this.log.info({ peer: a.key, source: a.source, origin: this.originOf(a.key) }, 'session added');
      done.push(`added ${a.key}`);
    }
    const labels = this.ipamLabels(this.cfg);
    if (d.ipamChanged || JSON.stringify(labels) !== JSON.stringify(this.appliedIpamLabels)) {
      this.ipam.updateConfig(this.cfg.ipam, labels);
      this.appliedIpamLabels = labels;
      done.push(d.ipamChanged ? 'IPAM settings applied' : 'node labels for IP pool selectors applied');
    }
    if (d.originateAdded.length || d.originateRemoved.length || d.communitiesChanged) {
      this.originateAll();
      done.push(`originated +${d.originateAdded.length} -${d.originateRemoved.length}`);
    }
    const message = done.length ? done.join('; ') : d.other.length ? `no session changes (${d.other.join('; ')})` : 'nothing changed';
    this.lastReload = { at, ok: true, message };
    this.metrics.reloads.inc({ result: 'success' });
    this.log.info({ trigger, file: rereadFile, unchangedPeers: [...peers.keys()].filter((k) => !done.some((x) => x.includes(k))).length, oldPeers: effectivePeers(old).peers.length }, `reload applied: ${message}`);
  }

  private watchFile(): void {
    let timer: NodeJS.Timeout | undefined;
    try {
      // Watch the directory: editors and ConfigMap updates replace the file.
      const dir = this.opts.configFile.replace(/\/[^/]*$/, '') || '.';
      const base = this.opts.configFile.slice(dir.length + 1);
      this.watcher = watch(dir, (_event, name) => {
        if (name !== null && name !== base && name !== '..data') return;
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => this.reloadInBackground('configuration file changed'), 300);
        timer.unref();
      });
      this.watcher.unref();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cannot watch the configuration file; use SIGHUP to reload');
    }
  }

  // ------------------------------------------------------------ views

  ready(): { ready: boolean; notReady: string[] } {
    return readiness({
      kernelReconciled: this.kernel.isReconciled,
      policyNotReady: this.policy?.notReady() ?? [],
      sessions: this.speaker.peerStatus().map((s) => ({ address: s.address, state: s.state, failed: s.lastError !== undefined })),
      sinceStartMs: Date.now() - this.startedAt,
      graceSec: this.cfg.health.readinessGraceSec,
    });
  }

  sessions(): SessionView[] {
    const now = Date.now();
    return this.speaker.peerStatus().map((s) => this.sessionView(s, now));
  }

  private sessionView(s: PeerStatus, now: number): SessionView {
    const v: SessionView = {
      peer: s.address, peerAsn: s.asn, type: this.peerTypes.get(s.address) ?? 'explicit', source: this.originOf(s.address), state: s.state,
      uptimeSec: s.uptimeSec, families: s.families, received: s.prefixesReceived, accepted: s.prefixesAccepted,
      advertised: s.prefixesAdvertised, stale: s.prefixesStale, flaps: s.flaps, updatesIn: s.updatesIn, updatesOut: s.updatesOut,
    };
    if (s.state === 'Established') v.since = new Date(now - s.uptimeSec * 1000).toISOString();
    else if (s.lastError) v.since = new Date(s.lastError.atMs).toISOString();
    if (s.description) v.description = s.description;
    if (s.peerRouterId) v.peerRouterId = s.peerRouterId;
    if (s.lastError) {
      const n = s.lastError.notification;
      v.lastError = {
        text: describeLastError(s.lastError), reason: s.lastError.reason, at: new Date(s.lastError.atMs).toISOString(),
        ...(n ? { code: n.code, subcode: n.subcode, direction: n.direction } : {}),
      };
    }
    return v;
  }

  routes(prefix: string | undefined, limit: number): RouteView[] {
    const rib = this.speaker.locRib;
    const view = (p: string): RouteView | undefined => {
      const e = rib.lookup(p);
      if (!e) return undefined;
      const best = e.best;
      const rv: RouteView = {
        prefix: p, reason: String(e.reason), multipath: e.multipath.filter((x) => x !== best).map(pathView),
        alternatives: e.candidates.filter((x) => x !== best).map(pathView),
      };
      if (best) rv.best = pathView(best);
      return rv;
    };
    if (prefix !== undefined) {
      const r = view(prefix);
      if (!r) throw new TortieError('ERR_ROUTE_NOT_FOUND', `no route for ${prefix}`);
      return [r];
    }
    // The first `limit` in prefix order, not the first the table happens to yield.
    return firstByPrefix(rib.prefixes(), limit).prefixes.flatMap((p) => view(p) ?? []);
  }

  status(): StatusView {
    const sessions = this.speaker.peerStatus();
    const r = this.ready();
    const k = this.kernel.stats();
    const s: StatusView = {
      version: AGENT_VERSION, node: this.cfg.node.name, asn: this.cfg.node.asn, routerId: this.cfg.node.routerId,
      startedAt: new Date(this.startedAt).toISOString(), uptimeSec: Math.floor((Date.now() - this.startedAt) / 1000),
      ready: r.ready, notReady: r.notReady, configFile: this.opts.configFile, configLoadedAt: this.configLoadedAt.toISOString(),
      sessions: { configured: sessions.length, established: sessions.filter((x) => x.state === 'Established').length },
      routes: { bgp: this.speaker.locRib.size, kernel: k.routesInstalled, originated: this.originated.size, failed: k.routesFailed + k.routesBlocked },
      routeFailures: this.kernel.status().filter((x) => x.state === 'failed' || x.state === 'blocked').slice(0, 20)
        .map((x) => ({ prefix: x.prefix, error: x.error ?? (x.blockedBy ? `blocked by a route of protocol ${x.blockedBy.proto}` : x.state) })),
    };
    if (this.lastReload) s.lastReload = this.lastReload;
    if (this.policy) s.policy = this.policy.summary();
    if (this.kube) s.kubernetes = { ...this.kube.status(), ...(this.nodeGc ? { ipamNodeGc: this.nodeGc.status() } : {}) };
    return s;
  }

  private apiRoutes(): Record<string, (url: URL, body: unknown) => unknown> {
    return {
      ...ipamRoutes(() => this.ipam),
      ...(this.policy ? this.policy.routes() : policyOffRoutes()),
      'GET /v1/status': () => this.status(),
      'GET /v1/bgp/sessions': () => ({ sessions: this.sessions() }),
      'GET /v1/bgp/routes': (url) => {
        const limit = Number(url.searchParams.get('limit') ?? 1000);
        if (!Number.isInteger(limit) || limit < 1) throw new TortieError('ERR_API_BAD_REQUEST', `limit must be a positive integer, not ${url.searchParams.get('limit')}`);
        return { routes: this.routes(url.searchParams.get('prefix') ?? undefined, limit) };
      },
      'GET /v1/kernel/routes': () => ({ routes: this.kernel.status() }),
      'POST /v1/reload': async () => {
        await this.reload('control API');
        return { lastReload: this.lastReload };
      },
    };
  }

  private metricsSource(): MetricsSource {
    return {
      sessions: () => (this.speaker ? this.sessions() : []),
      kernel: () => {
        const k = this.kernel.stats();
        return { installed: k.routesInstalled, errors: k.errors };
      },
      ready: () => (this.speaker ? this.ready() : { ready: false, notReady: ['starting'] }),
      policyPods: () => this.policy?.podStates() ?? {},
      kubernetes: () => {
        if (!this.kube) return undefined;
        const k = this.kube.cluster.status();
        return { stale: k.stale, peerChanges: k.changes };
      },
    };
  }

  private async startHttp(): Promise<void> {
    const { metrics, health } = this.cfg;
    const alive = (): boolean => Date.now() - this.lastTick < 10000;
    if (metrics.port !== 0) this.http.push(await serveHttp(metrics.address, metrics.port, this.metrics, this.metricsSource(), alive));
    if (health.port !== 0 && !(health.port === metrics.port && health.address === metrics.address)) {
      this.http.push(await serveHttp(health.address, health.port, undefined, this.metricsSource(), alive));
    }
  }
}

/** With policy disabled, the policy endpoints say so (the CNI plugin then skips its calls). */
function policyOffRoutes(): Record<string, () => unknown> {
  const off = (): never => {
    throw new TortieError('ERR_POLICY_DISABLED', 'NetworkPolicy is not enabled on this node (policy.enabled in the agent configuration)');
  };
  return {
    'POST /v1/policy/attachments': off, 'DELETE /v1/policy/attachments': off, 'GET /v1/policy/wait': off,
    'GET /v1/policy/pods/*': off, 'GET /v1/policy/verify': off, 'GET /v1/policy/status': () => ({ enabled: false, manifestIssues: [], attachments: 0, pods: [] }),
  };
}

function pathView(p: Path): PathView {
  const a = p.attrs;
  const v: PathView = {
    peer: p.source.isLocal ? 'local' : p.source.address,
    nextHops: [...a.nextHops],
    asPath: formatAsPath(a.asPath),
    origin: ORIGIN_NAMES[a.origin] ?? String(a.origin),
    communities: a.communities.map(formatCommunity),
    largeCommunities: a.largeCommunities.map((c) => `${c.global}:${c.local1}:${c.local2}`),
    stale: p.stale,
  };
  if (a.localPref !== undefined) v.localPref = a.localPref;
  if (a.med !== undefined) v.med = a.med;
  return v;
}
