/**
 * tortie's speaker as a convergence-benchmark target (see tortie.ts for the
 * contract). It runs the same BgpSpeaker the agent embeds, with no kernel
 * routes, and prints {"event":"ready"} once it listens.
 */
import { readFileSync } from 'node:fs';
import { IPV4_UNICAST } from '../../../bgp/codec/index.js';
import { BgpSpeaker } from '../../../bgp/speaker/speaker.js';
import type { TortieBenchConfig } from './tortie.js';

const at = process.argv.indexOf('--config');
if (at < 0 || !process.argv[at + 1]) {
  process.stderr.write('usage: tortie-daemon.ts --config FILE\n');
  process.exit(2);
}
const cfg = JSON.parse(readFileSync(process.argv[at + 1], 'utf8')) as TortieBenchConfig;
const sp = new BgpSpeaker({
  asn: cfg.asn,
  routerId: cfg.routerId,
  listen: { address: '0.0.0.0', port: 179 },
  gracefulRestart: { enabled: false },
  warmUp: process.env.TORTIE_WARM_UP !== '0',
});
for (const p of cfg.peers) {
  sp.addPeer({
    address: p.peerAddress,
    asn: p.peerAsn,
    localAddress: p.localAddress,
    passive: true,
    families: [IPV4_UNICAST],
    holdTimeSec: cfg.holdTimeSec,
    description: p.role,
  });
}
await sp.start();
process.stdout.write(JSON.stringify({ event: 'ready' }) + '\n');

// TORTIE_CPU_PROFILE=FILE writes a V8 CPU profile of the run (open it in Chrome DevTools).
const profileFile = process.env.TORTIE_CPU_PROFILE;
let stopProfile = (): Promise<void> => Promise.resolve();
if (profileFile) {
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  stopProfile = async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(profileFile, JSON.stringify(profile));
  };
}
process.on('SIGTERM', () => {
  void sp.abort().then(stopProfile).then(() => process.exit(0));
});
