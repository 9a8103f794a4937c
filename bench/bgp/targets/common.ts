/**
 * Shared plumbing for the targets built on test/support/daemons.ts: the
 * neutral router description the config generators take, and the wrapper
 * from a DaemonHandle to a RunningTarget.
 */
import type { RouterSpec } from '../../../test/support/daemon-configs.js';
import type { DaemonHandle } from '../../../test/support/daemons.js';
import { findCommand } from '../../../test/support/netns.js';
import type { RunningTarget, TargetConfig } from './types.js';

/** The target as test/support/daemon-configs.ts describes a router: two IPv4 eBGP peers, no routes of its own. */
export function routerSpecFor(cfg: TargetConfig): RouterSpec {
  return {
    label: 'target',
    asn: cfg.asn,
    routerId: cfg.routerId,
    routes: [],
    peers: cfg.peers.map((p) => ({
      name: p.role,
      localAddress: p.localAddress,
      peerAddress: p.peerAddress,
      peerAsn: p.peerAsn,
      families: ['ipv4' as const],
      holdTimeSec: cfg.holdTimeSec,
    })),
  };
}

export function daemonTarget(d: DaemonHandle): RunningTarget {
  return {
    pids: () => d.pids,
    alive: () => d.running,
    logTail: (lines) => d.logTail(lines),
    stop: () => d.stop(),
  };
}

export function missingCommands(cmds: readonly string[]): string[] {
  return cmds.filter((c) => findCommand(c) === undefined);
}
