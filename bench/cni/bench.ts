/**
 * bench:cni — CNI ADD/CHECK/DEL latency and throughput of tortie against
 * the reference Go ptp + host-local, on the same harness in the same run.
 *
 *   npm run bench:cni -- [--pods 200] [--parallel 8,32] [--ipam auto|host-local|tortie-ipam|both]
 *                        [--ipam-conf JSON] [--agent-config FILE] [--ipv6] [--no-build] [--skip-ptp] [--launcher] [--out FILE]
 *
 * What it does:
 *   1. `node scripts/build.mjs` (unless --no-build), so dist/bin/tortie is the current source.
 *   2. Builds a node namespace (default route over a veth to a peer namespace,
 *      forwarding on) and --pods pod namespaces.
 *   3. With tortie-ipam, starts dist/bin/tortie-agent in the node namespace
 *      (--agent-config, or a generated config with one local-datastore pool).
 *   4. Runs driver.ts inside the node namespace: for each suite, sequential
 *      ADD, CHECK, DEL of every pod (p50/p95/p99), then ADD and DEL of every
 *      pod at each --parallel concurrency (ops/s), counting duplicate IPs;
 *      plus the start-up floors (`node -e 0`, each plugin's VERSION).
 *   5. Prints a table and checks the targets of issue 6.
 *
 * Plugins run with `env -i`-style environments (PATH + CNI_* only; the
 * shell's NODE_EXTRA_CA_CERTS would cost ~50 ms per Node start, notes.md).
 * PATH starts with this Node's directory (Node 24 from node_modules), so
 * the bundles' `#!/usr/bin/env node` does not pick the system Node 20.
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { copyFileSync, chmodSync, mkdirSync, symlinkSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildNodePeer } from '../../test/support/kernel-topology.js';
import { isRoot, requireCommands, waitFor, type Netns, type Topology } from '../../test/support/netns.js';
import type { DriverConfig, DriverReport, OpStats, Suite } from './driver.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST = join(ROOT, 'dist', 'bin');
const PATH_ENV = `${dirname(process.execPath)}:/usr/sbin:/usr/bin:/sbin:/bin`;

interface Options {
  pods: number;
  parallel: number[];
  ipam: 'auto' | 'host-local' | 'tortie-ipam' | 'both';
  ipamConf?: Record<string, unknown>;
  agentConfig?: string;
  ipv6: boolean;
  build: boolean;
  ptp: boolean;
  /** Also run tortie through the /opt/cni/bin launcher that deploy/install-cni.sh writes (issue 7: its ADD cost). */
  launcher: boolean;
  out?: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { pods: 200, parallel: [8, 32], ipam: 'auto', ipv6: false, build: true, ptp: true, launcher: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--pods') o.pods = Number(val());
    else if (a === '--parallel') o.parallel = val().split(',').map(Number);
    else if (a === '--ipam') {
      const v = val();
      if (!['auto', 'host-local', 'tortie-ipam', 'both'].includes(v)) throw new Error(`--ipam ${v}: want auto, host-local, tortie-ipam or both`);
      o.ipam = v as Options['ipam'];
    } else if (a === '--ipam-conf') o.ipamConf = JSON.parse(val()) as Record<string, unknown>;
    else if (a === '--agent-config') o.agentConfig = val();
    else if (a === '--ipv6') o.ipv6 = true;
    else if (a === '--no-build') o.build = false;
    else if (a === '--skip-ptp') o.ptp = false;
    else if (a === '--launcher') o.launcher = true;
    else if (a === '--out') o.out = val();
    else throw new Error(`unknown option ${a}`);
  }
  if (!Number.isInteger(o.pods) || o.pods < 1) throw new Error('--pods must be a positive integer');
  return o;
}

function loud(msg: string): void {
  const bar = '!'.repeat(78);
  process.stderr.write(`\n${bar}\n!! ${msg.split('\n').join('\n!! ')}\n${bar}\n\n`);
}

/** True when dist/bin/tortie-ipam is a real IPAM plugin (answers VERSION with a version result). */
function tortieIpamWorks(): { works: boolean; why: string } {
  const file = join(DIST, 'tortie-ipam');
  if (!existsSync(file)) return { works: false, why: `${file} does not exist` };
  const r = spawnSync(file, [], { env: { PATH: PATH_ENV, CNI_COMMAND: 'VERSION' }, input: '{"cniVersion":"1.0.0"}', encoding: 'utf8', timeout: 10_000 });
  try {
    const v = JSON.parse(r.stdout) as { supportedVersions?: unknown };
    if (r.status === 0 && Array.isArray(v.supportedVersions)) return { works: true, why: 'answers VERSION' };
  } catch {
    // fall through
  }
  return { works: false, why: `VERSION gave exit ${r.status}: ${(r.stdout + r.stderr).trim().slice(0, 200)}` };
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

function stats(latencies: number[]): { p50: number; p95: number; p99: number } {
  const s = [...latencies].sort((a, b) => a - b);
  return { p50: pct(s, 50), p95: pct(s, 95), p99: pct(s, 99) };
}

const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '-');
const rate = (s: OpStats): number => (s.n / s.wallMs) * 1000;

function hostLocal(dir: string, v4: string, v6: string | undefined): Record<string, unknown> {
  return { type: 'host-local', dataDir: dir, ranges: [[{ subnet: v4 }], ...(v6 ? [[{ subnet: v6 }]] : [])] };
}

async function startAgent(topo: Topology, node: Netns, opts: Options, bin: string): Promise<{ socket: string }> {
  const dir = join(topo.tmpDir, 'agent');
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, 'tortie.sock');
  let config = opts.agentConfig;
  if (config === undefined) {
    config = join(dir, 'agent.yaml');
    writeFileSync(
      config,
      [
        'node:',
        '  name: bench-node',
        '  asn: 65001',
        '  routerId: 192.0.2.1',
        '  sourceAddress: 192.0.2.1',
        'paths:',
        `  stateDir: ${join(dir, 'state')}`,
        `  controlSocket: ${socket}`,
        'metrics: { port: 0 }',
        'health: { port: 0 }',
        'ipam:',
        '  pools:',
        '    - cidr: 10.203.0.0/16',
        ...(opts.ipv6 ? ['    - cidr: fd03::/64'] : []),
        '  datastore:',
        '    type: local',
        `    directory: ${join(dir, 'ipam')}`,
        '',
      ].join('\n'),
    );
  }
  const agent = node.spawn(process.execPath, [join(bin, 'tortie-agent'), '--config', config], { logFile: join(dir, 'agent.log') });
  await waitFor('tortie-agent control socket', () => Promise.resolve(existsSync(socket) ? true : undefined), {
    timeoutMs: 20_000,
    intervalMs: 100,
    failFast: () => (agent.running ? undefined : `tortie-agent exited: ${agent.logTail()}`),
    describe: () => agent.logTail(),
  });
  return { socket };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (!isRoot()) throw new Error('bench:cni needs root (network namespaces)');
  requireCommands(['ip', 'nsenter', '/usr/lib/cni/ptp', '/usr/lib/cni/host-local']);

  if (opts.build) {
    const b = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    if (b.status !== 0) throw new Error('node scripts/build.mjs failed');
  }
  const ipamState = tortieIpamWorks();
  let useTortieIpam = opts.ipam === 'tortie-ipam' || opts.ipam === 'both';
  let useHostLocal = opts.ipam === 'host-local' || opts.ipam === 'both';
  if (opts.ipam === 'auto') {
    useTortieIpam = ipamState.works;
    useHostLocal = !ipamState.works;
    if (!ipamState.works) {
      loud(`tortie-ipam is NOT usable (${ipamState.why}).\nBenchmarking tortie with host-local IPAM instead of tortie-ipam.\nThe issue-6 figures are for tortie+tortie-ipam: re-run once dist/bin/tortie-ipam works.`);
    }
  } else if (useTortieIpam && !ipamState.works) {
    throw new Error(`--ipam ${opts.ipam}: dist/bin/tortie-ipam does not work (${ipamState.why})`);
  }

  const { topo, node } = await buildNodePeer();
  try {
    await node.ip(['route', 'add', 'default', 'via', '192.0.2.2']);
    await node.ip(['-6', 'route', 'add', 'default', 'via', '2001:db8:1::2']);
    await node.sysctl({ 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.forwarding': '1' });
    const bin = join(topo.tmpDir, 'bin');
    mkdirSync(bin);
    // Private copies: another `npm run build` in this tree (rm -rf dist/bin) must not pull them away mid-run.
    for (const name of ['tortie', 'tortie-ipam', 'tortie-agent']) {
      await waitFor(`dist/bin/${name}`, () => Promise.resolve(existsSync(join(DIST, name)) ? true : undefined), { timeoutMs: 60_000, intervalMs: 200 });
      copyFileSync(join(DIST, name), join(bin, name));
      chmodSync(join(bin, name), 0o755);
    }
    for (const name of ['ptp', 'host-local']) symlinkSync(join('/usr/lib/cni', name), join(bin, name));


    const suites: Suite[] = [];
    const v6 = (s: string): string | undefined => (opts.ipv6 ? s : undefined);
    const base = { cniVersion: '1.0.0' };
    if (useHostLocal) {
      suites.push({
        name: 'tortie+host-local',
        plugin: 'tortie',
        conf: { ...base, name: 'bench-tortie', type: 'tortie', ipam: hostLocal(join(topo.tmpDir, 'ipam-tortie'), '10.201.0.0/16', v6('fd01::/64')) },
      });
    }
    if (useTortieIpam) {
      const { socket } = await startAgent(topo, node, opts, bin);
      suites.push({
        name: 'tortie+tortie-ipam',
        plugin: 'tortie',
        conf: { ...base, name: 'bench-tortie-ipam', type: 'tortie', ipam: opts.ipamConf ?? { type: 'tortie-ipam', socket, families: opts.ipv6 ? ['ipv4', 'ipv6'] : ['ipv4'] } },
      });
    }
    if (opts.launcher) {
      // What a node of a cluster runs: deploy/install-cni.sh's launcher, /bin/sh exec'ing the pinned node on the bundle.
      writeFileSync(join(bin, 'tortie-launcher'), `#!/bin/sh\n# as deploy/install-cni.sh writes it\nexec ${process.execPath} ${join(bin, 'tortie')} "$@"\n`, { mode: 0o755 });
      suites.push({
        name: 'tortie(launcher)+host-local',
        plugin: 'tortie-launcher',
        conf: { ...base, name: 'bench-tortie-launcher', type: 'tortie', ipam: hostLocal(join(topo.tmpDir, 'ipam-launcher'), '10.203.0.0/16', v6('fd03::/64')) },
      });
    }
    if (opts.ptp) {
      suites.push({
        name: 'ptp+host-local',
        plugin: 'ptp',
        conf: { ...base, name: 'bench-ptp', type: 'ptp', ipMasq: false, ipam: hostLocal(join(topo.tmpDir, 'ipam-ptp'), '10.202.0.0/16', v6('fd02::/64')) },
      });
    }

    // Each suite gets its own pods: the suites run interleaved, and two plugins cannot both own eth0.
    process.stderr.write(`bench:cni: creating ${opts.pods * suites.length} pod namespaces…\n`);
    const pods: Netns[] = [];
    for (let i = 0; i < opts.pods * suites.length; i++) pods.push(await topo.addNamespace(`pod${i}`));

    const cfg: DriverConfig = {
      binDir: bin,
      pathEnv: PATH_ENV,
      pods: pods.map((p) => `/var/run/netns/${p.name}`),
      podsPerSuite: opts.pods,
      suites,
      parallel: opts.parallel,
      floorSamples: 30,
      nodeBinary: process.execPath,
    };
    const cfgFile = join(topo.tmpDir, 'driver.json');
    writeFileSync(cfgFile, JSON.stringify(cfg));
    process.stderr.write(`bench:cni: running ${suites.map((s) => s.name).join(', ')}…\n`);
    const loader = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
    const r = await node.exec(process.execPath, ['--import', loader, join(ROOT, 'bench/cni/driver.ts'), cfgFile], {
      timeoutMs: 60 * 60_000,
      env: { PATH: PATH_ENV },
    });
    const report = JSON.parse(r.stdout) as DriverReport;
    const summary = printReport(report, opts);
    if (opts.out) writeFileSync(opts.out, `${JSON.stringify({ options: opts, summary, report }, null, 2)}\n`);
  } finally {
    await topo.destroy();
  }
}

function printReport(report: DriverReport, opts: Options): Record<string, unknown> {
  const lines: string[] = [];
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  lines.push(`bench:cni — tortie ${pkg.version}, ${opts.pods} pods, ${cpus().length} cores, node ${process.version}, ${opts.ipv6 ? 'dual-stack' : 'IPv4 only'}`);
  lines.push('');
  lines.push('start-up floors (p50 of 30, ms):');
  const floorP50: Record<string, number> = {};
  for (const [name, samples] of Object.entries(report.floors)) {
    floorP50[name] = stats(samples).p50;
    lines.push(`  ${name.padEnd(22)} ${f1(floorP50[name])}`);
  }
  for (const [name, ms] of Object.entries(report.floorCpuMs)) lines.push(`  ${`${name} (mean CPU)`.padEnd(22)} ${f1(ms)}`);
  lines.push('');
  const head = `${'suite'.padEnd(20)} ${'ADD p50/p95/p99'.padEnd(20)} ${'CHECK p50'.padEnd(10)} ${'DEL p50/p95/p99'.padEnd(20)} ${opts.parallel.map((c) => `ADD/s@${c}`.padEnd(10)).join('')}${opts.parallel.map((c) => `DEL/s@${c}`.padEnd(10)).join('')}dupIPs fail`;
  lines.push(head);
  lines.push('-'.repeat(head.length));
  const bySuite: Record<string, { addP50: number; delP50: number; checkP50: number; addRate: Record<number, number>; delRate: Record<number, number>; dups: number; failures: number }> = {};
  for (const s of report.suites) {
    const a = stats(s.sequential.add.latenciesMs);
    const c = stats(s.sequential.check.latenciesMs);
    const d = stats(s.sequential.del.latenciesMs);
    const addRate: Record<number, number> = {};
    const delRate: Record<number, number> = {};
    for (const p of s.parallel) {
      addRate[p.concurrency] = rate(p.add);
      delRate[p.concurrency] = rate(p.del);
    }
    const dups = s.sequential.duplicateIps + s.parallel.reduce((x, p) => x + p.duplicateIps, 0);
    const failures = [s.sequential.add, s.sequential.check, s.sequential.del, ...s.parallel.flatMap((p) => [p.add, p.del])].reduce((x, o) => x + o.failures, 0);
    bySuite[s.name] = { addP50: a.p50, delP50: d.p50, checkP50: c.p50, addRate, delRate, dups, failures };
    lines.push(
      `${s.name.padEnd(20)} ${`${f1(a.p50)}/${f1(a.p95)}/${f1(a.p99)}`.padEnd(20)} ${f1(c.p50).padEnd(10)} ${`${f1(d.p50)}/${f1(d.p95)}/${f1(d.p99)}`.padEnd(20)} ${opts.parallel.map((p) => f1(addRate[p] ?? NaN).padEnd(10)).join('')}${opts.parallel.map((p) => f1(delRate[p] ?? NaN).padEnd(10)).join('')}${String(dups).padEnd(7)}${failures}`,
    );
    for (const o of [s.sequential.add, s.sequential.check, s.sequential.del, ...s.parallel.flatMap((p) => [p.add, p.del])]) {
      if (o.firstFailure) lines.push(`    first failure: ${o.firstFailure}`);
    }
  }
  lines.push('');
  lines.push('mean CPU per sequential invocation (ms, plugin and all it ran; load-independent-ish):');
  for (const s of report.suites) {
    const per = (o: OpStats): string => f1((o.cpuMs ?? NaN) / Math.max(1, o.n));
    lines.push(`  ${s.name.padEnd(20)} ADD ${per(s.sequential.add).padEnd(8)} CHECK ${per(s.sequential.check).padEnd(8)} DEL ${per(s.sequential.del)}`);
  }
  lines.push('');
  const ptp = bySuite['ptp+host-local'];
  const interleaved = report.floors['node -e 0 (interleaved with ADD)'] ?? [];
  const nodeStart = floorP50['node -e 0 (interleaved with ADD)'] ?? floorP50['node -e 0'] ?? NaN;
  const paired = (suite: string): number => {
    const adds = report.suites.find((x) => x.name === suite)?.sequential.add.latenciesMs ?? [];
    return stats(adds.map((a, i) => a - (interleaved[i] ?? NaN)).filter(Number.isFinite)).p50;
  };
  const verdicts: string[] = [];
  const c8 = opts.parallel.includes(8) ? 8 : opts.parallel[0];
  const ceiling = report.nodeCeiling[c8] ?? NaN;
  lines.push(`bare \`node -e 0\` started ${opts.pods} times, ${opts.parallel.map((c) => `at ${c} parallel: ${f1(report.nodeCeiling[c] ?? NaN)}/s`).join(', ')}`);
  if (ptp) {
    lines.push(
      `  the ceiling of any Node plugin at ${c8} parallel is ${f1(ceiling)}/s = ${(ceiling / (ptp.addRate[c8] ?? NaN)).toFixed(2)}× of ptp+host-local's ADD/s (${f1(ptp.addRate[c8] ?? NaN)})`,
    );
  }
  lines.push('');
  if (ptp && ceiling / (ptp.addRate[c8] ?? NaN) < 0.8) {
    verdicts.push(`BOUND bare Node starts reach only ${(ceiling / (ptp.addRate[c8] ?? NaN)).toFixed(2)}× of ptp's ADD/s at ${c8} parallel on this machine: no Node plugin can meet the 0.8× target here`);
  }
  for (const name of Object.keys(bySuite).filter((n) => n.startsWith('tortie'))) {
    const t = bySuite[name];
    if (ptp) {
      const own = t.addP50 - nodeStart;
      verdicts.push(`${own <= ptp.addP50 ? 'PASS' : 'FAIL'}  ${name}: ADD p50 − node start p50 = ${f1(t.addP50)} − ${f1(nodeStart)} = ${f1(own)} ms  ≤  ptp+host-local ADD p50 ${f1(ptp.addP50)} ms  (paired per round: ${f1(paired(name))} ms)`);
      const ratio = (t.addRate[c8] ?? NaN) / (ptp.addRate[c8] ?? NaN);
      verdicts.push(`${ratio >= 0.8 ? 'PASS' : 'FAIL'}  ${name}: ADD/s at ${c8} parallel ${f1(t.addRate[c8] ?? NaN)} vs ${f1(ptp.addRate[c8] ?? NaN)} = ${ratio.toFixed(2)}×  ≥  0.8×`);
    }
    verdicts.push(`${t.dups === 0 ? 'PASS' : 'FAIL'}  ${name}: ${t.dups} duplicate IPs`);
    verdicts.push(`${t.failures === 0 ? 'PASS' : 'FAIL'}  ${name}: ${t.failures} failed invocations`);
    if (name === 'tortie+host-local') verdicts.push('NOTE  the issue-6 targets are for tortie+tortie-ipam; this row uses host-local');
  }
  lines.push('targets (issue 6):');
  for (const v of verdicts) lines.push(`  ${v}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return { floorsP50: floorP50, nodeCeiling: report.nodeCeiling, suites: bySuite, verdicts };
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:cni: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
