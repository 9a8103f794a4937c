/** Host sysctls through /proc/sys (no process): write, ensure, read. */
import { CniError, CniErrorCode } from './spec/index.js';
import type { Host } from './host.js';
import type { HostSysctl } from './wiring-plan.js';

export function writeSysctls(host: Host, sysctls: readonly HostSysctl[]): void {
  for (const s of sysctls) {
    try {
      host.writeFile(s.path, s.value);
    } catch (err) {
      throw new CniError(CniErrorCode.KernelFailed, `host: cannot write ${s.path}`, err instanceof Error ? err.message : String(err));
    }
  }
}

/** Writes only the sysctls whose current value differs. */
export function ensureSysctls(host: Host, sysctls: readonly HostSysctl[]): void {
  writeSysctls(host, sysctls.filter((s) => host.readFile(s.path)?.trim() !== s.value));
}

/** Current values (undefined when unreadable), by path. */
export function readSysctls(host: Host, sysctls: readonly HostSysctl[]): Map<string, string | undefined> {
  return new Map(sysctls.map((s) => [s.path, host.readFile(s.path)?.trim()]));
}
