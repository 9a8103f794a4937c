/**
 * The CNI plugin and the agent's NetworkPolicy enforcer together: ADD tells
 * the agent the pod's host veth and addresses and returns once its rules are
 * programmed, so the pod talks from its first packet; a deny policy then
 * applies to it; DEL makes the agent forget it. Needs root.
 */
import { expect } from 'chai';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PolicyShowView, StatusView } from '../../agent/api-types.js';
import { ControlClient } from '../../agent/control-client.js';
import { PolicyAttachmentsClient } from '../../policy/attachments-client.js';
import { isRoot, logTail, waitFor, type Netns, type TrackedProcess } from '../support/netns.js';
import { buildLab, tortieConf, type CniLab } from './cni-harness.js';

const REPO = resolve(import.meta.dirname, '../..');

const PODS_YAML = `apiVersion: v1
kind: Namespace
metadata: {name: x}
---
apiVersion: v1
kind: Pod
metadata: {namespace: x, name: a, labels: {app: a}}
spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {namespace: x, name: b, labels: {app: b}}
spec: {containers: [{name: c}]}
`;

const DENY_TO_B = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: x, name: deny-b}
spec:
  podSelector: {matchLabels: {app: b}}
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

describe('cni + agent: pods wired by the plugin are registered for NetworkPolicy', function () {
  this.timeout(120_000);
  let lab: CniLab;
  let agent: TrackedProcess | undefined;
  let dir: string;
  let socket: string;
  let manifests: string;
  let logFile: string;
  const pods: Record<string, { ns: Netns; ip: string }> = {};
  const describeAgent = (): string => `agent log:\n${logTail(logFile, 40)}`;
  const conf = (): Record<string, unknown> => tortieConf(lab.ipamDir, '1.0.0', { policy: { socket, waitMs: 5000 } });

  before(async function () {
    if (!isRoot()) throw new Error('this test needs root (network namespaces, iptables); run it through .ci/run or as root');
    lab = await buildLab();
    dir = join(lab.topo.tmpDir, 'agent');
    manifests = join(dir, 'manifests');
    mkdirSync(manifests, { recursive: true });
    socket = join(dir, 'ctl.sock');
    logFile = join(dir, 'agent.log');
    writeFileSync(join(manifests, 'pods.yaml'), PODS_YAML);
    const config = join(dir, 'agent.yaml');
    writeFileSync(config, `node:
  name: node-c
  asn: 65001
  sourceAddress: 192.0.2.1
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
    agent = lab.node.spawn(process.execPath, ['--import', pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href, join(REPO, 'agent/main.ts'), '--config', config], {
      logFile, env: { ...process.env, PATH: `${join(REPO, 'node_modules/.bin')}:${process.env.PATH ?? ''}` },
    });
    const client = new ControlClient(socket);
    await waitFor('the agent to answer', async () => ((await client.get<StatusView>('/v1/status')).node === 'node-c' ? true : undefined), {
      timeoutMs: 30_000, describe: describeAgent,
    });
  });

  after(async () => {
    await agent?.stop();
    if (lab) await lab.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ADD returns with the pod programmed: it talks at once, with no warning', async () => {
    for (const name of ['a', 'b']) {
      const ns = await lab.newPod(`cp-${name}`);
      const r = await lab.call('ADD', conf(), { containerId: `ctr-${name}`, netns: lab.netnsPath(ns), pod: { namespace: 'x', name } });
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.stderr, 'no "not programmed" warning').to.not.match(/not programmed/);
      const ip = String((r.json?.ips as { address: string }[])[0].address).split('/')[0];
      pods[name] = { ns, ip };
      const show = await new ControlClient(socket).get<PolicyShowView>(`/v1/policy/pods/x/${name}`);
      expect(show.status.state, describeAgent()).to.equal('programmed');
    }
    expect(await pings(pods.a.ns, pods.b.ip), 'a -> b right after ADD').to.equal(true);
  });

  it('a deny policy on b blocks a -> b; DEL forgets the attachment', async () => {
    writeFileSync(join(manifests, 'deny.yaml'), DENY_TO_B);
    await waitFor('a -> b to be blocked', async () => ((await pings(pods.a.ns, pods.b.ip)) ? undefined : true), { timeoutMs: 5000, intervalMs: 100, describe: describeAgent });
    const r = await lab.call('DEL', conf(), { containerId: 'ctr-b', netns: lab.netnsPath(pods.b.ns), pod: { namespace: 'x', name: 'b' } });
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    // Already forgotten by the DEL: a second unregister finds nothing.
    expect(await new PolicyAttachmentsClient(socket).unregister('ctr-b')).to.deep.equal({ removed: false });
    const again = await lab.call('DEL', conf(), { containerId: 'ctr-b', netns: lab.netnsPath(pods.b.ns), pod: { namespace: 'x', name: 'b' } });
    expect(again.code, 'DEL twice').to.equal(0);
    const ra = await lab.call('DEL', conf(), { containerId: 'ctr-a', netns: lab.netnsPath(pods.a.ns), pod: { namespace: 'x', name: 'a' } });
    expect(ra.code, ra.stdout + ra.stderr).to.equal(0);
  });
});
