/**
 * Prometheus metrics and the health probes. Values are read from the live
 * objects at scrape time (collect callbacks), so nothing has to remember to
 * update a gauge.
 */
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { TortieError } from '../lib/errors.js';
import type { ApplyResult } from '../policy/enforcer.js';
import type { SessionView } from './api-types.js';

export interface MetricsSource {
  sessions(): SessionView[];
  kernel(): { installed: number; errors: number };
  ready(): { ready: boolean; notReady: string[] };
  /** NetworkPolicy: local pods by state (programmed, updating, pending); absent when policy is off. */
  policyPods?(): Record<string, number>;
  /** Kubernetes: absent when the agent does not talk to an API server. */
  kubernetes?(): { stale: boolean; peerChanges: number } | undefined;
}

const STATE_NUMBER: Record<string, number> = { Idle: 1, Connect: 2, Active: 3, OpenSent: 4, OpenConfirm: 5, Established: 6 };

export class AgentMetrics {
  readonly registry = new Registry();
  readonly routeProgramming: Histogram;
  readonly reloads: Counter<'result'>;
  readonly updates: Counter<'peer' | 'direction'>;
  readonly policyProgramming: Histogram<'stage'>;
  readonly policyApplies: Counter<'result'>;
  readonly policyWritten: Counter<'kind'>;

  constructor(src: MetricsSource) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: 'tortie_' });
    new Gauge({
      name: 'tortie_bgp_session_state', help: 'BGP session state per peer: 1 Idle, 2 Connect, 3 Active, 4 OpenSent, 5 OpenConfirm, 6 Established',
      labelNames: ['peer', 'peer_asn', 'type'], registers: [r],
      collect() {
        this.reset();
        for (const s of src.sessions()) this.set({ peer: s.peer, peer_asn: String(s.peerAsn), type: s.type }, STATE_NUMBER[s.state] ?? 0);
      },
    });
    new Gauge({
      name: 'tortie_bgp_prefixes', help: 'Prefixes per peer and direction (received, accepted, advertised, stale)',
      labelNames: ['peer', 'direction'], registers: [r],
      collect() {
        this.reset();
        for (const s of src.sessions()) {
          this.set({ peer: s.peer, direction: 'received' }, s.received);
          this.set({ peer: s.peer, direction: 'accepted' }, s.accepted);
          this.set({ peer: s.peer, direction: 'advertised' }, s.advertised);
          this.set({ peer: s.peer, direction: 'stale' }, s.stale);
        }
      },
    });
    new Gauge({
      name: 'tortie_bgp_session_flaps', help: 'Times the session left Established', labelNames: ['peer'], registers: [r],
      collect() {
        this.reset();
        for (const s of src.sessions()) this.set({ peer: s.peer }, s.flaps);
      },
    });
    this.updates = new Counter({
      name: 'tortie_bgp_updates_total', help: 'BGP UPDATE messages by peer and direction (in, out)', labelNames: ['peer', 'direction'], registers: [r],
      collect() {
        this.reset();
        for (const s of src.sessions()) {
          this.inc({ peer: s.peer, direction: 'in' }, s.updatesIn);
          this.inc({ peer: s.peer, direction: 'out' }, s.updatesOut);
        }
      },
    });
    this.routeProgramming = new Histogram({
      name: 'tortie_route_programming_seconds', help: 'Time to apply one batch of kernel route changes',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [r],
    });
    new Gauge({
      name: 'tortie_kernel_routes', help: 'Routes installed in the kernel with our protocol tag', registers: [r],
      collect() { this.set(src.kernel().installed); },
    });
    new Gauge({
      name: 'tortie_route_programming_errors', help: 'Kernel route changes that failed since start', registers: [r],
      collect() { this.set(src.kernel().errors); },
    });
    new Gauge({
      name: 'tortie_ready', help: '1 when the agent is ready (see /readyz)', registers: [r],
      collect() { this.set(src.ready().ready ? 1 : 0); },
    });
    new Gauge({
      name: 'tortie_policy_pods', help: 'Local pods by NetworkPolicy state (programmed, updating, pending)', labelNames: ['state'], registers: [r],
      collect() {
        this.reset();
        for (const [state, n] of Object.entries(src.policyPods?.() ?? {})) this.set({ state }, n);
      },
    });
    this.policyProgramming = new Histogram({
      name: 'tortie_policy_programming_seconds', help: 'NetworkPolicy apply latency by stage (compile, diff, write, total)', labelNames: ['stage'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5], registers: [r],
    });
    this.policyApplies = new Counter({
      name: 'tortie_policy_applies_total', help: 'NetworkPolicy applies that wrote something or failed, by result (success, failure)', labelNames: ['result'], registers: [r],
    });
    this.policyWritten = new Counter({
      name: 'tortie_policy_written_total', help: 'NetworkPolicy objects written: chains, rules, sets created, sets destroyed', labelNames: ['kind'], registers: [r],
    });
    new Gauge({
      name: 'tortie_kubernetes_stale', help: '1 while the Kubernetes API is unreachable (the last peers, routes and policy stay in use); absent without Kubernetes',
      registers: [r],
      collect() {
        this.reset();
        const k = src.kubernetes?.();
        if (k) this.set(k.stale ? 1 : 0);
      },
    });
    new Counter({
      name: 'tortie_kubernetes_peer_changes_total', help: 'Changes of the peers the Kubernetes API contributes (Nodes, BGPPeers, BGPConfiguration)',
      registers: [r],
      collect() {
        this.reset();
        const k = src.kubernetes?.();
        if (k) this.inc(k.peerChanges);
      },
    });
    this.reloads = new Counter({ name: 'tortie_config_reloads_total', help: 'Configuration reloads by result (success, failure)', labelNames: ['result'], registers: [r] });
  }
}

export interface PolicyMetrics {
  policyProgramming: Histogram<'stage'>;
  policyApplies: Counter<'result'>;
  policyWritten: Counter<'kind'>;
}

/** Records one enforcer apply (its onApplied callback). */
export function recordPolicyApply(m: PolicyMetrics, r: ApplyResult): void {
  m.policyApplies.inc({ result: r.ok ? 'success' : 'failure' });
  if (!r.ok) return;
  m.policyProgramming.observe({ stage: 'compile' }, r.compileMs / 1000);
  m.policyProgramming.observe({ stage: 'diff' }, r.diffMs / 1000);
  m.policyProgramming.observe({ stage: 'write' }, r.writeMs / 1000);
  m.policyProgramming.observe({ stage: 'total' }, r.totalMs / 1000);
  m.policyWritten.inc({ kind: 'chains' }, r.tables.reduce((n, t) => n + t.chainsWritten, 0));
  m.policyWritten.inc({ kind: 'rules' }, r.tables.reduce((n, t) => n + t.rulesWritten, 0));
  m.policyWritten.inc({ kind: 'sets_created' }, r.sets.created);
  m.policyWritten.inc({ kind: 'sets_destroyed' }, r.sets.destroyed);
}

/** Serves /metrics, /healthz and /readyz on a localhost TCP port. */
export async function serveHttp(
  address: string, port: number, metrics: AgentMetrics | undefined, src: MetricsSource, alive: () => boolean,
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics' && metrics) {
      metrics.registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(text);
      }, (err: unknown) => {
        res.writeHead(500);
        res.end(String(err));
      });
      return;
    }
    if (path === '/healthz') {
      const ok = alive();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'event loop stalled\n');
      return;
    }
    if (path === '/readyz') {
      const r = src.ready();
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(r.ready ? 'ready\n' : `not ready: ${r.notReady.join('; ')}\n`);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: try /metrics, /healthz, /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new TortieError('ERR_HTTP_LISTEN', `cannot listen on ${address}:${port}: ${err.message}`, { cause: err })));
    server.listen(port, address, () => resolve());
  });
  return server;
}
