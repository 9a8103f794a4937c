/**
 * A map from canonical prefix text to a value, built for full tables.
 *
 * IPv4 prefixes, which is where the millions are, live in an
 * open-addressing hash table keyed by the numbers (address, length): one
 * Int32Array holding both, one array for the values, linear probing,
 * backward-shift deletion. Anything else (IPv6, or text that is not
 * canonical IPv4) lives in an ordinary Map<string, V>.
 *
 * Why not Map<string, V> for everything: measured here (rib.bench.ts), at a
 * million prefixes a string-keyed Map costs 0.7–0.9 µs per insert: V8's
 * table has about two entries per bucket and every probe loads a string
 * object from elsewhere in the heap. It also keeps every decoded prefix
 * string alive (32 bytes each) and makes the GC promote them all. The
 * numeric table costs less than half of that, keeps no strings (they die
 * young), and holds 1M prefixes in about 32 MB (16 bytes a slot, at most
 * half full).
 *
 * Iteration rebuilds the text of IPv4 keys (canonical, as the codec gives
 * it). Its order is unspecified. The table must not be changed while an
 * iteration is running: the iterator throws ERR_RIB_TABLE_CHANGED if it is.
 */
import { TortieError } from '../../lib/errors.js';
import { ipv4PrefixText } from '../codec/addr.js';
import { parseIpv4PrefixInto } from './address.js';

const MIN_CAPACITY = 64;
const EMPTY = -1;

/** Scratch for parsing; the table never yields between parse and use. */
const scratch = new Uint32Array(1);

function hash(addr: number, len: number): number {
  // murmur3 fmix32 of the address mixed with the length.
  let h = (addr ^ Math.imul(len + 1, 0x9e3779b9)) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

export class PrefixTable<V> {
  /** Two int32 per slot: address, then length (EMPTY marks a free slot). */
  private slotKeys = emptyKeys(MIN_CAPACITY);
  private vals: (V | undefined)[] = new Array<V | undefined>(MIN_CAPACITY).fill(undefined);
  private mask = MIN_CAPACITY - 1;
  private count4 = 0;
  private readonly other = new Map<string, V>();
  /** Bumped by every structural change, to catch changes during iteration. */
  private version = 0;
  /**
   * The last IPv4 lookup, so that set() or delete() right after get() on
   * the same string (the Loc-RIB's read-modify-write) neither parses nor
   * probes again. Valid while `version` is unchanged.
   */
  private lastText: string | undefined;
  private lastVersion = -1;
  private lastAddr = 0;
  private lastLen = 0;
  /** Slot index where the key is, or -1 - (free slot where it would go). */
  private lastSlot = 0;

  get size(): number {
    return this.count4 + this.other.size;
  }

  get(prefix: string): V | undefined {
    const slot = this.locate(prefix);
    if (slot === OTHER) return this.other.get(prefix);
    return slot >= 0 ? this.vals[slot] : undefined;
  }

  has(prefix: string): boolean {
    const slot = this.locate(prefix);
    if (slot === OTHER) return this.other.has(prefix);
    return slot >= 0;
  }

  set(prefix: string, value: V): void {
    const slot = this.locate(prefix);
    if (slot === OTHER) {
      if (!this.other.has(prefix)) this.version++;
      this.other.set(prefix, value);
      return;
    }
    if (slot >= 0) {
      this.vals[slot] = value;
      return;
    }
    const i = -1 - slot;
    this.slotKeys[2 * i] = this.lastAddr;
    this.slotKeys[2 * i + 1] = this.lastLen;
    this.vals[i] = value;
    this.count4++;
    this.version++;
    if (this.count4 * 2 > this.vals.length) this.resize(this.vals.length * 2);
  }

  delete(prefix: string): boolean {
    const slot = this.locate(prefix);
    if (slot === OTHER) {
      const had = this.other.delete(prefix);
      if (had) this.version++;
      return had;
    }
    if (slot < 0) return false;
    // Backward-shift deletion: move later members of the probe run into
    // the hole when their home slot allows it, so no tombstones are needed.
    const keys = this.slotKeys;
    const vals = this.vals;
    const mask = this.mask;
    let hole = slot;
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const l = keys[2 * j + 1];
      if (l === EMPTY) break;
      const home = hash(keys[2 * j], l) & mask;
      // Leave j where it is when its home lies cyclically in (hole, j].
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (inRange) continue;
      keys[2 * hole] = keys[2 * j];
      keys[2 * hole + 1] = l;
      vals[hole] = vals[j];
      hole = j;
    }
    keys[2 * hole + 1] = EMPTY;
    vals[hole] = undefined;
    this.count4--;
    this.version++;
    if (this.vals.length > MIN_CAPACITY && this.count4 * 8 < this.vals.length) this.resize(this.vals.length / 2);
    return true;
  }

  clear(): void {
    this.slotKeys = emptyKeys(MIN_CAPACITY);
    this.vals = new Array<V | undefined>(MIN_CAPACITY).fill(undefined);
    this.mask = MIN_CAPACITY - 1;
    this.count4 = 0;
    this.other.clear();
    this.version++;
  }

  *entries(): IterableIterator<[string, V]> {
    const version = this.version;
    const { slotKeys: keys, vals } = this;
    for (let i = 0; i < vals.length; i++) {
      const l = keys[2 * i + 1];
      if (l === EMPTY) continue;
      yield [ipv4PrefixText(keys[2 * i] >>> 0, l), vals[i] as V];
      if (this.version !== version) throw changed();
    }
    for (const entry of this.other) {
      yield entry;
      if (this.version !== version) throw changed();
    }
  }

  *keys(): IterableIterator<string> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): IterableIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }

  /** OTHER for non-IPv4 text; else the slot (>= 0) or -1 - the free slot for it. */
  private locate(prefix: string): number {
    if (prefix === this.lastText && this.version === this.lastVersion) return this.lastSlot;
    const len = parseIpv4PrefixInto(prefix, scratch);
    if (len < 0) return OTHER;
    const addr = scratch[0] | 0;
    const keys = this.slotKeys;
    const mask = this.mask;
    let i = hash(addr, len) & mask;
    let slot: number;
    for (;;) {
      const l = keys[2 * i + 1];
      if (l === EMPTY) {
        slot = -1 - i;
        break;
      }
      if (l === len && keys[2 * i] === addr) {
        slot = i;
        break;
      }
      i = (i + 1) & mask;
    }
    this.lastText = prefix;
    this.lastVersion = this.version;
    this.lastAddr = addr;
    this.lastLen = len;
    this.lastSlot = slot;
    return slot;
  }

  private resize(capacity: number): void {
    const oldKeys = this.slotKeys;
    const oldVals = this.vals;
    const keys = emptyKeys(capacity);
    const vals = new Array<V | undefined>(capacity).fill(undefined);
    const mask = capacity - 1;
    for (let j = 0; j < oldVals.length; j++) {
      const l = oldKeys[2 * j + 1];
      if (l === EMPTY) continue;
      const a = oldKeys[2 * j];
      let i = hash(a, l) & mask;
      while (keys[2 * i + 1] !== EMPTY) i = (i + 1) & mask;
      keys[2 * i] = a;
      keys[2 * i + 1] = l;
      vals[i] = oldVals[j];
    }
    this.slotKeys = keys;
    this.vals = vals;
    this.mask = mask;
    this.version++;
  }
}

/** Marker returned by locate() for keys kept in the Map. */
const OTHER = -0x7fffffff;

function emptyKeys(capacity: number): Int32Array {
  const k = new Int32Array(2 * capacity);
  for (let i = 1; i < k.length; i += 2) k[i] = EMPTY;
  return k;
}

function changed(): TortieError {
  return new TortieError('ERR_RIB_TABLE_CHANGED', 'prefix table changed during iteration');
}
