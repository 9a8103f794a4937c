/**
 * The ways bench.ts installs and withdraws N routes in a namespace, each
 * timed the same way: from the first action until the kernel holds all N
 * (install) or none (withdraw) of them.
 *
 *   tortie       KernelRoutes, the agent's path: N upsert() calls, then
 *                settled(); N remove() calls, then settled(). Everything
 *                the agent does is inside the time: validation, diff,
 *                rendering, the bounded `ip -batch -` processes, failure
 *                attribution. Its background re-read after a large apply
 *                (see kernel-routes.ts) runs between the phases, untimed.
 *   tortie-1lane The same with one `ip -batch` lane instead of two.
 *   tortie-mon   The same with the monitor left running during the apply,
 *                to show what pausing it saves.
 *   bird         BIRD 2: `protocol static` with the N routes (disabled at
 *                start), `protocol kernel { ipv4 { export all; }; }`.
 *                `birdc enable` → until `show route count` says N;
 *                `birdc disable` → until it says 0. BIRD 2.0 exports to
 *                the kernel synchronously (one netlink request and ack per
 *                route, inside the table update), so the count in its
 *                table is what the kernel holds when the CLI can answer;
 *                the kernel count is checked afterwards and any shortfall
 *                waited for.
 *   ip-batch     `ip -batch FILE` with N `route add` lines, then N
 *                `route del` lines: the floor.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NodeCommandRunner } from '../../agent/kernel/command-runner.js';
import { KernelRoutes, type KernelRoutesOptions } from '../../agent/kernel/kernel-routes.js';
import type { RouteInput } from '../../agent/kernel/routes.js';
import { TortieError } from '../../lib/errors.js';
import { silentLogger } from '../../lib/log.js';
import { startBird } from '../../test/support/daemons.js';
import { type Netns, type Topology, sleep } from '../../test/support/netns.js';

export const PROTO = 201;
export const NEXT_HOP = '192.0.2.2';

export interface PhaseResult {
  installSec: number;
  withdrawSec: number;
  /** Peak resident set of the `ip` process(es) doing the work, KiB (max over processes). */
  ipPeakRssKiB?: number;
  /** How many `ip -batch` processes ran (tortie recycles them). */
  ipProcesses?: number;
}

export interface Method {
  name: string;
  label: string;
  run(topo: Topology, ns: Netns, prefixes: readonly string[]): Promise<PhaseResult>;
}

/** N distinct /26 prefixes inside 10.0.0.0/8 (up to 262,144). */
export function benchPrefixes(n: number): string[] {
  if (n > 1 << 18) throw new TortieError('ERR_BENCH_USAGE', 'at most 262144 routes (/26s in 10.0.0.0/8)');
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = `10.${i >>> 10}.${(i >>> 2) & 255}.${(i & 3) << 6}/26`;
  return out;
}

/** Number of routes with `proto` in the main IPv4 table. */
export async function countRoutes(ns: Netns, proto: number): Promise<number> {
  const rows = await ns.ipJson<unknown[]>(['-4', 'route', 'show', 'table', 'main', 'proto', String(proto)]);
  return rows.length;
}

/** Peak VmHWM (KiB) seen in /proc/PID/status for the pids `pids()` returns, sampled every `everyMs`. */
class RssSampler {
  peakKiB = 0;
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly pids: () => (number | undefined)[], everyMs = 20) {
    this.timer = setInterval(() => this.sample(), everyMs);
  }
  sample(): void {
    for (const pid of this.pids()) {
      if (pid === undefined) continue;
      try {
        const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m) this.peakKiB = Math.max(this.peakKiB, Number(m[1]));
      } catch {
        // gone already
      }
    }
  }
  stop(): number {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    return this.peakKiB;
  }
}

function tortieMethod(name: string, label: string, opts: Partial<KernelRoutesOptions>): Method {
  return {
    name,
    label,
    async run(_topo, ns, prefixes) {
      const kr = new KernelRoutes({
        proto: PROTO,
        runner: new NodeCommandRunner(),
        netns: ns.name,
        log: silentLogger,
        ...opts,
      });
      const routes: RouteInput[] = prefixes.map((prefix) => ({ prefix, kind: 'unicast', nextHops: [{ via: NEXT_HOP }] }));
      // batchStats(), not stats(): the latter walks every prefix, and sampling it every 5 ms would slow the run it measures.
      const rss = new RssSampler(() => kr.batchStats().pids, 5);
      try {
        await kr.start();
        kr.declareComplete();
        await kr.idle();
        let t0 = performance.now();
        for (const r of routes) kr.upsert(r);
        await kr.settled();
        const installSec = (performance.now() - t0) / 1000;
        rss.sample(); // the processes still alive hold the latest (up to maxCommandsPerProcess) commands
        await expectCount(ns, PROTO, prefixes.length, 'tortie install');
        if (kr.stats().routesFailed > 0) throw new TortieError('ERR_BENCH_FAILED', `tortie: ${kr.stats().routesFailed} routes failed`);
        await kr.idle();
        t0 = performance.now();
        for (const p of prefixes) kr.remove(p);
        await kr.settled();
        const withdrawSec = (performance.now() - t0) / 1000;
        rss.sample();
        await expectCount(ns, PROTO, 0, 'tortie withdraw');
        await kr.idle();
        return { installSec, withdrawSec, ipPeakRssKiB: rss.stop(), ipProcesses: kr.batchStats().processesStarted };
      } finally {
        rss.stop();
        await kr.stop();
      }
    },
  };
}

async function expectCount(ns: Netns, proto: number, n: number, what: string): Promise<void> {
  const got = await countRoutes(ns, proto);
  if (got !== n) throw new TortieError('ERR_BENCH_FAILED', `${what}: the kernel holds ${got} routes with proto ${proto}, expected ${n}`);
}

/** `ip -n NS -batch FILE`, with the peak RSS of that ip process. */
function ipBatchFile(ns: Netns, file: string): Promise<{ sec: number; rssKiB: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = execFile('ip', ['-n', ns.name, '-batch', file], { maxBuffer: 64 * 1024 * 1024 }, (err, _out, stderr) => {
      const sec = (performance.now() - t0) / 1000;
      const rssKiB = rss.stop();
      if (err) reject(new TortieError('ERR_BENCH_FAILED', `ip -batch ${file} failed: ${stderr.slice(0, 500)}`, { cause: err }));
      else resolve({ sec, rssKiB });
    });
    const rss = new RssSampler(() => [child.pid], 10);
  });
}

const ipBatchMethod: Method = {
  name: 'ip-batch',
  label: 'bare ip -batch FILE',
  async run(topo, ns, prefixes) {
    const add = join(topo.tmpDir, `add-${prefixes.length}.txt`);
    const del = join(topo.tmpDir, `del-${prefixes.length}.txt`);
    writeFileSync(add, prefixes.map((p) => `route add ${p} via ${NEXT_HOP} proto ${PROTO}\n`).join(''));
    writeFileSync(del, prefixes.map((p) => `route del ${p} proto ${PROTO}\n`).join(''));
    const a = await ipBatchFile(ns, add);
    await expectCount(ns, PROTO, prefixes.length, 'ip -batch install');
    const d = await ipBatchFile(ns, del);
    await expectCount(ns, PROTO, 0, 'ip -batch withdraw');
    return { installSec: a.sec, withdrawSec: d.sec, ipPeakRssKiB: Math.max(a.rssKiB, d.rssKiB), ipProcesses: 2 };
  },
};

const RTPROT_BIRD = 12;

const birdMethod: Method = {
  name: 'bird',
  label: 'BIRD 2 kernel protocol',
  async run(topo, ns, prefixes) {
    const statics = prefixes.map((p) => `  route ${p} via ${NEXT_HOP};\n`).join('');
    const config = [
      'router id 192.0.2.1;',
      'protocol device { scan time 60; }',
      'protocol kernel k4 { ipv4 { import none; export all; }; learn off; persist off; scan time 3600; }',
      `protocol static s4 {\n  disabled;\n  ipv4;\n${statics}}`,
      '',
    ].join('\n');
    const bird = await startBird(topo, ns, config, { name: `bird-${prefixes.length}`, readyTimeoutMs: 120_000 });
    try {
      const count = async (): Promise<number> => {
        const out = await bird.birdc('show route count');
        const m = /(\d+) of \d+ routes for \d+ networks in table master4/.exec(out);
        return m ? Number(m[1]) : 0;
      };
      const waitCount = async (n: number): Promise<void> => {
        const deadline = performance.now() + 300_000;
        while ((await count()) !== n) {
          if (performance.now() > deadline) throw new TortieError('ERR_BENCH_FAILED', `BIRD did not reach ${n} routes`);
          await sleep(5);
        }
      };
      /** Stops the clock at BIRD's count; if the kernel is behind (it should not be), waits and counts that too. */
      const timed = async (action: string, n: number): Promise<number> => {
        const t0 = performance.now();
        await bird.birdc(action);
        await waitCount(n);
        let sec = (performance.now() - t0) / 1000;
        if ((await countRoutes(ns, RTPROT_BIRD)) !== n) {
          const deadline = performance.now() + 60_000;
          while ((await countRoutes(ns, RTPROT_BIRD)) !== n) {
            if (performance.now() > deadline) throw new TortieError('ERR_BENCH_FAILED', `kernel did not reach ${n} BIRD routes`);
            await sleep(5);
          }
          sec = (performance.now() - t0) / 1000;
        }
        return sec;
      };
      const installSec = await timed('enable s4', prefixes.length);
      const withdrawSec = await timed('disable s4', 0);
      return { installSec, withdrawSec };
    } finally {
      await bird.stop();
    }
  },
};

export const METHODS: readonly Method[] = [
  tortieMethod('tortie', 'tortie KernelRoutes (agent path)', {}),
  tortieMethod('tortie-1lane', 'tortie, one ip lane', { batchLanes: 1 }),
  tortieMethod('tortie-mon', 'tortie, monitor not paused', { muteMonitorAboveLines: Infinity }),
  birdMethod,
  ipBatchMethod,
];
