/**
 * npm run bench:dataplane — cross-node pod-to-pod TCP throughput (iperf3)
 * and latency (ping), against two references measured in the same run over
 * the same links:
 *
 *   host     node namespace to node namespace, no pods: the physical baseline;
 *   tortie   pod to pod through tortie (pods made by the tortie CNI plugin,
 *            routed over plain IP by the agents);
 *   vxlan    pod to pod through a VXLAN overlay (VNI 42, UDP 4789) that this
 *            bench builds itself between the same two nodes, pods wired the
 *            same routed way but with the overlay's MTU (1450), as an
 *            overlay CNI would.
 *
 * The lab is test/topologies/mesh3.clab.yml (its nodes share one bridge);
 * node-a and node-b are measured. Each round runs every path once, so load
 * from elsewhere hits all alike; medians are reported. Targets (issue 9):
 * tortie >= 0.95x host throughput, and tortie faster than vxlan.
 *
 * Two link models, one after the other:
 *   1gbit   each node's uplink shaped to 1 Gbit/s (tc tbf), as a physical
 *           NIC has a line rate: the link is the bottleneck, so the figures
 *           compare what each path costs on the wire (the targets apply here);
 *   none    bare veths: no line rate, the CPU is the bottleneck, so the
 *           figures compare per-packet processing (pod veth hops, routing,
 *           encapsulation) on this machine.
 *
 * Options:
 *   --rates R,R      link models (tc rates, or none), default 1gbit,none
 *   --rounds K       rounds (default 3)
 *   --seconds S      iperf3 duration per measurement (default 5; the first second is omitted)
 *   --pings N        pings per latency measurement (default 200, 10 ms apart)
 *   --json FILE      also write the results as JSON
 *   --strict         exit 1 when a target is missed
 * Needs root and iperf3; pods need the dist/bin bundles (npm run build).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { TortieError } from '../../lib/errors.js';
import { allEstablished } from '../../lab/bgp-views.js';
import { run, runIn, sleep, waitFor } from '../../lab/command.js';
import { REPO_ROOT } from '../../lab/daemons.js';
import { Lab } from '../../lab/lab.js';
import { podNamespace } from '../../lab/names.js';
import { addPod, podAddress } from '../../lab/pods.js';
import type { PodRecord } from '../../lab/state.js';

type PathName = 'host' | 'tortie' | 'vxlan';
const PATHS: readonly PathName[] = ['host', 'tortie', 'vxlan'];

interface Endpoint {
  ns: string;
  address: string;
}

interface Cli {
  rates: string[];
  rounds: number;
  seconds: number;
  pings: number;
  json?: string;
  strict: boolean;
}

function parseCli(argv: readonly string[]): Cli {
  const cli: Cli = { rates: ['1gbit', 'none'], rounds: 3, seconds: 5, pings: 200, strict: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (): number => {
      const n = Number(argv[++i]);
      if (!Number.isFinite(n) || n <= 0) throw new TortieError('ERR_BENCH_USAGE', `${a} takes a positive number`);
      return n;
    };
    if (a === '--rates') {
      cli.rates = (argv[++i] ?? '').split(',').filter(Boolean);
      if (!cli.rates.length || cli.rates.some((r) => r !== 'none' && !/^\d+(\.\d+)?[kmg]?bit$/.test(r))) throw new TortieError('ERR_BENCH_USAGE', '--rates takes tc rates such as 1gbit or 500mbit, or none');
    } else if (a === '--rounds') cli.rounds = Math.floor(num());
    else if (a === '--seconds') cli.seconds = Math.max(2, Math.floor(num()));
    else if (a === '--pings') cli.pings = Math.floor(num());
    else if (a === '--json') cli.json = argv[++i];
    else if (a === '--strict') cli.strict = true;
    else throw new TortieError('ERR_BENCH_USAGE', `unknown argument ${a} (see bench/dataplane/bench.ts)`);
  }
  return cli;
}

const VX = { vni: '42', port: '4789', dev: 'vx42', mtu: 1450, a: '172.30.0.1', b: '172.30.0.2', podA: '172.31.1.2', podB: '172.31.2.2' };

/** The reference overlay: a VXLAN device on each node and one pod per node routed through it. */
async function buildVxlan(lab: Lab, nodeA: string, nodeB: string, underlayA: string, underlayB: string): Promise<[Endpoint, Endpoint]> {
  const ends: [string, string, string, string, string, string][] = [
    [nodeA, underlayA, underlayB, VX.a, VX.podA, '172.31.2.0/24'],
    [nodeB, underlayB, underlayA, VX.b, VX.podB, '172.31.1.0/24'],
  ];
  const out: Endpoint[] = [];
  for (const [node, local, remote, vtep, pod, otherPods] of ends) {
    const nns = lab.ns(node);
    const pns = podNamespace(lab.name, node, 'vx');
    // Recorded as a pod so `down` removes it with the lab.
    lab.store.update((s) => s.pods.push({ node, name: 'vx', netns: pns, containerId: 'bench-vxlan', ifname: 'eth0', addresses: [`${pod}/32`] }));
    await run('ip', ['-n', nns, 'link', 'add', VX.dev, 'type', 'vxlan', 'id', VX.vni, 'local', local, 'remote', remote, 'dstport', VX.port, 'dev', 'eth1']);
    await run('ip', ['-n', nns, 'addr', 'add', `${vtep}/30`, 'dev', VX.dev]);
    await run('ip', ['-n', nns, 'link', 'set', VX.dev, 'mtu', String(VX.mtu), 'up']);
    await run('ip', ['netns', 'add', pns]);
    await run('ip', ['-n', pns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', nns, 'link', 'add', 'vxpod', 'mtu', String(VX.mtu), 'type', 'veth', 'peer', 'name', 'eth0', 'mtu', String(VX.mtu), 'netns', pns]);
    await runIn(nns, 'sysctl', ['-qw', 'net.ipv4.conf.vxpod.proxy_arp=1', 'net.ipv4.neigh.vxpod.proxy_delay=0']);
    await run('ip', ['-n', nns, 'link', 'set', 'vxpod', 'up']);
    await run('ip', ['-n', nns, 'route', 'add', `${pod}/32`, 'dev', 'vxpod', 'scope', 'link']);
    await run('ip', ['-n', nns, 'route', 'add', otherPods, 'via', vtep === VX.a ? VX.b : VX.a, 'dev', VX.dev]);
    await run('ip', ['-n', pns, 'addr', 'add', `${pod}/32`, 'dev', 'eth0']);
    await run('ip', ['-n', pns, 'link', 'set', 'eth0', 'up']);
    await run('ip', ['-n', pns, 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
    await run('ip', ['-n', pns, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
    out.push({ ns: pns, address: pod });
  }
  return [out[0], out[1]];
}

async function throughputBps(client: Endpoint, server: Endpoint, seconds: number): Promise<number> {
  const srv = spawn('ip', ['netns', 'exec', server.ns, 'iperf3', '-s', '-1', '-B', server.address], { stdio: 'ignore' });
  try {
    let last: unknown;
    for (let i = 0; i < 30; i++) {
      try {
        const { stdout } = await runIn(client.ns, 'iperf3', ['-c', server.address, '-t', String(seconds), '-O', '1', '-J'], { timeoutMs: (seconds + 30) * 1000 });
        const r = JSON.parse(stdout) as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
        if (r.error) throw new TortieError('ERR_BENCH_IPERF', r.error);
        return r.end?.sum_received?.bits_per_second ?? 0;
      } catch (err) {
        last = err;
        await sleep(100);
      }
    }
    throw last instanceof Error ? last : new TortieError('ERR_BENCH_IPERF', String(last));
  } finally {
    if (srv.exitCode === null) srv.kill('SIGKILL');
  }
}

/** Median round-trip time in microseconds over `count` pings 10 ms apart. */
async function rttMicros(client: Endpoint, server: Endpoint, count: number): Promise<number> {
  const { stdout } = await runIn(client.ns, 'busybox', ['ping', '-c', String(count), '-i', '0.01', server.address], { timeoutMs: count * 100 + 20_000 });
  const times = [...stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]) * 1000);
  if (times.length < count * 0.9) throw new TortieError('ERR_BENCH_PING', `only ${times.length} of ${count} pings answered from ${server.address}`);
  return median(times);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main(): Promise<number> {
  const cli = parseCli(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new TortieError('ERR_BENCH_PREREQ', 'bench:dataplane needs root (network namespaces)');
  const base = Lab.load(`${REPO_ROOT}/test/topologies/mesh3.clab.yml`);
  const lab = Lab.load(base.topo.file, { name: `bench-dp-${process.pid.toString(36)}` });
  const cleanup = (): void => void lab.down().finally(() => process.exit(130));
  process.once('SIGINT', cleanup);
  process.once('SIGTERM', cleanup);
  try {
    process.stderr.write('bench:dataplane: building the lab ...\n');
    await lab.up();
    await waitFor('BGP sessions', async () => ((await allEstablished(lab)) ? true : undefined), 60_000, 250);
    const podA: PodRecord = await addPod(lab, 'node-a', 'bench');
    const podB: PodRecord = await addPod(lab, 'node-b', 'bench');
    const [vxA, vxB] = await buildVxlan(lab, 'node-a', 'node-b', '192.0.2.11', '192.0.2.12');
    const pairs: Record<PathName, [Endpoint, Endpoint]> = {
      host: [{ ns: lab.ns('node-a'), address: '192.0.2.11' }, { ns: lab.ns('node-b'), address: '192.0.2.12' }],
      tortie: [{ ns: podA.netns, address: podAddress(podA) }, { ns: podB.netns, address: podAddress(podB) }],
      vxlan: [vxA, vxB],
    };
    // Every path must work before anything is timed.
    for (const p of PATHS) await rttMicros(pairs[p][0], pairs[p][1], 3);
    const out = process.stdout;
    out.write(`\nbench:dataplane  ${cli.rounds} rounds x ${cli.seconds} s iperf3 (1 stream, first second omitted), ${cli.pings} pings; medians\n`);
    out.write(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, kernel ${release()}, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
    const results: Record<string, unknown> = {};
    let allMet = true;
    for (const rate of cli.rates) {
      for (const node of ['node-a', 'node-b']) {
        await run('ip', ['netns', 'exec', lab.ns(node), 'tc', 'qdisc', 'del', 'dev', 'eth1', 'root']).catch(() => undefined);
        if (rate !== 'none') await run('ip', ['netns', 'exec', lab.ns(node), 'tc', 'qdisc', 'add', 'dev', 'eth1', 'root', 'tbf', 'rate', rate, 'burst', '1mb', 'latency', '20ms']);
      }
      const tput: Record<PathName, number[]> = { host: [], tortie: [], vxlan: [] };
      const rtt: Record<PathName, number[]> = { host: [], tortie: [], vxlan: [] };
      for (let r = 1; r <= cli.rounds; r++) {
        for (const p of PATHS) {
          tput[p].push(await throughputBps(pairs[p][0], pairs[p][1], cli.seconds));
          rtt[p].push(await rttMicros(pairs[p][0], pairs[p][1], cli.pings));
          process.stderr.write(`  link ${rate} round ${r}/${cli.rounds} ${p.padEnd(6)} ${(tput[p].at(-1)! / 1e9).toFixed(2)} Gbit/s  rtt ${rtt[p].at(-1)!.toFixed(0)} us\n`);
        }
      }
      const med = (o: Record<PathName, number[]>): Record<PathName, number> => ({ host: median(o.host), tortie: median(o.tortie), vxlan: median(o.vxlan) });
      const t = med(tput);
      const l = med(rtt);
      const vsHost = t.tortie / t.host;
      const vsVxlan = t.tortie / t.vxlan;
      const ok = { host: vsHost >= 0.95, vxlan: t.tortie > t.vxlan };
      out.write(`\nlink ${rate === 'none' ? 'unlimited (bare veth: CPU-bound)' : `shaped to ${rate} (tc tbf on each node's uplink)`}\n`);
      out.write('path     TCP Gbit/s   vs host   RTT us\n');
      for (const p of PATHS) out.write(`${p.padEnd(8)} ${(t[p] / 1e9).toFixed(3).padStart(10)}   ${(t[p] / t.host).toFixed(3).padStart(7)}   ${l[p].toFixed(0).padStart(6)}\n`);
      if (rate === 'none') {
        // No line rate: the figures price per-packet CPU, where a pod path
        // pays for its two extra veth hops and two forwards. The issue's
        // targets are for a link with a line rate (the shaped model).
        out.write(`tortie / host  = ${vsHost.toFixed(3)}  (informational: the 0.95 target applies to a link with a line rate)\n`);
        out.write(`tortie / vxlan = ${vsVxlan.toFixed(3)}  (informational)\n`);
      } else {
        out.write(`tortie / host  = ${vsHost.toFixed(3)}  (target >= 0.95) ${ok.host ? 'met' : 'MISSED'}\n`);
        out.write(`tortie / vxlan = ${vsVxlan.toFixed(3)}  (target > 1)     ${ok.vxlan ? 'met' : 'MISSED'}\n`);
      }
      if (rate !== 'none') allMet &&= ok.host && ok.vxlan;
      results[rate] = { throughputBps: tput, rttMicros: rtt, median: { throughputBps: t, rttMicros: l }, ratios: { tortieVsHost: vsHost, tortieVsVxlan: vsVxlan } };
    }
    if (cli.json) writeFileSync(cli.json, `${JSON.stringify({ rounds: cli.rounds, seconds: cli.seconds, pings: cli.pings, results }, null, 2)}\n`);
    return cli.strict && !allMet ? 1 : 0;
  } finally {
    process.stderr.write('bench:dataplane: tearing down ...\n');
    await lab.down();
  }
}

main().then((code) => {
  process.exitCode = code;
}, (err: unknown) => {
  process.stderr.write(`bench:dataplane: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
