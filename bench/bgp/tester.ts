/**
 * The benchmark's injector: a minimal eBGP speaker that, once Established
 * (and, with --wait-signal, once it gets SIGUSR2), writes N IPv4 prefixes
 * as pre-encoded UPDATEs (see announcement.ts) as fast as the socket takes
 * them, then keeps the session up with KEEPALIVEs until it is stopped.
 * Runs inside the tester namespace, started by run.ts through
 * `ip netns exec`.
 *
 * Output, one JSON line each on stdout:
 *   {"event":"built","messages":m,"bytes":b,"buildMs":…}
 *   {"event":"established","holdTimeSec":…}
 *   {"event":"first-byte","atMs":…}   absolute ms (performance.timeOrigin based)
 *   {"event":"sent","atMs":…}          the last byte was handed to the kernel
 *   {"event":"closed","reason":…}      exit code 1 unless we were stopped
 *   {"event":"error","message":…}
 *
 *   node --import tsx bench/bgp/tester.ts --peer 192.0.2.1 --local 192.0.2.2 \
 *     --asn 65101 --count 100000 [--bgp-id A] [--next-hop A] [--hold 240]
 *     [--prefix-base 16.0.0.0] [--prefix-len 24] [--wait-signal] [--listen]
 */
import { buildAnnouncement, DEFAULT_PREFIX_BASE, DEFAULT_PREFIX_LEN } from './announcement.js';
import { emit, intArg, MiniPeer, nowAbsMs, parseArgs, requireArg } from './mini-peer.js';

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const local = requireArg(args, 'local');
  const asn = intArg(args, 'asn', 65101);
  const builtStart = performance.now();
  const { bytes, messages } = buildAnnouncement({
    count: intArg(args, 'count'),
    asn,
    nextHop: args.get('next-hop') ?? local,
    prefixBase: args.get('prefix-base') ?? DEFAULT_PREFIX_BASE,
    prefixLen: intArg(args, 'prefix-len', DEFAULT_PREFIX_LEN),
  });
  emit('built', { messages, bytes: bytes.length, buildMs: Math.round(performance.now() - builtStart) });

  let stopping = false;
  const peer = new MiniPeer(
    {
      mode: args.get('listen') === 'true' ? 'listen' : 'connect',
      localAddress: local,
      peerAddress: requireArg(args, 'peer'),
      asn,
      bgpId: args.get('bgp-id') ?? local,
      holdTimeSec: intArg(args, 'hold', 240),
      connectTimeoutMs: intArg(args, 'connect-timeout-ms', 60_000),
    },
    {
      onClose: (reason) => {
        emit('closed', { reason });
        process.exit(stopping ? 0 : 1);
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
  // Registered before Established so that an early signal is not lost.
  const go = args.get('wait-signal') === 'true'
    ? new Promise<void>((resolve) => process.once('SIGUSR2', () => resolve()))
    : Promise.resolve();
  await peer.start();
  emit('established', { holdTimeSec: peer.negotiatedHoldSec });
  await go;
  await peer.writeAll(bytes, 1 << 20, (atMs) => emit('first-byte', { atMs }));
  emit('sent', { atMs: nowAbsMs(), messages, bytes: bytes.length });
}

main().catch((err: unknown) => {
  emit('error', { message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
