/**
 * A minimal protobuf (proto3) wire codec: just enough to hand-encode the few
 * CRI runtime.v1 messages the runtime tests send and to read the replies.
 *
 * Encoding follows the proto3 rules for scalars: a field holding its default
 * value (0, false, "") is left out. Decoding keeps every field by number, in
 * wire order, so repeated and map fields come out as lists. Unknown wire
 * types are an error; fixed32/fixed64 fields are kept as raw bytes (none of
 * the messages we read use them, but a newer runtime may add some).
 *
 * Pure: no I/O. Varints are handled as bigint so 64-bit values (nanosecond
 * timestamps) survive.
 */
import { TortieError } from '../../../lib/errors.js';

/** Protobuf wire types (encoding spec, "Message Structure"). */
export const WireType = {
  Varint: 0,
  Fixed64: 1,
  LengthDelimited: 2,
  Fixed32: 5,
} as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

/** Builds one message. Methods return `this` so a message reads as one chain. */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  private tag(field: number, wireType: WireType): void {
    this.push(encodeVarint(BigInt(field) * 8n + BigInt(wireType)));
  }

  /** uint32/uint64/int64/enum/bool as a varint; omitted when 0. Negative int64 becomes its 10-byte two's complement. */
  varint(field: number, value: number | bigint | boolean): this {
    const v = typeof value === 'boolean' ? (value ? 1n : 0n) : BigInt(value);
    if (v === 0n) return this;
    this.tag(field, WireType.Varint);
    this.push(encodeVarint(v < 0n ? v + (1n << 64n) : v));
    return this;
  }

  /** A string field; omitted when empty. */
  string(field: number, value: string | undefined): this {
    if (value === undefined || value === '') return this;
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** A bytes field, always written (callers decide about empties). */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WireType.LengthDelimited);
    this.push(encodeVarint(BigInt(value.length)));
    this.push(value);
    return this;
  }

  /** An embedded message; omitted when `build` is undefined. An empty message is still written (presence matters). */
  message(field: number, build: ((w: ProtoWriter) => void) | undefined): this {
    if (build === undefined) return this;
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  /** A repeated string field. */
  repeatedString(field: number, values: readonly string[] | undefined): this {
    for (const v of values ?? []) this.bytes(field, new TextEncoder().encode(v));
    return this;
  }

  /** map<string, string>: one entry message per pair (key = 1, value = 2), in key order for stable bytes. */
  stringMap(field: number, map: Readonly<Record<string, string>> | undefined): this {
    for (const key of Object.keys(map ?? {}).sort()) {
      const value = (map ?? {})[key] ?? '';
      this.message(field, (w) => w.string(1, key).string(2, value));
    }
    return this;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

export function encodeVarint(value: bigint): Uint8Array {
  if (value < 0n) throw new TortieError('ERR_PROTO_ENCODE', `negative varint ${value}`);
  const out: number[] = [];
  let v = value;
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return Uint8Array.from(out);
}

/** One decoded field. `varint` is set for wire type 0, `bytes` for 1, 2 and 5. */
export interface ProtoField {
  field: number;
  wireType: WireType;
  varint?: bigint;
  bytes?: Uint8Array;
}

/** Splits a message into its fields, in wire order. Throws ERR_PROTO_DECODE on malformed input. */
export function decodeFields(buf: Uint8Array): ProtoField[] {
  const fields: ProtoField[] = [];
  let at = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (at >= buf.length) throw new TortieError('ERR_PROTO_DECODE', 'truncated varint');
      const byte = buf[at++] ?? 0;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new TortieError('ERR_PROTO_DECODE', 'varint longer than 10 bytes');
    }
  };
  const take = (n: number): Uint8Array => {
    if (at + n > buf.length) throw new TortieError('ERR_PROTO_DECODE', `field needs ${n} bytes, ${buf.length - at} left`);
    const slice = buf.subarray(at, at + n);
    at += n;
    return slice;
  };
  while (at < buf.length) {
    const key = readVarint();
    const field = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (field === 0) throw new TortieError('ERR_PROTO_DECODE', 'field number 0');
    switch (wireType) {
      case WireType.Varint:
        fields.push({ field, wireType, varint: readVarint() });
        break;
      case WireType.Fixed64:
        fields.push({ field, wireType, bytes: take(8) });
        break;
      case WireType.LengthDelimited:
        fields.push({ field, wireType, bytes: take(Number(readVarint())) });
        break;
      case WireType.Fixed32:
        fields.push({ field, wireType, bytes: take(4) });
        break;
      default:
        throw new TortieError('ERR_PROTO_DECODE', `unsupported wire type ${wireType} (field ${field})`);
    }
  }
  return fields;
}

/** Typed read access to one decoded message. Absent scalars read as their proto3 defaults. */
export class ProtoMessage {
  readonly fields: readonly ProtoField[];

  constructor(buf: Uint8Array) {
    this.fields = decodeFields(buf);
  }

  private all(field: number, wireType: WireType): ProtoField[] {
    const found = this.fields.filter((f) => f.field === field);
    const wrong = found.find((f) => f.wireType !== wireType);
    if (wrong) throw new TortieError('ERR_PROTO_DECODE', `field ${field}: wire type ${wrong.wireType}, expected ${wireType}`);
    return found;
  }

  /** Last occurrence wins, as in the spec. */
  string(field: number): string {
    const last = this.all(field, WireType.LengthDelimited).at(-1);
    return last?.bytes ? new TextDecoder().decode(last.bytes) : '';
  }

  strings(field: number): string[] {
    return this.all(field, WireType.LengthDelimited).map((f) => new TextDecoder().decode(f.bytes));
  }

  varint(field: number): bigint {
    return this.all(field, WireType.Varint).at(-1)?.varint ?? 0n;
  }

  number(field: number): number {
    return Number(this.varint(field));
  }

  bool(field: number): boolean {
    return this.varint(field) !== 0n;
  }

  /** An embedded message, or undefined when absent. */
  message(field: number): ProtoMessage | undefined {
    const last = this.all(field, WireType.LengthDelimited).at(-1);
    return last?.bytes ? new ProtoMessage(last.bytes) : undefined;
  }

  messages(field: number): ProtoMessage[] {
    return this.all(field, WireType.LengthDelimited).map((f) => new ProtoMessage(f.bytes ?? new Uint8Array()));
  }

  stringMap(field: number): Record<string, string> {
    const out: Record<string, string> = {};
    for (const entry of this.messages(field)) out[entry.string(1)] = entry.string(2);
    return out;
  }
}
