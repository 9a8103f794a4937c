/**
 * A tiny, pure writer for classic libpcap files holding one IPv4 TCP
 * conversation, so that an independent dissector (tshark) can read the
 * bytes our codec produces exactly as it would read a live BGP session.
 *
 * Three layers, each usable on its own:
 *   - `encodePcap`: records in, pcap file bytes out (LINKTYPE_ETHERNET).
 *   - `buildTcpConversation`: payload segments in, Ethernet/IPv4/TCP frames
 *     out, with a three-way handshake, valid IPv4 and TCP checksums,
 *     consistent seq/ack numbers, an ACK for every data segment and an
 *     orderly FIN close, so that TCP analysis sees a clean stream.
 *   - `planBgpSegments`: BGP messages in, TCP payload segments out, with
 *     explicit control over which messages share a segment and which are
 *     split across two (to exercise the dissector's reassembly).
 *
 * No clock and no randomness: timestamps, ports and initial sequence
 * numbers are inputs with fixed defaults, so a capture is reproducible.
 */

export const LINKTYPE_ETHERNET = 1;
const PCAP_MAGIC = 0xa1b2c3d4;
const PCAP_SNAPLEN = 262144;
const ETHERTYPE_IPV4 = 0x0800;
const IPPROTO_TCP = 6;
const ETH_HEADER_LEN = 14;
const IPV4_HEADER_LEN = 20;
const TCP_HEADER_LEN = 20;
const IPV4_MAX_TOTAL_LEN = 65535;

export enum TcpFlag {
  Fin = 0x01,
  Syn = 0x02,
  Rst = 0x04,
  Psh = 0x08,
  Ack = 0x10,
}

/** One captured frame. */
export interface PcapRecord {
  /** Capture time in microseconds since the Unix epoch. */
  timestampUs: number;
  data: Uint8Array;
}

/** Serialises records as a little-endian classic pcap file (v2.4, microsecond timestamps). */
export function encodePcap(records: readonly PcapRecord[], linkType: number = LINKTYPE_ETHERNET): Uint8Array {
  const total = 24 + records.reduce((n, r) => n + 16 + r.data.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, PCAP_MAGIC, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setInt32(8, 0, true); // thiszone
  view.setUint32(12, 0, true); // sigfigs
  view.setUint32(16, PCAP_SNAPLEN, true);
  view.setUint32(20, linkType, true);
  let off = 24;
  for (const rec of records) {
    if (!Number.isSafeInteger(rec.timestampUs) || rec.timestampUs < 0) {
      throw new RangeError(`bad pcap timestamp ${rec.timestampUs}`);
    }
    view.setUint32(off, Math.floor(rec.timestampUs / 1e6), true);
    view.setUint32(off + 4, rec.timestampUs % 1e6, true);
    view.setUint32(off + 8, rec.data.length, true);
    view.setUint32(off + 12, rec.data.length, true);
    out.set(rec.data, off + 16);
    off += 16 + rec.data.length;
  }
  return out;
}

// ---------------------------------------------------------------- TCP conversation

/** Which end of the conversation sends a segment. */
export type Side = 'active' | 'passive';

export interface TcpConversationOptions {
  /** The connecting side. Default 192.0.2.1. */
  activeIp: string;
  /** The listening side. Default 192.0.2.2. */
  passiveIp: string;
  /** Default 49152 + 1234 (an ephemeral port). */
  activePort: number;
  /** Default 179 (BGP). */
  passivePort: number;
  /** Initial sequence numbers, fixed so captures are reproducible. */
  activeIsn: number;
  passiveIsn: number;
  /** Time of the first frame, microseconds since the epoch. */
  startTimeUs: number;
  /** Gap between consecutive frames, microseconds. */
  frameGapUs: number;
  /** Advertised receive window (no window scaling is negotiated). */
  window: number;
  /** MSS advertised in the SYNs. Payload segments larger than this are refused. */
  mss: number;
}

export const DEFAULT_TCP_CONVERSATION: Readonly<TcpConversationOptions> = Object.freeze({
  activeIp: '192.0.2.1',
  passiveIp: '192.0.2.2',
  activePort: 50386,
  passivePort: 179,
  activeIsn: 0x1a2b3c4d,
  passiveIsn: 0x5e6f7081,
  startTimeUs: 1_700_000_000_000_000,
  frameGapUs: 1000,
  window: 65535,
  mss: 1460,
});

/** One TCP payload, sent by `from`. */
export interface TcpSegment {
  from: Side;
  payload: Uint8Array;
}

interface EndState {
  ip: Uint8Array;
  mac: Uint8Array;
  port: number;
  /** Next sequence number this end will send. */
  seq: number;
  ipId: number;
}

/**
 * Builds a complete TCP conversation: handshake, every segment in order
 * (each acknowledged at once by the other end), then FIN/ACK in both
 * directions. Returns Ethernet frames ready for `encodePcap`.
 */
export function buildTcpConversation(
  segments: readonly TcpSegment[],
  options: Partial<TcpConversationOptions> = {},
): PcapRecord[] {
  const o: TcpConversationOptions = { ...DEFAULT_TCP_CONVERSATION, ...options };
  const ends: Record<Side, EndState> = {
    active: { ip: parseIpv4(o.activeIp), mac: mac(1), port: o.activePort, seq: o.activeIsn >>> 0, ipId: 0x1000 },
    passive: { ip: parseIpv4(o.passiveIp), mac: mac(2), port: o.passivePort, seq: o.passiveIsn >>> 0, ipId: 0x2000 },
  };
  const records: PcapRecord[] = [];
  let now = o.startTimeUs;
  const emit = (from: Side, flags: number, payload: Uint8Array, tcpOptions: Uint8Array = EMPTY): void => {
    const src = ends[from];
    const dst = ends[other(from)];
    const ack = flags & TcpFlag.Ack ? dst.seq : 0;
    const frame = buildFrame(src, dst, src.seq, ack, flags, o.window, tcpOptions, payload);
    src.ipId = (src.ipId + 1) & 0xffff;
    records.push({ timestampUs: now, data: frame });
    now += o.frameGapUs;
    // SYN and FIN each consume one sequence number.
    const consumed = payload.length + (flags & TcpFlag.Syn ? 1 : 0) + (flags & TcpFlag.Fin ? 1 : 0);
    src.seq = (src.seq + consumed) >>> 0;
  };

  const mssOption = new Uint8Array([2, 4, (o.mss >> 8) & 0xff, o.mss & 0xff]);
  emit('active', TcpFlag.Syn, EMPTY, mssOption);
  emit('passive', TcpFlag.Syn | TcpFlag.Ack, EMPTY, mssOption);
  emit('active', TcpFlag.Ack, EMPTY);

  for (const seg of segments) {
    if (seg.payload.length === 0) throw new RangeError('empty TCP segment');
    if (seg.payload.length > o.mss) {
      throw new RangeError(`segment of ${seg.payload.length} octets exceeds MSS ${o.mss}`);
    }
    emit(seg.from, TcpFlag.Psh | TcpFlag.Ack, seg.payload);
    emit(other(seg.from), TcpFlag.Ack, EMPTY);
  }

  emit('active', TcpFlag.Fin | TcpFlag.Ack, EMPTY);
  emit('passive', TcpFlag.Ack, EMPTY);
  emit('passive', TcpFlag.Fin | TcpFlag.Ack, EMPTY);
  emit('active', TcpFlag.Ack, EMPTY);
  return records;
}

const EMPTY = new Uint8Array(0);

function other(side: Side): Side {
  return side === 'active' ? 'passive' : 'active';
}

function mac(n: number): Uint8Array {
  // Locally administered unicast addresses.
  return new Uint8Array([0x02, 0x00, 0x00, 0x00, 0x00, n]);
}

function buildFrame(
  src: EndState,
  dst: EndState,
  seq: number,
  ack: number,
  flags: number,
  window: number,
  tcpOptions: Uint8Array,
  payload: Uint8Array,
): Uint8Array {
  if (tcpOptions.length % 4 !== 0) throw new RangeError('TCP options must be padded to 4 octets');
  const tcpLen = TCP_HEADER_LEN + tcpOptions.length + payload.length;
  const ipTotal = IPV4_HEADER_LEN + tcpLen;
  if (ipTotal > IPV4_MAX_TOTAL_LEN) throw new RangeError(`IPv4 packet of ${ipTotal} octets is too large`);
  const frame = new Uint8Array(ETH_HEADER_LEN + ipTotal);
  const view = new DataView(frame.buffer);

  // Ethernet II
  frame.set(dst.mac, 0);
  frame.set(src.mac, 6);
  view.setUint16(12, ETHERTYPE_IPV4);

  // IPv4
  const ip = ETH_HEADER_LEN;
  frame[ip] = 0x45; // version 4, IHL 5
  frame[ip + 1] = 0xc0; // DSCP CS6 (network control), as routers send BGP
  view.setUint16(ip + 2, ipTotal);
  view.setUint16(ip + 4, src.ipId);
  view.setUint16(ip + 6, 0x4000); // DF, no fragmentation
  frame[ip + 8] = 64; // TTL
  frame[ip + 9] = IPPROTO_TCP;
  frame.set(src.ip, ip + 12);
  frame.set(dst.ip, ip + 16);
  view.setUint16(ip + 10, internetChecksum([frame.subarray(ip, ip + IPV4_HEADER_LEN)]));

  // TCP
  const tcp = ip + IPV4_HEADER_LEN;
  view.setUint16(tcp, src.port);
  view.setUint16(tcp + 2, dst.port);
  view.setUint32(tcp + 4, seq >>> 0);
  view.setUint32(tcp + 8, ack >>> 0);
  frame[tcp + 12] = ((TCP_HEADER_LEN + tcpOptions.length) / 4) << 4;
  frame[tcp + 13] = flags;
  view.setUint16(tcp + 14, window);
  // checksum (tcp + 16) computed below; urgent pointer (tcp + 18) stays 0
  frame.set(tcpOptions, tcp + TCP_HEADER_LEN);
  frame.set(payload, tcp + TCP_HEADER_LEN + tcpOptions.length);

  const pseudo = new Uint8Array(12);
  pseudo.set(src.ip, 0);
  pseudo.set(dst.ip, 4);
  pseudo[9] = IPPROTO_TCP;
  new DataView(pseudo.buffer).setUint16(10, tcpLen);
  view.setUint16(tcp + 16, internetChecksum([pseudo, frame.subarray(tcp, tcp + tcpLen)]));
  return frame;
}

/** RFC 1071 ones'-complement checksum over the concatenation of `parts`. */
export function internetChecksum(parts: readonly Uint8Array[]): number {
  let sum = 0;
  let odd = -1; // pending high byte when a part ends on an odd boundary
  for (const part of parts) {
    for (const byte of part) {
      if (odd < 0) {
        odd = byte;
      } else {
        sum += (odd << 8) | byte;
        odd = -1;
      }
    }
  }
  if (odd >= 0) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function parseIpv4(text: string): Uint8Array {
  const parts = text.split('.');
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  if (bytes.length !== 4 || bytes.some((b) => !(b >= 0 && b <= 255))) {
    throw new RangeError(`not an IPv4 address: ${text}`);
  }
  return new Uint8Array(bytes);
}

// ---------------------------------------------------------------- BGP messages to segments

/** One whole BGP message (header included) and the side that sends it. */
export interface CapturedMessage {
  from: Side;
  bytes: Uint8Array;
}

export interface SegmentPlan {
  /**
   * Indices of messages that share one segment with the message after them
   * (which must come from the same side). Chains are allowed: {3, 4} puts
   * messages 3, 4 and 5 in one segment.
   */
  coalesceWithNext?: ReadonlySet<number>;
  /**
   * Message index -> offset at which that message is cut into two segments
   * (0 < offset < length). A split message is never coalesced.
   */
  splitAt?: ReadonlyMap<number, number>;
  /** Larger payloads are cut into MSS-sized segments, as a real stack would. */
  mss?: number;
}

/** Maps BGP messages to TCP payload segments according to `plan`. */
export function planBgpSegments(messages: readonly CapturedMessage[], plan: SegmentPlan = {}): TcpSegment[] {
  const coalesce = plan.coalesceWithNext ?? new Set<number>();
  const splitAt = plan.splitAt ?? new Map<number, number>();
  const mss = plan.mss ?? DEFAULT_TCP_CONVERSATION.mss;
  const out: TcpSegment[] = [];
  let pending: { from: Side; parts: Uint8Array[] } | undefined;

  const push = (from: Side, payload: Uint8Array): void => {
    for (let off = 0; off < payload.length; off += mss) {
      out.push({ from, payload: payload.subarray(off, Math.min(payload.length, off + mss)) });
    }
  };

  messages.forEach((msg, i) => {
    const cut = splitAt.get(i);
    if (cut !== undefined) {
      if (pending) throw new RangeError(`message ${i} is split but message ${i - 1} wants to share a segment with it`);
      if (!(cut > 0 && cut < msg.bytes.length)) throw new RangeError(`bad split offset ${cut} for message ${i}`);
      if (coalesce.has(i)) throw new RangeError(`message ${i} cannot be both split and coalesced`);
      push(msg.from, msg.bytes.subarray(0, cut));
      push(msg.from, msg.bytes.subarray(cut));
      return;
    }
    if (pending && pending.from !== msg.from) {
      throw new RangeError(`message ${i - 1} and message ${i} come from different sides and cannot share a segment`);
    }
    pending ??= { from: msg.from, parts: [] };
    pending.parts.push(msg.bytes);
    if (!coalesce.has(i)) {
      push(pending.from, concatBytes(pending.parts));
      pending = undefined;
    }
  });
  if (pending) throw new RangeError('the last message cannot be coalesced with a following one');
  return out;
}

/** Convenience: messages -> segments -> TCP conversation -> pcap file bytes. */
export function bgpMessagesToPcap(
  messages: readonly CapturedMessage[],
  plan: SegmentPlan = {},
  tcp: Partial<TcpConversationOptions> = {},
): Uint8Array {
  const mss = tcp.mss ?? DEFAULT_TCP_CONVERSATION.mss;
  const segments = planBgpSegments(messages, { ...plan, mss: Math.min(plan.mss ?? mss, mss) });
  return encodePcap(buildTcpConversation(segments, tcp));
}

/** The parts as one array (the part itself when there is one). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
