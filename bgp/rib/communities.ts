/**
 * Community values and their text forms: RFC 1997 ("65000:100", well-known
 * names) and RFC 8092 large communities ("65000:1:2").
 */
import type { LargeCommunity } from '../codec/types.js';

export { parseCommunity, formatCommunity, formatLargeCommunity } from '../codec/format.js';

/** RFC 1997 / IANA "BGP Well-known Communities". */
export enum WellKnownCommunity {
  GracefulShutdown = 0xffff0000,
  NoExport = 0xffffff01,
  NoAdvertise = 0xffffff02,
  NoExportSubconfed = 0xffffff03,
  NoPeer = 0xffffff04,
}

function u(text: string, max: number): number | undefined {
  if (!/^[0-9]{1,10}$/.test(text)) return undefined;
  const v = Number(text);
  return v <= max ? v : undefined;
}

/** "global:local1:local2" to a large community; undefined when invalid. */
export function parseLargeCommunity(text: string): LargeCommunity | undefined {
  const parts = text.split(':');
  if (parts.length !== 3) return undefined;
  const [g, l1, l2] = parts.map((p) => u(p, 0xffffffff));
  if (g === undefined || l1 === undefined || l2 === undefined) return undefined;
  return { global: g, local1: l1, local2: l2 };
}

export function sameLargeCommunity(a: LargeCommunity, b: LargeCommunity): boolean {
  return a.global === b.global && a.local1 === b.local1 && a.local2 === b.local2;
}
