/**
 * AS_PATH arithmetic on decoded segments (4-octet ASNs): length as the
 * decision process counts it, the neighbouring AS, loop checks, prepending,
 * and the RFC 6793 §4.2.3 reconstruction from AS_PATH plus AS4_PATH.
 *
 * Segments are treated as immutable values: every function here returns
 * new arrays and never changes its arguments.
 */
import { AsPathSegmentType } from '../codec/constants.js';
import type { AsPathSegment } from '../codec/types.js';

export type AsPath = readonly AsPathSegment[];

function isConfed(type: AsPathSegmentType): boolean {
  return type === AsPathSegmentType.AsConfedSequence || type === AsPathSegmentType.AsConfedSet;
}

/**
 * The path length used by RFC 4271 §9.1.2.2 a) and by RFC 6793 §4.2.3:
 * an AS_SEQUENCE counts its members, an AS_SET counts 1 whatever its size,
 * and confederation segments count 0 (RFC 5065 §5.3).
 */
export function asPathLength(path: AsPath): number {
  let n = 0;
  for (const seg of path) {
    if (seg.type === AsPathSegmentType.AsSequence) n += seg.asns.length;
    else if (seg.type === AsPathSegmentType.AsSet) n += seg.asns.length > 0 ? 1 : 0;
  }
  return n;
}

/**
 * The neighbouring AS of RFC 4271 §9.1.2.2 c): the leftmost AS of the path,
 * when the path starts with an AS_SEQUENCE. Undefined for an empty path
 * (a route from inside our own AS) and for a path that starts with an AS_SET
 * or a confederation segment.
 */
export function neighborAsOf(path: AsPath): number | undefined {
  const first = path[0];
  if (first === undefined || first.type !== AsPathSegmentType.AsSequence || first.asns.length === 0) return undefined;
  return first.asns[0];
}

/** True when `asn` appears anywhere in the path, in any segment type. */
export function asPathContains(path: AsPath, asn: number): boolean {
  for (const seg of path) {
    const asns = seg.asns;
    for (let i = 0; i < asns.length; i++) if (asns[i] === asn) return true;
  }
  return false;
}

/**
 * `asn` prepended `count` times. It joins a leading AS_SEQUENCE; otherwise
 * a new AS_SEQUENCE is put in front. Segments longer than 255 are fine
 * here: the codec splits them on the wire.
 */
export function prependAs(path: AsPath, asn: number, count = 1): AsPathSegment[] {
  if (count <= 0) return path.slice();
  const head = new Array<number>(count).fill(asn);
  const first = path[0];
  if (first !== undefined && first.type === AsPathSegmentType.AsSequence) {
    return [{ type: AsPathSegmentType.AsSequence, asns: head.concat(first.asns) }, ...path.slice(1)];
  }
  return [{ type: AsPathSegmentType.AsSequence, asns: head }, ...path];
}

/** Text as BIRD and FRR show it: "65001 65002 {65003,65004} (65010)". */
export function formatAsPath(path: AsPath): string {
  const parts: string[] = [];
  for (const seg of path) {
    switch (seg.type) {
      case AsPathSegmentType.AsSequence: parts.push(seg.asns.join(' ')); break;
      case AsPathSegmentType.AsSet: parts.push('{' + seg.asns.join(',') + '}'); break;
      case AsPathSegmentType.AsConfedSequence: parts.push('(' + seg.asns.join(' ') + ')'); break;
      case AsPathSegmentType.AsConfedSet: parts.push('[' + seg.asns.join(',') + ']'); break;
    }
  }
  return parts.join(' ');
}

/**
 * RFC 6793 §4.2.3: the AS path of a route received from an OLD (2-octet)
 * speaker, rebuilt from its AS_PATH (with AS_TRANS placeholders) and its
 * AS4_PATH.
 *
 * - If AS_PATH holds fewer AS numbers than AS4_PATH, AS4_PATH is ignored.
 * - Otherwise as many AS numbers as needed are taken from the front of
 *   AS_PATH and put in front of AS4_PATH, so that the result has as many
 *   AS numbers as AS_PATH. Counting follows RFC 4271 (see asPathLength).
 * - A confederation segment is carried over when it leads the path or sits
 *   next to a segment that is carried over.
 *
 * Confederation segments inside AS4_PATH are not allowed (RFC 6793 §6); any
 * that reach here are dropped. The AGGREGATOR / AS4_AGGREGATOR rule that
 * decides whether AS4_PATH is looked at at all is applied by the caller
 * (pathAttrsFromUpdate).
 */
export function mergeAs4Path(asPath: AsPath, as4Path: AsPath): AsPathSegment[] {
  const as4 = as4Path.filter((s) => !isConfed(s.type) && s.asns.length > 0);
  const n2 = asPathLength(asPath);
  const n4 = asPathLength(as4);
  if (n2 < n4) return asPath.map(copySegment);

  let keep = n2 - n4;
  const out: AsPathSegment[] = [];
  let prevTaken = false;
  for (let i = 0; i < asPath.length; i++) {
    const seg = asPath[i];
    if (isConfed(seg.type)) {
      // Leading, next to a taken segment, or followed by one we will take.
      if (i === 0 || prevTaken || keep > 0) {
        out.push(copySegment(seg));
        prevTaken = true;
        continue;
      }
      break;
    }
    if (keep === 0) break;
    if (seg.type === AsPathSegmentType.AsSet) {
      out.push(copySegment(seg));
      keep -= 1;
    } else {
      const take = Math.min(keep, seg.asns.length);
      out.push({ type: seg.type, asns: seg.asns.slice(0, take) });
      keep -= take;
    }
    prevTaken = true;
  }

  for (const seg of as4) {
    const last = out[out.length - 1];
    if (last !== undefined && last.type === AsPathSegmentType.AsSequence && seg.type === AsPathSegmentType.AsSequence) {
      out[out.length - 1] = { type: AsPathSegmentType.AsSequence, asns: last.asns.concat(seg.asns) };
    } else {
      out.push(copySegment(seg));
    }
  }
  return out;
}

function copySegment(seg: AsPathSegment): AsPathSegment {
  return { type: seg.type, asns: seg.asns.slice() };
}

/** True when every ASN fits in 2 octets. */
export function isTwoOctetPath(path: AsPath): boolean {
  for (const seg of path) for (const asn of seg.asns) if (asn > 0xffff) return false;
  return true;
}
