/** BIRD 2 as a target: `import all` from the tester, export everything to the monitor, no kernel protocol. */
import { birdConfig } from '../../../test/support/daemon-configs.js';
import { DAEMON_COMMANDS, startBird } from '../../../test/support/daemons.js';
import { daemonTarget, missingCommands, routerSpecFor } from './common.js';
import type { BenchTarget } from './types.js';

export const birdTarget: BenchTarget = {
  name: 'bird',
  available: () => missingCommands(DAEMON_COMMANDS.bird).length === 0,
  unavailableReason: () => `missing ${missingCommands(DAEMON_COMMANDS.bird).join(', ')}`,
  settleMs: 500,
  timeoutMs: (n) => 30_000 + n * 0.05,
  async start(ns, cfg) {
    // birdConfig: `import all;` and an export filter that accepts everything.
    const d = await startBird(cfg.topo, ns, birdConfig(routerSpecFor(cfg)), { name: 'bird@target' });
    return daemonTarget(d);
  },
};
