/**
 * The standalone policy source: a directory of Kubernetes YAML/JSON
 * manifests (Namespaces, Pods with labels and container ports,
 * NetworkPolicies), watched so that a change reaches the enforcer within a
 * second. This is how a node without an API server, the lab and the tests
 * drive policy.
 *
 *  - inotify (fs.watch) triggers a rescan after a short debounce; a poll
 *    (default every 500 ms) is the safety net for file systems or volume
 *    types where events go missing, and re-arms the watch if the
 *    directory was replaced;
 *  - a file is re-read only when its (inode, size, mtime) changed, so
 *    unchanged files keep their objects (and the compiler its memo);
 *  - a file that stops parsing keeps its last good objects (an editor
 *    saving half a file must not open the network), and the syntax error
 *    is reported;
 *  - files are merged in name order; a second object with the same kind,
 *    namespace and name is reported and ignored;
 *  - dotfiles (editor swap files, a ConfigMap volume's ..data) and
 *    anything not *.yaml, *.yml or *.json are skipped.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../lib/log.js';
import type { ClusterState } from './compile/model.js';
import { parseManifests, type ManifestIssue, type ManifestObjects } from './manifest-parse.js';
import type { PolicySource, SnapshotListener } from './source.js';

export interface ManifestSnapshot extends ClusterState {
  readonly issues: readonly ManifestIssue[];
  readonly files: readonly string[];
}

export interface ManifestSourceOptions {
  readonly dir: string;
  /** Called with every new snapshot (first at start, then on each change); onChange() subscribes more. */
  readonly onChange?: (s: ManifestSnapshot) => void;
  readonly debounceMs?: number;
  readonly pollMs?: number;
  readonly logger?: Logger;
}

interface FileState {
  readonly sig: string;
  readonly objects: ManifestObjects;
  readonly issues: readonly ManifestIssue[];
}

const MANIFEST_RE = /^[^.].*\.(ya?ml|json)$/i;

export class ManifestDirectorySource implements PolicySource {
  private readonly log: Logger;
  private readonly debounceMs: number;
  private readonly pollMs: number;
  private files = new Map<string, FileState>();
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private poller: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private started = false;
  private readonly listeners = new Set<SnapshotListener>();
  private lastSig: string | undefined;
  private current: ManifestSnapshot = { namespaces: [], pods: [], policies: [], issues: [], files: [] };

  constructor(private readonly opts: ManifestSourceOptions) {
    this.log = (opts.logger ?? silentLogger).child({ component: 'policy-manifests', dir: opts.dir });
    this.debounceMs = opts.debounceMs ?? 50;
    this.pollMs = opts.pollMs ?? 500;
  }

  get snapshot(): ManifestSnapshot {
    return this.current;
  }

  /** Calls `fn` with every new snapshot (besides the onChange option); returns the unsubscribe function. */
  onChange(fn: SnapshotListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Reads the directory once (emitting the first snapshot), then watches it. A second call only rescans. */
  async start(): Promise<ManifestSnapshot> {
    if (this.started) {
      await this.rescan();
      return this.current;
    }
    this.started = true;
    await this.rescan();
    this.arm();
    this.poller = setInterval(() => {
      if (!this.watcher) this.arm();
      this.schedule(0);
    }, this.pollMs);
    this.poller.unref();
    return this.current;
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.debounce) clearTimeout(this.debounce);
    if (this.poller) clearInterval(this.poller);
  }

  private arm(): void {
    if (this.stopped) return;
    try {
      const w = watch(this.opts.dir, { persistent: false }, () => this.schedule(this.debounceMs));
      w.on('error', (err) => {
        this.log.warn({ err: err.message }, 'watch failed; polling until it can be re-armed');
        w.close();
        if (this.watcher === w) this.watcher = undefined;
      });
      this.watcher = w;
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'cannot watch the manifest directory; polling');
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.rescan().catch((err: unknown) => this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'manifest rescan failed'));
    }, delayMs);
  }

  /** Re-reads what changed; emits a snapshot when anything did. Concurrent calls coalesce. */
  rescan(): Promise<void> {
    if (this.scanning) {
      this.again = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      try {
        do {
          this.again = false;
          await this.scanOnce();
        } while (this.again && !this.stopped);
      } finally {
        this.scanning = undefined;
      }
    })();
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    let names: string[];
    try {
      names = (await readdir(this.opts.dir)).filter((n) => MANIFEST_RE.test(n)).sort();
    } catch (err) {
      // A missing directory is an empty one (it may appear later).
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      names = [];
    }
    const next = new Map<string, FileState>();
    for (const name of names) {
      const path = join(this.opts.dir, name);
      let sig: string;
      try {
        const st = await stat(path);
        if (!st.isFile()) continue;
        sig = `${st.ino}:${st.size}:${st.mtimeMs}`;
      } catch {
        continue;
      }
      const prev = this.files.get(name);
      if (prev && prev.sig === sig) {
        next.set(name, prev);
        continue;
      }
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch {
        continue;
      }
      const parsed = parseManifests(name, text);
      if (!parsed.syntaxOk && prev) {
        // Keep the last good objects of this file.
        next.set(name, { sig, objects: prev.objects, issues: [...parsed.issues, { file: name, line: 1, column: 1, path: '', message: 'keeping the last version of this file that parsed' }] });
      } else {
        next.set(name, { sig, objects: { namespaces: parsed.namespaces, pods: parsed.pods, policies: parsed.policies }, issues: parsed.issues });
      }
    }
    this.files = next;
    const sig = [...next].map(([n, f]) => `${n}@${f.sig}`).join('|');
    if (sig === this.lastSig) return;
    this.lastSig = sig;
    this.current = merge(next);
    this.log.info({ files: this.current.files.length, namespaces: this.current.namespaces.length, pods: this.current.pods.length, policies: this.current.policies.length, issues: this.current.issues.length }, 'manifests loaded');
    for (const i of this.current.issues) this.log.warn({ file: i.file, line: i.line, column: i.column, path: i.path }, i.message);
    if (this.stopped) return;
    this.opts.onChange?.(this.current);
    for (const fn of this.listeners) fn(this.current);
  }
}

function merge(files: ReadonlyMap<string, FileState>): ManifestSnapshot {
  const namespaces = new Map<string, ManifestObjects['namespaces'][number]>();
  const pods = new Map<string, ManifestObjects['pods'][number]>();
  const policies = new Map<string, ManifestObjects['policies'][number]>();
  const issues: ManifestIssue[] = [];
  const dup = (file: string, what: string): void => {
    issues.push({ file, line: 1, column: 1, path: '', object: what, message: `${what} is defined again; the first definition (by file name order) is used` });
  };
  for (const [file, f] of files) {
    issues.push(...f.issues);
    for (const n of f.objects.namespaces) {
      if (namespaces.has(n.name)) dup(file, `Namespace ${n.name}`);
      else namespaces.set(n.name, n);
    }
    for (const p of f.objects.pods) {
      const k = `${p.namespace}/${p.name}`;
      if (pods.has(k)) dup(file, `Pod ${k}`);
      else pods.set(k, p);
    }
    for (const p of f.objects.policies) {
      const k = `${p.namespace}/${p.name}`;
      if (policies.has(k)) dup(file, `NetworkPolicy ${k}`);
      else policies.set(k, p);
    }
  }
  return { namespaces: [...namespaces.values()], pods: [...pods.values()], policies: [...policies.values()], issues, files: [...files.keys()] };
}
