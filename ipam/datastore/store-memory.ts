/**
 * An in-memory Datastore for tests, with faults on demand. A fault hook is
 * asked before every call and may answer:
 *
 *   conflict     a write loses its compare-and-swap; for update/delete the
 *                key's revision really moves on (as if another writer had
 *                rewritten it), so the caller must read it again
 *   unavailable  the call fails and changes nothing
 *   lost-ack     the write takes effect, then the call fails as unavailable
 *                (a timeout after commit: the caller cannot know)
 *
 * Values are deep-copied through JSON in both directions, as a real store would.
 */
import { TortieError } from '../../lib/errors.js';
import { DatastoreErrorCode, isValidKey, type Datastore, type KeyRevision, type StoredValue } from '../core/datastore.js';

export type StoreOp = 'get' | 'list' | 'create' | 'update' | 'delete';
export type FaultKind = 'conflict' | 'unavailable' | 'lost-ack';
export type FaultHook = (op: StoreOp, key: string) => FaultKind | undefined;

interface Entry {
  json: string;
  revision: number;
}

export class MemoryDatastore implements Datastore {
  readonly kind = 'memory';
  readonly location = 'memory';
  private readonly data = new Map<string, Entry>();
  private rev = 0;
  /** Counts of calls and injected faults, for tests that want to see them happen. */
  readonly stats = { writes: 0, conflicts: 0, injected: 0 };

  constructor(private fault: FaultHook = () => undefined) {}

  setFaults(hook: FaultHook): void {
    this.fault = hook;
  }

  private check(op: StoreOp, key: string): FaultKind | undefined {
    if (!isValidKey(key) && op !== 'list') throw new TortieError(DatastoreErrorCode.BadKey, `bad datastore key ${JSON.stringify(key)}`);
    const f = this.fault(op, key);
    if (f !== undefined) this.stats.injected++;
    if (f === 'unavailable') throw new TortieError(DatastoreErrorCode.Unavailable, `injected: ${op} ${key} failed`);
    return f;
  }

  private out(key: string, e: Entry): StoredValue {
    return { key, value: JSON.parse(e.json) as unknown, revision: String(e.revision) };
  }

  private conflict(op: StoreOp, key: string, why: string): never {
    this.stats.conflicts++;
    throw new TortieError(DatastoreErrorCode.Conflict, `${op} ${key}: ${why}`);
  }

  private lostAck(f: FaultKind | undefined, op: StoreOp, key: string): void {
    if (f === 'lost-ack') throw new TortieError(DatastoreErrorCode.Unavailable, `injected: ${op} ${key} committed but not acknowledged`);
  }

  get(key: string): Promise<StoredValue | undefined> {
    this.check('get', key);
    const e = this.data.get(key);
    return Promise.resolve(e === undefined ? undefined : this.out(key, e));
  }

  list(prefix: string): Promise<StoredValue[]> {
    this.check('list', prefix);
    const keys = [...this.data.keys()].filter((k) => k.startsWith(prefix)).sort();
    return Promise.resolve(keys.map((k) => this.out(k, this.data.get(k)!)));
  }

  /** Faults as for list. */
  revisions(prefix: string): Promise<KeyRevision[]> {
    this.check('list', prefix);
    const keys = [...this.data.keys()].filter((k) => k.startsWith(prefix)).sort();
    return Promise.resolve(keys.map((k) => ({ key: k, revision: String(this.data.get(k)!.revision) })));
  }

  create(key: string, value: unknown): Promise<StoredValue> {
    return new Promise((resolve) => {
      const f = this.check('create', key);
      if (f === 'conflict') this.conflict('create', key, 'injected conflict');
      if (this.data.has(key)) this.conflict('create', key, 'already exists');
      const e = { json: JSON.stringify(value), revision: ++this.rev };
      this.data.set(key, e);
      this.stats.writes++;
      this.lostAck(f, 'create', key);
      resolve(this.out(key, e));
    });
  }

  update(key: string, value: unknown, revision: string): Promise<StoredValue> {
    return new Promise((resolve) => {
      const f = this.check('update', key);
      const cur = this.data.get(key);
      if (f === 'conflict' && cur !== undefined) cur.revision = ++this.rev;
      if (cur === undefined) this.conflict('update', key, 'does not exist');
      if (String(cur.revision) !== revision) this.conflict('update', key, `revision is ${cur.revision}, not ${revision}`);
      const e = { json: JSON.stringify(value), revision: ++this.rev };
      this.data.set(key, e);
      this.stats.writes++;
      this.lostAck(f, 'update', key);
      resolve(this.out(key, e));
    });
  }

  delete(key: string, revision: string): Promise<void> {
    return new Promise((resolve) => {
      const f = this.check('delete', key);
      const cur = this.data.get(key);
      if (f === 'conflict' && cur !== undefined) cur.revision = ++this.rev;
      if (cur === undefined) this.conflict('delete', key, 'does not exist');
      if (String(cur.revision) !== revision) this.conflict('delete', key, `revision is ${cur.revision}, not ${revision}`);
      this.data.delete(key);
      this.stats.writes++;
      this.lostAck(f, 'delete', key);
      resolve();
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** The current revision and value of a key, synchronously, for invariant checks (no faults). */
  peek(key: string): { revision: string; value: unknown } | undefined {
    const e = this.data.get(key);
    return e === undefined ? undefined : { revision: String(e.revision), value: JSON.parse(e.json) as unknown };
  }

  /** Every key and value, for invariant checks (no faults). */
  dump(prefix = ''): { key: string; value: unknown }[] {
    return [...this.data].filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, e]) => ({ key, value: JSON.parse(e.json) as unknown }));
  }
}
