/**
 * Fail-closed for new pods, on a real kernel: a pod whose veth exists but
 * whose policy is not programmed yet cannot get a single packet anywhere,
 * neither to another pod nor to its node; once programmed with a policy
 * that denies its egress, still nothing reaches the other pod; once
 * allowed, traffic flows.
 *
 * The new pod sends a UDP datagram every millisecond from the moment its
 * interface is up. Receipt is counted by the kernel (Udp InDatagrams of
 * the receiver's namespace), and our DROP rule's counters show the
 * datagrams were stopped by us.
 */
import { expect } from 'chai';
import { NodeCommandRunner } from '../../agent/kernel/command-runner.js';
import type { ClusterState, NetworkPolicyInfo, PodInfo } from '../../policy/compile/model.js';
import { PolicyEnforcer } from '../../policy/enforcer.js';
import { isRoot, requireCommands, sleep, Topology, type Netns } from '../support/netns.js';
import { hostIfName, NODE_IP4 } from '../netpol/model.js';
import { plainVethWiring, prepareNode } from '../netpol/wiring.js';

async function udpIn(ns: Netns): Promise<number> {
  const { stdout } = await ns.exec('cat', ['/proc/net/snmp']);
  const lines = stdout.split('\n').filter((l) => l.startsWith('Udp:'));
  const names = lines[0].split(/\s+/);
  const values = lines[1].split(/\s+/);
  return Number(values[names.indexOf('InDatagrams')]) + Number(values[names.indexOf('NoPorts')]);
}

const FLOOD = `
const d = require('node:dgram');
const s = d.createSocket('udp4');
const [b, node] = process.argv.slice(1);
setInterval(() => { s.send('x', 7777, b, () => {}); s.send('x', 7777, node, () => {}); }, 1);
`;

const pod = (name: string, ip: string): PodInfo => ({ namespace: 'x', name, labels: { pod: name }, attachment: { ifName: hostIfName(`x/${name}`), ips: [ip] } });

describe('fail-closed: a new pod cannot send before its rules are in place', function () {
  this.timeout(60_000);
  let topo: Topology;

  before(() => {
    if (!isRoot()) throw new Error('fail-closed test needs root');
    requireCommands(['ip', 'iptables-nft-restore', 'ipset']);
    topo = new Topology();
  });
  after(async () => topo?.destroy());

  it('drops everything from an unprogrammed interface, then follows its policy', async () => {
    const node = await prepareNode(topo);
    const e = new PolicyEnforcer({ runner: new NodeCommandRunner(), netns: node.name, ifacePrefix: 'tortie', nodeAddresses: [NODE_IP4], families: [4] });
    await e.start();
    const bNs = await topo.addNamespace('x-b');
    await plainVethWiring.wire(node, bNs, { key: 'x/b', ip4: '192.0.2.102' });
    const base: ClusterState = { namespaces: [{ name: 'x' }], pods: [pod('b', '192.0.2.102')], policies: [] };
    e.setState(base);
    await e.apply();

    const bBefore = await udpIn(bNs);
    const nodeBefore = await udpIn(node);
    // The new pod: wired, sending at once, unknown to the enforcer.
    const cNs = await topo.addNamespace('x-c');
    await plainVethWiring.wire(node, cNs, { key: 'x/c', ip4: '192.0.2.103' });
    const flood = cNs.spawn(process.execPath, ['-e', FLOOD, '192.0.2.102', NODE_IP4]);
    await sleep(700);
    expect(e.status('x/c').state).to.equal('unknown');
    expect(await udpIn(bNs), 'datagrams that reached x/b before programming').to.equal(bBefore);
    expect(await udpIn(node), 'datagrams that reached the node before programming').to.equal(nodeBefore);
    const { stdout } = await node.exec('iptables-nft-save', ['-c', '-t', 'filter']);
    const drops = stdout.split('\n').filter((l) => /^\[(\d+):\d+\] -A TORTIE-(FROM|POD-INPUT)\b.* -j DROP$/.test(l)).reduce((n, l) => n + Number(/^\[(\d+):/.exec(l)?.[1] ?? 0), 0);
    expect(drops, 'packets dropped by our fail-closed rules').to.be.greaterThan(100);

    // Programmed, with a policy that denies its egress: still nothing reaches x/b.
    const denyC: NetworkPolicyInfo = { namespace: 'x', name: 'deny-c-egress', podSelector: { matchLabels: { pod: 'c' } }, policyTypes: ['Egress'] };
    e.setState({ ...base, pods: [...base.pods, pod('c', '192.0.2.103')], policies: [denyC] });
    const waiting = e.waitProgrammed('x/c', 5_000);
    await e.apply();
    expect((await waiting).state).to.equal('programmed');
    await sleep(500);
    expect(await udpIn(bNs), 'datagrams that reached x/b under a deny policy').to.equal(bBefore);
    // Pod to its own node is always allowed once programmed.
    expect(await udpIn(node)).to.be.greaterThan(nodeBefore);

    // Allowed: traffic flows.
    const allowToB: NetworkPolicyInfo = { namespace: 'x', name: 'c-to-b', podSelector: { matchLabels: { pod: 'c' } }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] };
    e.setState({ ...base, pods: [...base.pods, pod('c', '192.0.2.103')], policies: [denyC, allowToB] });
    await e.apply();
    await sleep(300);
    expect(await udpIn(bNs)).to.be.greaterThan(bBefore);
    await flood.stop();
  });
});
