/**
 * The agent's side of NetworkPolicy: it hosts the PolicyEnforcer, feeds it
 * from a policy source (the Kubernetes API through a KubePolicySource the
 * agent passes in, else the manifest directory) plus the CNI attachments
 * the plugin registers over the control socket, resyncs it periodically,
 * and serves the /v1/policy/* endpoints. Nothing is programmed from a
 * source that is not ready yet (not yet listed): empty input would remove
 * the rules of running pods.
 *
 * A refusal to start (a mixed iptables backend, say) does not stop the
 * agent: BGP and IPAM keep running, but readiness stays false with the
 * reason, and the policy endpoints answer with it.
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TortieError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { Family } from '../policy/compile/cidr.js';
import type { Attachment } from '../policy/compile/model.js';
import { PolicyEnforcer, withAttachments, type ApplyResult } from '../policy/enforcer.js';
import { HelperCommandRunner } from '../policy/helper-runner.js';
import { ManifestDirectorySource } from '../policy/manifest-source.js';
import { formatSourceIssue, type PolicySnapshot, type PolicySource } from '../policy/source.js';
import type {
  PolicyAttachmentRequest, PolicyAttachmentResponse, PolicyDetachResponse, PolicyShowView, PolicyStatusView, PolicyVerifyView, PolicyWaitResponse,
} from './api-types.js';
import type { PolicyConfig } from './config/index.js';
import type { CommandRunner } from './kernel/command-runner.js';

export interface PolicyHostOptions {
  /** The running configuration (cniWaitMs is read live). */
  config: () => PolicyConfig;
  /** Where the "policy was enabled here" marker lives (paths.stateDir). */
  stateDir?: string;
  log: Logger;
  onApplied?: (r: ApplyResult) => void;
  /** Tests: another runner than the helper process. */
  runner?: CommandRunner & { close?: () => void };
  /**
   * The policy input, e.g. a KubePolicySource. Given: it is used instead of
   * config().manifestDir; the host subscribes and calls its start() (which
   * must tolerate a second call), and leaves stopping it to its owner.
   */
  source?: PolicySource;
}

interface Registered extends PolicyAttachmentRequest {
  seq: number;
}

const MAX_WAIT_MS = 60_000;
/** Present while this node enforces policy: with policy switched off, its presence means our rules must go. */
export const POLICY_MARKER = 'policy-enabled';

function enforcerFor(cfg: PolicyConfig, runner: CommandRunner, log: Logger, onApplied?: (r: ApplyResult) => void): PolicyEnforcer {
  return new PolicyEnforcer({
    runner, ifacePrefix: cfg.ifacePrefix, markBit: cfg.markBit, backend: cfg.backend,
    families: cfg.families.map((f): Family => (f === 'ipv4' ? 4 : 6)), nodeAddresses: cfg.nodeAddresses, logger: log, ...(onApplied ? { onApplied } : {}),
  });
}

/**
 * Policy switched off: if it was on in an earlier run (the marker in
 * `stateDir`), remove every chain, jump and set of ours, then the marker.
 * Nothing is touched on a node that never enforced policy. Errors are
 * logged, not thrown (the rules stay; the next start tries again).
 */
export async function removePolicyIfDisabled(cfg: PolicyConfig, stateDir: string, log: Logger, runner?: CommandRunner & { close?: () => void }): Promise<boolean> {
  const marker = join(stateDir, POLICY_MARKER);
  if (cfg.enabled || !(await stat(marker).then(() => true, () => false))) return false;
  const r = runner ?? new HelperCommandRunner();
  try {
    const e = enforcerFor(cfg, r, log);
    await e.start();
    await e.removeAll();
    await rm(marker, { force: true });
    log.info({}, 'NetworkPolicy is switched off: removed the chains, jumps and sets an earlier run programmed');
    return true;
  } catch (err) {
    log.error({ err: (err as Error).message }, 'NetworkPolicy is switched off but its rules from an earlier run could not be removed; retrying at the next start');
    return false;
  } finally {
    r.close?.();
  }
}
const NAME_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export class PolicyHost {
  private enforcer: PolicyEnforcer | undefined;
  private source: PolicySource | undefined;
  private ownSource: ManifestDirectorySource | undefined;
  private unsubscribe: (() => void) | undefined;
  private loggedIssues = new Set<string>();
  private readonly runner: CommandRunner & { close?: () => void };
  private readonly attachments = new Map<string, Registered>();
  private seq = 0;
  private error: string | undefined;
  private lastApply: PolicyStatusView['lastApply'];
  private resyncTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(private readonly opts: PolicyHostOptions) {
    this.log = opts.log;
    this.runner = opts.runner ?? new HelperCommandRunner();
  }

  /** Never throws for a refusal of the kernel side: that is kept as `error` (readiness). */
  async start(): Promise<void> {
    const cfg = this.opts.config();
    try {
      this.enforcer = enforcerFor(cfg, this.runner, this.log, (r) => this.applied(r));
      const d = await this.enforcer.start();
      if (this.opts.stateDir !== undefined) {
        await mkdir(this.opts.stateDir, { recursive: true });
        await writeFile(join(this.opts.stateDir, POLICY_MARKER), `${new Date().toISOString()}\n`);
      }
      this.log.info({ backend: d.backend, reason: d.reason }, 'NetworkPolicy enforcer started');
    } catch (err) {
      const code = err instanceof TortieError ? err.code : 'ERR_POLICY_START';
      this.error = `${code}: ${(err as Error).message}`;
      this.enforcer = undefined;
      this.log.error({ err: this.error }, 'NetworkPolicy enforcer refused to start: the agent stays not ready, and no policy is enforced');
      return;
    }
    if (this.opts.source) {
      this.source = this.opts.source;
    } else if (cfg.manifestDir !== undefined) {
      this.ownSource = new ManifestDirectorySource({ dir: cfg.manifestDir, logger: this.log });
      this.source = this.ownSource;
    }
    if (this.source) {
      this.unsubscribe = this.source.onChange((s) => this.onSnapshot(s));
      await this.source.start();
    }
    this.push();
    if (cfg.resyncIntervalSec > 0) {
      this.resyncTimer = setInterval(() => {
        this.enforcer?.resync().catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'NetworkPolicy resync failed'));
      }, cfg.resyncIntervalSec * 1000);
      this.resyncTimer.unref();
    }
  }

  /** Stops watching and rejects waiters; the rules stay in place (a restart must not open the network). */
  stop(): void {
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.unsubscribe?.();
    this.ownSource?.stop();
    this.enforcer?.close();
    this.runner.close?.();
  }

  notReady(): string[] {
    if (this.error !== undefined) return [`NetworkPolicy enforcer not running: ${this.error}`];
    if (this.source?.ready === false) return ['NetworkPolicy input not synced yet (waiting for the first list of Pods, Namespaces and NetworkPolicies)'];
    if (this.lastApply === undefined) return ['NetworkPolicy not programmed yet'];
    if (!this.lastApply.ok) return [`last NetworkPolicy apply failed: ${this.lastApply.error ?? 'unknown error'}`];
    return [];
  }

  summary(): { backend?: string; error?: string; pods: number; programmed: number } {
    const pods = this.enforcer?.statuses() ?? [];
    return {
      ...(this.enforcer?.backend ? { backend: this.enforcer.backend.backend } : {}),
      ...(this.error !== undefined ? { error: this.error } : {}),
      pods: pods.length, programmed: pods.filter((p) => p.state === 'programmed').length,
    };
  }

  /** Local pods by state, for the tortie_policy_pods gauge. */
  podStates(): Record<string, number> {
    const out: Record<string, number> = { programmed: 0, updating: 0, pending: 0 };
    for (const p of this.enforcer?.statuses() ?? []) out[p.state] = (out[p.state] ?? 0) + 1;
    return out;
  }

  // ------------------------------------------------------------ feeding the enforcer

  private onSnapshot(s: PolicySnapshot): void {
    // Each issue is logged once, while it lasts (a Kubernetes source emits often).
    const seen = new Set<string>();
    for (const i of s.issues) {
      const text = formatSourceIssue(i);
      seen.add(text);
      if (!this.loggedIssues.has(text)) this.log.warn({ file: i.file, line: i.line, column: i.column, object: i.object, path: i.path }, `policy input: ${i.message}`);
    }
    this.loggedIssues = seen;
    this.push();
  }

  /** Desired state = manifests joined with attachments; then one (coalesced) apply. */
  private push(): void {
    const e = this.enforcer;
    if (!e) return;
    const byPod = new Map<string, Attachment>();
    for (const a of [...this.attachments.values()].sort((x, y) => x.seq - y.seq)) byPod.set(`${a.namespace}/${a.pod}`, { ifName: a.ifName, ips: a.ips });
    // Not listed yet: keep what is programmed (the CNI waits; a new pod's traffic stays dropped).
    if (this.source?.ready === false) return;
    const snap = this.source?.snapshot ?? { namespaces: [], pods: [], policies: [] };
    e.setState(withAttachments({ namespaces: snap.namespaces, pods: snap.pods, policies: snap.policies }, byPod));
    e.apply().catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'NetworkPolicy apply failed; the next change or resync retries'));
  }

  private applied(r: ApplyResult): void {
    this.lastApply = { at: new Date().toISOString(), ok: r.ok, changed: r.changed, totalMs: r.totalMs, ...(r.error !== undefined ? { error: r.error } : {}) };
    this.opts.onApplied?.(r);
  }

  private require(): PolicyEnforcer {
    if (this.enforcer) return this.enforcer;
    throw new TortieError('ERR_POLICY_NOT_RUNNING', this.error !== undefined ? `NetworkPolicy enforcer not running: ${this.error}` : 'NetworkPolicy enforcer not started yet');
  }

  // ------------------------------------------------------------ control API

  attach(body: unknown): PolicyAttachmentResponse {
    const e = this.require();
    const a = parseAttachment(body);
    // One entry per container and pod-side interface (CNI_IFNAME, the same on ADD and DEL): DEL of a
    // pod's second tortie interface (Multus) keeps the first's entry. Rules follow one interface per
    // pod, the latest registered (push()).
    this.attachments.set(attachmentKey(a.containerId, a.podIfName), { ...a, seq: ++this.seq });
    this.log.info({ pod: `${a.namespace}/${a.pod}`, ifName: a.ifName, ips: a.ips, containerId: a.containerId }, 'pod attachment registered');
    this.push();
    const key = `${a.namespace}/${a.pod}`;
    return { pod: key, state: e.status(key).state };
  }

  detach(url: URL): PolicyDetachResponse {
    this.require();
    const id = url.searchParams.get('containerId');
    if (id === null || id === '') throw new TortieError('ERR_API_BAD_REQUEST', 'containerId is required');
    // With podIfName (CNI_IFNAME), that attachment; without (older plugins), every one of the container.
    const podIfName = url.searchParams.get('podIfName');
    const gone = [...this.attachments].filter(([k, a]) => (podIfName !== null && podIfName !== '' ? k === attachmentKey(id, podIfName) : a.containerId === id));
    if (gone.length === 0) return { removed: false };
    for (const [k, a] of gone) {
      this.attachments.delete(k);
      this.log.info({ pod: `${a.namespace}/${a.pod}`, containerId: id, ifName: a.ifName }, 'pod attachment removed');
    }
    this.push();
    const a = gone[0][1];
    return { removed: true, pod: `${a.namespace}/${a.pod}` };
  }

  async wait(url: URL): Promise<PolicyWaitResponse> {
    const e = this.require();
    const ns = url.searchParams.get('namespace') ?? '';
    const pod = url.searchParams.get('pod') ?? '';
    if (ns === '' || pod === '') throw new TortieError('ERR_API_BAD_REQUEST', 'namespace and pod are required');
    const t = url.searchParams.get('timeoutMs');
    const timeoutMs = t === null ? this.opts.config().cniWaitMs : Number(t);
    if (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > MAX_WAIT_MS) {
      throw new TortieError('ERR_API_BAD_REQUEST', `timeoutMs must be an integer 0..${MAX_WAIT_MS}, not ${t}`);
    }
    const key = `${ns}/${pod}`;
    const started = Date.now();
    try {
      const s = await e.waitProgrammed(key, timeoutMs);
      return { pod: key, programmed: true, state: s.state, waitedMs: Date.now() - started };
    } catch (err) {
      if (!(err instanceof TortieError) || (err.code !== 'ERR_POLICY_PROGRAM_TIMEOUT' && err.code !== 'ERR_POLICY_CLOSED')) throw err;
      const state = e.status(key).state;
      const why = state === 'unknown'
        ? `the pod is not known with an attachment on this node (is it in the policy input${this.source?.ready === false ? ', which is not synced yet' : ''}, and was it registered?)`
        : `its rules are not programmed yet (${state})`;
      return { pod: key, programmed: false, state, waitedMs: Date.now() - started, message: `not programmed within ${timeoutMs} ms: ${why}; its traffic stays dropped until they are` };
    }
  }

  show(url: URL): PolicyShowView {
    const e = this.require();
    const rest = decodeURIComponent(url.pathname.slice('/v1/policy/pods/'.length));
    const [ns, pod, extra] = rest.split('/');
    if (!ns || !pod || extra !== undefined) throw new TortieError('ERR_API_BAD_REQUEST', `expected /v1/policy/pods/<namespace>/<pod>, not ${url.pathname}`);
    const v = e.show(`${ns}/${pod}`);
    if (!v) throw new TortieError('ERR_POLICY_POD_NOT_FOUND', `no pod ${ns}/${pod} in the policy source`);
    return v;
  }

  async verify(): Promise<PolicyVerifyView> {
    return this.require().verify();
  }

  status(): PolicyStatusView {
    const cfg = this.opts.config();
    const pods = this.enforcer?.statuses() ?? [];
    return {
      enabled: true,
      ...(this.enforcer?.backend ? { backend: this.enforcer.backend.backend } : {}),
      ...(this.error !== undefined ? { error: this.error } : {}),
      ...(this.ownSource && cfg.manifestDir !== undefined ? { manifestDir: cfg.manifestDir } : {}),
      manifestIssues: (this.source?.snapshot.issues ?? []).map(formatSourceIssue),
      attachments: this.attachments.size,
      ...(this.lastApply ? { lastApply: this.lastApply } : {}),
      pods,
    };
  }

  routes(): Record<string, (url: URL, body: unknown) => unknown> {
    return {
      'POST /v1/policy/attachments': (_url, body) => this.attach(body),
      'DELETE /v1/policy/attachments': (url) => this.detach(url),
      'GET /v1/policy/wait': (url) => this.wait(url),
      'GET /v1/policy/pods/*': (url) => this.show(url),
      'GET /v1/policy/verify': () => this.verify(),
      'GET /v1/policy/status': () => this.status(),
    };
  }
}

/** Attachments are per container and pod-side interface (unknown from older plugins: one per container). */
function attachmentKey(containerId: string, podIfName: string | undefined): string {
  return `${containerId}/${podIfName ?? ''}`;
}

/** Checks a POST /v1/policy/attachments body. */
export function parseAttachment(body: unknown): PolicyAttachmentRequest {
  const bad = (m: string): never => {
    throw new TortieError('ERR_API_BAD_REQUEST', `attachment: ${m}`);
  };
  if (body === null || typeof body !== 'object') return bad('expected a JSON object {namespace, pod, ifName, ips, containerId}');
  const b = body as Record<string, unknown>;
  const str = (k: string): string => (typeof b[k] === 'string' && b[k] !== '' ? b[k] : bad(`${k} must be a non-empty string`));
  const namespace = str('namespace');
  const pod = str('pod');
  const ifName = str('ifName');
  const containerId = str('containerId');
  if (!NAME_RE.test(namespace)) bad(`namespace ${JSON.stringify(namespace)} is not a Kubernetes name`);
  if (!NAME_RE.test(pod)) bad(`pod ${JSON.stringify(pod)} is not a Kubernetes name`);
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(ifName)) bad(`ifName ${JSON.stringify(ifName)} is not an interface name`);
  if (!Array.isArray(b.ips) || b.ips.some((x) => typeof x !== 'string')) bad('ips must be a list of addresses');
  const ips = (b.ips as string[]).map((x) => x.replace(/\/\d+$/, ''));
  if (b.podIfName !== undefined && (typeof b.podIfName !== 'string' || !/^[A-Za-z0-9_.-]{1,15}$/.test(b.podIfName))) {
    bad(`podIfName ${JSON.stringify(b.podIfName)} is not an interface name`);
  }
  return { namespace, pod, ifName, ips, containerId, ...(typeof b.podIfName === 'string' ? { podIfName: b.podIfName } : {}) };
}
