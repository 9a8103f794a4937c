/**
 * The two read-only views KernelRoutes needs: the kernel's table through
 * `ip -json` (our routes, and the slots others hold), and the per-prefix
 * status report built from the shadow.
 */
import { TortieError } from '../../lib/errors.js';
import type { CommandRunner } from './command-runner.js';
import type { AdoptResult, RouteFailure, RouteStatus } from './kernel-routes-types.js';
import type { PrefixState } from './prefix-table.js';
import { type KernelRoute, type RouteSlot, parseIpJsonRoutes, routeSatisfies } from './routes.js';

export interface OwnRoutesRead {
  ours: KernelRoute[];
  slots: RouteSlot[];
  result: AdoptResult;
}

/** Reads both families of `table`: the routes with `proto`, and the slots held by anything else. */
export async function readOwnRoutes(runner: CommandRunner, netns: string | undefined, table: number, proto: number): Promise<OwnRoutesRead> {
  const results = await Promise.all(
    ([4, 6] as const).map(async (family) => {
      const r = await runner.run(['ip', '-N', '-json', `-${family}`, 'route', 'show', 'table', String(table)], { netns });
      if (r.code !== 0) {
        throw new TortieError('ERR_KERNEL_READ', `ip -json -${family} route show table ${table} failed: ${r.stderr.trim() || `exit ${String(r.code)}`}`);
      }
      return parseIpJsonRoutes(r.stdout, proto, { family, table });
    }),
  );
  return {
    ours: results.flatMap((p) => p.ours),
    slots: results.flatMap((p) => [...p.unmanaged, ...p.foreign]),
    result: {
      adopted: results.reduce((n, p) => n + p.ours.length, 0),
      unmanaged: results.reduce((n, p) => n + p.unmanaged.length, 0),
      foreign: results.reduce((n, p) => n + p.foreign.length, 0),
    },
  };
}

/** One status row per prefix that is desired or installed, in the order given. */
export function routeStatuses(
  states: readonly PrefixState[],
  failed: ReadonlyMap<string, RouteFailure>,
  blocked: ReadonlyMap<string, RouteSlot>,
): RouteStatus[] {
  const out: RouteStatus[] = [];
  for (const st of states) {
    const { desired, installed } = st;
    if (desired === undefined && installed === undefined) continue;
    const s: RouteStatus = { prefix: st.prefix, state: 'pending' };
    if (desired) s.desired = desired;
    if (installed) s.installed = [...installed];
    const failure = failed.get(st.prefix);
    const by = blocked.get(st.prefix);
    if (by) {
      s.state = 'blocked';
      s.blockedBy = by;
    } else if (failure) {
      s.state = 'failed';
      s.error = failure.message;
    } else if (desired === undefined) {
      s.state = 'adopted';
    } else if (installed?.some((c) => routeSatisfies(desired, c))) {
      s.state = 'installed';
    }
    out.push(s);
  }
  return out;
}
