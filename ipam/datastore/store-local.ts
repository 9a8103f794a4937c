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
 * revision number); `update` and `delete` first check that the caller's
 * revision file still exists (a superseded one is removed in step 5, so a
 * writer far behind gets a plain conflict).
 *
 * A process killed at any point leaves either the old revision current or
 * the new one complete (the content was on disk before the name existed),
 * plus at most a temporary file that `sweep()` removes later. There is no
 * lock, so nothing can be left locked. The revision numbers are the
 * "resourceVersion" of this store.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { TortieError } from '../../lib/errors.js';
import { DatastoreErrorCode, isValidKey, type Datastore, type StoredValue } from '../core/datastore.js';

const REV_RE = /^r([0-9]{1,15})\.json$/;
const TMP_PREFIX = '.tmp-';
/** Reads retried when a revision file vanishes between listing and reading it. */
const READ_ATTEMPTS = 8;

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
  /** Key directories known to exist (they are never removed). */
  private readonly knownDirs = new Set<string>();

  constructor(readonly location: string) {}

  /** Creates the directory (and parents) if needed. */
  async open(): Promise<this> {
    try {
      await mkdir(this.location, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw unavailable(`cannot create ${this.location}`, err);
    }
    return this;
  }

  private keyDir(key: string): string {
    if (!isValidKey(key)) throw new TortieError(DatastoreErrorCode.BadKey, `bad datastore key ${JSON.stringify(key)}`);
    return join(this.location, ...key.split('/'));
  }

  private async revisions(dir: string): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(dir);
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

  private async current(key: string): Promise<Current> {
    const dir = this.keyDir(key);
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const revs = await this.revisions(dir);
      if (revs.length === 0) return { rev: 0, live: false };
      const rev = revs[revs.length - 1];
      let text: string;
      try {
        text = await readFile(join(dir, `r${rev}.json`), 'utf8');
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

  async get(key: string): Promise<StoredValue | undefined> {
    const c = await this.current(key);
    return c.live ? { key, value: c.value, revision: String(c.rev) } : undefined;
  }

  async list(prefix: string): Promise<StoredValue[]> {
    const cut = prefix.lastIndexOf('/');
    const dirKey = cut < 0 ? '' : prefix.slice(0, cut);
    const namePrefix = prefix.slice(cut + 1);
    const dir = dirKey === '' ? this.location : this.keyDir(dirKey);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if (errno(err) === 'ENOENT') return [];
      throw unavailable(`cannot list ${dir}`, err);
    }
    const keys = names.filter((n) => n.startsWith(namePrefix) && !n.startsWith('.')).sort().map((n) => (dirKey === '' ? n : `${dirKey}/${n}`));
    const out: StoredValue[] = [];
    for (const key of keys) {
      const c = await this.current(key);
      if (c.live) out.push({ key, value: c.value, revision: String(c.rev) });
    }
    return out;
  }

  async create(key: string, value: unknown): Promise<StoredValue> {
    const c = await this.current(key);
    if (c.live) throw new TortieError(DatastoreErrorCode.Conflict, `create ${key}: already exists (revision ${c.rev})`);
    const rev = await this.write(key, c.rev + 1, { deleted: false, value });
    return { key, value: JSON.parse(JSON.stringify(value)) as unknown, revision: String(rev) };
  }

  async update(key: string, value: unknown, revision: string): Promise<StoredValue> {
    const base = parseRevision(key, revision);
    await this.requireRevision(key, base);
    const rev = await this.write(key, base + 1, { deleted: false, value });
    return { key, value: JSON.parse(JSON.stringify(value)) as unknown, revision: String(rev) };
  }

  async delete(key: string, revision: string): Promise<void> {
    const base = parseRevision(key, revision);
    await this.requireRevision(key, base);
    await this.write(key, base + 1, { deleted: true });
  }

  /**
   * The caller's revision file must still exist: once superseded and
   * cleaned up it is gone, and the caller is certainly stale (a cheap
   * stat instead of a listing; the rare race past it is caught in step 3).
   */
  private async requireRevision(key: string, rev: number): Promise<void> {
    try {
      await stat(join(this.keyDir(key), `r${rev}.json`));
    } catch (err) {
      if (errno(err) === 'ENOENT') throw new TortieError(DatastoreErrorCode.Conflict, `${key}: revision ${rev} is no longer current`);
      throw unavailable(`cannot check ${key} r${rev}`, err);
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Steps 1-5 of the header comment. Returns the revision written. */
  private async write(key: string, rev: number, content: RevisionFile): Promise<number> {
    const dir = this.keyDir(key);
    await this.ensureDir(dir);
    const tmp = join(dir, `${TMP_PREFIX}${process.pid}-${tmpTag}-${tmpCounter++}`);
    const target = join(dir, `r${rev}.json`);
    try {
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(JSON.stringify(content));
        await fh.datasync();
      } finally {
        await fh.close();
      }
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw unavailable(`cannot write ${key}`, err);
    }
    try {
      await link(tmp, target);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      if (errno(err) === 'EEXIST') throw new TortieError(DatastoreErrorCode.Conflict, `${key}: revision ${rev - 1} is not current`);
      throw unavailable(`cannot link ${key} r${rev}`, err);
    }
    await unlink(tmp).catch(() => undefined);
    const revs = await this.revisions(dir);
    const top = revs.length > 0 ? revs[revs.length - 1] : 0;
    if (top > rev) {
      throw new TortieError(DatastoreErrorCode.Unavailable, `${key}: revision ${rev} is not the newest (${top} is); read again to learn whether it took effect`);
    }
    await fsyncDir(dir);
    for (const old of revs) if (old < rev) await unlink(join(dir, `r${old}.json`)).catch(() => undefined);
    return rev;
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    let first: string | undefined;
    try {
      first = await mkdir(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw unavailable(`cannot create ${dir}`, err);
    }
    this.knownDirs.add(dir);
    if (first === undefined) return;
    // New directories: make their names durable, from the first one created up to the store's directory.
    for (let d = dirname(dir); d.length >= this.location.length; d = dirname(d)) {
      await fsyncDir(d);
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

async function fsyncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw unavailable(`cannot fsync ${dir}`, err);
  }
}

/** Opens (creating if needed) the local datastore in `dir`. */
export async function openLocalDatastore(dir: string): Promise<LocalDatastore> {
  return new LocalDatastore(dir).open();
}
