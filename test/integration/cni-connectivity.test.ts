// tortie CNI: pods wired by the plugin reach each other and the node over
// IPv4 and IPv6, by ping and by TCP. The node namespace has a default route
// over a veth to a peer namespace (proxy ARP for 169.254.1.1 needs one), and
// host-local hands out the addresses.

import { expect } from 'chai';
import { buildLab, tortieConf, type CniLab } from './cni-harness.js';
import { waitFor, type Netns, type TrackedProcess } from '../support/netns.js';

const NODE_V4 = '192.0.2.1';
const NODE_V6 = '2001:db8:1::1';
const PORT = 8081;

/** A one-line TCP echo server (this Node), listening on all addresses of `ns`. */
const SERVER = `require('node:net').createServer((s) => s.once('data', (d) => s.end('echo:' + d))).listen(${PORT}, '::', () => console.log('listening'))`;
const CLIENT = `const s = require('node:net').connect({ host: process.argv[1], port: ${PORT}, timeout: 3000 }, () => s.write('hi'));
let got = ''; s.on('data', (d) => (got += d)); s.on('end', () => { console.log(got); process.exit(got === 'echo:hi' ? 0 : 1); });
s.on('timeout', () => { console.error('timeout'); process.exit(2); }); s.on('error', (e) => { console.error(e.message); process.exit(3); });`;

describe('cni: tortie pod connectivity (netns)', function () {
  this.timeout(120_000);
  let lab: CniLab;
  let podA: Netns;
  let podB: Netns;
  const addrs: Record<'a' | 'b', { v4: string; v6: string }> = { a: { v4: '', v6: '' }, b: { v4: '', v6: '' } };
  const servers: TrackedProcess[] = [];

  before(async function () {
    lab = await buildLab();
    podA = await lab.newPod('podA');
    podB = await lab.newPod('podB');
    for (const [key, pod] of [['a', podA], ['b', podB]] as const) {
      const res = (await lab.ok('ADD', tortieConf(lab.ipamDir, '1.1.0'), {
        containerId: `conn-${key}`,
        netns: lab.netnsPath(pod),
        pod: { namespace: 'default', name: `conn-${key}` },
      })) as { ips: { address: string }[] };
      addrs[key].v4 = res.ips.find((i) => !i.address.includes(':'))!.address.split('/')[0]!;
      addrs[key].v6 = res.ips.find((i) => i.address.includes(':'))!.address.split('/')[0]!;
    }
    for (const ns of [podB, lab.node]) {
      const p = ns.spawn(process.execPath, ['-e', SERVER], { logFile: `${lab.topo.tmpDir}/server-${ns.name}.log` });
      servers.push(p);
    }
    for (const p of servers) {
      await waitFor(`${p.argv.join(' ')} to listen`, () => Promise.resolve(p.logTail().includes('listening') ? true : undefined), {
        timeoutMs: 15_000,
        intervalMs: 50,
        failFast: () => (p.running ? undefined : `exited: ${p.logTail()}`),
      });
    }
  });

  after(async function () {
    await lab?.destroy();
  });

  async function ping(from: Netns, to: string): Promise<void> {
    const args = to.includes(':') ? ['ping', '-6', '-c', '2', '-W', '2', to] : ['ping', '-c', '2', '-W', '2', to];
    const { stdout } = await from.exec('busybox', args);
    expect(stdout).to.match(/2 packets transmitted, 2 packets received/);
  }

  async function tcp(from: Netns, to: string): Promise<void> {
    const { stdout } = await from.exec(process.execPath, ['-e', CLIENT, to]);
    expect(stdout.trim()).to.equal('echo:hi');
  }

  const cases: { name: string; from: () => Netns; to: () => string }[] = [
    { name: 'pod → pod, IPv4', from: () => podA, to: () => addrs.b.v4 },
    { name: 'pod → pod, IPv6', from: () => podA, to: () => addrs.b.v6 },
    { name: 'pod → node, IPv4', from: () => podA, to: () => NODE_V4 },
    { name: 'pod → node, IPv6', from: () => podA, to: () => NODE_V6 },
  ];
  for (const c of cases) {
    it(`ping ${c.name}`, async () => ping(c.from(), c.to()));
    it(`TCP ${c.name}`, async () => tcp(c.from(), c.to()));
  }
  it('ping node → pod, IPv4 and IPv6', async function () {
    await ping(lab.node, addrs.a.v4);
    await ping(lab.node, addrs.a.v6);
  });

  it('answers the first packet without the proxy ARP delay', async function () {
    // A fresh pod has an empty neighbour table: its first ping must not wait ~400 ms.
    const pod = await lab.newPod('podC');
    const conf = tortieConf(lab.ipamDir, '1.1.0');
    await lab.ok('ADD', conf, { containerId: 'conn-c', netns: lab.netnsPath(pod) });
    const { stdout } = await pod.exec('busybox', ['ping', '-c', '1', '-W', '2', NODE_V4]);
    const ms = Number(/time=([\d.]+) ms/.exec(stdout)?.[1]);
    // Without proxy_delay=0 the kernel delays the proxied answer by a random 0–800 ms.
    expect(ms, stdout).to.be.lessThan(300);
    await lab.ok('DEL', conf, { containerId: 'conn-c', netns: lab.netnsPath(pod) });
  });
});
