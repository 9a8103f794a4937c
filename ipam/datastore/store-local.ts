/**
 * The `local` datastore: files under a directory, safe for several
 * processes (agents) at once, with no lock to go stale.
 *
 * Layout: each key is a directory, and each revision of the key is a file
 * in it, written once and never changed:
 *
 *   <dir>/blocks/10-244-0-64-26/r17.json   {"deleted":false,"value":{...}}
 *   <dir>/blocks/10-244-0-64-26/r18.json   {"deleted":true}            (a tombstone)
 *
 * The key's current revision is the highest-numbered file. A write of
 * revision n+1 (for a caller that read revision n) is:
 *
 *   1. write the content to a private temporary file in the key's
 *      directory, fsync it, close it;
 *   2. link(2) it to "r<n+1>.json". link fails with EEXIST if that name
 *      exists, atomically, across processes: whoever links first wins the
 *      compare-and-swap and everyone else gets ERR_DATASTORE_CONFLICT;
 *   3. remove the temporary name and list the directory. A revision above
 *      n+1 means either that another writer already built on ours, or that
 *      ours was stale: old revision files are removed (step 5), so a writer
 *      holding an old revision can re-create a name that had gone. The two
 *      cannot be told apart, so the write is reported as
 *      ERR_DATASTORE_UNAVAILABLE (outcome unknown), which the contract tells
 *      callers to resolve by reading again. Readers never see a stale
 *      revision: it is never the highest, and the next writer removes it;
 *   4. fsync the directory, so the new name survives a crash;
 *   5. remove revisions below n+1 (best effort; readers that lose the race
 *      just list again).
 *
 * `create` reads the key first (a deleted key's tombstone sets the next
 * revision number); `update` and `delete` first list the key's revisions
 * and refuse at once when the caller's revision is gone or no longer the
 * highest (a plain conflict, whether or not step 5 already ran).
 *
 * A process killed at any point leaves either the old revision current or
 * the new one complete (the content was on disk before the name existed),
 * plus at most a temporary file that `sweep()` removes later. There is no
 * lock, so nothing can be left locked. The revision numbers are the
 * "resourceVersion" of this store.
 *
 * Cost. The metadata calls (open, write, link, unlink, readdir, and
 * reading a small revision file) are synchronous: on a page-cached directory
 * each takes microseconds, less than handing it to libuv's thread pool and
 * back, which on the 2-core VM of docs/benchmarks.md cost 0.1-0.2 ms of
 * main-thread CPU per call (waking a pool thread, being woken). Measured
 * there on tmpfs: a write with every call asynchronous took 0.6 ms of wall
 * time and 0.55 ms of CPU, with only the flushes asynchronous 0.15 ms and
 * 0.13 ms. The two flushes (fdatasync of the new file, fsync of the
 * directory) can take milliseconds on a disk, so they go to the thread pool
 * and the event loop keeps serving requests meanwhile (which is what lets
 * the allocator batch them). `list` yields to the event loop every
 * LIST_YIELD_EVERY keys.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync, fdatasync, fsync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeFileSync,
} from 'node:fs';
import { readdir, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { TortieError } from '../../lib/errors.js';
import { DatastoreErrorCode, isValidKey, type Datastore, type KeyRevision, type StoredValue } from '../core/datastore.js';

const REV_RE = /^r([0-9]{1,15})\.json$/;
const TMP_PREFIX = '.tmp-';
/** Reads retried when a revision file vanishes between listing and reading it. */
const READ_ATTEMPTS = 8;
/** `list` lets the event loop run after this many keys, so a large store does not stall the agent. */
const LIST_YIELD_EVERY = 64;

interface RevisionFile {
  deleted: boolean;
  value?: unknown;
}

type Current = { rev: number; live: true; value: unknown } | { rev: number; live: false };

let tmpCounter = 0;
const tmpTag = randomBytes(4).toString('hex');

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function unavailable(what: string, err: unknown): TortieError {
  return new TortieError(DatastoreErrorCode.Unavailable, `local datastore: ${what}: ${(err as Error).message}`, { cause: err });
}

export class LocalDatastore implements Datastore {
  readonly kind = 'local';
  /** Key directories known to exist (they are never removed), with the flush that makes their names durable. */
  private readonly knownDirs = new Map<string, Promise<void>>();
  /** Directories we created whose names' flush failed, with the first one created: flushed again on the next write. */
  private readonly unflushedDirs = new Map<string, string>();

  constructor(readonly location: string) {}

  /** Creates the directory (and parents) if needed. */
  open(): Promise<this> {
    return new Promise((resolve) => {
      try {
        mkdirSync(this.location, { recursive: true, mode: 0o700 });
      } catch (err) {
        throw unavailable(`cannot create ${this.location}`, err);
      }
      resolve(this);
    });
  }

  /**
   * fdatasync (`data`) or fsync (`all`), on the thread pool: it may wait for
   * a disk. Also on tmpfs, where it returns at once: made inline there, the
   * writes no longer yielded at all, and batches of concurrent requests
   * shrank from about 6 operations to about 2 (more writes, more CPU per
   * operation; measured with bench:ipam).
   */
  private async flush(fd: number, what: 'data' | 'all'): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const done = (err: NodeJS.ErrnoException | null): void => (err === null ? resolve() : reject(err));
      if (what === 'data') fdatasync(fd, done);
      else fsync(fd, done);
    });
  }

  private async fsyncDir(dir: string): Promise<void> {
    let fd: number;
    try {
      fd = openSync(dir, 'r');
    } catch (err) {
      throw unavailable(`cannot open ${dir}`, err);
    }
    try {
      await this.flush(fd, 'all');
    } catch (err) {
      throw unavailable(`cannot fsync ${dir}`, err);
    } finally {
      closeSync(fd);
    }
  }

  private keyDir(key: string): string {
    if (!isValidKey(key)) throw new TortieError(DatastoreErrorCode.BadKey, `bad datastore key ${JSON.stringify(key)}`);
    return join(this.location, ...key.split('/'));
  }

  private revisionNumbers(dir: string): number[] {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (err) {
      if (errno(err) === 'ENOENT') return [];
      throw unavailable(`cannot list ${dir}`, err);
    }
    const revs: number[] = [];
    for (const n of names) {
      const m = REV_RE.exec(n);
      if (m !== null) revs.push(Number(m[1]));
    }
    return revs.sort((a, b) => a - b);
  }

  private current(key: string): Current {
    const dir = this.keyDir(key);
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const revs = this.revisionNumbers(dir);
      if (revs.length === 0) return { rev: 0, live: false };
      const rev = revs[revs.length - 1];
      let text: string;
      try {
        text = readFileSync(join(dir, `r${rev}.json`), 'utf8');
      } catch (err) {
        if (errno(err) === 'ENOENT') continue; // superseded and removed meanwhile: list again
        throw unavailable(`cannot read ${key} r${rev}`, err);
      }
      let f: RevisionFile;
      try {
        f = JSON.parse(text) as RevisionFile;
      } catch (err) {
        throw new TortieError(DatastoreErrorCode.Corrupt, `local datastore: ${join(dir, `r${rev}.json`)} is not JSON`, { cause: err });
      }
      return f.deleted ? { rev, live: false } : { rev, live: true, value: f.value };
    }
    throw new TortieError(DatastoreErrorCode.Unavailable, `local datastore: ${key} kept changing while being read`);
  }

  get(key: string): Promise<StoredValue | undefined> {
    return new Promise((resolve) => {
      const c = this.current(key);
      resolve(c.live ? { key, value: c.value, revision: String(c.rev) } : undefined);
    });
  }

  async list(prefix: string): Promise<StoredValue[]> {
    const keys = this.keysUnder(prefix);
    const out: StoredValue[] = [];
    for (const [i, key] of keys.entries()) {
      if (i > 0 && i % LIST_YIELD_EVERY === 0) await yieldToLoop();
      const c = this.current(key);
      if (c.live) out.push({ key, value: c.value, revision: String(c.rev) });
    }
    return out;
  }

  /**
   * Each key's highest revision number, from the directory entries alone
   * (no revision file is read, so a deleted key is listed too).
   */
  async revisions(prefix: string): Promise<KeyRevision[]> {
    const out: KeyRevision[] = [];
    for (const [i, key] of this.keysUnder(prefix).entries()) {
      if (i > 0 && i % (LIST_YIELD_EVERY * 4) === 0) await yieldToLoop();
      const revs = this.revisionNumbers(this.keyDir(key));
      if (revs.length > 0) out.push({ key, revision: String(revs[revs.length - 1]) });
    }
    return out;
  }

  /** The keys that start with `prefix`, sorted. */
  private keysUnder(prefix: string): string[] {
    const cut = prefix.lastIndexOf('/');
    const dirKey = cut < 0 ? '' : prefix.slice(0, cut);
    const namePrefix = prefix.slice(cut + 1);
    const dir = dirKey === '' ? this.location : this.keyDir(dirKey);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (err) {
      if (errno(err) === 'ENOENT') return [];
      throw unavailable(`cannot list ${dir}`, err);
    }
    return names.filter((n) => n.startsWith(namePrefix) && !n.startsWith('.')).sort().map((n) => (dirKey === '' ? n : `${dirKey}/${n}`));
  }

  async create(key: string, value: unknown): Promise<StoredValue> {
    const c = this.current(key);
    if (c.live) throw new TortieError(DatastoreErrorCode.Conflict, `create ${key}: already exists (revision ${c.rev})`);
    const rev = await this.write(key, c.rev + 1, { deleted: false, value });
    return { key, value, revision: String(rev) };
  }

  async update(key: string, value: unknown, revision: string): Promise<StoredValue> {
    const base = parseRevision(key, revision);
    this.requireCurrent(key, base);
    const rev = await this.write(key, base + 1, { deleted: false, value });
    return { key, value, revision: String(rev) };
  }

  async delete(key: string, revision: string): Promise<void> {
    const base = parseRevision(key, revision);
    this.requireCurrent(key, base);
    await this.write(key, base + 1, { deleted: true });
  }

  /**
   * The caller's revision must still be the highest: a superseded one is
   * refused at once, whether or not it was cleaned up yet (the rare race
   * past this check is caught in step 3).
   */
  private requireCurrent(key: string, rev: number): void {
    const revs = this.revisionNumbers(this.keyDir(key));
    const top = revs.length > 0 ? revs[revs.length - 1] : undefined;
    if (top !== rev) {
      throw new TortieError(DatastoreErrorCode.Conflict, `${key}: revision ${rev} is no longer current${top === undefined ? ' (the key is gone)' : ` (${top} is)`}`);
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Steps 1-5 of the header comment. Returns the revision written. */
  private async write(key: string, rev: number, content: RevisionFile): Promise<number> {
    const dir = this.keyDir(key);
    const dirDurable = this.ensureDir(dir);
    dirDurable.catch(() => undefined); // awaited below, after this write's own flushes
    const tmp = join(dir, `${TMP_PREFIX}${process.pid}-${tmpTag}-${tmpCounter++}`);
    const target = join(dir, `r${rev}.json`);
    try {
      const fd = openSync(tmp, 'wx', 0o600);
      try {
        writeFileSync(fd, JSON.stringify(content));
        await this.flush(fd, 'data');
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      removeQuietly(tmp);
      throw unavailable(`cannot write ${key}`, err);
    }
    try {
      linkSync(tmp, target);
    } catch (err) {
      removeQuietly(tmp);
      if (errno(err) === 'EEXIST') throw new TortieError(DatastoreErrorCode.Conflict, `${key}: revision ${rev - 1} is not current`);
      throw unavailable(`cannot link ${key} r${rev}`, err);
    }
    removeQuietly(tmp);
    const revs = this.revisionNumbers(dir);
    const top = revs.length > 0 ? revs[revs.length - 1] : 0;
    if (top > rev) {
      throw new TortieError(DatastoreErrorCode.Unavailable, `${key}: revision ${rev} is not the newest (${top} is); read again to learn whether it took effect`);
    }
    await this.fsyncDir(dir);
    await dirDurable;
    for (const old of revs) if (old < rev) removeQuietly(join(dir, `r${old}.json`));
    return rev;
  }

  /**
   * Creates the key's directory if needed, at once (the write's temporary
   * file goes in it), and returns the flush that makes the names of new
   * directories durable. The write awaits it after its own flushes, not
   * before them, so a claim (a new block) costs one flush round less: the
   * order does not matter, since a revision whose directory's name is not
   * durable is as absent after a crash as one never written. Later writes to
   * the same directory await the same flush.
   */
  private ensureDir(dir: string): Promise<void> {
    const known = this.knownDirs.get(dir);
    if (known !== undefined) return known;
    let created: string | undefined;
    try {
      created = mkdirSync(dir, { recursive: true, mode: 0o700 }) ?? this.unflushedDirs.get(dir);
    } catch (err) {
      throw unavailable(`cannot create ${dir}`, err);
    }
    const first = created;
    if (first === undefined) {
      const done = Promise.resolve();
      this.knownDirs.set(dir, done);
      return done;
    }
    const durable = this.flushNewDirs(dir, first);
    this.knownDirs.set(dir, durable);
    durable.then(() => this.unflushedDirs.delete(dir), () => {
      // Flush again on the next write to this directory.
      this.knownDirs.delete(dir);
      this.unflushedDirs.set(dir, first);
    });
    return durable;
  }

  /** fsyncs the parents of the directories created, from the first one created up to the store's directory. */
  private async flushNewDirs(dir: string, first: string): Promise<void> {
    for (let d = dirname(dir); d.length >= this.location.length; d = dirname(d)) {
      await this.fsyncDir(d);
      if (d === this.location || d === dirname(first)) break;
    }
  }

  /**
   * Removes temporary files older than `maxAgeMs` left by processes that
   * died mid-write. Returns how many it removed.
   */
  async sweep(nowMs: number, maxAgeMs = 60_000): Promise<number> {
    let removed = 0;
    const walk = async (dir: string, depth: number): Promise<void> => {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        return;
      }
      for (const n of names) {
        const p = join(dir, n);
        if (n.startsWith(TMP_PREFIX)) {
          const st = await stat(p).catch(() => undefined);
          if (st !== undefined && nowMs - st.mtimeMs > maxAgeMs && (await unlink(p).then(() => true, () => false))) removed++;
        } else if (depth < 2 && !REV_RE.test(n)) {
          await walk(p, depth + 1);
        }
      }
    };
    await walk(this.location, 0);
    return removed;
  }
}

function parseRevision(key: string, revision: string): number {
  if (!/^[0-9]{1,15}$/.test(revision)) throw new TortieError(DatastoreErrorCode.Conflict, `${key}: ${JSON.stringify(revision)} is not a revision of this store`);
  return Number(revision);
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone, or sweep() removes it later.
  }
}

/** Opens (creating if needed) the local datastore in `dir`. */
export async function openLocalDatastore(dir: string): Promise<LocalDatastore> {
  return new LocalDatastore(dir).open();
}
