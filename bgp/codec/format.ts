/** Human text for community values, as operators write them. */
import type { LargeCommunity } from './types.js';

/** "65000:100" for a uint32 community. */
export function formatCommunity(c: number): string {
  return `${(c >>> 16) & 0xffff}:${c & 0xffff}`;
}

/** Parses "65000:100" (or the well-known names) into a uint32, or returns undefined. */
export function parseCommunity(s: string): number | undefined {
  const named: Record<string, number> = {
    'no-export': 0xffffff01,
    'no-advertise': 0xffffff02,
    'no-export-subconfed': 0xffffff03,
    'no-peer': 0xffffff04,
    'blackhole': 0xffff029a,
    'graceful-shutdown': 0xffff0000,
  };
  if (Object.hasOwn(named, s)) return named[s];
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const hi = Number(m[1]);
  const lo = Number(m[2]);
  if (hi > 0xffff || lo > 0xffff) return undefined;
  return ((hi << 16) | lo) >>> 0;
}

export function formatLargeCommunity(c: LargeCommunity): string {
  return `${c.global}:${c.local1}:${c.local2}`;
}
