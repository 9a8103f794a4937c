/**
 * The tester's whole announcement, encoded before the clock starts: N IPv4
 * prefixes with one attribute set (ORIGIN IGP, AS_PATH <asn>, NEXT_HOP),
 * packed into 4096-octet UPDATEs by the codec's packUpdates, followed by
 * End-of-RIB, concatenated into one buffer. Pure.
 *
 * Prefixes are /<prefixLen> blocks counted up from `prefixBase`
 * (default 16.0.0.0/24, 16.0.1.0/24, …: 1,048,576 /24s fit below 32.0.0.0).
 * They exist only in the benchmark namespaces' BGP RIBs: no target installs
 * them in a kernel, and no namespace has a route out.
 */
import {
  AttrType, DEFAULT_CODEC_OPTIONS, encodeEndOfRib, IPV4_UNICAST, ipv4FromUint32, packUpdates, parseIpv4,
  type Nlri, type PathAttribute,
} from '../../bgp/codec/index.js';
import { TortieError } from '../../lib/errors.js';

export const DEFAULT_PREFIX_BASE = '16.0.0.0';
export const DEFAULT_PREFIX_LEN = 24;

export interface AnnouncementPlan {
  count: number;
  asn: number;
  nextHop: string;
  prefixBase?: string;
  prefixLen?: number;
}

export interface Announcement {
  /** Every UPDATE, then End-of-RIB, back to back. */
  bytes: Uint8Array;
  /** How many messages `bytes` holds (End-of-RIB included). */
  messages: number;
}

export function buildAnnouncement(plan: AnnouncementPlan): Announcement {
  const count = plan.count;
  const prefixLen = plan.prefixLen ?? DEFAULT_PREFIX_LEN;
  const prefixBase = plan.prefixBase ?? DEFAULT_PREFIX_BASE;
  if (!Number.isInteger(prefixLen) || prefixLen < 8 || prefixLen > 32) {
    throw new TortieError('ERR_BENCH_USAGE', 'the prefix length must be 8..32');
  }
  const base = parseIpv4(prefixBase) >>> 0;
  const step = 2 ** (32 - prefixLen);
  if (base % step !== 0) throw new TortieError('ERR_BENCH_USAGE', `${prefixBase} is not aligned to /${prefixLen}`);
  if (base + count * step > 2 ** 32) {
    throw new TortieError('ERR_BENCH_USAGE', `${count} /${prefixLen} prefixes do not fit above ${prefixBase}`);
  }
  const nlri = new Array<Nlri>(count);
  for (let i = 0; i < count; i++) nlri[i] = { prefix: `${ipv4FromUint32(base + i * step)}/${prefixLen}` };
  const attributes: PathAttribute[] = [
    { type: AttrType.Origin, flags: 0x40, origin: 0 },
    { type: AttrType.AsPath, flags: 0x40, segments: [{ type: 2, asns: [plan.asn] }] },
    { type: AttrType.NextHop, flags: 0x40, nextHop: plan.nextHop },
  ];
  const opts = { ...DEFAULT_CODEC_OPTIONS, external: true };
  const updates = packUpdates(IPV4_UNICAST, attributes, nlri, opts);
  updates.push(encodeEndOfRib(IPV4_UNICAST, opts));
  let total = 0;
  for (const u of updates) total += u.length;
  const bytes = new Uint8Array(total);
  let off = 0;
  for (const u of updates) {
    bytes.set(u, off);
    off += u.length;
  }
  return { bytes, messages: updates.length };
}
