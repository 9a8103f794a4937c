/**
 * npm run bench:codec — codec throughput in prefixes per second.
 *
 * Workloads:
 *  - ipv4-packed: 200,000 IPv4 prefixes over 500 attribute sets, packed into
 *    4096-octet UPDATEs the way BIRD and FRR send a table.
 *  - ipv6-packed: 100,000 IPv6 prefixes in MP_REACH_NLRI, packed likewise.
 *  - attr-heavy: 20,000 UPDATEs with long AS paths, many communities, large
 *    and extended communities, MED and LOCAL_PREF, 1-8 prefixes each.
 * Decode = decodeMessage over every message; encode = encodeMessage of the
 * decoded messages; pack = packUpdates from prefix lists (the speaker's path).
 * Reference in the same run: tshark (Wireshark's dissector) decoding a pcap
 * of the same messages.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AttrType, DEFAULT_CODEC_OPTIONS, decodeMessage, encodeMessage, IPV4_UNICAST, IPV6_UNICAST, packUpdates,
  type BgpMessage, type Nlri, type PathAttribute, type UpdateMessage,
} from '../bgp/codec/index.js';
import { bgpMessagesToPcap } from '../test/support/pcap.js';

const opts = DEFAULT_CODEC_OPTIONS;
const MIN_MS = Number(process.env.BENCH_MIN_MS ?? 1500);

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function baseAttrs(i: number, nextHop: boolean): PathAttribute[] {
  const a: PathAttribute[] = [
    { type: AttrType.Origin, flags: 0x40, origin: 0 },
    { type: AttrType.AsPath, flags: 0x40, segments: [{ type: 2, asns: [65001, 64512 + (i % 1000), 4200000000 + i] }] },
    { type: AttrType.Communities, flags: 0xc0, communities: [(65001 << 16) | (i % 100)] },
  ];
  if (nextHop) a.splice(2, 0, { type: AttrType.NextHop, flags: 0x40, nextHop: `192.0.2.${1 + (i % 250)}` });
  return a;
}

interface Corpus {
  name: string;
  messages: Uint8Array[];
  prefixes: number;
  /** Re-packs the corpus from prefix lists (undefined: not applicable). */
  pack?: () => void;
}

function ipv4Corpus(): Corpus {
  const sets = 500;
  const perSet: Nlri[][] = Array.from({ length: sets }, () => []);
  const N = 200_000;
  for (let i = 0; i < N; i++) {
    const len = i % 10 === 0 ? 22 : i % 7 === 0 ? 20 : 24;
    perSet[i % sets].push({ prefix: `${11 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}.0/${len}` });
  }
  const attrs = perSet.map((_, k) => baseAttrs(k, true));
  const build = (): Uint8Array[] => perSet.flatMap((nlri, k) => packUpdates(IPV4_UNICAST, attrs[k], nlri, opts));
  return { name: 'ipv4-packed', messages: build(), prefixes: N, pack: () => void build() };
}

function ipv6Corpus(): Corpus {
  const sets = 250;
  const perSet: Nlri[][] = Array.from({ length: sets }, () => []);
  const N = 100_000;
  for (let i = 0; i < N; i++) {
    const len = i % 3 === 0 ? 48 : 64;
    perSet[i % sets].push({ prefix: `2001:db8:${(i >>> 8).toString(16)}:${((i & 255) << 8).toString(16)}::/${len}` });
  }
  const attrs = perSet.map((_, k) => baseAttrs(k, false));
  const nh = ['2001:db8::1', 'fe80::1'];
  const build = (): Uint8Array[] => perSet.flatMap((nlri, k) => packUpdates(IPV6_UNICAST, attrs[k], nlri, opts, nh));
  return { name: 'ipv6-packed', messages: build(), prefixes: N, pack: () => void build() };
}

function heavyCorpus(): Corpus {
  const r = rng(7);
  const messages: Uint8Array[] = [];
  let prefixes = 0;
  for (let i = 0; i < 20_000; i++) {
    const pathLen = 10 + Math.floor(r() * 20);
    const n = 1 + Math.floor(r() * 8);
    const nlri = Array.from({ length: n }, (_, k) => ({ prefix: `100.${(i >>> 6) & 255}.${((i & 63) << 2) | (k & 3)}.${k * 8}/29` }));
    prefixes += n;
    const u: UpdateMessage = {
      type: 2,
      withdrawn: [],
      attributes: [
        { type: AttrType.Origin, flags: 0x40, origin: 0 },
        { type: AttrType.AsPath, flags: 0x40, segments: [{ type: 2, asns: Array.from({ length: pathLen }, (_, k) => 64512 + ((i + k) % 1000)) }] },
        { type: AttrType.NextHop, flags: 0x40, nextHop: '198.51.100.1' },
        { type: AttrType.MultiExitDisc, flags: 0x80, med: i % 1000 },
        { type: AttrType.LocalPref, flags: 0x40, localPref: 100 + (i % 50) },
        { type: AttrType.Communities, flags: 0xc0, communities: Array.from({ length: 12 }, (_, k) => ((65000 + k) << 16) | (i % 65535)) },
        { type: AttrType.ExtendedCommunities, flags: 0xc0, communities: [{ type: 0, subtype: 2, value: Uint8Array.of(0xfd, 0xe9, 0, 0, 0, i & 0xff) }, { type: 0x40, subtype: 4, value: Uint8Array.of(0, 0, 0, 0, 0, 1) }] },
        { type: AttrType.LargeCommunity, flags: 0xc0, communities: [{ global: 4200000001, local1: i, local2: 1 }, { global: 4200000001, local1: i, local2: 2 }, { global: 65001, local1: 0, local2: i }] },
      ],
      nlri,
    };
    messages.push(encodeMessage(u, opts));
  }
  return { name: 'attr-heavy', messages, prefixes };
}

/** Runs `fn` until MIN_MS have passed (after a warm-up); returns runs per second. */
function rate(fn: () => void): number {
  for (let i = 0; i < 2; i++) fn();
  let runs = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < MIN_MS) {
    fn();
    runs++;
    t = performance.now();
  }
  return (runs * 1000) / (t - t0);
}

function countPrefixes(m: BgpMessage): number {
  if (m.type !== 2) return 0;
  let n = m.nlri.length;
  for (const a of m.attributes) if (a.type === AttrType.MpReachNlri) n += a.nlri.length;
  return n;
}

function decodeAll(c: Corpus): BgpMessage[] {
  return c.messages.map((m) => decodeMessage(m, opts));
}

function tsharkRate(c: Corpus, dir: string): number | string {
  // A slice keeps tshark's run time reasonable; the rate is per prefix.
  const slice = c.messages.slice(0, Math.max(1, Math.floor(c.messages.length / 10)));
  const prefixes = slice.reduce((n, m) => {
    const u = decodeMessage(m, opts) as UpdateMessage;
    const mp = u.attributes.find((a) => a.type === AttrType.MpReachNlri);
    return n + u.nlri.length + (mp && mp.type === AttrType.MpReachNlri ? mp.nlri.length : 0);
  }, 0);
  const file = join(dir, `${c.name}.pcap`);
  writeFileSync(file, bgpMessagesToPcap(slice.map((bytes) => ({ from: 'active' as const, bytes }))));
  try {
    const t0 = performance.now();
    execFileSync('tshark', ['-n', '-r', file, '-d', 'tcp.port==179,bgp', '-T', 'fields', '-e', 'bgp.type'], { stdio: ['ignore', 'ignore', 'ignore'] });
    return (prefixes * 1000) / (performance.now() - t0);
  } catch (err) {
    return `unavailable (${(err as Error).message.split('\n')[0]})`;
  }
}

function fmt(n: number | string): string {
  if (typeof n === 'string') return n;
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M/s` : `${(n / 1e3).toFixed(0)} k/s`;
}

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), 'tortie-bench-'));
  const rows: string[][] = [];
  try {
    for (const c of [ipv4Corpus(), ipv6Corpus(), heavyCorpus()]) {
      const decoded = decodeAll(c);
      // Like the speaker: each message is decoded, used and dropped.
      const dec = rate(() => {
        let n = 0;
        for (const m of c.messages) n += countPrefixes(decodeMessage(m, opts));
        if (n !== c.prefixes) throw new Error(`decoded ${n} prefixes, expected ${c.prefixes}`);
      }) * c.prefixes;
      const enc = rate(() => {
        for (const m of decoded) encodeMessage(m, opts);
      }) * c.prefixes;
      const pack = c.pack ? rate(c.pack) * c.prefixes : 'n/a';
      rows.push([c.name, String(c.messages.length), String(c.prefixes), fmt(dec), fmt(enc), fmt(pack), fmt(tsharkRate(c, dir))]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const head = ['workload', 'messages', 'prefixes', 'tortie decode', 'tortie encode', 'tortie pack', 'tshark decode (ref)'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((x, i) => x.padEnd(widths[i])).join('  ');
  console.log(`tortie codec benchmark, node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  const v4 = rows[0];
  console.log(`targets (ipv4-packed): decode >= 2 M/s: ${v4[3]}; encode >= 1 M/s: ${v4[4]} / pack ${v4[5]}`);
}

main();
