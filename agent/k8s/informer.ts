/**
 * One resource kept in memory by list + watch, through @kubernetes/client-node's
 * ListWatch: the first list fills the cache, the watch resumes from the last
 * resourceVersion it saw, and a 410 Gone (the version was compacted away)
 * makes it list again. On top of ListWatch this adds what the agent needs:
 *
 *   - Restart with exponential backoff after an error. ListWatch stops on
 *     one (a refused connection, a 5xx); we start it again, and it resumes
 *     its watch from the resourceVersion it had.
 *   - Health: whether the last list or watch connect succeeded, the last
 *     error, counts of lists and restarts. The cache is never cleared on an
 *     error, so what the agent built from it stays in place.
 *
 * Memory: ListWatch caches whole objects. A `transform` turns every object
 * (from a list or a watch event) into what the owner keeps before it is
 * cached, e.g. a Pod into its few policy fields; the transformed object
 * must keep metadata.name, namespace and resourceVersion (ListWatch keys its
 * cache and resumes its watch by them).
 *
 * Health comes from the real client: the Watch passed to ListWatch is a
 * subclass of client-node's Watch that calls the real one and notes when a
 * watch connects or delivers an event; errors arrive through ListWatch.
 */
import { ApiException, ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../../lib/log.js';

export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** The paging parameters of one list request (client-node's request field names). */
export interface ListPage {
  readonly limit?: number;
  readonly _continue?: string;
}

export const DEFAULT_BACKOFF: Backoff = Object.freeze({ initialMs: 500, maxMs: 30_000 });

/**
 * `T` is what the cache holds, `R` what the API returns (the same unless a
 * transform is given).
 */
export interface InformerOptions<T extends KubernetesObject, R extends KubernetesObject = T> {
  readonly kubeConfig: KubeConfig;
  /** The collection's API path, e.g. /api/v1/nodes. */
  readonly path: string;
  /** Lists the collection (one client-node API call); called once per page when pageSize is set. */
  readonly list: (page: ListPage) => Promise<KubernetesListObject<R>>;
  /**
   * A field selector for the watch, e.g. spec.nodeName=node-a. The `list`
   * function must apply the same selector (rawLister's fieldSelector).
   */
  readonly fieldSelector?: string;
  /** List in pages of this many objects (limit + continue), transforming each page before the next. Default: one request. */
  readonly pageSize?: number;
  /**
   * Applied to each listed object and each ADDED/MODIFIED/DELETED watch
   * object before it is cached; required when R is not T. It must not
   * throw, and must keep metadata.name, namespace and resourceVersion.
   */
  readonly transform?: (obj: R) => T;
  /** For logs and status, e.g. "nodes". */
  readonly resource: string;
  readonly log: Logger;
  /** Called after the cache changed (an object added, updated or deleted). */
  readonly onChange: () => void;
  /** Called when the health changed (connected, error). */
  readonly onHealth?: () => void;
  readonly backoff?: Backoff;
}

export interface InformerStatus {
  readonly resource: string;
  /** A list has succeeded at least once: the cache holds real data. */
  readonly synced: boolean;
  /** The last list or watch connect succeeded and no error came after it. */
  readonly connected: boolean;
  /** The API said 404: the resource is not served (a CRD not installed). */
  readonly missing: boolean;
  readonly objects: number;
  readonly resourceVersion: string;
  /** Full lists done (the first, and each after a 410 Gone). */
  readonly lists: number;
  /** Restarts after an error. */
  readonly restarts: number;
  readonly lastSyncAt?: string;
  readonly lastError?: string;
  readonly lastErrorAt?: string;
}

interface WatchHooks {
  connected(): void;
  event(phase: string, obj: unknown): void;
  /** What ListWatch gets instead of an object event's object. */
  transform?: (obj: unknown) => unknown;
}

const OBJECT_PHASES = new Set(['ADDED', 'MODIFIED', 'DELETED']);

/** client-node's Watch, reporting what happens to each watch it opens. */
class ObservedWatch extends Watch {
  constructor(config: KubeConfig, private readonly hooks: WatchHooks) {
    super(config);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    let ended = false;
    const transform = this.hooks.transform;
    const controller = await super.watch(path, queryParams, (phase, obj, w) => {
      this.hooks.event(phase, obj);
      callback(phase, transform && OBJECT_PHASES.has(phase) ? transform(obj) : obj, w);
    }, (err) => {
      ended = true;
      done(err);
    });
    // Watch.watch returns once the response headers arrived (200) or it failed (done already called).
    if (!ended) this.hooks.connected();
    return controller;
  }
}

/**
 * What several informers add up to: 'synced' (every one listed and
 * watching), 'stale' (one cannot reach the API), or undefined (no verdict:
 * still listing). Before `attempted` (start() has tried every resource once)
 * a resource not reached yet is not unreachable. With `missingIsEmpty`, a
 * resource the server does not serve (a CRD not installed) counts as empty.
 */
export function combinedHealth(st: readonly InformerStatus[], o: { attempted: boolean; missingIsEmpty: boolean }): 'synced' | 'stale' | undefined {
  const absent = (s: InformerStatus): boolean => o.missingIsEmpty && s.missing;
  const healthy = st.every((s) => s.connected || (absent(s) && !s.synced));
  if (healthy && st.every((s) => s.synced || absent(s))) return 'synced';
  if (!healthy && o.attempted) return 'stale';
  return undefined;
}

/** A short text for an error from client-node (ApiException, fetch failure, timeout). */
export function describeKubeError(err: unknown): string {
  if (err instanceof ApiException) {
    const body = typeof err.body === 'string' ? err.body : JSON.stringify(err.body);
    let reason: string;
    try {
      reason = (JSON.parse(body) as { message?: string }).message ?? '';
    } catch {
      reason = body.slice(0, 200);
    }
    return `HTTP ${err.code}${reason ? `: ${reason}` : ''}`;
  }
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message;
    const status = (err as Error & { statusCode?: number }).statusCode;
    return `${status !== undefined ? `HTTP ${status}: ` : ''}${err.message}${detail && !err.message.includes(detail) ? ` (${detail})` : ''}`;
  }
  return String(err);
}

function httpStatus(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

export class Informer<T extends KubernetesObject, R extends KubernetesObject = T> {
  private readonly lw: ListWatch<T>;
  private readonly backoff: Backoff;
  private stopped = true;
  private synced = false;
  private connected = false;
  private missing = false;
  private lists = 0;
  private restarts = 0;
  private failures = 0;
  private lastSyncAt: Date | undefined;
  private lastError: { text: string; at: Date } | undefined;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: InformerOptions<T, R>) {
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    const transform = opts.transform;
    const watch = new ObservedWatch(opts.kubeConfig, {
      ...(transform ? { transform: (obj: unknown) => transform(obj as R) } : {}),
      connected: () => this.markConnected(),
      event: (phase, obj) => {
        if (phase === 'ERROR') {
          const code = (obj as { code?: number } | null)?.code;
          this.opts.log.info({ resource: opts.resource, code }, code === 410 ? 'watch expired (410 Gone); listing again' : 'watch error event');
        } else {
          this.markConnected();
        }
      },
    });
    this.lw = new ListWatch<T>(opts.path, watch, () => this.listOnce(), false, undefined, opts.fieldSelector);
    const changed = (): void => opts.onChange();
    this.lw.on('add', changed);
    this.lw.on('update', changed);
    this.lw.on('delete', changed);
    this.lw.on('error', (err: unknown) => this.onError(err));
  }

  private async listOnce(): Promise<KubernetesListObject<T>> {
    try {
      const tf = this.opts.transform;
      const items: T[] = [];
      let resourceVersion: string | undefined;
      let cont: string | undefined;
      do {
        // A paged list is one consistent snapshot: every page carries the first page's resourceVersion.
        const page = await this.opts.list(this.opts.pageSize ? { limit: this.opts.pageSize, ...(cont ? { _continue: cont } : {}) } : {});
        for (const o of page.items) items.push(tf ? tf(o) : (o as unknown as T));
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        // client-node's models name it _continue; raw JSON (raw-list.ts) continue.
        const meta: { _continue?: string; continue?: string } | undefined = page.metadata;
        cont = this.opts.pageSize ? meta?._continue || meta?.continue || undefined : undefined;
      } while (cont !== undefined);
      const l: KubernetesListObject<T> = { metadata: { ...(resourceVersion !== undefined ? { resourceVersion } : {}) }, items };
      this.lists++;
      this.synced = true;
      this.missing = false;
      this.lastSyncAt = new Date();
      this.markConnected();
      // An empty list fires no add/delete when the cache was empty too; the owner still needs to know it synced.
      queueMicrotask(() => this.opts.onChange());
      return l;
    } catch (err) {
      if (httpStatus(err) === 404) this.missing = true;
      throw err;
    }
  }

  private markConnected(): void {
    if (this.connected && this.failures === 0) return;
    const wasConnected = this.connected;
    this.connected = true;
    this.failures = 0;
    if (!wasConnected) {
      if (this.lastError) this.opts.log.info({ resource: this.opts.resource }, 'connected to the API server again');
      this.opts.onHealth?.();
    }
  }

  private onError(err: unknown): void {
    if (this.stopped) return;
    const text = describeKubeError(err);
    const wasConnected = this.connected;
    this.connected = false;
    this.lastError = { text, at: new Date() };
    const delayMs = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** Math.min(this.failures, 20));
    this.failures++;
    const level = this.failures === 1 || wasConnected ? 'warn' : 'debug';
    this.opts.log[level]({ resource: this.opts.resource, err: text, retryInMs: delayMs }, this.missing
      ? 'resource not served by the API server (CRD not installed?); retrying'
      : 'list/watch failed; keeping the cached objects and retrying');
    if (wasConnected || this.failures === 1) this.opts.onHealth?.();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.stopped) return;
      this.restarts++;
      // ListWatch resumes its watch from the last resourceVersion (or lists, after a 410).
      this.lw.start().catch((e: unknown) => this.onError(e));
    }, delayMs);
    this.retryTimer.unref();
  }

  /** Lists and starts watching. Resolves after the first attempt, whether it worked or not (status() tells). */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    try {
      await this.lw.start();
    } catch (err) {
      this.onError(err);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.lw.stop();
    this.connected = false;
  }

  /** The cached objects (kept through errors). */
  list(): readonly T[] {
    return this.lw.list();
  }

  /** One cached object ('' or no namespace for cluster-scoped objects). */
  get(name: string, namespace?: string): T | undefined {
    return this.lw.get(name, namespace);
  }

  status(): InformerStatus {
    return {
      resource: this.opts.resource,
      synced: this.synced,
      connected: this.connected,
      missing: this.missing,
      objects: this.lw.list().length,
      resourceVersion: this.lw.latestResourceVersion(),
      lists: this.lists,
      restarts: this.restarts,
      ...(this.lastSyncAt ? { lastSyncAt: this.lastSyncAt.toISOString() } : {}),
      ...(this.lastError ? { lastError: this.lastError.text, lastErrorAt: this.lastError.at.toISOString() } : {}),
    };
  }
}
