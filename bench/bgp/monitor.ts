/**
 * The benchmark's counting peer: a minimal eBGP endpoint in the monitor
 * namespace that counts the distinct IPv4 prefixes the target announces
 * (minus those it withdraws), straight from the UPDATE bytes
 * (prefix-counter.ts), and reports the moment the count first reaches N.
 *
 * Output, one JSON line each on stdout:
 *   {"event":"established","holdTimeSec":…}
 *   {"event":"progress","count":c,"atMs":…}     at most once a second, when c changed
 *   {"event":"done","count":c,"atMs":…,"firstUpdateAtMs":…,"updates":u}
 *   {"event":"closed","reason":…} / {"event":"error","message":…}
 * atMs values are absolute ms (performance.timeOrigin based). After "done"
 * it exits, unless --stay is given: then it keeps the session up (so the
 * target does no session-down work while it is being measured) until it is
 * stopped.
 *
 *   node --import tsx bench/bgp/monitor.ts --peer 198.51.100.1 --local 198.51.100.2 \
 *     --asn 65102 --count 100000 [--bgp-id A] [--hold 240] [--listen] [--stay] [--no-warmup]
 */
import { MessageFramer } from '../../bgp/codec/index.js';
import { buildAnnouncement } from './announcement.js';
import { emit, intArg, MiniPeer, nowAbsMs, parseArgs, requireArg } from './mini-peer.js';
import { PrefixCounter } from './prefix-counter.js';

const PROGRESS_EVERY_MS = 1000;
const WARMUP_PREFIXES = 20_000;
const WARMUP_ROUNDS = 20;

/**
 * Runs the framing and counting code over a throw-away table until V8 has
 * optimised it, so that the measured burst does not pay for the JIT
 * (cold, 100k prefixes cost ~15 ms here; warm, ~4 ms).
 */
function warmUp(): void {
  const { bytes } = buildAnnouncement({ count: WARMUP_PREFIXES, asn: 64512, nextHop: '192.0.2.254', prefixBase: '100.0.0.0' });
  for (let round = 0; round < WARMUP_ROUNDS; round++) {
    const framer = new MessageFramer();
    const counter = new PrefixCounter();
    for (let off = 0; off < bytes.length; off += 65536) {
      for (const frame of framer.push(bytes.subarray(off, off + 65536))) if (frame[18] === 2) counter.applyUpdate(frame);
    }
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const local = requireArg(args, 'local');
  const target = intArg(args, 'count');
  const stay = args.get('stay') === 'true';
  if (args.get('no-warmup') !== 'true') warmUp();
  const counter = new PrefixCounter();
  counter.prepare();
  let updates = 0;
  /** When the first UPDATE carrying prefixes arrived (not an early End-of-RIB). */
  let firstUpdateAtMs = 0;
  let done = false;
  let stopping = false;
  let lastReported = -1;

  const peer = new MiniPeer(
    {
      mode: args.get('listen') === 'true' ? 'listen' : 'connect',
      localAddress: local,
      peerAddress: requireArg(args, 'peer'),
      asn: intArg(args, 'asn', 65102),
      bgpId: args.get('bgp-id') ?? local,
      holdTimeSec: intArg(args, 'hold', 240),
      connectTimeoutMs: intArg(args, 'connect-timeout-ms', 60_000),
    },
    {
      onUpdate: (frame) => {
        updates++;
        const arrivedAtMs = firstUpdateAtMs === 0 ? nowAbsMs() : 0;
        try {
          counter.applyUpdate(frame);
          if (firstUpdateAtMs === 0 && counter.entries > 0) firstUpdateAtMs = arrivedAtMs;
        } catch (err) {
          emit('error', { message: err instanceof Error ? err.message : String(err) });
          process.exit(1);
        }
        if (!done && counter.count >= target) {
          done = true;
          emit('done', { count: counter.count, atMs: nowAbsMs(), firstUpdateAtMs, updates });
          if (!stay) {
            stopping = true;
            peer.close();
            process.exit(0);
          }
        }
      },
      onClose: (reason) => {
        emit('closed', { reason, count: counter.count });
        process.exit(stopping || done ? 0 : 1);
      },
    },
  );
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      stopping = true;
      peer.close();
      process.exit(0);
    });
  }
  await peer.start();
  emit('established', { holdTimeSec: peer.negotiatedHoldSec });
  if (target === 0) {
    done = true;
    emit('done', { count: 0, atMs: nowAbsMs(), firstUpdateAtMs: 0, updates: 0 });
  }
  const progress = setInterval(() => {
    if (counter.count !== lastReported) {
      lastReported = counter.count;
      emit('progress', { count: counter.count, atMs: nowAbsMs() });
    }
  }, PROGRESS_EVERY_MS);
  progress.unref();
}

main().catch((err: unknown) => {
  emit('error', { message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
