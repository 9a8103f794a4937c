/**
 * What every attribute codec shares: the decode context, and how a codec
 * reports an RFC 7606 fault without throwing.
 */
import { AttrType, type ErrorAction } from './constants.js';
import type { CodecOptions, PathAttribute } from './types.js';
import type { Writer } from './writer.js';

/** A malformation found while decoding one attribute. */
export interface AttrFault {
  fault: true;
  subcode: number;
  action: ErrorAction;
  reason: string;
}

export function fault(subcode: number, action: ErrorAction, reason: string): AttrFault {
  return { fault: true, subcode, action, reason };
}

export interface AttrCodec {
  name: string;
  /** Expected Optional and Transitive bits (flags & 0xc0). */
  expectFlags: number;
  /** RFC 7606 §3.c action on an Optional/Transitive conflict. */
  flagsAction: ErrorAction;
  decode(b: Uint8Array, start: number, end: number, flags: number, opts: CodecOptions): PathAttribute | AttrFault;
  encode(w: Writer, attr: PathAttribute, opts: CodecOptions): void;
}

/** Optional and Transitive bits a freshly built attribute gets. */
export const DEFAULT_ATTR_FLAGS: Readonly<Partial<Record<AttrType, number>>> = {
  [AttrType.Origin]: 0x40,
  [AttrType.AsPath]: 0x40,
  [AttrType.NextHop]: 0x40,
  [AttrType.MultiExitDisc]: 0x80,
  [AttrType.LocalPref]: 0x40,
  [AttrType.AtomicAggregate]: 0x40,
  [AttrType.Aggregator]: 0xc0,
  [AttrType.Communities]: 0xc0,
  [AttrType.OriginatorId]: 0x80,
  [AttrType.ClusterList]: 0x80,
  [AttrType.MpReachNlri]: 0x80,
  [AttrType.MpUnreachNlri]: 0x80,
  [AttrType.ExtendedCommunities]: 0xc0,
  [AttrType.As4Path]: 0xc0,
  [AttrType.As4Aggregator]: 0xc0,
  [AttrType.LargeCommunity]: 0xc0,
};

export function defaultFlags(type: number): number {
  return DEFAULT_ATTR_FLAGS[type as AttrType] ?? 0xc0;
}
