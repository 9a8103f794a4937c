/**
 * The second real runtime of issue 6: podman 4.3 with its CNI network
 * backend runs two containers on our conflist (`podman run` → CNI ADD,
 * `podman rm` → CNI DEL). Same checks as the containerd test: addresses,
 * routed wiring, reachability (ICMP, and TCP to the container's process),
 * and nothing left behind after removal. Same CNI set-ups (variants.ts).
 *
 * podman's CNI backend passes only K8S_POD_NAME (the container name) in
 * CNI_ARGS, no namespace: a node running podman is not a Kubernetes node.
 */
import { expect } from 'chai';
import type { Podman } from '../support/podman.js';
import { Topology } from '../support/netns.js';
import {
  createNode,
  expectReach,
  inPod,
  requireRuntimePrereqs,
  routesWithProto,
  snapshotNode,
  startNodePodman,
  type NodeSnapshot,
  type Pod,
  type RuntimeNode,
} from './harness.js';
import { inCidr, ROUTE_PROTO, VARIANTS, type Prepared } from './variants.js';

/** Not 1500, so a pod MTU taken from anywhere but the uplink shows. */
const UPLINK_MTU = 1480;

/** What podman could leave behind (empty = clean). */
async function podmanLeftovers(pm: Podman, rn: RuntimeNode, baseline: NodeSnapshot, ignoreRoute?: (r: string) => boolean): Promise<string[]> {
  const problems: string[] = [];
  const names = await pm.containerNames();
  if (names.length) problems.push(`containers still listed: ${names.join(', ')}`);
  const now = await snapshotNode(rn.node);
  const extraLinks = now.links.filter((l) => !baseline.links.includes(l));
  if (extraLinks.length) problems.push(`links left in the node namespace: ${extraLinks.join(', ')}`);
  const extraRoutes = now.routes.filter((r) => !baseline.routes.includes(r) && !(ignoreRoute?.(r) ?? false));
  if (extraRoutes.length) problems.push(`routes left in the node namespace: ${extraRoutes.join('; ')}`);
  const netns = pm.netnsEntries();
  if (netns.length) problems.push(`netns files left in podman's /run/netns: ${netns.join(', ')}`);
  const mounts = pm.netnsMounts();
  if (mounts.length) problems.push(`netns still mounted: ${mounts.join(', ')}`);
  const conmons = pm.conmonPids();
  if (conmons.length) problems.push(`conmon still running: ${conmons.join(', ')}`);
  const cgroups = pm.cgroupLeftovers();
  if (cgroups.length) problems.push(`container cgroups left: ${cgroups.join(', ')}`);
  return problems;
}

for (const variant of VARIANTS) {
  describe(`runtime: podman (CNI backend), ${variant.title}`, function () {
    this.timeout(180_000);
    const topo = new Topology();
    let rn: RuntimeNode;
    let prepared: Prepared | undefined;
    let pm: Podman | undefined;
    let image: string;
    let baseline: NodeSnapshot;
    const pods: Pod[] = [];
    const timings: string[] = [];

    const podman = (): Podman => {
      if (!pm) throw new Error('podman did not start (see the before-all hook)');
      return pm;
    };
    const network = (): string => prepared?.conflist.name ?? '';
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
      const started = await timed('podman set-up + image import', () =>
        startNodePodman(topo, rn, { plugins: prepared?.plugins ?? {}, conflist: prepared?.conflist ?? {}, pathPrefix: prepared?.pathPrefix }),
      );
      pm = started.podman;
      image = started.image;
      baseline = await snapshotNode(rn.node);
    });

    after(async function () {
      if (timings.length) console.log(`      timings: ${timings.join(', ')}`);
      // CNI DEL for whatever a failed test left, while the agent still answers.
      await pm?.removeAll();
      await pm?.stop();
      await prepared?.stop?.();
      await topo.destroy();
    });

    let logsShown = false;
    afterEach(function () {
      // Once per suite: later failures usually follow from the first.
      if (this.currentTest?.state === 'failed' && !logsShown) {
        logsShown = true;
        console.log(prepared?.logs?.() ?? '');
      }
    });

    it('podman run twice: each container gets its own address from the IPAM', async function () {
      for (const name of ['pm-a', 'pm-b']) {
        const c = await timed(`podman run ${name}`, () => podman().runContainer(name, image, network()));
        pods.push({ ...c, k8s: { namespace: '', name } });
      }
      const [a, b] = pods;
      if (!a || !b) throw new Error('unreachable');
      expect(inCidr(a.ip, variant.subnet), `${a.ip} in ${variant.subnet}`).to.equal(true);
      expect(inCidr(b.ip, variant.subnet), `${b.ip} in ${variant.subnet}`).to.equal(true);
      expect(a.ip).to.not.equal(b.ip);
      expect(await prepared?.allocations(), 'IPAM allocations').to.have.length(2);
      await prepared?.checkAllocated?.(pods);
    });

    it('each container has exactly its address on eth0 (tortie: a /32, default via 169.254.1.1, the uplink MTU, a proto-201 host route)', async function () {
      expect(pods, 'containers from the first test').to.have.length(2);
      const hostRoutes = await routesWithProto(rn.node, ROUTE_PROTO);
      for (const pod of pods) {
        const { stdout } = await inPod(podman(), pod, 'ip', ['-json', 'addr', 'show', 'dev', 'eth0']);
        const [eth0] = JSON.parse(stdout) as { mtu: number; addr_info: { family: string; local: string; prefixlen: number }[] }[];
        const v4 = eth0?.addr_info.filter((x) => x.family === 'inet');
        expect(v4?.map((x) => x.local), `${pod.name} eth0 IPv4`).to.deep.equal([pod.ip]);
        if (!variant.routed) continue;
        expect(v4?.map((x) => x.prefixlen), `${pod.name} eth0 prefix length`).to.deep.equal([32]);
        expect(eth0?.mtu, `${pod.name} eth0 MTU`).to.equal(UPLINK_MTU);
        const routes = JSON.parse((await inPod(podman(), pod, 'ip', ['-json', '-4', 'route', 'show'])).stdout) as { dst: string; gateway?: string }[];
        expect(routes.find((r) => r.dst === 'default')?.gateway, `${pod.name} default route`).to.equal('169.254.1.1');
        expect(hostRoutes.filter((r) => r.startsWith(`${pod.ip} dev `)), `host route to ${pod.ip} with proto ${ROUTE_PROTO}`).to.have.length(1);
      }
    });

    it('the two containers reach each other (ICMP, and TCP to the container process)', async function () {
      const [a, b] = pods;
      if (!a || !b) throw new Error('no containers: the first test failed');
      await expectReach(podman(), a, b);
      await expectReach(podman(), b, a);
    });

    it('podman stop and podman rm leave no veth, route, allocation, netns or conmon behind', async function () {
      expect(pods, 'containers from the first test').to.have.length(2);
      for (const pod of pods) {
        await timed(`podman stop ${pod.name}`, () => podman().podman(['stop', '--time', '0', pod.name]));
        await timed(`podman rm ${pod.name}`, () => podman().podman(['rm', pod.name]));
      }
      expect(await podmanLeftovers(podman(), rn, baseline, prepared?.ignoreRoute)).to.deep.equal([]);
      const hostRoutes = (await routesWithProto(rn.node, ROUTE_PROTO)).filter((r) => !r.split(' ')[0]?.includes('/'));
      expect(hostRoutes, `host /32 routes with proto ${ROUTE_PROTO}`).to.deep.equal([]);
      expect(await prepared?.allocations(), 'IPAM allocations').to.deep.equal([]);
    });
  });
}
