/**
 * The agent's IPAM service: this node's view of the pools, the allocator,
 * node records, periodic upkeep (re-reading the store, releasing empty
 * blocks, the node heartbeat), and what the node must advertise.
 *
 * The control API (ipam/api.ts) calls it; the agent feeds it configuration
 * and takes its originated prefixes into BGP.
 */
import { access } from 'node:fs/promises';
import { TortieError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { Allocator } from './allocator.js';
import type {
  IpamAllocationView, IpamAssignResponse, IpamCheckView, IpamFamilyName, IpamGcResponse, IpamNodeView,
  IpamReleaseResponse, IpamShowView, IpamStatusView,
} from './api-types.js';
import { releaseNodesNotIn, type ReleaseNodesOptions, type ReleaseNodesResult } from './node-gc.js';
import { assign, IpamExhaustedError, type AssignInput } from './core/assign.js';
import { DatastoreErrorCode, type Datastore } from './core/datastore.js';
import { ipamError, IpamErrorCode, type IpamErrorCodeValue } from './core/errors.js';
import { familyName, familyOfName, formatIp, parseAddressOrCidr, parseIp, type Cidr, type Family, type Ip } from './core/ip.js';
import { handleFor, nodeKey, NODES_PREFIX } from './core/keys.js';
import { availableFamilies, type IpamPolicy } from './core/policy.js';
import { poolFromSpec, type PoolSpec } from './core/pool.js';
import { collectGarbage, releaseAddress, releaseEmptyBlocks, releaseHandle, type ReleasedIp } from './core/release.js';
import { allocationView, blockView, borrowedViews, checkBlocks, originatedFromCache, poolView, type Liveness } from './core/view.js';

/** The `ipam` section of the agent's configuration, as the service needs it. */
export interface IpamServiceConfig {
  readonly pools: readonly PoolSpec[];
  readonly reservations: readonly string[];
  readonly strictAffinity: boolean;
  readonly releaseCooldownSec: number;
  readonly gcGraceSec: number;
}

export interface IpamServiceOptions {
  node: string;
  labels: Readonly<Record<string, string>>;
  config: IpamServiceConfig;
  store: Datastore;
  log: Logger;
  now?: () => number;
  /** Whether a netns path still exists (check's liveness test). Default: the path is accessible. */
  netnsAlive?: (path: string) => Promise<boolean>;
  /**
   * The annotations of a pod, by namespace and name (in a cluster: from the
   * Pod informer's cache); undefined when the pod is unknown. Asked on an
   * assign that names its pod (namespace and pod, from K8S_POD_NAMESPACE and
   * K8S_POD_NAME) and asks for no fixed address itself: the annotation
   * `tortie.io/ip-addrs` (POD_IPS_ANNOTATION), a JSON list of at most one
   * address per family, then gives the pod fixed addresses. A hook that
   * throws fails the assign with ERR_IPAM_ANNOTATIONS_UNAVAILABLE (CNI: try
   * again later).
   */
  podAnnotations?: (namespace: string, name: string) =>
    Readonly<Record<string, string>> | undefined | Promise<Readonly<Record<string, string>> | undefined>;
  /**
   * The cluster's list of live nodes (in a cluster: the Kubernetes Node
   * informer's cache), or undefined when it is not known yet. When given,
   * `check` judges "node gone" by it instead of by node-record heartbeats.
   */
  liveNodes?: () => ReadonlySet<string> | undefined;
  /** Called whenever the set of prefixes this node must advertise changes. */
  onOriginated?: (o: { blocks: string[]; borrowed: string[] }) => void;
  /** Upkeep period. Default 5 s. */
  upkeepMs?: number;
  /** Re-read the whole store at least this often (other agents' changes). Default 30 s. */
  relistMs?: number;
  /** Node record heartbeat. Default 60 s. */
  heartbeatMs?: number;
}

interface NodeRecord {
  schema: 1;
  name: string;
  labels: Record<string, string>;
  startedAtMs: number;
  lastSeenMs: number;
}

const HANDLE_MAX = 512;

/** The pod annotation that asks for fixed addresses: a JSON list, at most one per family, e.g. ["10.0.0.5","fd00::5"]. */
export const POD_IPS_ANNOTATION = 'tortie.io/ip-addrs';

/** Refusals of a requested address, which get the annotation named when it was the annotation that asked. */
const FIXED_REFUSALS = new Set<string>([
  IpamErrorCode.AddressInUse, IpamErrorCode.AddressNotInPool, IpamErrorCode.AddressReserved, IpamErrorCode.PoolDisabled,
  IpamErrorCode.PoolNotForNode, IpamErrorCode.AffineElsewhere, IpamErrorCode.BadRequest,
]);

/** A requested address as text ("10.0.0.5" or "10.0.0.5/24": the prefix length is ignored), or undefined. */
function requestedIp(text: string): Ip | undefined {
  return parseIp(text.includes('/') ? text.slice(0, text.indexOf('/')) : text);
}

/**
 * The addresses of a pod's tortie.io/ip-addrs annotation. Every way it can
 * be wrong is ERR_IPAM_ANNOTATION_BAD_REQUEST, naming the annotation and the pod.
 */
export function parsePodIpsAnnotation(text: string, pod: string): Ip[] {
  const bad = (why: string): TortieError =>
    ipamError(IpamErrorCode.BadAnnotation, `annotation ${POD_IPS_ANNOTATION} of pod ${pod} ${why} (expected a JSON list of addresses, at most one per family, e.g. ["10.0.0.5","fd00::5"])`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw bad(`is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string')) throw bad('is not a non-empty list of strings');
  const out: Ip[] = [];
  for (const x of v) {
    const ip = requestedIp(x);
    if (ip === undefined) throw bad(`lists ${JSON.stringify(x)}, which is not an IP address`);
    const twin = out.find((o) => o.family === ip.family);
    if (twin !== undefined) throw bad(`lists two IPv${ip.family} addresses (${formatIp(twin)} and ${formatIp(ip)})`);
    out.push(ip);
  }
  return out;
}

function badRequest(message: string): TortieError {
  return new TortieError('ERR_API_BAD_REQUEST', message);
}

function str(v: unknown, name: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badRequest(`${name} must be a string`);
  return v;
}

function strList(v: unknown, name: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw badRequest(`${name} must be a list of strings`);
  return v;
}

function asObject(body: unknown): Record<string, unknown> {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the request body must be a JSON object');
  return body as Record<string, unknown>;
}

/** The handle of a request: `handle`, or `containerId` + `ifname`. */
export function requestHandle(b: Record<string, unknown>, required: boolean): string | undefined {
  const handle = str(b.handle, 'handle');
  const containerId = str(b.containerId, 'containerId');
  const ifname = str(b.ifname, 'ifname');
  let h = handle;
  if (h === undefined && containerId !== undefined && ifname !== undefined) h = handleFor(containerId, ifname);
  if (h === undefined) {
    if (required) throw badRequest('give handle, or containerId and ifname');
    return undefined;
  }
  // eslint-disable-next-line no-control-regex
  if (h === '' || h.length > HANDLE_MAX || /[\u0000-\u001f]/.test(h)) throw badRequest(`handle ${JSON.stringify(h.slice(0, 80))} is empty, too long or has control characters`);
  return h;
}

export class IpamService {
  private readonly allocator: Allocator;
  private policy: IpamPolicy;
  private cfg: IpamServiceConfig;
  private labels: Readonly<Record<string, string>>;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly lastErrors = new Map<string, { atMs: number; code: string; message: string }>();
  private originated = { blocks: [] as string[], borrowed: [] as string[] };
  private timer: NodeJS.Timeout | undefined;
  private lastListMs = 0;
  private lastHeartbeatMs = 0;
  private nodeRevision: string | undefined;
  private readonly startedAtMs: number;
  private upkeepRunning = false;
  /** The last datastore failure of start-up or upkeep, until a read succeeds. */
  private storeError: string | undefined;

  constructor(private readonly opts: IpamServiceOptions) {
    this.now = opts.now ?? Date.now;
    this.log = opts.log;
    this.cfg = opts.config;
    this.labels = opts.labels;
    this.policy = this.buildPolicy();
    this.startedAtMs = this.now();
    this.allocator = new Allocator({
      store: opts.store, policy: () => this.policy, now: this.now, log: opts.log,
      onChange: () => this.recomputeOriginated(),
    });
  }

  get node(): string {
    return this.opts.node;
  }

  get store(): Datastore {
    return this.opts.store;
  }

  get stats(): Allocator['stats'] {
    return this.allocator.stats;
  }

  private buildPolicy(): IpamPolicy {
    const reservations: Cidr[] = this.cfg.reservations.map((r) => {
      const p = parseAddressOrCidr(r);
      if (!p.ok) throw new RangeError(`reservation ${r}: ${p.reason}`);
      return p.cidr;
    });
    return {
      node: this.opts.node, labels: this.labels, pools: this.cfg.pools.map(poolFromSpec), reservations,
      strictAffinity: this.cfg.strictAffinity, cooldownMs: this.cfg.releaseCooldownSec * 1000,
    };
  }

  /** Applies a new configuration (a reload). Existing blocks and allocations stay. */
  updateConfig(config: IpamServiceConfig, labels: Readonly<Record<string, string>>): void {
    this.cfg = config;
    this.labels = labels;
    this.policy = this.buildPolicy();
    for (const name of [...this.lastErrors.keys()]) if (!config.pools.some((p) => p.name === name)) this.lastErrors.delete(name);
    this.recomputeOriginated();
  }

  /**
   * Loads the blocks and writes the node record. A datastore that cannot be
   * read does not stop the agent (BGP must run regardless): the error is
   * logged, STATUS reports it, and every IPAM call tries the store again.
   */
  async start(): Promise<void> {
    try {
      await this.allocator.load();
      await this.heartbeat();
      this.storeError = undefined;
    } catch (err) {
      this.storeError = (err as Error).message;
      this.allocator.invalidate();
      this.log.error({ err: this.storeError, datastore: this.opts.store.location }, 'IPAM cannot read its datastore; IPAM requests will fail until it can');
    }
    this.lastListMs = this.now();
    const every = this.opts.upkeepMs ?? 5000;
    this.timer = setInterval(() => void this.upkeep(), every);
    this.timer.unref();
    this.log.info({
      datastore: this.opts.store.kind, location: this.opts.store.location, blocks: this.allocator.blocks.size,
      pools: this.cfg.pools.map((p) => `${p.name} ${p.cidr}`), strictAffinity: this.cfg.strictAffinity,
    }, 'IPAM started');
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.allocator.idle();
    await this.opts.store.close();
  }

  /** Prefixes to advertise: this node's blocks, and host routes for what it borrowed. */
  originatedPrefixes(): { blocks: string[]; borrowed: string[] } {
    return { blocks: [...this.originated.blocks], borrowed: [...this.originated.borrowed] };
  }

  private recomputeOriginated(): void {
    const next = originatedFromCache(this.allocator.blocks, this.opts.node);
    const same = next.blocks.join() === this.originated.blocks.join() && next.borrowed.join() === this.originated.borrowed.join();
    if (same) return;
    this.originated = next;
    this.opts.onOriginated?.(this.originatedPrefixes());
  }

  // ------------------------------------------------------------ upkeep

  /** Re-reads the store now and then, releases empty blocks, refreshes the node record. */
  async upkeep(): Promise<void> {
    if (this.upkeepRunning) return;
    this.upkeepRunning = true;
    try {
      const now = this.now();
      if (now - this.lastListMs >= (this.opts.relistMs ?? 30_000)) {
        this.allocator.invalidate();
        this.lastListMs = now;
      }
      const released = await this.allocator.run('release empty blocks', (t, pol, nowMs) => releaseEmptyBlocks(t, pol, nowMs));
      if (released.length > 0) this.log.info({ blocks: released }, 'released empty blocks');
      if (now - this.lastHeartbeatMs >= (this.opts.heartbeatMs ?? 60_000)) await this.heartbeat();
      this.storeError = undefined;
    } catch (err) {
      this.storeError = (err as Error).message;
      this.log.warn({ err: this.storeError }, 'IPAM upkeep failed; will try again');
    } finally {
      this.upkeepRunning = false;
    }
  }

  /** Creates or refreshes this node's record (how other nodes know it is not gone). */
  private async heartbeat(): Promise<void> {
    const key = nodeKey(this.opts.node);
    const now = this.now();
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const cur = this.nodeRevision === undefined ? await this.opts.store.get(key) : undefined;
        const rev = this.nodeRevision ?? cur?.revision;
        const rec: NodeRecord = { schema: 1, name: this.opts.node, labels: { ...this.labels }, startedAtMs: this.startedAtMs, lastSeenMs: now };
        const stored = rev === undefined ? await this.opts.store.create(key, rec) : await this.opts.store.update(key, rec, rev);
        this.nodeRevision = stored.revision;
        this.lastHeartbeatMs = now;
        return;
      } catch (err) {
        this.nodeRevision = undefined;
        if (!(err instanceof TortieError && err.code === DatastoreErrorCode.Conflict)) throw err;
      }
    }
    throw ipamError(IpamErrorCode.RetriesExhausted, `could not write the node record of ${this.opts.node}`);
  }

  /** Nodes whose agent wrote its node record within `withinMs`: the nodes that run an agent now. */
  async activeNodes(withinMs: number, nowMs = Date.now()): Promise<ReadonlySet<string>> {
    return new Set((await this.nodeRecords()).filter((r) => nowMs - r.lastSeenMs <= withinMs).map((r) => r.name));
  }

  private async nodeRecords(): Promise<NodeRecord[]> {
    const out: NodeRecord[] = [];
    for (const e of await this.opts.store.list(NODES_PREFIX)) {
      const v = e.value as Partial<NodeRecord> | null;
      if (v !== null && typeof v === 'object' && typeof v.name === 'string' && typeof v.lastSeenMs === 'number') out.push(v as NodeRecord);
    }
    return out;
  }

  // ------------------------------------------------------------ operations

  async assign(body: unknown): Promise<IpamAssignResponse> {
    const b = asObject(body);
    const handle = requestHandle(b, true)!;
    const families = strList(b.families, 'families')?.map((f): Family => {
      if (f !== 'ipv4' && f !== 'ipv6') throw badRequest(`families: ${JSON.stringify(f)} is not ipv4 or ipv6`);
      return familyOfName(f);
    });
    let ips = strList(b.ips, 'ips')?.map((text) => {
      const ip = requestedIp(text);
      if (ip === undefined) throw ipamError(IpamErrorCode.BadRequest, `requested address ${JSON.stringify(text)} is not an IP address`);
      return ip;
    });
    const namespace = str(b.namespace, 'namespace');
    const podName = str(b.pod, 'pod');
    // Addresses asked for in the request (CNI ips capability, IP=) win over the pod's annotation.
    let fromAnnotation: string | undefined;
    if (ips === undefined && namespace !== undefined && podName !== undefined && this.opts.podAnnotations !== undefined) {
      const pod = `${namespace}/${podName}`;
      const text = (await this.podAnnotation(namespace, podName))?.[POD_IPS_ANNOTATION];
      if (text !== undefined) {
        ips = parsePodIpsAnnotation(text, pod);
        fromAnnotation = pod;
      }
    }
    const req: AssignInput = {
      handle,
      attrs: {
        ...(str(b.namespace, 'namespace') !== undefined ? { namespace: b.namespace as string } : {}),
        ...(str(b.pod, 'pod') !== undefined ? { pod: b.pod as string } : {}),
        ...(str(b.containerId, 'containerId') !== undefined ? { containerId: b.containerId as string } : {}),
        ...(str(b.ifname, 'ifname') !== undefined ? { ifname: b.ifname as string } : {}),
        ...(str(b.netns, 'netns') !== undefined ? { netns: b.netns as string } : {}),
        ...(str(b.network, 'network') !== undefined ? { network: b.network as string } : {}),
      },
      ...(families !== undefined ? { families } : {}),
      ...(strList(b.pools, 'pools') !== undefined ? { pools: b.pools as string[] } : {}),
      ...(ips !== undefined ? { ips } : {}),
    };
    try {
      const got = await this.allocator.run(`assign ${handle}`, (t, pol, nowMs) => {
        try {
          return assign(t, pol, req, nowMs);
        } catch (err) {
          if (fromAnnotation === undefined || !(err instanceof TortieError) || !FIXED_REFUSALS.has(err.code)) throw err;
          throw ipamError(err.code as IpamErrorCodeValue, `annotation ${POD_IPS_ANNOTATION} of pod ${fromAnnotation}: ${err.message}`, err);
        }
      }, { freshIfNoWrite: true });
      for (const a of got) this.lastErrors.delete(a.pool);
      const fresh = got.filter((a) => !a.existing);
      if (fresh.length > 0) this.log.debug({ handle, ips: fresh.map((a) => a.address) }, 'assigned');
      return {
        handle,
        ips: got.map((a) => ({ address: a.address, family: familyName(a.family), cidr: a.hostCidr, block: a.block, pool: a.pool, borrowed: a.borrowed })),
      };
    } catch (err) {
      if (err instanceof IpamExhaustedError) {
        for (const p of err.pools) this.lastErrors.set(p, { atMs: this.now(), code: err.code, message: err.message });
        this.log.warn({ handle, pools: err.pools }, err.message);
      }
      throw err;
    }
  }

  /** The pod's annotations through the hook; a failing hook is ERR_IPAM_ANNOTATIONS_UNAVAILABLE. */
  private async podAnnotation(namespace: string, name: string): Promise<Readonly<Record<string, string>> | undefined> {
    try {
      return await this.opts.podAnnotations!(namespace, name);
    } catch (err) {
      throw ipamError(IpamErrorCode.AnnotationsUnavailable, `cannot read the annotations of pod ${namespace}/${name}: ${(err as Error).message}`, err);
    }
  }

  async release(body: unknown): Promise<IpamReleaseResponse> {
    const b = asObject(body);
    const ipText = str(b.ip, 'ip');
    const handle = requestHandle(b, ipText === undefined);
    let released: ReleasedIp[];
    if (ipText !== undefined) {
      const ip = parseIp(ipText.includes('/') ? ipText.slice(0, ipText.indexOf('/')) : ipText);
      if (ip === undefined) throw badRequest(`ip ${JSON.stringify(ipText)} is not an IP address`);
      released = await this.allocator.run(`release ${ipText}`, (t, pol, nowMs) => {
        const r = releaseAddress(t, pol, ip, nowMs, handle);
        if (r.length === 0) {
          throw ipamError(IpamErrorCode.AddressNotFound, `${ipText} is not allocated${handle !== undefined ? ` to ${handle}` : ''}`);
        }
        return r;
      });
    } else {
      const h = handle!;
      released = await this.allocator.run(`release ${h}`, (t, pol, nowMs) => {
        const r = releaseHandle(t, pol, h, nowMs);
        if (r.length === 0) throw ipamError(IpamErrorCode.HandleNotFound, `handle ${h} holds no address`);
        return r;
      });
    }
    this.log.debug({ released: released.map((r) => `${r.address} ${r.handle}`) }, 'released');
    return { released: released.map((r) => ({ address: r.address, handle: r.handle, block: r.block, node: r.node })) };
  }

  async allocations(handle: string): Promise<IpamAllocationView[]> {
    return this.allocator.run(`lookup ${handle}`, (t, pol) => {
      const out: IpamAllocationView[] = [];
      for (const v of t.withHandle(handle)) for (const a of v.doc.allocations) if (a.handle === handle) out.push(allocationView(v, a, pol));
      if (out.length === 0) throw ipamError(IpamErrorCode.HandleNotFound, `handle ${handle} holds no address`);
      return out;
    });
  }

  /** Re-reads the store so a view is current. */
  private async fresh(): Promise<void> {
    this.allocator.invalidate();
    this.lastListMs = this.now();
    await this.allocator.run('refresh', () => undefined);
  }

  async show(withAllocations: boolean): Promise<IpamShowView> {
    await this.fresh();
    const pol = this.policy;
    const now = this.now();
    const blocks = this.allocator.blocks.views();
    const records = await this.nodeRecords();
    const nodes: IpamNodeView[] = records.map((r) => ({
      name: r.name, lastSeen: new Date(r.lastSeenMs).toISOString(), blocks: blocks.filter((b) => b.doc.affinity === r.name).length,
    })).sort((a, b) => a.name.localeCompare(b.name));
    const view: IpamShowView = {
      node: this.opts.node,
      datastore: { kind: this.opts.store.kind, location: this.opts.store.location },
      strictAffinity: this.cfg.strictAffinity,
      releaseCooldownSec: this.cfg.releaseCooldownSec,
      gcGraceSec: this.cfg.gcGraceSec,
      reservations: [...this.cfg.reservations],
      pools: pol.pools.map((p) => {
        const v = poolView(p, blocks, pol);
        const e = this.lastErrors.get(p.name);
        if (e !== undefined) v.lastError = { at: new Date(e.atMs).toISOString(), code: e.code, message: e.message };
        return v;
      }),
      blocks: blocks.map((b) => blockView(b, pol, now)),
      borrowed: borrowedViews(blocks),
      nodes,
      originated: [...this.originated.blocks, ...this.originated.borrowed],
      stats: { ...this.allocator.stats },
    };
    if (withAllocations) view.allocations = blocks.flatMap((b) => b.doc.allocations.map((a) => allocationView(b, a, pol)));
    return view;
  }

  async check(body: unknown): Promise<IpamCheckView> {
    const b = asObject(body);
    const attachments = b.attachments === undefined ? undefined : parseAttachments(b.attachments, 'attachments');
    const network = str(b.network, 'network');
    await this.fresh();
    const pol = this.policy;
    const blocks = this.allocator.blocks.views();
    const nodes = new Map((await this.nodeRecords()).map((r) => [r.name, r.lastSeenMs]));
    nodes.set(this.opts.node, this.now());
    const clusterNodes = this.opts.liveNodes?.();
    const liveNodes = clusterNodes !== undefined ? new Set(clusterNodes).add(this.opts.node) : undefined;
    const liveness = new Map<string, { state: Liveness; reason?: string }>();
    const alive = this.opts.netnsAlive ?? pathExists;
    for (const v of this.allocator.blocks.views()) {
      for (const a of v.doc.allocations) {
        if (a.attrs.node !== this.opts.node || liveness.has(a.handle)) continue;
        if (network !== undefined && a.attrs.network !== undefined && a.attrs.network !== network) {
          liveness.set(a.handle, { state: 'unknown' });
        } else if (attachments !== undefined) {
          liveness.set(a.handle, attachments.has(a.handle) ? { state: 'alive' } : { state: 'dead', reason: 'no live attachment has this handle' });
        } else if (a.attrs.netns !== undefined) {
          const ok = await alive(a.attrs.netns);
          liveness.set(a.handle, ok ? { state: 'alive' } : { state: 'dead', reason: `its network namespace ${a.attrs.netns} is gone` });
        } else {
          liveness.set(a.handle, { state: 'unknown' });
        }
      }
    }
    const r = checkBlocks(blocks, pol, { nodes, liveness, nowMs: this.now(), ...(liveNodes !== undefined ? { liveNodes } : {}) });
    return {
      node: this.opts.node, checkedAt: new Date(this.now()).toISOString(), allocations: r.allocations,
      basis: attachments !== undefined ? 'attachments' : 'netns', nodeBasis: liveNodes !== undefined ? 'cluster' : 'records', leaks: r.leaks, orphanedBlocks: r.orphanedBlocks, unknown: r.unknown,
      ok: r.leaks.length === 0 && r.orphanedBlocks.length === 0,
    };
  }

  async gc(body: unknown): Promise<IpamGcResponse> {
    const b = asObject(body);
    if (b.validAttachments === undefined) throw badRequest('validAttachments is required (the CNI 1.1 cni.dev/valid-attachments list)');
    const valid = parseAttachments(b.validAttachments, 'validAttachments');
    const network = str(b.network, 'network');
    let graceSec = this.cfg.gcGraceSec;
    if (b.graceSec !== undefined) {
      if (typeof b.graceSec !== 'number' || !Number.isInteger(b.graceSec) || b.graceSec < 0) throw badRequest('graceSec must be a non-negative integer');
      graceSec = b.graceSec;
    }
    const node = this.opts.node;
    const r = await this.allocator.run('gc', (t, pol, nowMs) => {
      const released = collectGarbage(t, pol, { valid, graceMs: graceSec * 1000, ...(network !== undefined ? { network } : {}) }, nowMs);
      const releasedBlocks = releaseEmptyBlocks(t, pol, nowMs);
      const kept = t.heldBy(node).reduce((n, v) => n + v.doc.allocations.filter((a) => a.attrs.node === node).length, 0);
      return { released, releasedBlocks, kept };
    });
    if (r.released.length > 0) this.log.info({ released: r.released.map((x) => `${x.address} ${x.handle}`) }, 'GC released addresses');
    return { released: r.released.map((x) => ({ address: x.address, handle: x.handle, block: x.block, node: x.node })), releasedBlocks: r.releasedBlocks, kept: r.kept };
  }

  /**
   * For every node that has blocks, allocations or a node record but is not
   * in `liveNodes` (this node always counts as live): removes its empty
   * blocks and its node record; keeps, and reports, its blocks that still
   * hold allocations and every allocation made for it (ipam/node-gc.ts).
   * An empty `liveNodes` is refused (ERR_IPAM_BAD_REQUEST).
   */
  releaseNodesNotIn(liveNodes: ReadonlySet<string>, opts: ReleaseNodesOptions = {}): Promise<ReleaseNodesResult> {
    return releaseNodesNotIn({ node: this.opts.node, allocator: this.allocator, store: this.opts.store, log: this.log }, liveNodes, opts);
  }

  status(): IpamStatusView {
    const fams = availableFamilies(this.policy).map((f): IpamFamilyName => familyName(f));
    if (this.storeError !== undefined) return { ready: false, families: fams, message: `the IPAM datastore cannot be used: ${this.storeError}` };
    if (fams.length === 0) {
      return { ready: false, families: [], message: this.cfg.pools.length === 0 ? 'no IP pools are configured (ipam.pools)' : `no enabled pool selects node ${this.opts.node}` };
    }
    return { ready: true, families: fams, message: `ready: ${fams.join(', ')}` };
  }
}

function parseAttachments(v: unknown, name: string): Set<string> {
  if (!Array.isArray(v)) throw badRequest(`${name} must be a list of {containerId, ifname}`);
  const out = new Set<string>();
  for (const [i, x] of (v as unknown[]).entries()) {
    const o = x as Record<string, unknown> | null;
    if (o === null || typeof o !== 'object' || typeof o.containerId !== 'string' || typeof o.ifname !== 'string') {
      throw badRequest(`${name}[${i}] must be {containerId, ifname}`);
    }
    out.add(handleFor(o.containerId, o.ifname));
  }
  return out;
}

async function pathExists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}
