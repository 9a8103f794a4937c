/**
 * The agent's NetworkPolicy host against the in-memory netfilter: a
 * refused start keeps the agent not ready with the reason; attachments,
 * wait, show, verify and status over a real control socket with the CNI's
 * dependency-free client.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../lib/log.js';
import { PolicyAttachmentsClient, type PolicyClientError } from '../policy/attachments-client.js';
import { FakeNetfilter } from '../policy/testing/fake-netfilter.js';
import type { PolicyShowView, PolicyStatusView, PolicyVerifyView } from './api-types.js';
import type { PolicyConfig } from './config/index.js';
import { ControlClient } from './control-client.js';
import { ControlServer } from './control-server.js';
import { AgentMetrics, recordPolicyApply } from './metrics.js';
import { parseAttachment, POLICY_MARKER, PolicyHost, removePolicyIfDisabled } from './policy-host.js';
import type { PolicySnapshot, PolicySource, SnapshotListener } from '../policy/source.js';

/** A policy input the test drives by hand (what the agent passes as a KubePolicySource). */
class HandSource implements PolicySource {
  snapshot: PolicySnapshot = { namespaces: [], pods: [], policies: [], issues: [] };
  ready = false;
  starts = 0;
  stopped = false;
  readonly listeners = new Set<SnapshotListener>();
  onChange(fn: SnapshotListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  start(): Promise<void> {
    this.starts++;
    return Promise.resolve();
  }
  stop(): void {
    this.stopped = true;
  }
  emit(s: PolicySnapshot): void {
    this.snapshot = s;
    this.ready = true;
    for (const fn of this.listeners) fn(s);
  }
}

const MANIFESTS = `apiVersion: v1
kind: Namespace
metadata: {name: x}
---
apiVersion: v1
kind: Pod
metadata: {namespace: x, name: a, labels: {app: a}}
status: {podIP: 10.0.0.1}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: x, name: deny-a}
spec: {podSelector: {matchLabels: {app: a}}}
`;

function config(manifestDir: string): PolicyConfig {
  return {
    enabled: true, manifestDir, ifacePrefix: 'tt', backend: 'auto', families: ['ipv4'], markBit: 0x100000, nodeAddresses: ['192.0.2.10'],
    cniWaitMs: 2000, resyncIntervalSec: 0,
  };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as PolicyClientError).code;
  }
  return 'no error';
}

describe('agent: PolicyHost', () => {
  let dir: string;
  let sock: string;
  let server: ControlServer | undefined;
  let host: PolicyHost | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tortie-policy-host-'));
    sock = join(dir, 'ctl.sock');
    writeFileSync(join(dir, 'm.yaml'), MANIFESTS);
  });
  afterEach(async () => {
    host?.stop();
    await server?.stop();
    server = undefined;
    host = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function serve(h: PolicyHost): Promise<void> {
    server = new ControlServer(sock, h.routes(), silentLogger);
    await server.start();
  }

  it('a mixed iptables backend: start does not throw, readiness says why, the endpoints answer 503', async () => {
    const nf = new FakeNetfilter();
    nf.otherBackendRules = 2;
    nf.restore(4, '*filter\n:X - [0:0]\nCOMMIT\n');
    host = new PolicyHost({ config: () => config(dir), log: silentLogger, runner: nf.runner() });
    await host.start();
    expect(host.notReady()).to.have.length(1);
    expect(host.notReady()[0]).to.contain('ERR_POLICY_BACKEND_MIXED');
    expect(host.summary().error).to.match(/^ERR_POLICY_BACKEND_MIXED: /);
    await serve(host);
    const c = new PolicyAttachmentsClient(sock);
    expect(await codeOf(c.register({ namespace: 'x', pod: 'a', ifName: 'tt01aaaa', ips: ['10.0.0.1'], containerId: 'c1' }))).to.equal('ERR_POLICY_NOT_RUNNING');
    const st = await new ControlClient(sock).get<PolicyStatusView>('/v1/policy/status');
    expect(st.error).to.contain('ERR_POLICY_BACKEND_MIXED');
  });

  it('registers, waits, shows, verifies and forgets a pod over the control socket', async () => {
    const nf = new FakeNetfilter();
    const applied: boolean[] = [];
    const metrics = new AgentMetrics({ sessions: () => [], kernel: () => ({ installed: 0, errors: 0 }), ready: () => ({ ready: true, notReady: [] }), policyPods: () => host?.podStates() ?? {} });
    host = new PolicyHost({
      config: () => config(dir), log: silentLogger, runner: nf.runner(),
      onApplied: (r) => {
        applied.push(r.ok);
        recordPolicyApply(metrics, r);
      },
    });
    await host.start();
    await serve(host);
    const c = new PolicyAttachmentsClient(sock);
    const api = new ControlClient(sock);

    const r = await c.register({ namespace: 'x', pod: 'a', ifName: 'tt01aaaa', ips: ['10.0.0.1/32'], containerId: 'c1' });
    expect(r.pod).to.equal('x/a');
    const w = await c.waitProgrammed('x', 'a', 2000);
    expect(w).to.include({ pod: 'x/a', programmed: true, state: 'programmed' });
    expect(applied).to.include(true);
    expect(host.notReady()).to.deep.equal([]);
    const text = await metrics.registry.metrics();
    expect(text).to.match(/^tortie_policy_applies_total\{result="success"\} [1-9]/m);
    expect(text).to.match(/^tortie_policy_programming_seconds_count\{stage="total"\} [1-9]/m);
    expect(text).to.match(/^tortie_policy_pods\{state="programmed"\} 1$/m);

    const none = await c.waitProgrammed('x', 'ghost', 50);
    expect(none).to.include({ programmed: false, state: 'unknown' });
    expect(none.message).to.contain('not programmed within 50 ms');

    const show = await api.get<PolicyShowView>('/v1/policy/pods/x/a');
    expect(show).to.deep.include({ pod: 'x/a', local: true, ifName: 'tt01aaaa' });
    expect(show.ingress.isolated).to.equal(true);
    expect(show.ingress.policies.map((p) => p.policy)).to.deep.equal(['x/deny-a']);
    expect(await codeOf(api.get('/v1/policy/pods/x/nobody'))).to.equal('ERR_POLICY_POD_NOT_FOUND');
    expect(await codeOf(api.get('/v1/policy/pods/x'))).to.equal('ERR_API_BAD_REQUEST');

    expect((await api.get<PolicyVerifyView>('/v1/policy/verify')).ok).to.equal(true);
    const st = await api.get<PolicyStatusView>('/v1/policy/status');
    expect(st).to.deep.include({ enabled: true, backend: 'nft', attachments: 1 });
    expect(st.pods).to.deep.equal([{ pod: 'x/a', state: 'programmed', ifName: 'tt01aaaa', ingressIsolated: true, egressIsolated: false }]);

    // Without a pod interface (an older plugin), every attachment of the container goes.
    expect(await c.unregister('c1')).to.deep.equal({ removed: true, pod: 'x/a' });
    expect(await c.unregister('c1')).to.deep.equal({ removed: false });
    // Per pod interface: a second interface of the same container (Multus) is its own attachment, and
    // forgetting it keeps the first, whose rules then apply again.
    await c.register({ namespace: 'x', pod: 'a', ifName: 'tt01aaaa', ips: ['10.0.0.1/32'], containerId: 'c1', podIfName: 'eth0' });
    await c.register({ namespace: 'x', pod: 'a', ifName: 'tt01bbbb', ips: ['10.0.0.2/32'], containerId: 'c1', podIfName: 'net1' });
    expect((await api.get<PolicyStatusView>('/v1/policy/status')).attachments).to.equal(2);
    expect(await c.unregister('c1', 'net1')).to.deep.equal({ removed: true, pod: 'x/a' });
    expect(await c.unregister('c1', 'net1')).to.deep.equal({ removed: false });
    expect((await api.get<PolicyStatusView>('/v1/policy/status')).attachments).to.equal(1);
    expect((await c.waitProgrammed('x', 'a', 2000)).programmed).to.equal(true);
    expect((await api.get<PolicyShowView>('/v1/policy/pods/x/a')).ifName).to.equal('tt01aaaa');
    expect(await c.unregister('c1', 'eth0')).to.deep.equal({ removed: true, pod: 'x/a' });
    expect((await api.get<PolicyStatusView>('/v1/policy/status')).attachments).to.equal(0);
    expect(await codeOf(api.get('/v1/policy/wait?namespace=x'))).to.equal('ERR_API_BAD_REQUEST');
    expect(await codeOf(api.get('/v1/policy/wait?namespace=x&pod=a&timeoutMs=-1'))).to.equal('ERR_API_BAD_REQUEST');
  });

  it('switched off after an earlier run: removes our chains and sets once, then leaves the host alone', async () => {
    const nf = new FakeNetfilter();
    nf.restore(4, '*filter\n:KUBE-FORWARD - [0:0]\n-A FORWARD -j KUBE-FORWARD\nCOMMIT\n');
    const stateDir = join(dir, 'state');
    host = new PolicyHost({ config: () => config(dir), log: silentLogger, runner: nf.runner(), stateDir });
    await host.start();
    host.attach({ namespace: 'x', pod: 'a', ifName: 'tt01aaaa', ips: ['10.0.0.1'], containerId: 'c1' });
    const ours = (): string[] => [...nf.chains(4).keys()].filter((n) => n.startsWith('TORTIE'));
    for (let i = 0; i < 50 && ours().length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(ours()).to.not.deep.equal([]);
    expect(existsSync(join(stateDir, POLICY_MARKER))).to.equal(true);
    host.stop();
    host = undefined;

    const off = { ...config(dir), enabled: false };
    expect(await removePolicyIfDisabled(off, stateDir, silentLogger, nf.runner())).to.equal(true);
    expect(ours()).to.deep.equal([]);
    expect(nf.chains(4).get('FORWARD')).to.deep.equal(['-j KUBE-FORWARD']);
    expect([...nf.sets.keys()]).to.deep.equal([]);
    expect(existsSync(join(stateDir, POLICY_MARKER))).to.equal(false);
    const writes = nf.restores.length;
    expect(await removePolicyIfDisabled(off, stateDir, silentLogger, nf.runner())).to.equal(false);
    expect(nf.restores.length).to.equal(writes);
  });

  it('an injected source is used instead of the manifest directory; nothing is programmed before it is ready', async () => {
    const nf = new FakeNetfilter();
    const src = new HandSource();
    // The manifest directory holds x/a too: it must not be read when a source is given.
    host = new PolicyHost({ config: () => config(dir), log: silentLogger, runner: nf.runner(), source: src });
    await host.start();
    expect(src.starts).to.equal(1);
    expect(src.listeners.size).to.equal(1);
    host.attach({ namespace: 'x', pod: 'a', ifName: 'tt01aaaa', ips: ['10.0.0.1'], containerId: 'c1' });
    expect(host.notReady()[0]).to.contain('not synced yet');
    const early = await host.wait(new URL('http://x/v1/policy/wait?namespace=x&pod=a&timeoutMs=50'));
    expect(early).to.include({ programmed: false, state: 'unknown' });
    expect(early.message).to.contain('not synced yet');
    const writesBefore = nf.restores.length;

    src.emit({
      namespaces: [{ name: 'x' }],
      pods: [{ namespace: 'x', name: 'a', labels: { app: 'a' }, ips: ['10.0.0.1'] }],
      policies: [{ namespace: 'x', name: 'from-api', podSelector: {}, policyTypes: ['Ingress'] }],
      issues: [{ object: 'NetworkPolicy x/bad', path: 'spec.ingress', message: 'expected a list; its rules are ignored' }],
    });
    const w = await host.wait(new URL('http://x/v1/policy/wait?namespace=x&pod=a&timeoutMs=2000'));
    expect(w).to.include({ programmed: true });
    expect(nf.restores.length).to.be.greaterThan(writesBefore);
    expect(host.notReady()).to.deep.equal([]);
    const st = host.status();
    expect(st.manifestDir).to.equal(undefined);
    expect(st.manifestIssues).to.deep.equal(['NetworkPolicy x/bad: spec.ingress: expected a list; its rules are ignored']);
    expect(host.show(new URL('http://x/v1/policy/pods/x/a')).ingress.policies.map((p) => p.policy)).to.deep.equal(['x/from-api']);

    host.stop();
    host = undefined;
    expect(src.listeners.size, 'unsubscribed').to.equal(0);
    expect(src.stopped, 'the owner stops an injected source').to.equal(false);
  });

  const bad: { name: string; body: unknown; has: string }[] = [
    { name: 'not an object', body: 'x', has: 'expected a JSON object' },
    { name: 'no pod', body: { namespace: 'x', ifName: 'tt1', ips: [], containerId: 'c' }, has: 'pod must be a non-empty string' },
    { name: 'a namespace with capitals', body: { namespace: 'X', pod: 'a', ifName: 'tt1', ips: [], containerId: 'c' }, has: 'is not a Kubernetes name' },
    { name: 'an interface name too long', body: { namespace: 'x', pod: 'a', ifName: 'tt0123456789abcdef', ips: [], containerId: 'c' }, has: 'is not an interface name' },
    { name: 'ips not strings', body: { namespace: 'x', pod: 'a', ifName: 'tt1', ips: [1], containerId: 'c' }, has: 'ips must be a list' },
    { name: 'a pod interface that is not a name', body: { namespace: 'x', pod: 'a', ifName: 'tt1', ips: [], containerId: 'c', podIfName: 'eth 0' }, has: 'podIfName "eth 0" is not an interface name' },
  ];
  for (const b of bad) {
    it(`rejects an attachment: ${b.name}`, () => {
      expect(() => parseAttachment(b.body)).to.throw().that.satisfies((e: { code: string; message: string }) => e.code === 'ERR_API_BAD_REQUEST' && e.message.includes(b.has));
    });
  }
});
