/**
 * The hook for tortie's own speaker as a benchmark target.
 *
 * It becomes available as soon as `tortie-daemon.ts` exists beside this
 * file. That script (to be written once bgp/speaker has its Speaker API) is
 * started inside the target namespace as
 *
 *   node --import tsx bench/bgp/targets/tortie-daemon.ts --config FILE
 *
 * where FILE is JSON of type TortieBenchConfig below. It must:
 *   - start a speaker with AS `asn` and router ID `routerId`;
 *   - configure each peer in `peers` (IPv4 unicast, eBGP, hold time
 *     `holdTimeSec`), accepting every route from the tester and exporting
 *     every best path to the monitor (next-hop-self, as any eBGP export);
 *     both peers connect to port 179 on `localAddress`, so passive peers are
 *     enough; the peer addresses are not listening;
 *   - not install routes into the kernel (the namespace has no route out);
 *   - print the line {"event":"ready"} on stdout once it listens, then run
 *     until SIGTERM.
 * Its PID (the node process itself: `ip netns exec` execs it) is the one
 * whose VmHWM and CPU time are reported.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TortieError } from '../../../lib/errors.js';
import { EventLog, nodeScriptArgv, scriptEnv, waitForEvents } from '../event-log.js';
import type { BenchPeer, BenchTarget } from './types.js';

const DAEMON_URL = new URL('./tortie-daemon.ts', import.meta.url);
const READY_TIMEOUT_MS = 30_000;

export interface TortieBenchConfig {
  asn: number;
  routerId: string;
  holdTimeSec: number;
  peers: BenchPeer[];
}

export const tortieTarget: BenchTarget = {
  name: 'tortie',
  available: () => existsSync(DAEMON_URL),
  unavailableReason: () => `${fileURLToPath(DAEMON_URL)} not written yet`,
  settleMs: 500,
  timeoutMs: (n) => 30_000 + n * 0.1,
  async start(ns, cfg) {
    const dir = cfg.topo.tmpDir;
    const configFile = join(dir, 'tortie-bench.json');
    const config: TortieBenchConfig = { asn: cfg.asn, routerId: cfg.routerId, holdTimeSec: cfg.holdTimeSec, peers: cfg.peers };
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    // Run it as production runs: one esbuild bundle on plain node, not through
    // tsx's loader (which costs tens of MiB of RSS and start-up time).
    const bundle = join(dir, 'tortie-daemon.cjs');
    if (!existsSync(bundle)) {
      const { build } = await import('esbuild');
      await build({
        entryPoints: [fileURLToPath(DAEMON_URL)], outfile: bundle, bundle: true, platform: 'node', target: 'node24',
        format: 'cjs', logLevel: 'warning',
        banner: { js: "const __tortieImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
        define: { 'import.meta.url': '__tortieImportMetaUrl' },
      });
    }
    const { cmd, args } = existsSync(bundle)
      // The agent's bundle runs with these V8 flags (scripts/build.mjs NODE_FLAGS).
      ? { cmd: process.execPath, args: ['--max-semi-space-size=8', bundle, '--config', configFile] }
      : nodeScriptArgv(DAEMON_URL, ['--config', configFile]);
    const logFile = join(dir, 'tortie.log');
    const proc = ns.spawn(cmd, args, { logFile, env: scriptEnv() });
    const log = new EventLog('tortie', logFile, proc);
    const ready = await waitForEvents([log], 'ready', READY_TIMEOUT_MS, () => log.failure());
    if (!ready) throw new TortieError('ERR_BENCH_TARGET_START', `tortie did not print {"event":"ready"} within ${READY_TIMEOUT_MS} ms\n${log.tail()}`);
    return {
      pids: () => [proc.pid],
      alive: () => proc.running,
      logTail: (lines) => log.tail(lines),
      stop: () => proc.stop(),
    };
  },
};
