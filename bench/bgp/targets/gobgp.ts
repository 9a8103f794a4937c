/**
 * GoBGP as a target: its default policy accepts and re-advertises
 * everything. It sends one prefix per UPDATE and is slow at scale
 * (~110 s for 1M prefixes here), hence the long timeout.
 */
import { gobgpConfig } from '../../../test/support/daemon-configs.js';
import { DAEMON_COMMANDS, startGobgp } from '../../../test/support/daemons.js';
import { daemonTarget, missingCommands, routerSpecFor } from './common.js';
import type { BenchTarget } from './types.js';

export const gobgpTarget: BenchTarget = {
  name: 'gobgp',
  available: () => missingCommands(DAEMON_COMMANDS.gobgp).length === 0,
  unavailableReason: () => `missing ${missingCommands(DAEMON_COMMANDS.gobgp).join(', ')}`,
  settleMs: 1000,
  timeoutMs: (n) => 30_000 + n * 0.3,
  async start(ns, cfg) {
    const d = await startGobgp(cfg.topo, ns, { name: 'gobgp@target', config: gobgpConfig(routerSpecFor(cfg)), logLevel: 'warn' });
    return daemonTarget(d);
  },
};
