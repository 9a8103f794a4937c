/**
 * One benchmark case: a fresh topology (tester — target — monitor, each in
 * its own namespace), the target started, the monitor and tester connected,
 * a settle pause, then the tester's burst; convergence is the monitor's
 * "done" time minus the tester's first-byte time. Target memory and CPU are
 * read from /proc just before everything is torn down (always, even on
 * error or timeout).
 *
 * The "floor" case has no target: the tester talks straight to a listening
 * monitor, which shows what the harness alone costs.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { TortieError } from '../../lib/errors.js';
import { sleep, Topology, type Netns, type TrackedProcess } from '../../test/support/netns.js';
import { EventLog, nodeScriptArgv, scriptEnv, waitForEvents } from './event-log.js';
import { sampleProcs, stealSec, type ProcStats } from './proc-stats.js';
import type { BenchTarget, RunningTarget, TargetConfig } from './targets/index.js';

export const TARGET_ASN = 65100;
export const TESTER_ASN = 65101;
export const MONITOR_ASN = 65102;
const TARGET_TESTER_SIDE = '192.0.2.1';
const TESTER_ADDR = '192.0.2.2';
const TARGET_MONITOR_SIDE = '198.51.100.1';
const MONITOR_ADDR = '198.51.100.2';
const HOLD_TIME_SEC = 240;
const TESTER_INITCWND = 100;
const TESTER_LINK_NET = '192.0.2.0/24';
const ESTABLISH_TIMEOUT_MS = 60_000;
const DEFAULT_SETTLE_MS = 1000;
const DEFAULT_TIMEOUT_MS = 120_000;

export type CaseStatus = 'ok' | 'timeout' | 'error';

export interface CaseResult {
  target: string;
  count: number;
  status: CaseStatus;
  /** Tester's first UPDATE byte → monitor holds all N. */
  seconds?: number;
  /** Tester's first UPDATE byte → first UPDATE at the monitor. */
  firstRouteSeconds?: number;
  /** Tester's first byte → its last byte handed to the kernel (how fast the target read). */
  sendSeconds?: number;
  /** Target's peak RSS (VmHWM summed over its processes), MiB. */
  peakRssMiB?: number;
  /** Target's CPU time (utime + stime) over its whole life, s. */
  cpuSec?: number;
  /** Target's CPU time from the settle pause to convergence (or timeout), s. */
  loadCpuSec?: number;
  /**
   * Share of the machine's CPU time the hypervisor gave to other guests
   * between the start of the burst and its end (0..1). High values mean the
   * figure is inflated by a busy host, not by the target.
   */
  steal?: number;
  /** Prefixes the monitor held at the end (N when ok). */
  received?: number;
  /** UPDATE messages the tester sent (End-of-RIB included) and the monitor received. */
  updatesSent?: number;
  updatesReceived?: number;
  error?: string;
  /** How many runs this row summarises (aggregate()). */
  repeats?: number;
}

export interface CaseOptions {
  count: number;
  /** Overrides the target's own timeout. */
  timeoutMs?: number;
  /** Overrides the target's own settle pause. */
  settleMs?: number;
  /** Progress messages for the operator. */
  log?: (line: string) => void;
}

const TESTER_URL = new URL('./tester.ts', import.meta.url);
const MONITOR_URL = new URL('./monitor.ts', import.meta.url);

interface Endpoints {
  tester: EventLog;
  testerProc: TrackedProcess;
  monitor: EventLog;
}

function spawnScript(topo: Topology, ns: Netns, label: string, url: URL, args: string[]): { log: EventLog; proc: TrackedProcess } {
  const { cmd, args: argv } = nodeScriptArgv(url, args);
  const logFile = join(topo.tmpDir, `${label}.log`);
  const proc = ns.spawn(cmd, argv, { logFile, env: scriptEnv(), stopTimeoutMs: 2000 });
  return { log: new EventLog(label, logFile, proc), proc };
}

function startEndpoints(
  topo: Topology, testerNs: Netns, monitorNs: Netns, count: number,
  addrs: { tester: string; testerPeer: string; monitor: string; monitorPeer: string; monitorListens: boolean },
): Endpoints {
  const common = ['--count', String(count), '--hold', String(HOLD_TIME_SEC)];
  const monitor = spawnScript(topo, monitorNs, 'monitor', MONITOR_URL, [
    '--local', addrs.monitor, '--peer', addrs.monitorPeer, '--asn', String(MONITOR_ASN), '--stay',
    ...(addrs.monitorListens ? ['--listen'] : []), ...common,
  ]);
  const tester = spawnScript(topo, testerNs, 'tester', TESTER_URL, [
    '--local', addrs.tester, '--peer', addrs.testerPeer, '--asn', String(TESTER_ASN), '--wait-signal', ...common,
  ]);
  return { tester: tester.log, testerProc: tester.proc, monitor: monitor.log };
}

/**
 * The tester's burst should not wait on TCP slow start: after the settle
 * pause the connection counts as idle and would restart from 10 segments,
 * leaving most of a 10k burst to wait for delayed ACKs (~5 ms here). Only
 * the tester's namespace is tuned; the target's own sending is left as the
 * kernel's defaults make it, the same for every target.
 */
async function tuneTesterTcp(ns: Netns, ifname: string): Promise<void> {
  await ns.sysctl({ 'net.ipv4.tcp_slow_start_after_idle': '0' });
  await ns.ip([
    'route', 'replace', TESTER_LINK_NET, 'dev', ifname, 'proto', 'kernel', 'scope', 'link', 'src', TESTER_ADDR,
    'initcwnd', String(TESTER_INITCWND),
  ]);
}

/** Runs one case against `target` (undefined: the harness floor, tester straight to monitor). */
export async function runCase(target: BenchTarget | undefined, o: CaseOptions): Promise<CaseResult> {
  const name = target?.name ?? 'floor';
  const log = o.log ?? (() => undefined);
  const result: CaseResult = { target: name, count: o.count, status: 'error' };
  const topo = new Topology();
  let running: RunningTarget | undefined;
  try {
    const testerNs = await topo.addNamespace('tester');
    let ep: Endpoints;
    if (target) {
      const targetNs = await topo.addNamespace(name);
      const monitorNs = await topo.addNamespace('monitor');
      const toTarget = await topo.link(testerNs, targetNs, { aAddresses: [`${TESTER_ADDR}/24`], bAddresses: [`${TARGET_TESTER_SIDE}/24`] });
      await tuneTesterTcp(testerNs, toTarget.a.ifname);
      await topo.link(monitorNs, targetNs, { aAddresses: [`${MONITOR_ADDR}/24`], bAddresses: [`${TARGET_MONITOR_SIDE}/24`] });
      const cfg: TargetConfig = {
        topo,
        asn: TARGET_ASN,
        routerId: TARGET_TESTER_SIDE,
        holdTimeSec: HOLD_TIME_SEC,
        prefixCount: o.count,
        peers: [
          { role: 'tester', localAddress: TARGET_TESTER_SIDE, peerAddress: TESTER_ADDR, peerAsn: TESTER_ASN },
          { role: 'monitor', localAddress: TARGET_MONITOR_SIDE, peerAddress: MONITOR_ADDR, peerAsn: MONITOR_ASN },
        ],
      };
      log(`${name} N=${o.count}: starting the target`);
      running = await target.start(targetNs, cfg);
      ep = startEndpoints(topo, testerNs, monitorNs, o.count, {
        tester: TESTER_ADDR, testerPeer: TARGET_TESTER_SIDE, monitor: MONITOR_ADDR, monitorPeer: TARGET_MONITOR_SIDE,
        monitorListens: false,
      });
    } else {
      const monitorNs = await topo.addNamespace('monitor');
      const toMonitor = await topo.link(testerNs, monitorNs, { aAddresses: [`${TESTER_ADDR}/24`], bAddresses: [`${TARGET_TESTER_SIDE}/24`] });
      await tuneTesterTcp(testerNs, toMonitor.a.ifname);
      ep = startEndpoints(topo, testerNs, monitorNs, o.count, {
        tester: TESTER_ADDR, testerPeer: TARGET_TESTER_SIDE, monitor: TARGET_TESTER_SIDE, monitorPeer: TESTER_ADDR,
        monitorListens: true,
      });
    }
    const rt = running;
    const failFast = (): string | undefined => {
      if (rt && !rt.alive()) return `the target died\n${rt.logTail(20)}`;
      return ep.tester.failure() ?? ep.monitor.failure();
    };
    const withTails = (msg: string): string =>
      `${msg}\n--- tester\n${ep.tester.tail()}\n--- monitor\n${ep.monitor.tail()}${rt ? `\n--- target\n${rt.logTail(15)}` : ''}`;

    log(`${name} N=${o.count}: waiting for both sessions`);
    const up = await waitForEvents([ep.tester, ep.monitor], 'established', ESTABLISH_TIMEOUT_MS, failFast).catch((err: unknown) => {
      throw new TortieError('ERR_BENCH_FAILED', withTails(err instanceof Error ? err.message : String(err)));
    });
    if (!up) throw new TortieError('ERR_BENCH_FAILED', withTails(`sessions not Established within ${ESTABLISH_TIMEOUT_MS} ms`));

    await sleep(o.settleMs ?? target?.settleMs ?? (target ? DEFAULT_SETTLE_MS : 0));
    const before: ProcStats | undefined = rt ? sampleProcs(rt.pids()) : undefined;
    const stealBefore = stealSec();
    const burstStartMs = Date.now();
    log(`${name} N=${o.count}: sending`);
    if (!ep.testerProc.signal('SIGUSR2')) throw new TortieError('ERR_BENCH_FAILED', withTails('the tester is gone'));

    const timeoutMs = o.timeoutMs ?? target?.timeoutMs?.(o.count) ?? DEFAULT_TIMEOUT_MS;
    const done = await waitForEvents([ep.monitor], 'done', timeoutMs, failFast).catch((err: unknown) => {
      throw new TortieError('ERR_BENCH_FAILED', withTails(err instanceof Error ? err.message : String(err)));
    });
    // Resources first, while nothing else has happened to the target.
    const burstSec = Math.max(0.001, (Date.now() - burstStartMs) / 1000);
    result.steal = Math.min(1, (stealSec() - stealBefore) / (burstSec * cpus().length));
    if (rt) {
      const after = sampleProcs(rt.pids());
      result.peakRssMiB = after.peakRssBytes / 2 ** 20;
      result.cpuSec = after.cpuSec;
      if (before) result.loadCpuSec = after.cpuSec - before.cpuSec;
    }
    // The tester prints first-byte right after its first write; give it a moment on a busy machine.
    const first = (await waitForEvents([ep.tester], 'first-byte', 5000, () => undefined))?.[0];
    const sent = ep.tester.find('sent');
    const firstAt = first?.atMs;
    if (sent && firstAt !== undefined) {
      result.sendSeconds = ((sent.atMs ?? firstAt) - firstAt) / 1000;
      result.updatesSent = Number(sent.messages);
    }
    if (!done) {
      result.status = 'timeout';
      result.received = Number(ep.monitor.last('progress')?.count ?? 0);
      result.error = `monitor held ${result.received} of ${o.count} prefixes after ${Math.round(timeoutMs / 1000)} s`;
      return result;
    }
    const d = done[0];
    if (firstAt === undefined) throw new TortieError('ERR_BENCH_FAILED', withTails('the tester never reported its first byte'));
    result.status = 'ok';
    result.seconds = ((d.atMs ?? 0) - firstAt) / 1000;
    result.firstRouteSeconds = (Number(d.firstUpdateAtMs) - firstAt) / 1000;
    result.received = Number(d.count);
    result.updatesReceived = Number(d.updates);
    return result;
  } catch (err) {
    result.status = 'error';
    result.error = err instanceof Error ? err.message : String(err);
    return result;
  } finally {
    log(`${name} N=${o.count}: tearing down`);
    await running?.stop().catch(() => undefined);
    await topo.destroy();
  }
}
