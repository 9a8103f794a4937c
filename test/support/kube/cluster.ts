/**
 * A real Kubernetes control plane for integration tests: Debian's etcd and
 * the kube-apiserver that scripts/kube-apiserver.sh builds, both on
 * 127.0.0.1 with free ports, a private temp dir, generated certificates and
 * bearer tokens.
 *
 *   const kube = await KubeCluster.start();
 *   const kc = kube.kubeConfig();          // @kubernetes/client-node KubeConfig (admin)
 *   kube.kubeconfigFile                    // the same as a file
 *   await kube.stopApiserver(); await kube.startApiserver();   // API outage, same port and data
 *   await kube.stop();                     // idempotent; removes the temp dir
 *
 * Processes are ours alone and signalled only by the PID we started. If the
 * test process exits without stop(), an exit hook SIGKILLs them.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { TortieError } from '../../../lib/errors.js';
import { findCommand, sleep, TrackedProcess } from '../netns.js';
import { makePki, type KubePki } from './certs.js';

/** A user in the apiserver's token file. */
export interface KubeUser {
  readonly name: string;
  readonly groups: readonly string[];
}

/** The admin user: in system:masters, so RBAC allows everything. */
export const ADMIN_USER: KubeUser = { name: 'tortie-test-admin', groups: ['system:masters'] };

/**
 * A user RBAC must authorise (discovery, via the bootstrap system:discovery
 * binding). A restarted apiserver answers /readyz before its RBAC cache is
 * filled and refuses everyone but system:masters for a moment; start waits
 * until this user gets an answer too.
 */
const PROBE_USER: KubeUser = { name: 'tortie-test-probe', groups: ['system:authenticated'] };

export interface KubeClusterOptions {
  /** Users besides the admin, each with its own bearer token (e.g. a ServiceAccount's name to test RBAC). */
  readonly users?: readonly KubeUser[];
  /** Default 60 s (the apiserver needs about 4 s on an idle machine). */
  readonly readyTimeoutMs?: number;
  /** Appended to the apiserver's flags. */
  readonly apiserverArgs?: readonly string[];
  /** Write an audit log (level Metadata, every request) that auditEvents() reads. */
  readonly audit?: boolean;
}

/** The parts of an audit.k8s.io/v1 Event the tests read. */
export interface AuditEvent {
  readonly stage: string;
  readonly verb: string;
  readonly requestURI: string;
  readonly user: { readonly username: string; readonly groups?: readonly string[] };
  readonly objectRef?: { readonly resource?: string; readonly apiGroup?: string; readonly subresource?: string; readonly name?: string };
  readonly responseStatus?: { readonly code?: number };
  readonly stageTimestamp?: string;
}

const REPO_ROOT = resolve(import.meta.dirname, '../../..');
const CLUSTER_NAME = 'tortie-test';
export const SERVICE_CLUSTER_IP_RANGE = '10.96.0.0/16';

/** The cached kube-apiserver binary: $TORTIE_KUBE_APISERVER, else what scripts/kube-apiserver.sh built. */
export function kubeApiserverBinary(): string {
  const env = process.env.TORTIE_KUBE_APISERVER;
  if (env) {
    if (!existsSync(env)) throw new TortieError('ERR_TEST_PREREQ', `TORTIE_KUBE_APISERVER=${env} does not exist`);
    return env;
  }
  try {
    return execFileSync(join(REPO_ROOT, 'scripts/kube-apiserver.sh'), ['--path'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    const why = (err as { stderr?: string }).stderr?.trim() ?? String(err);
    throw new TortieError('ERR_TEST_PREREQ', `kube-apiserver is not built: run scripts/kube-apiserver.sh first (${why})`);
  }
}

function etcdBinary(): string {
  const etcd = process.env.TORTIE_ETCD ?? findCommand('etcd');
  if (!etcd) throw new TortieError('ERR_TEST_PREREQ', 'etcd not found: apt-get install etcd-server');
  return etcd;
}

/** A port that was free a moment ago on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => res(port));
    });
  });
}

function tokenFor(user: KubeUser, i: number): string {
  return `tt-${process.pid}-${i}-${Buffer.from(user.name).toString('hex').slice(0, 24)}-${Math.random().toString(36).slice(2)}`;
}

interface HttpAnswer {
  status: number;
  body: string;
}

function get(url: string, opts: { ca?: Buffer; token?: string }): Promise<HttpAnswer> {
  return new Promise((res, rej) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, {
      method: 'GET',
      ...(opts.ca ? { ca: opts.ca } : {}),
      headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
      timeout: 3000,
    }, (resp) => {
      let body = '';
      resp.setEncoding('utf8');
      resp.on('data', (c: string) => { body += c; });
      resp.on('end', () => res({ status: resp.statusCode ?? 0, body }));
      resp.on('error', rej);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', rej);
    req.end();
  });
}

function spawnLogged(argv: readonly string[], logFile: string): TrackedProcess {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', fd, fd], detached: false });
    return new TrackedProcess(child, argv, logFile, 10_000);
  } finally {
    closeSync(fd);
  }
}

const live = new Set<TrackedProcess>();
let exitHookInstalled = false;
function track(p: TrackedProcess): TrackedProcess {
  live.add(p);
  void p.exited().then(() => live.delete(p));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const q of live) q.signal('SIGKILL');
    });
  }
  return p;
}

export class KubeCluster {
  /** https://127.0.0.1:<port> */
  readonly server: string;
  readonly dir: string;
  readonly caFile: string;
  /** A kubeconfig file for the admin user. */
  readonly kubeconfigFile: string;
  readonly etcdUrl: string;
  private readonly tokens = new Map<string, string>();
  private apiserver: TrackedProcess | undefined;
  private etcd: TrackedProcess | undefined;
  private stopping: Promise<void> | undefined;
  private readonly startWindows: { from: number; to: number }[] = [];

  private constructor(
    dir: string,
    private readonly pki: KubePki,
    private readonly port: number,
    etcdPort: number,
    private readonly opts: KubeClusterOptions,
  ) {
    this.dir = dir;
    this.server = `https://127.0.0.1:${port}`;
    this.caFile = pki.caCert;
    this.kubeconfigFile = join(dir, 'admin.kubeconfig');
    this.etcdUrl = `http://127.0.0.1:${etcdPort}`;
  }

  /** Starts etcd and kube-apiserver and waits for /readyz. Cleans up after itself if that fails. */
  static async start(opts: KubeClusterOptions = {}): Promise<KubeCluster> {
    const apiserverBin = kubeApiserverBinary();
    const etcdBin = etcdBinary();
    if (!findCommand('openssl')) throw new TortieError('ERR_TEST_PREREQ', 'openssl not found: apt-get install openssl');
    const dir = mkdtempSync(join(tmpdir(), `tt-kube-${process.pid}-`));
    const [port, etcdPort, peerPort] = [await freePort(), await freePort(), await freePort()];
    let cluster: KubeCluster | undefined;
    try {
      const pki = await makePki(dir);
      cluster = new KubeCluster(dir, pki, port, etcdPort, opts);
      cluster.writeTokens();
      writeFileSync(cluster.kubeconfigFile, cluster.kubeconfigText(ADMIN_USER.name));
      await cluster.startEtcd(etcdBin, peerPort);
      await cluster.startApiserverWith(apiserverBin);
      return cluster;
    } catch (err) {
      if (cluster) await cluster.stop();
      else rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  private users(): KubeUser[] {
    return [ADMIN_USER, PROBE_USER, ...(this.opts.users ?? [])];
  }

  private writeTokens(): void {
    const lines = this.users().map((u, i) => {
      const token = tokenFor(u, i);
      this.tokens.set(u.name, token);
      return `${token},${u.name},uid-${i},"${u.groups.join(',')}"`;
    });
    writeFileSync(join(this.dir, 'tokens.csv'), `${lines.join('\n')}\n`, { mode: 0o600 });
  }

  /** The bearer token of a user (the admin by default). */
  token(user = ADMIN_USER.name): string {
    const t = this.tokens.get(user);
    if (t === undefined) throw new TortieError('ERR_TEST_PREREQ', `no user ${user} in this cluster`);
    return t;
  }

  /** A kubeconfig (YAML text) for a user. */
  kubeconfigText(user = ADMIN_USER.name): string {
    return stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: CLUSTER_NAME, cluster: { server: this.server, 'certificate-authority': this.caFile } }],
      users: [{ name: user, user: { token: this.token(user) } }],
      contexts: [{ name: CLUSTER_NAME, context: { cluster: CLUSTER_NAME, user } }],
      'current-context': CLUSTER_NAME,
    });
  }

  /** Writes a kubeconfig file for a user and returns its path. */
  kubeconfigFileFor(user: string): string {
    const file = join(this.dir, `${user.replace(/[^\w.-]/g, '_')}.kubeconfig`);
    writeFileSync(file, this.kubeconfigText(user), { mode: 0o600 });
    return file;
  }

  /** A client-node KubeConfig for a user (the admin by default). */
  kubeConfig(user = ADMIN_USER.name): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: CLUSTER_NAME, server: this.server, caFile: this.caFile, skipTLSVerify: false }],
      users: [{ name: user, token: this.token(user) }],
      contexts: [{ name: CLUSTER_NAME, cluster: CLUSTER_NAME, user }],
      currentContext: CLUSTER_NAME,
    });
    return kc;
  }

  private async startEtcd(bin: string, peerPort: number): Promise<void> {
    const peer = `http://127.0.0.1:${peerPort}`;
    mkdirSync(join(this.dir, 'etcd'), { mode: 0o700 });
    this.etcd = track(spawnLogged([
      bin, '--name', 'tt', '--data-dir', join(this.dir, 'etcd'),
      '--listen-client-urls', this.etcdUrl, '--advertise-client-urls', this.etcdUrl,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `tt=${peer}`,
      '--logger', 'zap', '--log-level', 'warn',
    ], join(this.dir, 'etcd.log')));
    await this.waitHttp('etcd', `${this.etcdUrl}/health`, {}, (a) => a.status === 200 && a.body.includes('true'), this.etcd, 20_000);
  }

  private auditArgs(): string[] {
    if (this.opts.audit !== true) return [];
    const policy = join(this.dir, 'audit-policy.yaml');
    writeFileSync(policy, stringify({ apiVersion: 'audit.k8s.io/v1', kind: 'Policy', omitStages: ['RequestReceived'], rules: [{ level: 'Metadata' }] }));
    return [`--audit-policy-file=${policy}`, `--audit-log-path=${join(this.dir, 'audit.log')}`, '--audit-log-format=json', '--audit-log-mode=blocking'];
  }

  /** The audit log so far (needs `audit: true`), optionally only one user's requests. */
  auditEvents(user?: string): AuditEvent[] {
    if (this.opts.audit !== true) throw new TortieError('ERR_TEST_PREREQ', 'start the cluster with { audit: true }');
    let text: string;
    try {
      text = readFileSync(join(this.dir, 'audit.log'), 'utf8');
    } catch {
      return [];
    }
    return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as AuditEvent)
      .filter((e) => user === undefined || e.user.username === user);
  }

  private async startApiserverWith(bin: string): Promise<void> {
    const pki = this.pki;
    const window = { from: Date.now(), to: Number.POSITIVE_INFINITY };
    this.startWindows.push(window);
    const flags: Record<string, string> = {
      'etcd-servers': this.etcdUrl,
      'bind-address': '127.0.0.1', 'advertise-address': '127.0.0.1', 'secure-port': String(this.port),
      'tls-cert-file': pki.serverCert, 'tls-private-key-file': pki.serverKey, 'cert-dir': join(this.dir, 'certs'),
      'token-auth-file': join(this.dir, 'tokens.csv'), 'authorization-mode': 'RBAC', 'anonymous-auth': 'false',
      'service-account-key-file': pki.saPub, 'service-account-signing-key-file': pki.saKey,
      'service-account-issuer': 'https://kubernetes.default.svc',
      'service-cluster-ip-range': SERVICE_CLUSTER_IP_RANGE,
      // Only loopback and no controller-manager: no endpoints to reconcile, no token controller.
      'endpoint-reconciler-type': 'none', 'disable-admission-plugins': 'ServiceAccount',
      'allow-privileged': 'true', profiling: 'false', 'enable-priority-and-fairness': 'false',
      logtostderr: 'true', v: '1',
    };
    // Go flags: booleans only take a value in the --flag=value form, so every flag is written that way.
    this.apiserver = track(spawnLogged([
      bin,
      ...Object.entries(flags).map(([k, v]) => `--${k}=${v}`),
      ...this.auditArgs(),
      ...(this.opts.apiserverArgs ?? []),
    ], join(this.dir, 'kube-apiserver.log')));
    const ca = readFileSync(pki.caCert);
    const timeoutMs = this.opts.readyTimeoutMs ?? 60_000;
    await this.waitHttp('kube-apiserver', `${this.server}/readyz`, { ca, token: this.token() }, (a) => a.status === 200, this.apiserver, timeoutMs);
    await this.waitHttp('kube-apiserver RBAC', `${this.server}/apis`, { ca, token: this.token(PROBE_USER.name) }, (a) => a.status === 200, this.apiserver, timeoutMs);
    // /readyz can come before the bootstrap controller has created the system
    // namespaces (seen under load); tests may expect them, so wait for the last one it makes.
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      await this.waitHttp(`kube-apiserver namespace ${ns}`, `${this.server}/api/v1/namespaces/${ns}`, { ca, token: this.token() }, (a) => a.status === 200, this.apiserver, timeoutMs);
    }
    window.to = Date.now();
  }

  /**
   * True when `at` (an audit stageTimestamp) fell while an apiserver was
   * starting: it serves before its RBAC cache is filled and may refuse
   * requests (403) that it allows a moment later.
   */
  duringStart(at: string | undefined): boolean {
    const t = at === undefined ? Number.NaN : Date.parse(at);
    return this.startWindows.some((w) => t >= w.from && t <= w.to);
  }

  private async waitHttp(
    what: string, url: string, opts: { ca?: Buffer; token?: string }, ok: (a: HttpAnswer) => boolean, proc: TrackedProcess, timeoutMs: number,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: string;
    for (;;) {
      if (!proc.running) {
        throw new TortieError('ERR_TEST_DAEMON_START', `${what} exited (${JSON.stringify(proc.exit)}) before it was ready:\n${proc.logTail(40)}`);
      }
      try {
        const a = await get(url, opts);
        if (ok(a)) return;
        last = `HTTP ${a.status}: ${a.body.slice(0, 300)}`;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline) {
        throw new TortieError('ERR_TEST_TIMEOUT', `${what} not ready after ${timeoutMs} ms (last: ${last}):\n${proc.logTail(40)}`);
      }
      await sleep(100);
    }
  }

  get apiserverPid(): number | undefined {
    return this.apiserver?.running ? this.apiserver.pid : undefined;
  }

  get etcdPid(): number | undefined {
    return this.etcd?.running ? this.etcd.pid : undefined;
  }

  /** Stops the apiserver only (an API outage); etcd and its data stay. `kill`: SIGKILL instead of a graceful stop. */
  async stopApiserver(kill = false): Promise<void> {
    const p = this.apiserver;
    if (!p) return;
    if (kill) {
      p.signal('SIGKILL');
      await p.exited();
    } else {
      await p.stop();
    }
    this.apiserver = undefined;
  }

  /** Starts the apiserver again on the same port with the same data. */
  async startApiserver(): Promise<void> {
    if (this.apiserver?.running) return;
    await this.startApiserverWith(kubeApiserverBinary());
  }

  apiserverLogTail(lines = 40): string {
    return this.apiserver?.logTail(lines) ?? '';
  }

  /** Stops both processes (by PID) and removes the temp dir. Idempotent, never throws. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.apiserver?.stop().catch(() => undefined);
      await this.etcd?.stop().catch(() => undefined);
      this.apiserver = undefined;
      this.etcd = undefined;
      if (process.env.TORTIE_KUBE_KEEP_DIR !== '1') rmSync(this.dir, { recursive: true, force: true });
    })();
    return this.stopping;
  }
}
