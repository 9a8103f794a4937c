/**
 * A peer's outgoing UPDATE queue. Changes are recorded per prefix (the last
 * one wins, so rapid flaps coalesce) and turned into packed UPDATEs only as
 * fast as the socket drains: a slow peer holds one entry per changed prefix,
 * never a growing pile of encoded messages.
 */
import {
  encodeEndOfRib, familyName, IPV4_UNICAST, IPV6_UNICAST, packUpdates, packWithdrawals,
  type CodecOptions, type FamilyKey, type Nlri,
} from '../codec/index.js';
import { toWireAttributes, type PathAttrs } from '../rib/index.js';

/** What one flush may encode before yielding to the event loop. */
const FLUSH_BATCH_PREFIXES = 20000;

export interface OutputSink {
  /** Writes bytes; false means the send buffer is full (wait for drain). */
  write(bytes: Uint8Array): boolean;
}

export class PeerOutput {
  /** prefix -> attributes to advertise, or null to withdraw. */
  private readonly pending = new Map<string, PathAttrs | null>();
  private readonly eorQueued = new Set<FamilyKey>();
  advertised = 0;
  updatesSent = 0;

  constructor(private tx: CodecOptions, readonly families: readonly FamilyKey[]) {}

  get size(): number {
    return this.pending.size;
  }

  queue(prefix: string, attrs: PathAttrs | null): void {
    this.pending.set(prefix, attrs);
  }

  /** Sends End-of-RIB for `family` once everything queued before it is out. */
  queueEndOfRib(family: FamilyKey): void {
    this.eorQueued.add(family);
  }

  clear(): void {
    this.pending.clear();
    this.eorQueued.clear();
  }

  /**
   * Encodes and writes queued changes. Returns true when the queue is empty,
   * false when it stopped early (socket full, or batch limit reached).
   */
  flush(sink: OutputSink): boolean {
    if (this.pending.size > 0) {
      // Take up to a batch, grouped by family and attribute set.
      const groups = new Map<PathAttrs | null, { v4: Nlri[]; v6: Nlri[] }>();
      let n = 0;
      for (const [prefix, attrs] of this.pending) {
        this.pending.delete(prefix);
        let g = groups.get(attrs);
        if (!g) groups.set(attrs, (g = { v4: [], v6: [] }));
        (prefix.includes(':') ? g.v6 : g.v4).push({ prefix });
        if (++n >= FLUSH_BATCH_PREFIXES) break;
      }
      let open = true;
      for (const [attrs, g] of groups) {
        for (const [family, nlri] of [[IPV4_UNICAST, g.v4], [IPV6_UNICAST, g.v6]] as const) {
          if (nlri.length === 0) continue;
          let msgs: Uint8Array[];
          if (attrs === null) {
            msgs = packWithdrawals(family, nlri, this.tx);
          } else {
            const wire = toWireAttributes(attrs, { family, fourOctetAs: this.tx.fourOctetAs });
            msgs = packUpdates(family, wire, nlri, this.tx, [...attrs.nextHops]);
            this.advertised += nlri.length;
          }
          for (const m of msgs) {
            this.updatesSent++;
            if (!sink.write(m)) open = false;
          }
        }
      }
      if (!open || this.pending.size > 0) return false;
    }
    for (const f of this.eorQueued) {
      sink.write(encodeEndOfRib(f, this.tx));
    }
    this.eorQueued.clear();
    return true;
  }
}

export function familyOfPrefix(prefix: string): FamilyKey {
  return prefix.includes(':') ? IPV6_UNICAST : IPV4_UNICAST;
}

export { familyName };
