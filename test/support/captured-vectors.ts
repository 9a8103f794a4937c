/**
 * Loading captured vector files and round-tripping their messages through
 * tortie's codec. Shared by the unit test (committed files) and the
 * integration test (a live capture).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BgpMessage,
  type CodecOptions,
  BgpError,
  decodeMessage,
  encodeMessage,
  familyKey,
  toHex,
} from '../../bgp/codec/index.js';
import { type VectorFile, type VectorMessage, hexToBytes, optionsForDirection } from './bgp-capture.js';

/** test/vectors/captured, resolved from this file. */
export const CAPTURED_DIR = fileURLToPath(new URL('../vectors/captured/', import.meta.url));

export function loadCapturedFiles(dir: string = CAPTURED_DIR): { name: string; file: VectorFile }[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((name) => ({ name, file: JSON.parse(readFileSync(join(dir, name), 'utf8')) as VectorFile }));
}

/** CodecOptions for the messages `file` holds in direction `dir`. */
export function codecOptionsFor(file: VectorFile, dir: string): CodecOptions {
  const o = optionsForDirection(file, dir);
  return {
    fourOctetAs: o.fourOctetAs,
    extendedMessage: o.extendedMessage,
    addPath: new Set(o.addPath.map((f) => familyKey(f.afi, f.safi))),
    external: o.external,
  };
}

export interface RoundTripResult {
  decoded?: BgpMessage;
  /** Empty when the message decoded cleanly and re-encoded to the same bytes. */
  problems: string[];
}

/** decode → (no errors) → encode → same hex. */
export function roundTrip(file: VectorFile, msg: VectorMessage): RoundTripResult {
  const opts = codecOptionsFor(file, msg.dir);
  const bytes = hexToBytes(msg.hex);
  let decoded: BgpMessage;
  try {
    decoded = decodeMessage(bytes, opts);
  } catch (err) {
    const what = err instanceof BgpError ? `BgpError ${err.notifCode}/${err.notifSubcode}: ${err.message}` : String(err);
    return { problems: [`decode threw ${what}`] };
  }
  const problems: string[] = [];
  if (decoded.type !== bytes[18]) problems.push(`decoded type ${decoded.type}, header says ${bytes[18]}`);
  if ('errors' in decoded && decoded.errors) {
    problems.push(`update.errors: ${decoded.errors.problems.map((p) => `${p.code}/${p.subcode} ${p.reason}`).join('; ')}`);
  }
  let reencoded: string;
  try {
    reencoded = toHex(encodeMessage(decoded, opts));
  } catch (err) {
    problems.push(`encode threw ${String(err)}`);
    return { decoded, problems };
  }
  if (reencoded !== msg.hex) problems.push(`re-encoded differs:\n  captured  ${msg.hex}\n  reencoded ${reencoded}${firstDiff(msg.hex, reencoded)}`);
  return { decoded, problems };
}

function firstDiff(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `\n  first difference at octet ${Math.floor(i / 2)} (captured ${a.length / 2} octets, re-encoded ${b.length / 2})`;
}
