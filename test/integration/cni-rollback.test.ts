// tortie CNI: a failure at any step of ADD undoes every earlier step. With
// the test-only hook TORTIE_CNI_FAIL_AT=<point> (cni/fail-points.ts) ADD
// fails at each point in turn; afterwards the node (links, addresses,
// routes, sysctls), the pod and host-local's allocations are exactly as
// before. A real mid-batch kernel failure is rolled back the same way.

import { expect } from 'chai';
import { FAIL_POINTS } from '../../cni/fail-points.js';
import { buildLab, linkNames, tortieConf, type CniLab } from './cni-harness.js';

describe('cni: tortie ADD rollback (netns)', function () {
  this.timeout(120_000);
  let lab: CniLab;

  before(async function () {
    lab = await buildLab();
  });
  after(async function () {
    await lab?.destroy();
  });

  for (const point of FAIL_POINTS) {
    for (const version of ['1.1.0', '0.3.1'] as const) {
      it(`a failure at ${point} (cniVersion ${version}) leaves no link, route or allocation`, async function () {
        const pod = await lab.newPod();
        const conf = tortieConf(lab.ipamDir, version);
        const opts = { containerId: `rb-${point}`, netns: lab.netnsPath(pod), pod: { namespace: 'default', name: `rb-${point}` } };
        const before = await lab.snapshot();
        const r = await lab.call('ADD', conf, { ...opts, envOverride: { TORTIE_CNI_FAIL_AT: point } });
        expect(r.code).to.equal(1);
        expect(r.json, r.stdout + r.stderr).to.deep.include({ cniVersion: version, code: 105, msg: `injected failure at ${point}` });
        expect(String(r.json?.details)).to.not.include('rollback incomplete');
        expect(await lab.snapshot()).to.deep.equal(before);
        expect(await linkNames(pod)).to.deep.equal(['lo']);
        // And the same ADD without the hook then works, and DEL cleans up.
        await lab.ok('ADD', conf, opts);
        await lab.ok('DEL', conf, opts);
        expect(await lab.snapshot()).to.deep.equal(before);
      });
    }
  }

  it('a real kernel failure half-way through the host batch is rolled back (IPv6 disabled on the node)', async function () {
    const pod = await lab.newPod();
    const conf = tortieConf(lab.ipamDir, '1.0.0');
    const opts = { containerId: 'rb-nov6', netns: lab.netnsPath(pod) };
    await lab.node.sysctl({ 'net.ipv6.conf.default.disable_ipv6': '1' });
    try {
      const before = await lab.snapshot();
      const r = await lab.call('ADD', conf, opts);
      expect(r.json, r.stdout).to.deep.include({ code: 103 });
      expect(String(r.json?.msg)).to.match(/^host: `ip .*` failed: /);
      expect(await lab.snapshot()).to.deep.equal(before);
      expect(await linkNames(pod)).to.deep.equal(['lo']);
    } finally {
      await lab.node.sysctl({ 'net.ipv6.conf.default.disable_ipv6': '0' });
    }
  });

  it('a pod-side failure (the 169.254.1.1 route cannot be added) is rolled back', async function () {
    const pod = await lab.newPod();
    // A pre-existing 169.254.1.1 route in the pod makes the pod batch fail after its addresses are in.
    await pod.ip(['link', 'add', 'blk0', 'type', 'veth', 'peer', 'name', 'blk1']);
    await pod.ip(['link', 'set', 'blk0', 'up']);
    await pod.ip(['route', 'add', '169.254.1.1', 'dev', 'blk0']);
    const conf = tortieConf(lab.ipamDir, '1.0.0');
    const opts = { containerId: 'rb-pod', netns: lab.netnsPath(pod) };
    const before = await lab.snapshot();
    const podBefore = await pod.ipJson<unknown[]>(['route', 'show', 'table', 'all']);
    const r = await lab.call('ADD', conf, opts);
    expect(r.json, r.stdout).to.deep.include({ code: 103 });
    expect(String(r.json?.msg)).to.match(/^pod: `ip route add 169\.254\.1\.1 dev eth0 scope link` failed: /);
    expect(await lab.snapshot()).to.deep.equal(before);
    expect(await pod.ipJson<unknown[]>(['route', 'show', 'table', 'all'])).to.deep.equal(podBefore);
    expect(await linkNames(pod)).to.have.members(['lo', 'blk0', 'blk1']);
  });
});
