// tortie CNI: ADD, CHECK and DEL for every supported version (DEL twice),
// CHECK that really compares, DEL's idempotence (netns gone, link gone, no
// prevResult, a late DEL of an older sandbox), a /proc/<pid>/ns/net netns,
// GC and STATUS. Each test builds its own node and pod namespaces.

import { expect } from 'chai';
import {
  buildLab,
  hostLocal,
  linkNames,
  tortieConf,
  writeScript,
  type CniLab,
} from './cni-harness.js';
import { run, sleep, type TrackedProcess } from '../support/netns.js';

interface ResultJson {
  cniVersion: string;
  interfaces: { name: string; mac?: string; sandbox?: string; mtu?: number }[];
  ips: { address: string; gateway?: string; interface?: number; version?: string }[];
  routes: { dst: string; gw?: string }[];
}

describe('cni: tortie lifecycle (netns)', function () {
  this.timeout(120_000);
  let lab: CniLab;

  before(async function () {
    lab = await buildLab();
  });
  after(async function () {
    await lab?.destroy();
  });

  for (const version of ['1.1.0', '1.0.0', '0.4.0', '0.3.1'] as const) {
    it(`ADD, CHECK, DEL, DEL with cniVersion ${version}`, async function () {
      const pod = await lab.newPod();
      const netns = lab.netnsPath(pod);
      const containerId = `lc-${version.replace(/\./g, '')}`;
      const conf = tortieConf(lab.ipamDir, version, { mtu: 1400 });
      const before = await lab.snapshot();
      const res = (await lab.ok('ADD', conf, { containerId, netns, pod: { namespace: 'default', name: containerId } })) as unknown as ResultJson;

      expect(res.cniVersion).to.equal(version);
      expect(res.interfaces).to.have.length(2);
      const [hostItf, podItf] = res.interfaces;
      expect(hostItf.name).to.match(/^tortie[0-9a-f]{9}$/);
      expect(hostItf.sandbox).to.equal(undefined);
      expect(podItf).to.deep.include({ name: 'eth0', sandbox: netns });
      expect(podItf.mtu).to.equal(version === '1.1.0' ? 1400 : undefined);
      const v4 = res.ips.find((i) => !i.address.includes(':'))!;
      const v6 = res.ips.find((i) => i.address.includes(':'))!;
      expect(v4.address).to.match(/^10\.77\.0\.\d+\/32$/);
      expect(v6.address).to.match(/^fd77::[0-9a-f]+\/128$/);
      expect(v4.gateway).to.equal('169.254.1.1');
      expect(v6.gateway).to.equal('fe80::1');
      if (version === '0.3.1' || version === '0.4.0') expect(res.ips.map((i) => i.version)).to.deep.equal(['4', '6']);
      else expect(res.ips.every((i) => i.version === undefined)).to.be.true;
      expect(res.routes).to.deep.equal([
        { dst: '0.0.0.0/0', gw: '169.254.1.1' },
        { dst: '::/0', gw: 'fe80::1' },
      ]);

      // The kernel agrees with the result.
      const podAddrs = await pod.ipJson<{ address: string; mtu: number; addr_info: { local: string; prefixlen: number; scope: string }[] }[]>(['addr', 'show', 'dev', 'eth0']);
      expect(podAddrs[0].address).to.equal(podItf.mac);
      expect(podAddrs[0].mtu).to.equal(1400);
      const globals = podAddrs[0].addr_info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`);
      expect(globals).to.have.members([v4.address, v6.address]);
      const hostRoutes = await lab.node.ipJson<{ dst: string; dev: string; scope?: string }[]>(['route', 'show', 'proto', '201']);
      expect(hostRoutes.find((r) => r.dst === v4.address.replace('/32', ''))).to.deep.include({ dev: hostItf.name, scope: 'link' });
      const hostRoutes6 = await lab.node.ipJson<{ dst: string; dev: string }[]>(['-6', 'route', 'show', 'proto', '201']);
      expect(hostRoutes6.find((r) => r.dst === v6.address.replace('/128', ''))).to.deep.include({ dev: hostItf.name });
      const proxyArp = await lab.node.exec('cat', [`/proc/sys/net/ipv4/conf/${hostItf.name}/proxy_arp`, `/proc/sys/net/ipv4/neigh/${hostItf.name}/proxy_delay`]);
      expect(proxyArp.stdout.split('\n').slice(0, 2)).to.deep.equal(['1', '0']);

      if (version !== '0.3.1') {
        await lab.ok('CHECK', { ...conf, prevResult: res }, { containerId, netns, pod: { namespace: 'default', name: containerId } });
      } else {
        const r = await lab.call('CHECK', { ...conf, prevResult: res }, { containerId, netns });
        expect(r.json?.code, 'CHECK does not exist in 0.3.1').to.equal(1);
      }

      await lab.ok('DEL', conf, { containerId, netns, pod: { namespace: 'default', name: containerId } });
      await lab.ok('DEL', conf, { containerId, netns, pod: { namespace: 'default', name: containerId } });
      expect(await linkNames(pod)).to.deep.equal(['lo']);
      expect(await lab.snapshot()).to.deep.equal(before);
    });
  }

  it('ADD turns node-wide IPv4 and IPv6 forwarding on when it is off (and DEL leaves it on)', async function () {
    const cold = await buildLab({ forwarding: false });
    try {
      const read = async (): Promise<string> =>
        (await cold.node.exec('cat', ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/ipv6/conf/all/forwarding'])).stdout;
      expect(await read()).to.equal('0\n0\n');
      const pod = await cold.newPod();
      const conf = tortieConf(cold.ipamDir, '1.0.0');
      await cold.ok('ADD', conf, { containerId: 'fwd', netns: cold.netnsPath(pod) });
      expect(await read()).to.equal('1\n1\n');
      await cold.ok('DEL', conf, { containerId: 'fwd', netns: cold.netnsPath(pod) });
      expect(await read()).to.equal('1\n1\n');
    } finally {
      await cold.destroy();
    }
  });

  it('CHECK lists exactly what differs (address, route, sysctl, proto)', async function () {
    const pod = await lab.newPod();
    const netns = lab.netnsPath(pod);
    const conf = tortieConf(lab.ipamDir, '1.1.0');
    const opts = { containerId: 'chk1', netns };
    const res = (await lab.ok('ADD', conf, opts)) as unknown as ResultJson;
    const veth = res.interfaces[0].name;
    const v4 = res.ips[0].address;
    await pod.ip(['addr', 'add', '10.99.0.1/24', 'dev', 'eth0']);
    await pod.ip(['route', 'del', 'default', 'via', '169.254.1.1']);
    await lab.node.exec('sh', ['-c', `echo 0 > /proc/sys/net/ipv4/conf/${veth}/proxy_arp`]);
    await lab.node.ip(['route', 'change', v4, 'dev', veth, 'proto', 'static', 'scope', 'link']);
    const r = await lab.call('CHECK', { ...conf, prevResult: res }, opts);
    expect(r.code).to.equal(1);
    expect(r.json?.code).to.equal(104);
    const details = String(r.json?.details).split('; ');
    expect(details).to.have.members([
      'pod eth0: unexpected address 10.99.0.1/24',
      'pod eth0: route 0.0.0.0/0 via 169.254.1.1 is missing',
      `host ${veth}: route ${v4} has proto 4, want 201`,
      `host ${veth}: net.ipv4.conf.${veth}.proxy_arp is 0, want 1`,
    ]);
    await lab.ok('DEL', conf, opts);
    const gone = await lab.call('CHECK', { ...conf, prevResult: res }, opts);
    expect(gone.json?.code).to.equal(104);
    expect(String(gone.json?.details)).to.include('pod eth0: does not exist');
    expect(String(gone.json?.details)).to.include(`host ${veth}: does not exist`);
  });

  it('DEL succeeds when the netns is gone, without prevResult, and twice', async function () {
    const pod = await lab.newPod();
    const netns = lab.netnsPath(pod);
    const conf = tortieConf(lab.ipamDir, '1.0.0');
    const opts = { containerId: 'gone1', netns };
    const res = (await lab.ok('ADD', conf, opts)) as unknown as ResultJson;
    const allocated = lab.allocations().length;
    await run('ip', ['netns', 'del', pod.name]);
    await lab.ok('DEL', conf, opts);
    await lab.ok('DEL', conf, { ...opts, netns: '' });
    expect(lab.allocations().length).to.equal(allocated - 2);
    expect(await linkNames(lab.node)).to.not.include(res.interfaces[0].name);
  });

  it('DEL when the veth is already gone still releases the address', async function () {
    const pod = await lab.newPod();
    const netns = lab.netnsPath(pod);
    const conf = tortieConf(lab.ipamDir, '1.0.0');
    const opts = { containerId: 'linkgone', netns };
    const res = (await lab.ok('ADD', conf, opts)) as unknown as ResultJson;
    await lab.node.ip(['link', 'del', res.interfaces[0].name]);
    const allocated = lab.allocations().length;
    await lab.ok('DEL', { ...conf, prevResult: res }, opts);
    expect(lab.allocations().length).to.equal(allocated - 2);
  });

  it('a late DEL of an older sandbox leaves the new sandbox of the same pod alone', async function () {
    const conf = tortieConf(lab.ipamDir, '1.0.0');
    const podId = { namespace: 'default', name: 'web-0' };
    const oldPod = await lab.newPod();
    const oldOpts = { containerId: 'sandbox-old', netns: lab.netnsPath(oldPod), pod: podId };
    const oldRes = (await lab.ok('ADD', conf, oldOpts)) as unknown as ResultJson;
    const newPod = await lab.newPod();
    const newOpts = { containerId: 'sandbox-new', netns: lab.netnsPath(newPod), pod: podId };
    const newRes = (await lab.ok('ADD', conf, newOpts)) as unknown as ResultJson;
    // Same pod identity, same veth name: the new ADD replaced the stale veth.
    expect(newRes.interfaces[0].name).to.equal(oldRes.interfaces[0].name);
    expect(await linkNames(oldPod)).to.deep.equal(['lo']);
    await lab.ok('DEL', conf, oldOpts);
    expect(await linkNames(newPod)).to.include('eth0');
    await lab.ok('CHECK', { ...conf, prevResult: newRes }, newOpts);
    await lab.ok('DEL', conf, newOpts);
    expect(await linkNames(newPod)).to.deep.equal(['lo']);
  });

  it('accepts CNI_NETNS as /proc/<pid>/ns/net', async function () {
    const pod = await lab.newPod();
    const holder: TrackedProcess = pod.spawn('sleep', ['600']);
    try {
      await sleep(100);
      const netns = `/proc/${holder.pid}/ns/net`;
      const conf = tortieConf(lab.ipamDir, '1.1.0');
      const opts = { containerId: 'procns', netns };
      const res = (await lab.ok('ADD', conf, opts)) as unknown as ResultJson;
      expect(res.interfaces[1].sandbox).to.equal(netns);
      expect(await linkNames(pod)).to.include('eth0');
      await lab.ok('CHECK', { ...conf, prevResult: res }, opts);
      await lab.ok('DEL', conf, opts);
      expect(await linkNames(pod)).to.deep.equal(['lo']);
    } finally {
      await holder.stop();
    }
  });

  it('takes the MTU of the uplink (the default route device) when the config has none', async function () {
    await lab.node.ip(['link', 'set', 've0a', 'mtu', '1442']);
    try {
      const pod = await lab.newPod();
      const conf = tortieConf(lab.ipamDir, '1.1.0');
      const opts = { containerId: 'mtu1', netns: lab.netnsPath(pod) };
      const res = (await lab.ok('ADD', conf, opts)) as unknown as ResultJson;
      expect(res.interfaces.map((i) => i.mtu)).to.deep.equal([1442, 1442]);
      await lab.ok('DEL', conf, opts);
    } finally {
      await lab.node.ip(['link', 'set', 've0a', 'mtu', '1500']);
    }
  });

  it('GC removes only the attachments missing from cni.dev/valid-attachments', async function () {
    const conf = tortieConf(lab.ipamDir, '1.1.0');
    const pods = await Promise.all([lab.newPod(), lab.newPod(), lab.newPod()]);
    const ids = ['gc-keep-1', 'gc-stale', 'gc-keep-2'];
    const results: ResultJson[] = [];
    for (const [i, pod] of pods.entries()) {
      results.push((await lab.ok('ADD', conf, { containerId: ids[i], netns: lab.netnsPath(pod) })) as unknown as ResultJson);
    }
    // A link with our prefix that is not ours (no tortie alias) must survive too.
    await lab.node.ip(['link', 'add', 'tortiealien0', 'type', 'veth', 'peer', 'name', 'alienpeer0']);
    const gcConf = {
      ...conf,
      'cni.dev/valid-attachments': [
        { containerID: 'gc-keep-1', ifname: 'eth0' },
        { containerID: 'gc-keep-2', ifname: 'eth0' },
      ],
    };
    const r = await lab.call('GC', gcConf);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    // Debian's host-local (1.1.1) predates GC: we say so and skip it.
    expect(r.stderr).to.include('does not speak CNI 1.1.0');
    const links = await linkNames(lab.node);
    expect(links).to.include(results[0].interfaces[0].name);
    expect(links).to.include(results[2].interfaces[0].name);
    expect(links).to.not.include(results[1].interfaces[0].name);
    expect(links).to.include('tortiealien0');
    const routes = await lab.node.ipJson<{ dev: string }[]>(['route', 'show', 'proto', '201']);
    expect(routes.map((x) => x.dev)).to.not.include(results[1].interfaces[0].name);
    expect(await linkNames(pods[1])).to.deep.equal(['lo']);
    expect(await linkNames(pods[0])).to.include('eth0');
    await lab.node.ip(['link', 'del', 'tortiealien0']);
    for (const [i, pod] of pods.entries()) await lab.ok('DEL', conf, { containerId: ids[i], netns: lab.netnsPath(pod) });
  });

  it('GC passes the valid attachments to an IPAM plugin that speaks 1.1.0', async function () {
    const seen = `${lab.topo.tmpDir}/gc-seen.json`;
    writeScript(
      lab.bin,
      'fake-ipam-11',
      `case "$CNI_COMMAND" in
VERSION) echo '{"cniVersion":"1.1.0","supportedVersions":["1.0.0","1.1.0"]}' ;;
GC) cat > ${seen} ;;
STATUS) echo '{"cniVersion":"1.1.0","code":51,"msg":"pools nearly full"}'; exit 1 ;;
*) exit 1 ;;
esac`,
    );
    const conf = { ...tortieConf(lab.ipamDir, '1.1.0'), ipam: { type: 'fake-ipam-11' } };
    const valid = [{ containerID: 'x1', ifname: 'eth0' }];
    const r = await lab.call('GC', { ...conf, 'cni.dev/valid-attachments': valid });
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const got = JSON.parse(await run('cat', [seen]).then((x) => x.stdout)) as Record<string, unknown>;
    expect(got['cni.dev/valid-attachments']).to.deep.equal(valid);
    // STATUS passes the IPAM plugin's 51 through.
    const s = await lab.call('STATUS', conf);
    expect(s.json).to.deep.include({ code: 51 });
  });

  it('STATUS: available with host-local; 50 when the IPAM plugin is missing; 1 below CNI 1.1.0', async function () {
    const conf = tortieConf(lab.ipamDir, '1.1.0');
    const okRun = await lab.call('STATUS', conf);
    expect(okRun.code, okRun.stdout).to.equal(0);
    expect(okRun.stdout).to.equal('');
    const missing = await lab.call('STATUS', { ...conf, ipam: { type: 'no-such-ipam' } });
    expect(missing.json).to.deep.include({ code: 50 });
    const old = await lab.call('STATUS', tortieConf(lab.ipamDir, '1.0.0'));
    expect(old.json).to.deep.include({ code: 1 });
  });

  it('VERSION answers with the supported versions', async function () {
    const r = await lab.call('VERSION', { cniVersion: '0.4.0' });
    expect(r.json).to.deep.equal({ cniVersion: '0.4.0', supportedVersions: ['0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });

  it('hands out no address twice across 12 pods in parallel, and DEL returns them all', async function () {
    const conf = { ...tortieConf(lab.ipamDir, '1.0.0'), ipam: hostLocal(lab.ipamDir, '10.78.0.0/24', undefined), name: 'dup-net' };
    const pods = await Promise.all(Array.from({ length: 12 }, () => lab.newPod()));
    const addrs = await Promise.all(
      pods.map(async (pod, i) => {
        const res = (await lab.ok('ADD', conf, { containerId: `dup${i}`, netns: lab.netnsPath(pod) })) as unknown as ResultJson;
        return res.ips[0].address;
      }),
    );
    expect(new Set(addrs).size).to.equal(12);
    await Promise.all(pods.map((pod, i) => lab.ok('DEL', conf, { containerId: `dup${i}`, netns: lab.netnsPath(pod) })));
    expect(lab.allocations().filter((a) => a.startsWith('dup-net/'))).to.deep.equal([]);
  });
});
