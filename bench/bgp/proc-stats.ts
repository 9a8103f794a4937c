/**
 * Resource use of a target's processes, read from /proc: peak resident set
 * (VmHWM) and CPU time (utime + stime), summed over the processes (FRR is
 * bgpd + zebra). Read while the processes still run: both vanish with them.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { TortieError } from '../../lib/errors.js';

export interface ProcStats {
  /** Sum of VmHWM over the processes, in bytes. */
  peakRssBytes: number;
  /** Sum of utime + stime over the processes, in seconds. */
  cpuSec: number;
}

let clockTicks: number | undefined;

/** sysconf(_SC_CLK_TCK), via getconf (100 on Linux in practice). */
export function clockTicksPerSec(): number {
  if (clockTicks === undefined) {
    try {
      const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      clockTicks = Number.isInteger(v) && v > 0 ? v : 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** VmHWM from the text of /proc/PID/status, in bytes. */
export function parseVmHwmBytes(status: string): number {
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new TortieError('ERR_BENCH_PROC', 'no VmHWM line in /proc/PID/status');
  return Number(m[1]) * 1024;
}

/** utime + stime, in clock ticks, from the text of /proc/PID/stat. */
export function parseCpuTicks(stat: string): number {
  // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new TortieError('ERR_BENCH_PROC', 'malformed /proc/PID/stat');
  return utime + stime;
}

export function sampleProcs(pids: readonly number[]): ProcStats {
  let peakRssBytes = 0;
  let ticks = 0;
  for (const pid of pids) {
    try {
      peakRssBytes += parseVmHwmBytes(readFileSync(`/proc/${pid}/status`, 'utf8'));
      ticks += parseCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch (err) {
      throw new TortieError('ERR_BENCH_PROC', `cannot read /proc/${pid} (did the process exit?)`, { cause: err });
    }
  }
  return { peakRssBytes, cpuSec: ticks / clockTicksPerSec() };
}

/** CPU time the hypervisor gave to others (the `steal` column of /proc/stat, all CPUs), in seconds. */
export function stealSec(): number {
  try {
    const first = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const fields = first.trim().split(/\s+/);
    // cpu user nice system idle iowait irq softirq steal …
    const steal = Number(fields[8] ?? 0);
    return Number.isFinite(steal) ? steal / clockTicksPerSec() : 0;
  } catch {
    return 0;
  }
}
