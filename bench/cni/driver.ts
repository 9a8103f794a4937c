/**
 * The bench:cni driver. bench.ts starts it *inside* the node namespace
 * (`ip netns exec <node> node --import tsx driver.ts CONFIG`), so the
 * plugins it times are spawned directly, as a runtime would, with no
 * `ip netns exec` in the measured path. Each plugin gets the small
 * environment a runtime gives: PATH and the CNI_* variables only.
 *
 * Prints one JSON document (DriverReport) on stdout.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Suite {
  name: string;
  /** The interface plugin's file name in binDir. */
  plugin: string;
  /** Its network config (ADD/CHECK/DEL stdin, prevResult added for CHECK). */
  conf: Record<string, unknown>;
}

export interface DriverConfig {
  binDir: string;
  /** PATH given to plugins. */
  pathEnv: string;
  /** Netns paths: podsPerSuite for each suite, suite after suite. */
  pods: string[];
  podsPerSuite: number;
  suites: Suite[];
  parallel: number[];
  /** Samples for the start-up floors. */
  floorSamples: number;
  nodeBinary: string;
}

export interface OpStats {
  n: number;
  /** CPU of the invocations and everything they ran (sequential phases only; 10 ms clock ticks summed). */
  cpuMs?: number;
  failures: number;
  firstFailure?: string;
  latenciesMs: number[];
  wallMs: number;
}

export interface SuiteReport {
  name: string;
  sequential: { add: OpStats; check: OpStats; del: OpStats; duplicateIps: number };
  parallel: { concurrency: number; add: OpStats; del: OpStats; duplicateIps: number }[];
}

export interface DriverReport {
  floors: Record<string, number[]>;
  /** Mean CPU ms per start, from the interleaved samples. */
  floorCpuMs: Record<string, number>;
  /**
   * `node -e 0` started n times at each concurrency (starts/s): the ceiling
   * of any plugin that is a Node process, measured next to the suites.
   */
  nodeCeiling: Record<number, number>;
  suites: SuiteReport[];
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function runPlugin(file: string, env: Record<string, string>, input: string): Promise<RunResult> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(file, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => resolve({ code: null, stdout: '', stderr: e.message, ms: 0 }));
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), ms });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/**
 * CPU time (user + system, ms) of every child this process has reaped,
 * with their reaped descendants: fields cutime and cstime of
 * /proc/self/stat, in USER_HZ (100) ticks. Summed over many sequential
 * invocations it gives their mean CPU cost, which a busy machine distorts
 * far less than wall time.
 */
function childCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ", field 3 (state) is index 0; cutime is field 16, cstime 17.
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

/** Runs `fn` and adds the CPU of the children it reaped to `stats.cpuMs`. */
async function withCpu<T>(stats: OpStats, fn: () => Promise<T>): Promise<T> {
  const c0 = childCpuMs();
  const out = await fn();
  stats.cpuMs = (stats.cpuMs ?? 0) + childCpuMs() - c0;
  return out;
}

/** Wall time of one start-to-exit of `file` (a VERSION call for plugins). */
function timeStart(file: string, args: string[], pathEnv: string): Promise<number> {
  return new Promise<number>((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(file, args, { env: { PATH: pathEnv, CNI_COMMAND: 'VERSION' }, stdio: ['pipe', 'ignore', 'ignore'] });
    child.stdin.on('error', () => undefined);
    child.stdin.end('{"cniVersion":"1.0.0"}');
    child.on('close', () => resolve(Number(process.hrtime.bigint() - t0) / 1e6));
  });
}

function emptyStats(): OpStats {
  return { n: 0, failures: 0, latenciesMs: [], wallMs: 0 };
}

function record(stats: OpStats, r: RunResult, what: string): void {
  stats.n++;
  stats.latenciesMs.push(r.ms);
  if (r.code !== 0) {
    stats.failures++;
    stats.firstFailure ??= `${what}: exit ${r.code}: ${(r.stdout + r.stderr).trim().slice(0, 500)}`;
  }
}

function ipsOf(stdout: string): string[] {
  try {
    const r = JSON.parse(stdout) as { ips?: { address?: string }[] };
    return (r.ips ?? []).map((i) => String(i.address));
  } catch {
    return [];
  }
}

function duplicates(ips: string[]): number {
  return ips.length - new Set(ips).size;
}

async function main(): Promise<void> {
  const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8')) as DriverConfig;
  const envFor = (command: string, containerId: string, netns: string): Record<string, string> => ({
    PATH: cfg.pathEnv,
    CNI_COMMAND: command,
    CNI_CONTAINERID: containerId,
    CNI_NETNS: netns,
    CNI_IFNAME: 'eth0',
    CNI_PATH: cfg.binDir,
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=${containerId}`,
  });

  // ---- start-up floors
  const floors: Record<string, number[]> = {};
  const floorRuns: [string, string, string[]][] = [
    ['node -e 0', cfg.nodeBinary, ['-e', '0']],
    ...cfg.suites.map((s): [string, string, string[]] => [`${s.plugin} VERSION`, `${cfg.binDir}/${s.plugin}`, []]),
  ];
  for (const [name, file, args] of floorRuns) {
    if (floors[name]) continue;
    floors[name] = [];
    for (let i = 0; i < cfg.floorSamples; i++) floors[name].push(await timeStart(file, args, cfg.pathEnv));
  }

  // ---- sequential ADD, CHECK, DEL, interleaved: round i runs `node -e 0` and
  // then every suite's op on its own pod i, so all suites (and the Node
  // start-up floor) see the same machine load, however busy it is.
  const n = cfg.podsPerSuite;
  const ids = cfg.suites.map((s) => s.name.replace(/[^a-zA-Z0-9_.-]/g, '-'));
  const files = cfg.suites.map((s) => `${cfg.binDir}/${s.plugin}`);
  const confTexts = cfg.suites.map((s) => JSON.stringify(s.conf));
  const podOf = (suite: number, i: number): string => cfg.pods[suite * n + i];
  const seq = cfg.suites.map(() => ({ add: emptyStats(), check: emptyStats(), del: emptyStats(), results: [] as string[], ips: [] as string[] }));
  const nodeRounds: number[] = [];
  const nodeCpu = emptyStats();
  const roundFloor = async (): Promise<void> => {
    nodeRounds.push(await withCpu(nodeCpu, () => timeStart(cfg.nodeBinary, ['-e', '0'], cfg.pathEnv)));
    nodeCpu.n++;
  };
  for (let i = 0; i < n; i++) {
    await roundFloor();
    for (let k = 0; k < cfg.suites.length; k++) {
      const r = await withCpu(seq[k].add, () => runPlugin(files[k], envFor('ADD', `${ids[k]}-s-${i}`, podOf(k, i)), confTexts[k]));
      record(seq[k].add, r, `ADD ${i}`);
      seq[k].results.push(r.stdout);
      seq[k].ips.push(...ipsOf(r.stdout));
    }
  }
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < cfg.suites.length; k++) {
      let prevResult: unknown;
      try {
        prevResult = JSON.parse(seq[k].results[i]);
      } catch {
        prevResult = undefined;
      }
      const r = await withCpu(seq[k].check, () =>
        runPlugin(files[k], envFor('CHECK', `${ids[k]}-s-${i}`, podOf(k, i)), JSON.stringify({ ...cfg.suites[k].conf, prevResult })),
      );
      record(seq[k].check, r, `CHECK ${i}`);
    }
  }
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < cfg.suites.length; k++) {
      const r = await withCpu(seq[k].del, () => runPlugin(files[k], envFor('DEL', `${ids[k]}-s-${i}`, podOf(k, i)), confTexts[k]));
      record(seq[k].del, r, `DEL ${i}`);
    }
  }
  floors['node -e 0 (interleaved with ADD)'] = nodeRounds;
  const floorCpuMs = { 'node -e 0': (nodeCpu.cpuMs ?? 0) / Math.max(1, nodeCpu.n) };
  const suites: SuiteReport[] = cfg.suites.map((suite, k) => ({
    name: suite.name,
    sequential: { add: seq[k].add, check: seq[k].check, del: seq[k].del, duplicateIps: duplicates(seq[k].ips) },
    parallel: [],
  }));

  // ---- throughput at each concurrency, suite after suite, then bare Node
  // starts at the same concurrency: no Node plugin can go faster than that.
  const nodeCeiling: Record<number, number> = {};
  for (const concurrency of cfg.parallel) {
    for (let k = 0; k < cfg.suites.length; k++) {
      const padd = emptyStats();
      const pdel = emptyStats();
      const pips: string[] = [];
      const idx = Array.from({ length: n }, (_, i) => i);
      let t0 = performance.now();
      await pool(idx, concurrency, async (i) => {
        const r = await runPlugin(files[k], envFor('ADD', `${ids[k]}-p${concurrency}-${i}`, podOf(k, i)), confTexts[k]);
        record(padd, r, `ADD ${i}`);
        pips.push(...ipsOf(r.stdout));
      });
      padd.wallMs = performance.now() - t0;
      t0 = performance.now();
      await pool(idx, concurrency, async (i) => {
        const r = await runPlugin(files[k], envFor('DEL', `${ids[k]}-p${concurrency}-${i}`, podOf(k, i)), confTexts[k]);
        record(pdel, r, `DEL ${i}`);
      });
      pdel.wallMs = performance.now() - t0;
      suites[k].parallel.push({ concurrency, add: padd, del: pdel, duplicateIps: duplicates(pips) });
    }
    const t0 = performance.now();
    await pool(Array.from({ length: n }, (_, i) => i), concurrency, async () => {
      await timeStart(cfg.nodeBinary, ['-e', '0'], cfg.pathEnv);
    });
    nodeCeiling[concurrency] = n / ((performance.now() - t0) / 1000);
  }
  process.stdout.write(`${JSON.stringify({ floors, floorCpuMs, nodeCeiling, suites } satisfies DriverReport)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:cni driver: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
