/**
 * Issue 6 acceptance, "a real runtime drives the plugin": containerd 1.6
 * with its CRI plugin runs two pod sandboxes through the CRI API exactly as
 * the kubelet does (RunPodSandbox → CNI ADD; StopPodSandbox and
 * RemovePodSandbox → CNI DEL). The pods must get addresses, reach each other
 * (ICMP, and TCP to the sandbox process itself), and after removal nothing
 * may be left: no host veth, no /32 route, no IPAM allocation, no netns, no
 * task or cgroup.
 *
 * The scenario runs for each CNI set-up in variants.ts: the reference
 * plugins (the control), tortie + host-local, and tortie + tortie-ipam with
 * the node's agent.
 */
import { expect } from 'chai';
import type { Containerd } from '../support/containerd.js';
import type { CriClient } from '../support/cri/cri-client.js';
import { Topology } from '../support/netns.js';
import {
  createNode,
  expectReach,
  inPod,
  requireRuntimePrereqs,
  routesWithProto,
  runPod,
  runtimeLeftovers,
  snapshotNode,
  startNodeRuntime,
  type NodeSnapshot,
  type Pod,
  type RuntimeNode,
} from './harness.js';
import { inCidr, ROUTE_PROTO, VARIANTS, type Prepared } from './variants.js';

/** Not 1500, so a pod MTU taken from anywhere but the uplink shows. */
const UPLINK_MTU = 1480;

for (const variant of VARIANTS) {
  describe(`runtime: containerd CRI, ${variant.title}`, function () {
    this.timeout(180_000);
    const topo = new Topology();
    let rn: RuntimeNode;
    let prepared: Prepared | undefined;
    let cd: Containerd | undefined;
    let cri: CriClient;
    let baseline: NodeSnapshot;
    const pods: Pod[] = [];
    const timings: string[] = [];

    const runtime = (): Containerd => {
      if (!cd) throw new Error('containerd did not start (see the before-all hook)');
      return cd;
    };
    const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
      const t0 = performance.now();
      try {
        return await fn();
      } finally {
        timings.push(`${what} ${(performance.now() - t0).toFixed(0)} ms`);
      }
    };

    before(async function () {
      requireRuntimePrereqs();
      rn = await createNode(topo, UPLINK_MTU);
      prepared = await variant.prepare(topo, rn);
      cd = await timed('containerd start + image import', () =>
        startNodeRuntime(topo, rn, { plugins: prepared?.plugins ?? {}, conflist: prepared?.conflist ?? {}, pathPrefix: prepared?.pathPrefix }),
      );
      cri = cd.cri();
      baseline = await snapshotNode(rn.node);
    });

    after(async function () {
      if (timings.length) console.log(`      timings: ${timings.join(', ')}`);
      cri?.close();
      // CNI DEL for whatever a failed test left, while the agent still answers.
      await cd?.removeAllSandboxes();
      await cd?.stop();
      await prepared?.stop?.();
      await topo.destroy();
    });

    let logsShown = false;
    afterEach(function () {
      // Once per suite: later failures usually follow from the first.
      if (this.currentTest?.state === 'failed' && !logsShown) {
        logsShown = true;
        const problems = (cd?.proc.logTail(400) ?? '').split('\n').filter((l) => /level=(error|warning)/.test(l)).slice(-15);
        console.log(`${prepared?.logs?.() ?? ''}\n--- containerd errors and warnings (last 15)\n${problems.join('\n')}`);
      }
    });

    it('RunPodSandbox twice: each sandbox is ready with its own address from the IPAM', async function () {
      for (const name of ['pod-a', 'pod-b']) pods.push(await timed(`RunPodSandbox ${name}`, () => runPod(cri, runtime(), name)));
      const [a, b] = pods;
      if (!a || !b) throw new Error('unreachable');
      expect(inCidr(a.ip, variant.subnet), `${a.ip} in ${variant.subnet}`).to.equal(true);
      expect(inCidr(b.ip, variant.subnet), `${b.ip} in ${variant.subnet}`).to.equal(true);
      expect(a.ip).to.not.equal(b.ip);
      const listed = await cri.listPodSandbox();
      expect(listed.map((s) => s.id).sort()).to.deep.equal(pods.map((p) => p.id).sort());
      expect(await prepared?.allocations(), 'IPAM allocations').to.have.length(2);
      await prepared?.checkAllocated?.(pods);
    });

    it('each pod has exactly its address on eth0 (tortie: a /32, default via 169.254.1.1, the uplink MTU, a proto-201 host route)', async function () {
      expect(pods, 'sandboxes from the first test').to.have.length(2);
      const hostRoutes = await routesWithProto(rn.node, ROUTE_PROTO);
      for (const pod of pods) {
        const { stdout } = await inPod(runtime(), pod, 'ip', ['-json', 'addr', 'show', 'dev', 'eth0']);
        const [eth0] = JSON.parse(stdout) as { mtu: number; addr_info: { family: string; local: string; prefixlen: number }[] }[];
        const v4 = eth0?.addr_info.filter((x) => x.family === 'inet').map((x) => x.local);
        expect(v4, `${pod.name} eth0 IPv4`).to.deep.equal([pod.ip]);
        if (!variant.routed) continue;
        const prefixes = eth0?.addr_info.filter((x) => x.family === 'inet').map((x) => x.prefixlen);
        expect(prefixes, `${pod.name} eth0 prefix length`).to.deep.equal([32]);
        expect(eth0?.mtu, `${pod.name} eth0 MTU`).to.equal(UPLINK_MTU);
        const routes = JSON.parse((await inPod(runtime(), pod, 'ip', ['-json', '-4', 'route', 'show'])).stdout) as { dst: string; gateway?: string }[];
        expect(routes.find((r) => r.dst === 'default')?.gateway, `${pod.name} default route`).to.equal('169.254.1.1');
        expect(hostRoutes.filter((r) => r.startsWith(`${pod.ip} dev `)), `host route to ${pod.ip} with proto ${ROUTE_PROTO}`).to.have.length(1);
      }
    });

    it('the two sandboxes reach each other (ICMP, and TCP to the sandbox process)', async function () {
      const [a, b] = pods;
      if (!a || !b) throw new Error('no sandboxes: the first test failed');
      await expectReach(runtime(), a, b);
      await expectReach(runtime(), b, a);
    });

    it('StopPodSandbox (twice, as the kubelet may) and RemovePodSandbox leave no veth, route, allocation, netns or task behind', async function () {
      expect(pods, 'sandboxes from the first test').to.have.length(2);
      for (const pod of pods) {
        await timed(`StopPodSandbox ${pod.name}`, () => cri.stopPodSandbox(pod.id));
        await cri.stopPodSandbox(pod.id);
        await timed(`RemovePodSandbox ${pod.name}`, () => cri.removePodSandbox(pod.id));
      }
      expect(await runtimeLeftovers(runtime(), cri, rn, baseline, { ignoreRoute: prepared?.ignoreRoute })).to.deep.equal([]);
      const hostRoutes = (await routesWithProto(rn.node, ROUTE_PROTO)).filter((r) => !r.split(' ')[0]?.includes('/'));
      expect(hostRoutes, `host /32 routes with proto ${ROUTE_PROTO}`).to.deep.equal([]);
      expect(await prepared?.allocations(), 'IPAM allocations').to.deep.equal([]);
    });
  });
}
