/**
 * Pure helpers for turning a packet capture of real BGP sessions into codec
 * vectors: TCP payload records (as printed by tshark) in, reassembled byte
 * streams, whole BGP messages, negotiated session options and the JSON
 * vector file shape out.
 *
 * This deliberately does not use tortie's codec: the vectors exist to check
 * that codec, so framing, the few OPEN fields we need and the annotations
 * are read here independently, with minimal parsing.
 */
import { concatBytes } from './pcap.js';

// ---------------------------------------------------------------- the vector file

/** Session facts the codec needs, as stored in a vector file. */
export interface VectorSessionOptions {
  fourOctetAs: boolean;
  extendedMessage: boolean;
  /** Families whose NLRI carry path identifiers in this direction. */
  addPath: { afi: number; safi: number }[];
  external: boolean;
}

export interface VectorMessage {
  /** "<sender>-><receiver>", e.g. "bird->frr". */
  dir: string;
  /** OPEN, UPDATE, NOTIFICATION, KEEPALIVE or ROUTE-REFRESH (from the header; informative). */
  type: string;
  /** A short human description (informative, from a minimal independent parse). */
  note: string;
  /** The whole message, header included, lower-case hex. */
  hex: string;
}

export interface VectorFile {
  /** Who talked to whom, e.g. "bird 2.0.12 -> frr 8.4.4 (eBGP, ipv4)". */
  source: string;
  /** Capture date, YYYY-MM-DD. */
  captured: string;
  /** Session identifier inside the capture scenario. */
  session: string;
  /** Options for decoding messages in either direction (those of the first direction if they differ). */
  sessionOptions: VectorSessionOptions;
  /** Present when the two directions negotiated different options (e.g. one-way add-path). */
  directionOptions?: Record<string, VectorSessionOptions>;
  /** Free-form remarks: configuration highlights, what each message needs. */
  notes: string[];
  messages: VectorMessage[];
}

/** The options to decode `dir`'s messages with. */
export function optionsForDirection(file: VectorFile, dir: string): VectorSessionOptions {
  return file.directionOptions?.[dir] ?? file.sessionOptions;
}

// ---------------------------------------------------------------- tshark records

/** Fields requested from tshark, in this order (`-T fields -E separator=/t`). */
export const TSHARK_FIELDS = [
  'frame.number',
  'frame.time_epoch',
  'tcp.stream',
  'ip.src',
  'ipv6.src',
  'tcp.srcport',
  'ip.dst',
  'ipv6.dst',
  'tcp.dstport',
  'tcp.seq',
  'tcp.payload',
] as const;

/** One TCP segment carrying data. `seq` is tshark's relative sequence number. */
export interface TcpPayloadRecord {
  frame: number;
  timeSec: number;
  stream: number;
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  seq: number;
  payload: Uint8Array;
}

/** Parses tshark's tab-separated output for TSHARK_FIELDS; lines without payload are skipped. */
export function parseTsharkFields(text: string): TcpPayloadRecord[] {
  const out: TcpPayloadRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const f = line.split('\t');
    if (f.length < TSHARK_FIELDS.length) throw new Error(`unexpected tshark line: ${line}`);
    const payloadHex = f[10].replace(/:/g, '');
    if (!payloadHex) continue;
    out.push({
      frame: Number(f[0]),
      timeSec: Number(f[1]),
      stream: Number(f[2]),
      src: f[3] || f[4],
      srcPort: Number(f[5]),
      dst: f[6] || f[7],
      dstPort: Number(f[8]),
      seq: Number(f[9]),
      payload: hexToBytes(payloadHex),
    });
  }
  return out;
}

// ---------------------------------------------------------------- reassembly

/** The bytes one end sent on one TCP connection, in order. */
export interface DirectionalStream {
  stream: number;
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  data: Uint8Array;
  /** Start offset and capture time of each contiguous piece, ascending by offset. */
  pieces: { offset: number; timeSec: number }[];
  /** Bytes missing from the capture (holes), 0 for a complete stream. */
  missing: number;
}

/**
 * Reassembles each direction of each TCP stream by sequence number:
 * retransmissions and overlaps are trimmed, holes are counted.
 */
export function reassemble(records: readonly TcpPayloadRecord[]): DirectionalStream[] {
  const groups = new Map<string, TcpPayloadRecord[]>();
  for (const r of records) {
    const key = `${r.stream}|${r.src}|${r.srcPort}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(r);
  }
  const out: DirectionalStream[] = [];
  for (const g of groups.values()) {
    const sorted = [...g].sort((x, y) => x.seq - y.seq || x.frame - y.frame);
    const base = sorted[0].seq;
    const parts: Uint8Array[] = [];
    const pieces: { offset: number; timeSec: number }[] = [];
    let next = 0;
    let missing = 0;
    for (const r of sorted) {
      const start = r.seq - base;
      const end = start + r.payload.length;
      if (end <= next) continue; // pure retransmission
      if (start > next) {
        missing += start - next;
        next = start; // keep going; the caller sees `missing`
      }
      const fresh = r.payload.subarray(next - start);
      pieces.push({ offset: next, timeSec: r.timeSec });
      parts.push(fresh);
      next = end;
    }
    const first = sorted[0];
    out.push({
      stream: first.stream,
      src: first.src,
      srcPort: first.srcPort,
      dst: first.dst,
      dstPort: first.dstPort,
      data: concatBytes(parts),
      pieces,
      missing,
    });
  }
  return out.sort((a, b) => a.stream - b.stream || (a.pieces[0]?.timeSec ?? 0) - (b.pieces[0]?.timeSec ?? 0));
}

// ---------------------------------------------------------------- framing

export const BGP_HEADER_LEN = 19;
export const MESSAGE_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'OPEN',
  2: 'UPDATE',
  3: 'NOTIFICATION',
  4: 'KEEPALIVE',
  5: 'ROUTE-REFRESH',
};

export interface FramedMessage {
  bytes: Uint8Array;
  type: number;
  /** Capture time of the segment holding the message's first byte. */
  timeSec: number;
  offset: number;
}

/**
 * Cuts a reassembled stream into BGP messages by the header length field.
 * Stops at the first bad marker or impossible length and reports it.
 */
export function splitMessages(s: DirectionalStream): { messages: FramedMessage[]; trailing: number; error?: string } {
  const messages: FramedMessage[] = [];
  let off = 0;
  let piece = 0;
  while (off + BGP_HEADER_LEN <= s.data.length) {
    for (let i = 0; i < 16; i++) {
      if (s.data[off + i] !== 0xff) {
        return { messages, trailing: s.data.length - off, error: `bad marker at offset ${off}` };
      }
    }
    const len = (s.data[off + 16] << 8) | s.data[off + 17];
    if (len < BGP_HEADER_LEN) return { messages, trailing: s.data.length - off, error: `bad length ${len} at offset ${off}` };
    if (off + len > s.data.length) break;
    while (piece + 1 < s.pieces.length && s.pieces[piece + 1].offset <= off) piece++;
    messages.push({ bytes: s.data.subarray(off, off + len), type: s.data[off + 18], timeSec: s.pieces[piece]?.timeSec ?? 0, offset: off });
    off += len;
  }
  return { messages, trailing: s.data.length - off };
}

// ---------------------------------------------------------------- OPEN and negotiation

export interface OpenSummary {
  myAs: number;
  holdTimeSec: number;
  bgpId: string;
  /** Capabilities in order, raw values. */
  capabilities: { code: number; value: Uint8Array }[];
}

/** Reads the fields of an OPEN (whole message) that negotiation needs. Throws on malformed input. */
export function readOpen(msg: Uint8Array): OpenSummary {
  if (msg[18] !== 1) throw new Error('not an OPEN');
  const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const myAs = view.getUint16(20);
  const holdTimeSec = view.getUint16(22);
  const bgpId = Array.from(msg.subarray(24, 28)).join('.');
  let optLen = msg[28];
  let off = 29;
  let wideParams = false;
  if (optLen === 255 && msg[29] === 255) {
    // RFC 9072 extended optional parameters length
    wideParams = true;
    optLen = view.getUint16(30);
    off = 32;
  }
  const end = off + optLen;
  if (end > msg.length) throw new Error('OPEN optional parameters overrun');
  const capabilities: { code: number; value: Uint8Array }[] = [];
  while (off < end) {
    const type = msg[off];
    const plen = wideParams ? view.getUint16(off + 1) : msg[off + 1];
    const pstart = off + (wideParams ? 3 : 2);
    const pend = pstart + plen;
    if (pend > end) throw new Error('OPEN parameter overrun');
    if (type === 2) {
      let c = pstart;
      while (c < pend) {
        const code = msg[c];
        const clen = msg[c + 1];
        if (c + 2 + clen > pend) throw new Error('capability overrun');
        capabilities.push({ code, value: msg.subarray(c + 2, c + 2 + clen) });
        c += 2 + clen;
      }
    }
    off = pend;
  }
  return { myAs, holdTimeSec, bgpId, capabilities };
}

/** The speaker's real ASN: the 4-octet AS capability's value, else My AS. */
export function speakerAsn(open: OpenSummary): number {
  const cap = open.capabilities.find((c) => c.code === 65 && c.value.length === 4);
  return cap ? new DataView(cap.value.buffer, cap.value.byteOffset, 4).getUint32(0) : open.myAs;
}

/** Add-path (code 69) entries: family → send/receive mode. */
export function addPathModes(open: OpenSummary): { afi: number; safi: number; mode: number }[] {
  const out: { afi: number; safi: number; mode: number }[] = [];
  for (const cap of open.capabilities.filter((c) => c.code === 69)) {
    for (let i = 0; i + 4 <= cap.value.length; i += 4) {
      out.push({ afi: (cap.value[i] << 8) | cap.value[i + 1], safi: cap.value[i + 2], mode: cap.value[i + 3] });
    }
  }
  return out;
}

/**
 * Options for messages sent by the speaker of `senderOpen` to the speaker
 * of `receiverOpen`: RFC 6793 (both sides), RFC 8654 (both sides), RFC 7911
 * (sender can send and receiver can receive, per family).
 */
export function negotiateDirection(senderOpen: OpenSummary, receiverOpen: OpenSummary): VectorSessionOptions {
  const has = (o: OpenSummary, code: number): boolean => o.capabilities.some((c) => c.code === code);
  const recv = addPathModes(receiverOpen);
  const addPath = addPathModes(senderOpen)
    .filter((s) => (s.mode & 2) !== 0)
    .filter((s) => recv.some((r) => r.afi === s.afi && r.safi === s.safi && (r.mode & 1) !== 0))
    .map(({ afi, safi }) => ({ afi, safi }));
  return {
    fourOctetAs: has(senderOpen, 65) && has(receiverOpen, 65),
    extendedMessage: has(senderOpen, 6) && has(receiverOpen, 6),
    addPath: dedupeFamilies(addPath),
    external: speakerAsn(senderOpen) !== speakerAsn(receiverOpen),
  };
}

function dedupeFamilies(list: { afi: number; safi: number }[]): { afi: number; safi: number }[] {
  const seen = new Set<string>();
  return list
    .filter((f) => {
      const k = `${f.afi}/${f.safi}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((a, b) => a.afi - b.afi || a.safi - b.safi);
}

export function sameOptions(a: VectorSessionOptions, b: VectorSessionOptions): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

// ---------------------------------------------------------------- annotations

const CAP_NAMES: Readonly<Record<number, string>> = {
  1: 'mp',
  2: 'route-refresh',
  5: 'ext-nexthop',
  6: 'ext-message',
  9: 'bgp-role',
  64: 'graceful-restart',
  65: 'as4',
  69: 'add-path',
  70: 'enhanced-rr',
  71: 'llgr',
  73: 'fqdn',
  128: 'route-refresh(old)',
};

const ATTR_NAMES: Readonly<Record<number, string>> = {
  1: 'ORIGIN',
  2: 'AS_PATH',
  3: 'NEXT_HOP',
  4: 'MED',
  5: 'LOCAL_PREF',
  6: 'ATOMIC_AGGREGATE',
  7: 'AGGREGATOR',
  8: 'COMMUNITIES',
  9: 'ORIGINATOR_ID',
  10: 'CLUSTER_LIST',
  14: 'MP_REACH',
  15: 'MP_UNREACH',
  16: 'EXT_COMMUNITIES',
  17: 'AS4_PATH',
  18: 'AS4_AGGREGATOR',
  32: 'LARGE_COMMUNITY',
};

/** A one-line description of a message, from a minimal parse (never throws). */
export function describeMessage(msg: Uint8Array): string {
  try {
    switch (msg[18]) {
      case 1: {
        const o = readOpen(msg);
        const caps = o.capabilities.map((c) => CAP_NAMES[c.code] ?? `cap${c.code}`);
        return `OPEN as=${speakerAsn(o)}${o.myAs !== speakerAsn(o) ? ` (my-as ${o.myAs})` : ''} hold=${o.holdTimeSec} id=${o.bgpId} caps=[${caps.join(',')}]`;
      }
      case 2:
        return describeUpdate(msg);
      case 3: {
        const data = msg.subarray(21);
        const text = msg[19] === 6 && (msg[20] === 2 || msg[20] === 4) && data.length > 0 ? ` "${decodeShutdown(data)}"` : '';
        const ascii = !text && data.length > 0 && data.every((c) => c >= 0x20 && c < 0x7f) ? ` data="${new TextDecoder().decode(data)}"` : '';
        const raw = !text && !ascii && data.length ? ` data=${data.length}B` : '';
        return `NOTIFICATION ${msg[19]}/${msg[20]}${text}${ascii}${raw}`;
      }
      case 4:
        return 'KEEPALIVE';
      case 5: {
        const sub = msg[21];
        const subName = sub === 0 ? 'request' : sub === 1 ? 'BoRR' : sub === 2 ? 'EoRR' : `subtype ${sub}`;
        return `ROUTE-REFRESH afi=${(msg[19] << 8) | msg[20]} safi=${msg[22]} ${subName}`;
      }
      default:
        return `type ${msg[18]}`;
    }
  } catch (err) {
    return `unparsed (${err instanceof Error ? err.message : String(err)})`;
  }
}

function decodeShutdown(data: Uint8Array): string {
  const len = data[0];
  return new TextDecoder().decode(data.subarray(1, 1 + len));
}

function describeUpdate(msg: Uint8Array): string {
  const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const wlen = view.getUint16(19);
  const alenOff = 21 + wlen;
  const alen = view.getUint16(alenOff);
  const nlriLen = msg.length - alenOff - 2 - alen;
  if (wlen === 0 && alen === 0 && nlriLen === 0) return 'UPDATE End-of-RIB ipv4-unicast';
  const attrs: string[] = [];
  let off = alenOff + 2;
  const end = off + alen;
  let mpEor = '';
  while (off < end) {
    const flags = msg[off];
    const type = msg[off + 1];
    const ext = (flags & 0x10) !== 0;
    const len = ext ? view.getUint16(off + 2) : msg[off + 2];
    const vstart = off + (ext ? 4 : 3);
    let name = ATTR_NAMES[type] ?? `attr${type}`;
    if (flags & 0x20) name += '(partial)';
    if (ext && len < 256) name += '(extlen)';
    attrs.push(name);
    if (type === 15 && len === 3 && alen === 3 + (ext ? 1 : 0) + len) {
      mpEor = ` End-of-RIB afi=${(msg[vstart] << 8) | msg[vstart + 1]} safi=${msg[vstart + 2]}`;
    }
    off = vstart + len;
  }
  if (mpEor) return `UPDATE${mpEor}`;
  return `UPDATE withdrawn=${wlen}B attrs=[${attrs.join(',')}] nlri=${nlriLen}B`;
}

// ---------------------------------------------------------------- bytes

export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || /[^0-9a-f]/i.test(hex)) throw new Error(`bad hex: ${hex.slice(0, 40)}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

