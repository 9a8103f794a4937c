/**
 * tortie's speaker as a convergence-benchmark target (see tortie.ts for the
 * contract). It runs the same BgpSpeaker the agent embeds, with no kernel
 * routes, and prints {"event":"ready"} once it listens.
 *
 * TORTIE_CPU_PROFILE=FILE writes a V8 CPU profile of the run (open it in
 * Chrome DevTools); TORTIE_WARM_UP=0 turns the start-up warm-up off.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { IPV4_UNICAST } from '../../../bgp/codec/index.js';
import { BgpSpeaker } from '../../../bgp/speaker/speaker.js';
import type { TortieBenchConfig } from './tortie.js';

async function main(): Promise<void> {
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
  let stopProfile = (): Promise<void> => Promise.resolve();
  const profileFile = process.env.TORTIE_CPU_PROFILE;
  if (profileFile) {
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    stopProfile = async () => {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(profileFile, JSON.stringify(profile));
    };
  }
  process.stdout.write(JSON.stringify({ event: 'ready' }) + '\n');
  process.on('SIGTERM', () => {
    void sp.abort().then(stopProfile).then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`tortie-daemon: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
