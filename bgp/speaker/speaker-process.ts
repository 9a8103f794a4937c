/**
 * Runs one BgpSpeaker as a process driven over stdin/stdout with JSON
 * lines, for interop tests and benchmarks that need the speaker inside a
 * network namespace (`ip netns exec NS node … speaker-process.ts`).
 *
 * argv[2]: JSON `{ speaker: SpeakerConfig, peers: PeerConfig[], originate?: string[] }`
 * stdin, one command per line, each answered by one JSON line on stdout:
 *   {"cmd":"status"}                      -> {"ok":true,"peers":[PeerStatus…]}
 *   {"cmd":"rib"}                         -> {"ok":true,"routes":[{prefix,nextHops,asPath,communities,localPref,med,stale,peer}]}
 *   {"cmd":"originate","prefix":"…","communities":["65000:1"]} -> {"ok":true}
 *   {"cmd":"withdraw","prefix":"…"}       -> {"ok":true}
 *   {"cmd":"count"}                       -> {"ok":true,"count":N}
 *   {"cmd":"stop","text":"…"}             -> {"ok":true} then exits 0 (Cease to every peer)
 * SIGTERM: administrative stop. SIGKILL: what a crash looks like to peers.
 * Logs go to stderr as JSON lines.
 */
import { createInterface } from 'node:readline';
import { formatAsPath } from '../rib/index.js';
import { formatCommunity, parseCommunity } from '../codec/index.js';
import type { LogFields, Logger } from '../../lib/log.js';
import { BgpSpeaker } from './speaker.js';
import type { PeerConfig, SpeakerConfig } from './types.js';

function stderrLogger(base: LogFields = {}): Logger {
  const at = (level: string) => (fields: LogFields, msg: string): void => {
    process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...fields }) + '\n');
  };
  return { debug: () => undefined, info: at('info'), warn: at('warn'), error: at('error'), child: (f) => stderrLogger({ ...base, ...f }) };
}

interface Spec {
  speaker: SpeakerConfig;
  peers: PeerConfig[];
  originate?: string[];
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
  const sp = new BgpSpeaker(spec.speaker, stderrLogger());
  for (const p of spec.peers) sp.addPeer(p);
  for (const p of spec.originate ?? []) sp.originate(p);
  await sp.start();
  const reply = (o: object): void => {
    process.stdout.write(JSON.stringify(o) + '\n');
  };
  process.on('SIGTERM', () => {
    void sp.stop('tortie shutting down').then(() => process.exit(0));
  });
  reply({ ok: true, ready: true, port: sp.listenPort });
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (line.trim() === '') continue;
    let cmd: { cmd: string; prefix?: string; communities?: string[]; text?: string };
    try {
      cmd = JSON.parse(line) as typeof cmd;
    } catch {
      reply({ ok: false, error: 'bad JSON' });
      continue;
    }
    switch (cmd.cmd) {
      case 'status': reply({ ok: true, peers: sp.peerStatus() }); break;
      case 'count': reply({ ok: true, count: sp.locRib.size }); break;
      case 'rib': {
        const routes = [];
        for (const [prefix, p] of sp.locRib.bestPaths()) {
          routes.push({
            prefix,
            nextHops: p.attrs.nextHops,
            asPath: formatAsPath(p.attrs.asPath),
            communities: p.attrs.communities.map(formatCommunity),
            largeCommunities: p.attrs.largeCommunities.map((c) => `${c.global}:${c.local1}:${c.local2}`),
            localPref: p.attrs.localPref,
            med: p.attrs.med,
            origin: p.attrs.origin,
            stale: p.stale,
            peer: p.source.isLocal ? 'local' : p.source.address,
          });
        }
        reply({ ok: true, routes });
        break;
      }
      case 'originate': {
        const communities = (cmd.communities ?? []).map((c) => parseCommunity(c)).filter((c): c is number => c !== undefined);
        sp.originate(cmd.prefix ?? '', communities.length ? { communities } : {});
        reply({ ok: true });
        break;
      }
      case 'withdraw': sp.withdrawOrigin(cmd.prefix ?? ''); reply({ ok: true }); break;
      case 'stop':
        await sp.stop(cmd.text ?? '');
        reply({ ok: true });
        process.exit(0);
        break;
      default: reply({ ok: false, error: `unknown command ${cmd.cmd}` });
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`speaker-process: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
