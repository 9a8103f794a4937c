/**
 * A small in-process Kubernetes API server for fast unit tests. It speaks
 * the real wire protocol over HTTP on 127.0.0.1, so the code under test uses
 * @kubernetes/client-node unchanged, and keeps the semantics that matter:
 *
 *   - one resourceVersion counter for everything; every write bumps it;
 *   - list returns the collection's resourceVersion; watch from a version
 *     sends every later event of that collection in order, then follows;
 *   - a watch from a version older than the last compaction gets one ERROR
 *     event (Status 410 Expired) and ends, as a real server does;
 *   - create of an existing name is 409 AlreadyExists; update with a stale
 *     metadata.resourceVersion, or delete with a stale precondition, is 409
 *     Conflict; a missing object is 404.
 *
 * Collections are served at one path each (e.g. /api/v1/nodes, or
 * /api/v1/pods for every namespace's pods); objects with a
 * metadata.namespace are keyed `namespace/name` (the key create/update/delete
 * take). List honours `limit` and `continue` (pages of one snapshot, as a
 * real server). No selectors, no auth.
 * Test controls: compact(), down()/up() (the port stays), failLists(n),
 * requests (every request seen).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface FakeRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
}

interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; creationTimestamp?: string; [k: string]: unknown };
  [k: string]: unknown;
}

interface Event {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  obj: Obj;
}

interface Collection {
  kind: string;
  apiVersion: string;
  objects: Map<string, Obj>;
  events: Event[];
  watchers: Set<(e: Event) => void>;
}

/** Collections served: path → kind and apiVersion. */
const DEFAULT_COLLECTIONS: Record<string, { kind: string; apiVersion: string }> = {
  '/api/v1/nodes': { kind: 'Node', apiVersion: 'v1' },
};

function keyOf(o: Obj): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
}

function status(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

export class FakeApiServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly collections = new Map<string, Collection>();
  private rv = 100;
  private compactedRv = 0;
  private listFailures = 0;
  private uid = 0;
  private readonly pages = new Map<string, Obj[]>();
  private listSeq = 0;
  port = 0;
  readonly requests: FakeRequest[] = [];

  constructor(extra: Record<string, { kind: string; apiVersion: string }> = {}) {
    for (const [path, c] of Object.entries({ ...DEFAULT_COLLECTIONS, ...extra })) {
      this.collections.set(path, { ...c, objects: new Map(), events: [], watchers: new Set() });
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The kubeconfig options for client-node's KubeConfig.loadFromOptions. */
  // client-node refuses a plain-HTTP server unless skipTLSVerify is set (there is no TLS to verify).
  kubeConfigOptions(): { clusters: { name: string; server: string; skipTLSVerify: boolean }[]; users: { name: string }[]; contexts: { name: string; cluster: string; user: string }[]; currentContext: string } {
    return {
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }], users: [{ name: 'fake' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }], currentContext: 'fake',
    };
  }

  async up(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    if (typeof addr === 'object' && addr !== null) this.port = addr.port;
    this.server = server;
  }

  /** Stops listening and cuts every connection (open watches included), like a crash. */
  async down(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    for (const c of this.collections.values()) c.watchers.clear();
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Forget history: watches from any version before now get 410 Gone. */
  compact(): void {
    this.compactedRv = this.rv;
    for (const c of this.collections.values()) c.events = [];
  }

  /** The next `n` list requests fail with 500. */
  failLists(n: number): void {
    this.listFailures = n;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  // ------------------------------------------------------------ direct writes (the "other clients")

  private coll(path: string): Collection {
    const c = this.collections.get(path);
    if (!c) throw new Error(`fake apiserver: no collection ${path}`);
    return c;
  }

  private emit(c: Collection, type: Event['type'], obj: Obj): void {
    const e: Event = { rv: this.rv, type, obj: structuredClone(obj) };
    c.events.push(e);
    for (const w of c.watchers) w(e);
  }

  create(path: string, body: Obj): Obj {
    const c = this.coll(path);
    const name = keyOf(body);
    if (c.objects.has(name)) throw Object.assign(new Error('exists'), { code: 409 });
    const obj: Obj = structuredClone({ apiVersion: c.apiVersion, kind: c.kind, ...body });
    obj.metadata = { ...obj.metadata, resourceVersion: String(++this.rv), uid: `uid-${++this.uid}`, creationTimestamp: new Date(0).toISOString() };
    c.objects.set(name, obj);
    this.emit(c, 'ADDED', obj);
    return structuredClone(obj);
  }

  update(path: string, body: Obj): Obj {
    const c = this.coll(path);
    const name = keyOf(body);
    const cur = c.objects.get(name);
    if (!cur) throw Object.assign(new Error('not found'), { code: 404 });
    const want = body.metadata.resourceVersion;
    if (want !== undefined && want !== '' && want !== cur.metadata.resourceVersion) throw Object.assign(new Error('conflict'), { code: 409 });
    const obj: Obj = structuredClone({ apiVersion: c.apiVersion, kind: c.kind, ...body });
    obj.metadata = { ...obj.metadata, uid: cur.metadata.uid, creationTimestamp: cur.metadata.creationTimestamp, resourceVersion: String(++this.rv) };
    c.objects.set(name, obj);
    this.emit(c, 'MODIFIED', obj);
    return structuredClone(obj);
  }

  delete(path: string, name: string, precondition?: string): Obj {
    const c = this.coll(path);
    const cur = c.objects.get(name);
    if (!cur) throw Object.assign(new Error('not found'), { code: 404 });
    if (precondition !== undefined && precondition !== cur.metadata.resourceVersion) throw Object.assign(new Error('conflict'), { code: 409 });
    c.objects.delete(name);
    const gone: Obj = { ...cur, metadata: { ...cur.metadata, resourceVersion: String(++this.rv) } };
    this.emit(c, 'DELETED', gone);
    return structuredClone(gone);
  }

  // ------------------------------------------------------------ HTTP

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const u = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(u.searchParams.entries());
    this.requests.push({ method: req.method ?? 'GET', path: u.pathname, query });
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => { body += c; });
    req.on('end', () => {
      try {
        this.route(req.method ?? 'GET', u.pathname, query, body, res);
      } catch (err) {
        const code = (err as { code?: number }).code ?? 500;
        const reason = code === 404 ? 'NotFound' : code === 409 ? 'Conflict' : 'InternalError';
        this.json(res, code, status(code, reason, (err as Error).message));
      }
    });
  }

  private json(res: ServerResponse, code: number, v: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(v));
  }

  private route(method: string, path: string, query: Record<string, string>, body: string, res: ServerResponse): void {
    const direct = this.collections.get(path);
    if (direct) {
      if (method === 'GET' && query.watch === 'true') return this.watch(direct, query, res);
      if (method === 'GET') return this.list(direct, query, res);
      if (method === 'POST') return this.json(res, 201, this.create(path, JSON.parse(body) as Obj));
      return this.json(res, 405, status(405, 'MethodNotAllowed', method));
    }
    const slash = path.lastIndexOf('/');
    const parent = path.slice(0, slash);
    const name = decodeURIComponent(path.slice(slash + 1));
    const c = this.collections.get(parent);
    if (!c) return this.json(res, 404, status(404, 'NotFound', `no collection for ${path}`));
    if (method === 'GET') {
      const o = c.objects.get(name);
      return o ? this.json(res, 200, o) : this.json(res, 404, status(404, 'NotFound', `${name} not found`));
    }
    if (method === 'PUT') return this.json(res, 200, this.update(parent, { ...(JSON.parse(body) as Obj), metadata: { ...(JSON.parse(body) as Obj).metadata, name } }));
    if (method === 'DELETE') {
      const opts = body ? (JSON.parse(body) as { preconditions?: { resourceVersion?: string } }) : {};
      return this.json(res, 200, this.delete(parent, name, opts.preconditions?.resourceVersion));
    }
    this.json(res, 405, status(405, 'MethodNotAllowed', method));
  }

  private list(c: Collection, query: Record<string, string>, res: ServerResponse): void {
    if (this.listFailures > 0) {
      this.listFailures--;
      return this.json(res, 500, status(500, 'InternalError', 'injected list failure'));
    }
    // A continue token is "<resourceVersion>:<offset>:<n>" into the snapshot the first page took (n tells lists apart).
    let items: Obj[];
    let rv = String(this.rv);
    let offset = 0;
    if (query.continue) {
      const [at, off] = query.continue.split(':');
      const snap = this.pages.get(query.continue);
      if (!snap) return this.json(res, 410, status(410, 'Expired', 'continue token expired'));
      this.pages.delete(query.continue);
      [items, rv, offset] = [snap, at, Number(off)];
    } else {
      items = [...c.objects.values()].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1)).map((o) => structuredClone(o));
    }
    const limit = Number(query.limit ?? '0');
    const end = limit > 0 ? Math.min(items.length, offset + limit) : items.length;
    const meta: Record<string, string> = { resourceVersion: rv };
    if (end < items.length) {
      meta.continue = `${rv}:${end}:${++this.listSeq}`;
      this.pages.set(meta.continue, items);
    }
    this.json(res, 200, { kind: `${c.kind}List`, apiVersion: c.apiVersion, metadata: meta, items: items.slice(offset, end) });
  }

  private watch(c: Collection, query: Record<string, string>, res: ServerResponse): void {
    const from = Number(query.resourceVersion ?? '0');
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    // A real server answers a watch at once; clients wait for these headers before they count as watching.
    res.flushHeaders();
    const send = (e: Event): void => {
      res.write(`${JSON.stringify({ type: e.type, object: e.obj })}\n`);
    };
    if (from !== 0 && from < this.compactedRv) {
      res.end(`${JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${from} (${this.compactedRv})`) })}\n`);
      return;
    }
    for (const e of c.events) if (e.rv > from) send(e);
    c.watchers.add(send);
    res.on('close', () => c.watchers.delete(send));
  }
}
