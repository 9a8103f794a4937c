/**
 * FRR (zebra + bgpd -n) as a target. The generated bgpd.conf has
 * `no bgp ebgp-requires-policy` and `advertisement-interval 0`. bgpd
 * coalesces the first announcements to a newly established peer for about a
 * second, hence the longer settle time.
 */
import { frrBgpdConfig } from '../../../test/support/daemon-configs.js';
import { DAEMON_COMMANDS, startFrr } from '../../../test/support/daemons.js';
import { daemonTarget, missingCommands, routerSpecFor } from './common.js';
import type { BenchTarget } from './types.js';

export const frrTarget: BenchTarget = {
  name: 'frr',
  available: () => missingCommands(DAEMON_COMMANDS.frr).length === 0,
  unavailableReason: () => `missing ${missingCommands(DAEMON_COMMANDS.frr).join(', ')}`,
  settleMs: 2000,
  timeoutMs: (n) => 30_000 + n * 0.1,
  async start(ns, cfg) {
    const d = await startFrr(cfg.topo, ns, { name: 'frr@target', bgpdConfig: frrBgpdConfig(routerSpecFor(cfg)) });
    return daemonTarget(d);
  },
};
