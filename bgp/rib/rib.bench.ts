/**
 * Micro-benchmark of the RIB at full-table scale (not a test).
 *
 *   npx tsx --expose-gc bgp/rib/rib.bench.ts [prefixes] [attrSets] [peers] [--adj-rib-out]
 *   (the repo's Node 24; defaults 1000000 1000 1. For memory figures
 *   without the tsx loader thread, and steadier times, bundle first:
 *   npx esbuild bgp/rib/rib.bench.ts --bundle --platform=node --format=esm --outfile=/tmp/rib-bench.mjs
 *   npx node --expose-gc /tmp/rib-bench.mjs)
 *
 * What a speaker does per received UPDATE, without sockets: the UPDATEs
 * are pre-encoded with the real codec (one attribute set per group,
 * 4096-byte messages), then each is decoded, its attributes normalized
 * and interned once, and each prefix goes through Adj-RIB-In (a view on
 * the Loc-RIB) → Loc-RIB → export rules toward one eBGP monitor peer, with
 * the send decision taken by exportDelta() (default) or by an AdjRibOut
 * (--adj-rib-out). With peers = 2 a second eBGP peer sends the same table
 * (longer AS path), so every prefix has two candidates.
 *
 * Prints the time of the decode alone, of decode + RIB, and memory
 * (RSS, heap after a full GC, peak RSS).
 */
import {
  AsPathSegmentType,
  decodeMessage,
  DEFAULT_CODEC_OPTIONS,
  IPV4_UNICAST,
  ipv4FromUint32,
  MessageType,
  packUpdates,
  type CodecOptions,
  type Nlri,
} from '../codec/index.js';
import { AdjRibIn } from './adj-rib-in.js';
import { AdjRibOut } from './adj-rib-out.js';
import { AttrsInterner } from './attrs-interner.js';
import { exportDelta, PathExporter, type ExportTarget, type LocalSpeaker } from './export.js';
import { LocRib } from './loc-rib.js';
import { makePathAttrs, pathAttrsFromUpdate, toWireAttributes, type PeerInfo } from './path.js';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const WITH_ADJ_RIB_OUT = process.argv.includes('--adj-rib-out');
const N = Number(args[0] ?? 1_000_000);
const SETS = Number(args[1] ?? 1000);
const PEERS = Number(args[2] ?? 1);
const LOCAL_AS = 65000;

const gc = (globalThis as { gc?: () => void }).gc;
const MiB = (n: number): string => (n / 1048576).toFixed(1) + ' MiB';
const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

const codecOpts: CodecOptions = { ...DEFAULT_CODEC_OPTIONS, external: true };

/** Pre-encoded UPDATE frames carrying all N prefixes, for one sending peer. */
function buildFrames(peerAs: number, extraHops: number): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const perSet = Math.ceil(N / SETS);
  for (let s = 0; s < SETS; s++) {
    const hops = Array.from({ length: extraHops + 1 + (s % 4) }, (_, k) => (k === 0 ? peerAs : 64512 + ((s * 7 + k) % 400)));
    const attrs = makePathAttrs({
      origin: s % 3,
      asPath: [{ type: AsPathSegmentType.AsSequence, asns: hops }],
      nextHops: [`192.0.2.${peerAs % 250}`],
      med: s % 10,
      communities: [((peerAs << 16) | s) >>> 0],
    });
    const wire = toWireAttributes(attrs, { family: IPV4_UNICAST, fourOctetAs: true });
    const nlri: Nlri[] = [];
    for (let i = s * perSet; i < Math.min(N, (s + 1) * perSet); i++) {
      nlri.push({ prefix: ipv4FromUint32((0x01000000 + i * 256) >>> 0) + '/24' });
    }
    frames.push(...packUpdates(IPV4_UNICAST, wire, nlri, codecOpts));
  }
  return frames;
}

function source(n: number): PeerInfo {
  const peerAs = 65001 + n;
  return {
    peerId: `tester${n}`,
    address: `192.0.2.${1 + n}`,
    routerId: `10.0.0.${1 + n}`,
    peerAs,
    localAs: LOCAL_AS,
    ibgp: false,
    isLocal: false,
    rrClient: false,
  };
}

function main(): void {
  const framesByPeer = Array.from({ length: PEERS }, (_, n) => buildFrames(65001 + n, n));
  const frameCount = framesByPeer.reduce((a, f) => a + f.length, 0);
  gc?.();

  // 1. Decode alone, for reference.
  let t0 = process.hrtime.bigint();
  let count = 0;
  for (const frames of framesByPeer) {
    for (const f of frames) {
      const m = decodeMessage(f, codecOpts);
      if (m.type === MessageType.Update) count += m.nlri.length;
    }
  }
  const decodeMs = ms(t0);
  gc?.();
  const rssBefore = process.memoryUsage().rss;

  // 2. Decode + RIB.
  const interner = new AttrsInterner();
  const local: LocalSpeaker = { asn: LOCAL_AS, routerId: '10.255.0.1' };
  const locRib = new LocRib({ maxPaths: 1 });
  const monitor: ExportTarget = {
    peerId: 'monitor',
    peerAs: 65100,
    localAs: LOCAL_AS,
    ibgp: false,
    rrClient: false,
    nextHopSelf: true,
    selfNextHops: ['192.0.2.254'],
  };
  const exporter = new PathExporter(monitor, local, { interner });
  const out = new AdjRibOut('monitor');
  const ribsIn = framesByPeer.map((_, n) => new AdjRibIn(source(n), locRib));
  let changes = 0;
  let adverts = 0;

  t0 = process.hrtime.bigint();
  for (let n = 0; n < PEERS; n++) {
    const ribIn = ribsIn[n];
    const frames = framesByPeer[n];
    for (let k = 0; k < frames.length; k++) {
      const m = decodeMessage(frames[k], codecOpts);
      frames[k] = new Uint8Array(0); // consumed, as a socket buffer would be
      if (m.type !== MessageType.Update || m.nlri.length === 0) continue;
      const path = ribIn.pathFor(pathAttrsFromUpdate(m.attributes, IPV4_UNICAST, { interner }));
      for (const { prefix } of m.nlri) {
        const ch = ribIn.accept(prefix, path);
        if (ch === undefined) continue;
        changes++;
        if (!WITH_ADJ_RIB_OUT) {
          if (exportDelta(exporter, ch) !== undefined) adverts++;
          continue;
        }
        const attrs = ch.best !== undefined ? exporter.export(prefix, ch.best) : undefined;
        if (attrs === undefined ? out.withdraw(prefix) : out.advertise(prefix, attrs)) adverts++;
      }
    }
  }
  const ribMs = ms(t0);
  const rssAfter = process.memoryUsage().rss;
  gc?.();
  const mem = process.memoryUsage();
  const peakRss = process.resourceUsage().maxRSS * 1024;

  const line = (k: string, v: string): void => console.log(k.padEnd(34) + v);
  console.log(`RIB bench: ${N} IPv4 prefixes x ${PEERS} peer(s), ${SETS} attribute sets, ${frameCount} UPDATEs, ` +
    `${WITH_ADJ_RIB_OUT ? 'with AdjRibOut' : 'exportDelta'} (node ${process.version})`);
  line('decoded prefixes', String(count));
  line('decode only', `${decodeMs.toFixed(0)} ms`);
  line('decode + RIB + export', `${ribMs.toFixed(0)} ms`);
  line('RIB share (difference)', `${(ribMs - decodeMs).toFixed(0)} ms`);
  line('Loc-RIB changes / adverts', `${changes} / ${adverts}`);
  line('accepted / Loc-RIB / Adj-RIB-Out', `${ribsIn.map((r) => r.acceptedCount).join('+')} / ${locRib.size} / ${out.size}`);
  line('interned attribute sets', String(interner.size));
  line('RSS before RIB', MiB(rssBefore));
  line('RSS after RIB', MiB(rssAfter));
  line('RSS after GC', MiB(mem.rss));
  line('heapUsed / heapTotal after GC', MiB(mem.heapUsed) + ' / ' + MiB(mem.heapTotal) + (gc ? '' : ' (no --expose-gc: not collected)'));
  line('external / arrayBuffers', MiB(mem.external) + ' / ' + MiB(mem.arrayBuffers));
  line('peak RSS (maxRSS)', MiB(peakRss));
  // Keep the RIBs alive until measured.
  if (locRib.size + out.size + ribsIn.length < 0) console.log('unreachable');
}

main();
