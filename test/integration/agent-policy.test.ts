/**
 * A real tortie-agent with NetworkPolicy on (standalone: a manifest
 * directory), in its own namespace, with two pods wired as plain veths in
 * the routed layout and registered through POST /v1/policy/attachments, as
 * the CNI plugin will. A deny-all NetworkPolicy dropped into the directory
 * blocks pod-to-pod traffic within a second; removing it restores it.
 * tortiectl policy show / verify read the result. Needs root.
 */
import { expect } from 'chai';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PolicyShowView, PolicyStatusView, PolicyVerifyView, StatusView } from '../../agent/api-types.js';
import { ControlClient } from '../../agent/control-client.js';
import { runCtl } from '../../agent/ctl.js';
import { PolicyAttachmentsClient } from '../../policy/attachments-client.js';
import { isRoot, logTail, requireCommands, Topology, waitFor, type Netns, type TrackedProcess } from '../support/netns.js';
import { NODE_IP4 } from '../netpol/model.js';
import { plainVethWiring, prepareNode, type WiredPod } from '../netpol/wiring.js';

const REPO = resolve(import.meta.dirname, '../..');

const PODS_YAML = `apiVersion: v1
kind: Namespace
metadata: {name: x}
---
apiVersion: v1
kind: Pod
metadata: {namespace: x, name: a, labels: {pod: a}}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 80}]}]}
status: {podIP: 10.244.7.2, podIPs: [{ip: 10.244.7.2}]}
---
apiVersion: v1
kind: Pod
metadata: {namespace: x, name: b, labels: {pod: b}}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 80}]}]}
status: {podIP: 10.244.7.3, podIPs: [{ip: 10.244.7.3}]}
`;

const DENY_YAML = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: x, name: deny-all}
spec:
  podSelector: {}
  policyTypes: [Ingress]
`;

async function pings(from: Netns, to: string): Promise<boolean> {
  try {
    await from.exec('busybox', ['ping', '-c', '1', '-W', '1', '-q', to]);
    return true;
  } catch {
    return false;
  }
}

async function ctl(socket: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCtl([...args, '--socket', socket], { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { code, out, err };
}

describe('agent: NetworkPolicy from a manifest directory, attachments over the control socket', function () {
  this.timeout(120_000);
  const topo = new Topology();
  let node: Netns;
  let agent: TrackedProcess | undefined;
  let dir: string;
  let manifests: string;
  let socket: string;
  let logFile: string;
  const pods: Record<string, WiredPod> = {};

  const describeAgent = (): string => `agent log:\n${logTail(logFile, 40)}`;

  before(async function () {
    if (!isRoot()) throw new Error('this test needs root (network namespaces, iptables); run it through .ci/run or as root');
    requireCommands(['ip', 'busybox', 'iptables', 'ip6tables', 'ipset']);
    dir = join(topo.tmpDir, 'agent');
    manifests = join(dir, 'manifests');
    mkdirSync(manifests, { recursive: true });
    socket = join(dir, 'ctl.sock');
    logFile = join(dir, 'agent.log');
    node = await prepareNode(topo, 'node');
    for (const [name, ip4] of [['a', '10.244.7.2'], ['b', '10.244.7.3']] as const) {
      const pod = await topo.addNamespace(`pod-${name}`);
      pods[name] = await plainVethWiring.wire(node, pod, { key: `x/${name}`, ip4 });
    }
    writeFileSync(join(manifests, 'pods.yaml'), PODS_YAML);
    const config = join(dir, 'agent.yaml');
    writeFileSync(config, `node:
  name: node-p
  asn: 65001
  sourceAddress: ${NODE_IP4}
bgp:
  listen: { enabled: false }
  nodeToNodeMesh: { enabled: false }
routes: { protocol: 201 }
policy:
  enabled: true
  manifestDir: ${manifests}
  families: [ipv4]
  resyncIntervalSec: 0
paths:
  stateDir: ${dir}/state
  controlSocket: ${socket}
metrics: { address: 127.0.0.1, port: 0 }
health: { address: 127.0.0.1, port: 0 }
`);
    agent = node.spawn(process.execPath, ['--import', pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href, join(REPO, 'agent/main.ts'), '--config', config], {
      logFile, env: { ...process.env, PATH: `${join(REPO, 'node_modules/.bin')}:${process.env.PATH ?? ''}` },
    });
    const client = new ControlClient(socket);
    await waitFor('the agent to answer', async () => ((await client.get<StatusView>('/v1/status')).node === 'node-p' ? true : undefined), {
      timeoutMs: 30_000, describe: describeAgent,
    });
  });

  after(async () => {
    await agent?.stop();
    await topo.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('drops an unregistered pod, programs it once registered, and the wait says so', async () => {
    expect(await pings(pods.a.netns, '10.244.7.3'), 'no attachment yet: fail-closed').to.equal(false);
    const c = new PolicyAttachmentsClient(socket);
    for (const name of ['a', 'b']) {
      const p = pods[name];
      const r = await c.register({ namespace: 'x', pod: name, ifName: p.hostIf, ips: [...p.ips], containerId: `ctr-${name}` });
      expect(r.pod).to.equal(`x/${name}`);
    }
    for (const name of ['a', 'b']) {
      const w = await c.waitProgrammed('x', name, 5000);
      expect(w, describeAgent()).to.include({ programmed: true, state: 'programmed' });
    }
    const unknown = await c.waitProgrammed('x', 'nobody', 200);
    expect(unknown.programmed).to.equal(false);
    expect(unknown.message).to.contain('not programmed within 200 ms');
    expect(await pings(pods.a.netns, '10.244.7.3')).to.equal(true);
    const status = await new ControlClient(socket).get<StatusView>('/v1/status');
    expect(status.ready, status.notReady.join('; ')).to.equal(true);
  });

  it('a deny-all policy dropped into the directory blocks traffic within a second; removing it restores it', async () => {
    writeFileSync(join(manifests, 'deny.yaml'), DENY_YAML);
    const t0 = Date.now();
    await waitFor('traffic a -> b to be blocked', async () => ((await pings(pods.a.netns, '10.244.7.3')) ? undefined : true), {
      timeoutMs: 3000, intervalMs: 50, describe: describeAgent,
    });
    // A failed ping takes its 1 s -W: judge by when the policy landed instead.
    const st = await new ControlClient(socket).get<PolicyStatusView>('/v1/policy/status');
    expect(st.lastApply?.ok).to.equal(true);
    expect(Date.parse(st.lastApply?.at ?? '') - t0, 'programmed within a second of the file').to.be.lessThan(1000);

    const show = await ctl(socket, 'policy', 'show', 'x/b', '-o', 'json');
    expect(show.code, show.err).to.equal(0);
    const v = JSON.parse(show.out) as PolicyShowView;
    expect(v.ingress.isolated).to.equal(true);
    expect(v.ingress.policies.map((p) => p.policy)).to.deep.equal(['x/deny-all']);
    expect(v.status.state).to.equal('programmed');

    const verify = await ctl(socket, 'policy', 'verify', '-o', 'json');
    expect(verify.code, verify.out + verify.err).to.equal(0);
    expect((JSON.parse(verify.out) as PolicyVerifyView).ok).to.equal(true);
    expect((await ctl(socket, 'policy', 'verify')).out).to.match(/^In sync: /);

    rmSync(join(manifests, 'deny.yaml'));
    await waitFor('traffic a -> b to pass again', async () => ((await pings(pods.a.netns, '10.244.7.3')) ? true : undefined), {
      timeoutMs: 3000, intervalMs: 50, describe: describeAgent,
    });
  });

  it('DELETE /v1/policy/attachments is idempotent and fails the pod closed again', async () => {
    const c = new PolicyAttachmentsClient(socket);
    expect(await c.unregister('ctr-b')).to.deep.equal({ removed: true, pod: 'x/b' });
    expect(await c.unregister('ctr-b')).to.deep.equal({ removed: false });
    await waitFor('x/b to be dropped once forgotten', async () => ((await pings(pods.a.netns, '10.244.7.3')) ? undefined : true), {
      timeoutMs: 3000, intervalMs: 50, describe: describeAgent,
    });
  });
});
