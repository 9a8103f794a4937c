/**
 * "Did you mean" for misspelt field names and enum values. Pure.
 *
 * A candidate is suggested when it equals the input after folding case and
 * dropping `_`/`-` (hold_time_sec -> holdTimeSec), when one is a prefix of
 * the other (holdTime -> holdTimeSec), or when the edit distance is small
 * for the length (asm -> asn, keepalive -> keepaliveSec is a prefix case).
 */

function fold(s: string): string {
  return s.toLowerCase().replace(/[-_\s]/g, '');
}

/** Levenshtein distance with an early exit above `limit`. */
export function editDistance(a: string, b: string, limit = Infinity): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > limit) return limit + 1;
    prev = cur;
  }
  return prev[b.length];
}

/** The closest candidate to `input`, or undefined when none is close. */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  const f = fold(input);
  if (f.length === 0) return undefined;
  const exact = candidates.find((c) => fold(c) === f);
  if (exact !== undefined) return exact;
  // One a prefix of the other: only when the shorter part is substantial.
  const prefixed = candidates.filter((c) => {
    const g = fold(c);
    return Math.min(f.length, g.length) >= 4 && (g.startsWith(f) || f.startsWith(g));
  });
  if (prefixed.length === 1) return prefixed[0];
  const limit = f.length <= 3 ? 1 : f.length <= 6 ? 2 : 3;
  let best: string | undefined;
  let bestDist = limit + 1;
  for (const c of candidates) {
    const d = editDistance(f, fold(c), limit);
    if (d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  return best;
}

/** " (did you mean X?)" or "". */
export function didYouMean(input: string, candidates: readonly string[]): string {
  const s = suggest(input, candidates);
  return s === undefined ? '' : ` (did you mean ${s}?)`;
}
