/**
 * Bounded, seeded fuzzing of the decoder. Arbitrary bytes may only ever
 * produce a BgpError; whatever decodes must re-encode, and re-encoding
 * must be a fixed point. A failure prints the seed and the input hex; keep
 * such inputs in fuzz-crashers.ts.
 */
import { expect } from 'chai';
import {
  BgpError, DEFAULT_CODEC_OPTIONS, decodeMessage, encodeMessage, IPV4_UNICAST, IPV6_UNICAST, MessageFramer, toHex,
  type CodecOptions, type UpdateMessage,
} from '../../../bgp/codec/index.js';
import { FUZZ_CRASHERS } from './fuzz-crashers.js';
import { bytes } from './hex.js';
import { MALFORMED_VECTORS } from './malformed-vectors.js';
import { VALID_VECTORS } from './valid-vectors.js';

/** mulberry32: small, fast, good enough to drive mutations. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const OPTION_SETS: CodecOptions[] = [
  DEFAULT_CODEC_OPTIONS,
  { ...DEFAULT_CODEC_OPTIONS, fourOctetAs: false, external: true },
  { ...DEFAULT_CODEC_OPTIONS, addPath: new Set([IPV4_UNICAST, IPV6_UNICAST]) },
  { ...DEFAULT_CODEC_OPTIONS, extendedMessage: true },
];

/** Fixes up the header length so mutations reach the body decoders. */
function withLength(b: Uint8Array): Uint8Array {
  if (b.length >= 19) {
    b[16] = (b.length >>> 8) & 0xff;
    b[17] = b.length & 0xff;
  }
  return b;
}

function mutate(seed: Uint8Array, rnd: () => number): Uint8Array {
  let b = seed.slice();
  const edits = 1 + Math.floor(rnd() * 4);
  for (let e = 0; e < edits; e++) {
    const r = rnd();
    const at = 19 + Math.floor(rnd() * Math.max(1, b.length - 19));
    if (r < 0.35 && b.length > 19) {
      b[at] ^= 1 << Math.floor(rnd() * 8); // bit flip
    } else if (r < 0.6 && b.length > 19) {
      b[at] = [0, 1, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x40][Math.floor(rnd() * 8)]; // interesting byte
    } else if (r < 0.75) {
      b = b.slice(0, Math.max(19, at)); // truncate
    } else if (r < 0.9) {
      const ins = Uint8Array.from({ length: 1 + Math.floor(rnd() * 8) }, () => Math.floor(rnd() * 256));
      const n = new Uint8Array(b.length + ins.length);
      n.set(b.subarray(0, at));
      n.set(ins, at);
      n.set(b.subarray(at), at + ins.length);
      b = n; // insert
    } else {
      const from = 19 + Math.floor(rnd() * Math.max(1, b.length - 19));
      b = b.slice(); // duplicate a run inside
      b.copyWithin(at, from, Math.min(b.length, from + 1 + Math.floor(rnd() * 16)));
    }
  }
  return withLength(b);
}

function randomMessage(rnd: () => number): Uint8Array {
  const len = 19 + Math.floor(rnd() * 200);
  const b = new Uint8Array(len);
  b.fill(0xff, 0, 16);
  for (let i = 18; i < len; i++) b[i] = Math.floor(rnd() * 256);
  b[18] = 1 + Math.floor(rnd() * 5);
  return withLength(b);
}

/** One input: the only allowed failure is a BgpError; success must re-encode to a fixed point. */
function exercise(input: Uint8Array, opts: CodecOptions): 'ok' | 'error' {
  let m;
  try {
    m = decodeMessage(input, opts);
  } catch (err) {
    if (err instanceof BgpError) return 'error';
    throw new Error(`decode crashed: ${String(err)} on ${toHex(input)}`, { cause: err });
  }
  let once: Uint8Array;
  try {
    once = encodeMessage(m, opts);
  } catch (err) {
    throw new Error(`re-encode failed: ${String(err)} on ${toHex(input)}`, { cause: err });
  }
  if ((m as UpdateMessage).errors) return 'ok';
  const again = decodeMessage(once, opts);
  const twice = encodeMessage(again, opts);
  if (toHex(twice) !== toHex(once)) throw new Error(`re-encode is not a fixed point for ${toHex(input)}`);
  return 'ok';
}

describe('codec: fuzzing (seeded, bounded)', function () {
  this.timeout(120000);
  const seeds = [...VALID_VECTORS.map((v) => bytes(v.hex)), ...MALFORMED_VECTORS.map((v) => bytes(v.hex))];
  const ROUNDS = Number(process.env.TORTIE_FUZZ_ROUNDS ?? 300000);

  it('kept crashers only produce typed errors', () => {
    for (const c of FUZZ_CRASHERS) {
      for (const opts of OPTION_SETS) expect(['ok', 'error']).to.include(exercise(bytes(c.hex), opts));
    }
  });

  it(`${ROUNDS} mutated and random messages only produce typed errors`, () => {
    const seed = 0x7072617a;
    const rnd = prng(seed);
    const counts = { ok: 0, error: 0 };
    for (let i = 0; i < ROUNDS; i++) {
      const opts = OPTION_SETS[i % OPTION_SETS.length];
      const input = i % 5 === 4 ? randomMessage(rnd) : mutate(seeds[Math.floor(rnd() * seeds.length)], rnd);
      counts[exercise(input, opts)]++;
    }
    // Both paths must have been exercised, or the fuzzer is not reaching the decoders.
    expect(counts.ok).to.be.greaterThan(ROUNDS / 20);
    expect(counts.error).to.be.greaterThan(ROUNDS / 20);
  });

  it('the framer only produces typed errors on arbitrary streams', () => {
    const rnd = prng(42);
    for (let i = 0; i < 2000; i++) {
      const framer = new MessageFramer();
      try {
        for (let k = 0; k < 20; k++) {
          const seedMsg = seeds[Math.floor(rnd() * seeds.length)];
          const chunk = rnd() < 0.2 ? mutate(seedMsg, rnd) : seedMsg;
          const cut = Math.floor(rnd() * chunk.length);
          framer.push(chunk.subarray(0, cut));
          framer.push(chunk.subarray(cut));
        }
      } catch (err) {
        if (!(err instanceof BgpError)) throw err;
      }
    }
  });
});
