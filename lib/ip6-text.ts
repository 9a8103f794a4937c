/**
 * IPv6 text and its eight 16-bit groups, both ways: the one parser and the
 * one RFC 5952 formatter behind ipam/core/ip.ts, cni/spec/ip.ts and
 * policy/compile/cidr.ts, which keep their own value types (bigint, bytes)
 * and IPv4 rules. Pure: no Node APIs (tsconfig.pure.json).
 */

/**
 * The groups of an IPv6 address written as text (with "::" and an embedded
 * IPv4 tail such as ::ffff:192.0.2.1, parsed by `parseV4Tail` into a 32-bit
 * number); undefined when it is not one. No zone, no prefix length.
 */
export function parseIpv6Groups(text: string, parseV4Tail: (s: string) => number | undefined): number[] | undefined {
  if (text.length < 2 || text.length > 45 || text.includes('%')) return undefined;
  let body = text;
  let tail: number | undefined;
  const lastColon = body.lastIndexOf(':');
  if (lastColon >= 0 && body.slice(lastColon + 1).includes('.')) {
    tail = parseV4Tail(body.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    body = `${body.slice(0, lastColon + 1)}0:0`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const toGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = toGroups(halves[0]);
  const rest = halves.length === 2 ? toGroups(halves[1]) : [];
  if (head === undefined || rest === undefined) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - rest.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<number>(missing).fill(0), ...rest];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  if (tail !== undefined) {
    groups[6] = tail >>> 16;
    groups[7] = tail & 0xffff;
  }
  return groups;
}

/** RFC 5952 text of eight groups: lower case, the longest run of two or more zero groups as "::" (the first of equals). */
export function formatIpv6Groups(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: readonly number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}
