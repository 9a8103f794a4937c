// tortie CNI chained with Debian's reference `portmap` and `bandwidth`
// plugins in one conflist, run the way libcni runs a chain: ADD plugin by
// plugin, each getting the previous result as prevResult and its
// capabilities' runtimeConfig; CHECK each with the final result; DEL in
// reverse order.

import { expect } from 'chai';
import { decodeResult, parseConfList, pluginConfig, type CniResult } from '../../cni/spec/index.js';
import { buildLab, hostLocal, linkNames, type CniLab } from './cni-harness.js';
import { waitFor } from '../support/netns.js';

const HOST_PORT = 18080;
const POD_PORT = 8081;
const SERVER = `require('node:net').createServer((s) => s.end('pod')).listen(${POD_PORT}, '0.0.0.0', () => console.log('listening'))`;
const CLIENT = `const s = require('node:net').connect({ host: process.argv[1], port: ${HOST_PORT}, timeout: 3000 });
let got = ''; s.on('data', (d) => (got += d)); s.on('end', () => { console.log(got); process.exit(0); });
s.on('timeout', () => process.exit(2)); s.on('error', (e) => { console.error(e.message); process.exit(3); });`;

describe('cni: tortie + portmap + bandwidth conflist (netns)', function () {
  this.timeout(120_000);
  let lab: CniLab;

  before(async function () {
    lab = await buildLab();
  });
  after(async function () {
    await lab?.destroy();
  });

  for (const version of ['1.0.0', '0.4.0'] as const) {
    it(`ADD, CHECK and DEL the chain (cniVersion ${version})`, async function () {
      const list = parseConfList(
        JSON.stringify({
          cniVersion: version,
          name: `chain-${version.replace(/\./g, '')}`,
          plugins: [
            // IPv4 only: Debian's portmap 1.1.1 CHECK looks for IPv4 rules in ip6tables on a dual-stack result.
            { type: 'tortie', ipam: hostLocal(lab.ipamDir, '10.77.0.0/24', undefined) },
            { type: 'portmap', capabilities: { portMappings: true }, snat: true },
            { type: 'bandwidth', capabilities: { bandwidth: true } },
          ],
        }),
      );
      const runtimeConfig = {
        portMappings: [{ hostPort: HOST_PORT, containerPort: POD_PORT, protocol: 'tcp' }],
        bandwidth: { ingressRate: 100_000_000, ingressBurst: 1_000_000, egressRate: 100_000_000, egressBurst: 1_000_000 },
      };
      const containerId = `chain${version.replace(/\./g, '')}`;
      const pod = await lab.newPod(`chainpod${version}`);
      const opts = (i: number): { containerId: string; netns: string; plugin: string } => ({
        containerId,
        netns: lab.netnsPath(pod),
        plugin: list.plugins[i].type as string,
      });
      const before = await lab.snapshot();

      // ADD down the chain.
      let prev: CniResult | undefined;
      for (let i = 0; i < list.plugins.length; i++) {
        const conf = pluginConfig(list, i, { runtimeConfig, ...(prev ? { prevResult: prev } : {}) });
        const out = await lab.ok('ADD', conf, opts(i));
        prev = decodeResult(out);
      }
      const final = prev!;
      const veth = final.interfaces!.find((x) => x.sandbox === undefined)!.name;
      expect(veth).to.match(/^tortie/);

      // portmap: the DNAT chain exists and a TCP connection to the node's port reaches the pod.
      const nat = await lab.node.exec('iptables', ['-t', 'nat', '-S']);
      expect(nat.stdout).to.include(`--dport ${HOST_PORT}`);
      const server = pod.spawn(process.execPath, ['-e', SERVER], { logFile: `${lab.topo.tmpDir}/chain-server-${version}.log` });
      try {
        await waitFor('pod server', () => Promise.resolve(server.logTail().includes('listening') ? true : undefined), { timeoutMs: 15_000, intervalMs: 50 });
        const r = await lab.peer.exec(process.execPath, ['-e', CLIENT, '192.0.2.1']);
        expect(r.stdout.trim()).to.equal('pod');
      } finally {
        await server.stop();
      }

      // bandwidth: a tbf qdisc on our host veth (ingress shaping) and an ifb for egress.
      const tc = await lab.node.exec('tc', ['qdisc', 'show', 'dev', veth]);
      expect(tc.stdout).to.match(/qdisc tbf/);
      expect((await linkNames(lab.node)).some((n) => n.startsWith('bwp'))).to.be.true;

      // CHECK every plugin against the final result (0.4.0 and later). Debian's
      // portmap 1.1.1 has a known CHECK bug on IPv4-only results
      // (containernetworking/plugins#819: it looks for the IPv4 rules with
      // ip6tables); we accept exactly that failure from it and nothing else.
      for (let i = 0; i < list.plugins.length; i++) {
        const r = await lab.call('CHECK', pluginConfig(list, i, { runtimeConfig, prevResult: final }), opts(i));
        if (opts(i).plugin === 'portmap' && r.code !== 0) {
          expect(String(r.json?.msg)).to.match(/^could not check ipv6 dnat: rule .* not found in table nat$/);
          continue;
        }
        expect(r.code, `${opts(i).plugin} CHECK: ${r.stdout}${r.stderr}`).to.equal(0);
      }

      // DEL in reverse order, twice.
      for (let round = 0; round < 2; round++) {
        for (let i = list.plugins.length - 1; i >= 0; i--) {
          await lab.ok('DEL', pluginConfig(list, i, { runtimeConfig, prevResult: final }), opts(i));
        }
      }
      expect(await linkNames(pod)).to.deep.equal(['lo']);
      const afterSnap = await lab.snapshot();
      expect(afterSnap.links).to.deep.equal(before.links);
      expect(afterSnap.routes).to.deep.equal(before.routes);
      expect(afterSnap.allocations).to.deep.equal(before.allocations);
      const natAfter = await lab.node.exec('iptables', ['-t', 'nat', '-S']);
      expect(natAfter.stdout).to.not.include(`--dport ${HOST_PORT}`);
    });
  }
});
