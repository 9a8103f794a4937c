/**
 * The one-command demo (`npm run demo`, via scripts/demo.sh): the leaf-spine
 * lab with two pods per node, then what tortie did, shown with the tools an
 * operator would use, and proof that pods in different racks talk over plain
 * routed IP. Tears everything down at the end, on Ctrl-C and on failure;
 * `--keep` leaves the lab up and prints how to explore it.
 */
import { relative } from 'node:path';
import { TortieError } from '../lib/errors.js';
import { allEstablished, sessionsOf } from './bgp-views.js';
import { runIn, waitFor } from './command.js';
import { REPO_ROOT } from './daemons.js';
import { Lab } from './lab.js';
import { addPod, podAddress } from './pods.js';
import { captureLinks, pingOnce, tcpTransfer, TUNNEL_FILTER } from './probes.js';
import type { PodRecord } from './state.js';
import { birdc, tortiectl, vtysh } from './tools.js';

const TOPOLOGY = 'test/topologies/leaf-spine.clab.yml';
const keep = process.argv.includes('--keep');
const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s = ''): void => void process.stdout.write(`${s}\n`);
const indent = (text: string): string => text.trimEnd().split('\n').map((l) => `    ${l}`).join('\n');

let lab: Lab | undefined;
let tearingDown: Promise<void> | undefined;
let interrupted = false;

function tearDown(): Promise<void> {
  tearingDown ??= (async () => {
    if (!lab) return;
    process.stdout.write('tearing down ... ');
    const r = await lab.down();
    say(`done (${r.namespaces.length} namespaces removed, nothing left behind)`);
  })();
  return tearingDown;
}

function onSignal(sig: NodeJS.Signals): void {
  interrupted = true;
  say(`\n${sig}: stopping the demo`);
  void tearDown().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
}

async function step<T>(n: number, title: string, fn: () => Promise<T>): Promise<T> {
  say(`\n${bold(`[${n}/7] ${title}`)}`);
  return fn();
}

function show(where: string, cmd: string, out: string): void {
  say(`  ${where}$ ${cmd}`);
  say(indent(out));
}

async function main(): Promise<void> {
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  lab = Lab.load(`${REPO_ROOT}/${TOPOLOGY}`, { log: () => undefined });
  if (lab.isUp()) {
    const l = lab;
    lab = undefined; // not ours: never tear down someone else's lab
    throw new TortieError('ERR_DEMO_LAB_UP', `lab ${l.name} is already up; take it down first: npm run lab -- down ${TOPOLOGY}`);
  }
  say(bold('tortie demo: a leaf-spine lab, 2 racks x 2 nodes, pods talking across racks over plain routed IP'));
  say(`topology ${TOPOLOGY}: spine (FRR, AS 65000); leaf1 (FRR, AS 65001) over r1n1, r1n2 (AS 65101);`);
  say('leaf2 (BIRD, AS 65002) over r2n1, r2n2 (AS 65102). Every node is a network namespace running tortie-agent.');

  await step(1, 'building the lab from network namespaces and veth pairs', async () => {
    const t0 = Date.now();
    await lab!.up();
    say(`  ${lab!.topo.nodes.length} nodes, ${lab!.topo.links.length} links, daemons started in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  await step(2, 'waiting for BGP', async () => {
    const t0 = Date.now();
    await waitFor('every BGP session to be Established', async () => ((await allEstablished(lab!)) ? true : undefined), 60_000, 250);
    let n = 0;
    for (const node of lab!.topo.nodes) n += (await sessionsOf(lab!, node.name)).length;
    say(`  all ${n / 2} sessions Established after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  const pods: PodRecord[] = await step(3, 'starting two pods per node through the tortie CNI plugin', async () => {
    const out: PodRecord[] = [];
    for (const node of lab!.nodesOf('tortie')) {
      for (const name of ['p1', 'p2']) {
        const p = await addPod(lab!, node.name, name);
        out.push(p);
        say(`  ${`${node.name}/${name}`.padEnd(9)} ${p.addresses.join(', ').padEnd(16)} netns ${p.netns}`);
      }
    }
    return out;
  });

  await step(4, 'the BGP view: a node, both ToRs', async () => {
    show('r1n1', 'tortiectl bgp sessions', await tortiectl(lab!, 'r1n1', ['bgp', 'sessions']));
    show('leaf1 (FRR)', "vtysh -c 'show bgp ipv4 unicast'", (await vtysh(lab!, 'leaf1', 'show bgp ipv4 unicast')).replace(/^[\s\S]*?(?= {3}Network)/, ''));
    show('leaf2 (BIRD)', 'birdc show route', (await birdc(lab!, 'leaf2', 'show route')).replace(/^BIRD.*\n/, ''));
  });

  await step(5, "a node's kernel routes (proto 201 is tortie's)", async () => {
    const { stdout } = await runIn(lab!.ns('r1n1'), 'ip', ['route']);
    show('r1n1', 'ip route', stdout);
  });

  await step(6, 'pod to pod across racks: ping and TCP, captured on the links', async () => {
    const a = pods.find((p) => p.node === 'r1n1')!;
    const b = pods.find((p) => p.node === 'r2n2' && p.name === 'p2')!;
    const cap = await captureLinks(lab!);
    try {
      const { stdout } = await runIn(a.netns, 'busybox', ['ping', '-c', '3', podAddress(b)], { timeoutMs: 20_000 });
      show(`r1n1/${a.name}`, `ping -c 3 ${podAddress(b)}   # r2n2/${b.name}, the other rack`, stdout);
      const bps = await tcpTransfer(b, a, { seconds: 2 });
      say(`  r1n1/${a.name}$ iperf3 -c ${podAddress(b)} -t 2`);
      say(`    TCP ${(bps / 1e9).toFixed(2)} Gbit/s from r1n1/${a.name} to r2n2/${b.name}`);
      const back = await pingOnce(b, a);
      if (!back.ok) throw new TortieError('ERR_DEMO_PING', `r2n2/${b.name} cannot reach r1n1/${a.name}: ${back.detail}`);
      await cap.stop();
      const spineLink = cap.captures.find((c) => c.where === 'spine:eth1')!;
      say(`  on the spine-leaf1 link (tcpdump -n -i eth1 in spine):`);
      const { stdout: lines } = await runIn(lab!.ns('spine'), 'tcpdump', ['-r', spineLink.file, '-n', '-c', '4', `icmp and host ${podAddress(a)}`]);
      say(indent(lines.replace(/^\S+ /gm, '')));
      let tunnelled = 0;
      for (const c of cap.captures) tunnelled += await cap.count(c, TUNNEL_FILTER);
      if (tunnelled > 0) throw new TortieError('ERR_DEMO_TUNNEL', `${tunnelled} tunnelled packets seen on the links`);
      say(`  pod addresses on the wire, and no VXLAN, GENEVE, IP-in-IP or GRE packet on any of the ${cap.captures.length} links.`);
    } finally {
      await cap.stop();
      cap.dispose();
    }
  });

  await step(7, keep ? 'leaving the lab up (--keep)' : 'done', async () => {
    if (!keep) return tearDown();
    const file = relative(process.cwd(), lab!.topo.file) || lab!.topo.file;
    const ex = (node: string, cmd: string): string => `npm run lab -- exec ${file} ${node} -- ${cmd}`;
    say('  explore it:');
    say(`    npm run lab -- status ${file}`);
    say(`    ${ex('r1n1', 'tortiectl bgp routes')}`);
    say(`    ${ex('leaf1', "vtysh -c 'show bgp ipv4 unicast'")}`);
    say(`    ${ex('leaf2', 'birdc show route all')}`);
    say(`    ${ex('r2n1', 'ip route')}`);
    say(`    ip netns exec ${pods[0].netns} busybox ping ${podAddress(pods[pods.length - 1])}`);
    say(`    npm run lab -- pod add ${file} r2n1 p3`);
    say(`    npm run lab -- stop ${file} r2n2     # then watch the ToRs withdraw its block`);
    say('  take it down:');
    say(`    npm run lab -- down ${file}`);
    lab = undefined;
    return Promise.resolve();
  });
}

main().then(() => {
  process.exitCode = 0;
}, async (err: unknown) => {
  // After Ctrl-C, whatever was in flight fails as the lab goes away: not news.
  if (interrupted) return;
  say(`\ndemo failed: ${(err as Error).message}`);
  await tearDown().catch((e: unknown) => say(`teardown failed too: ${(e as Error).message}`));
  process.exitCode = 1;
});
