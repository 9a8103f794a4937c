/**
 * A chaos writer for compare-and-swap tests against a real API server: it
 * watches cluster-scoped custom resources and, after every write by someone
 * else, bumps that object's resourceVersion at once (an annotation change,
 * sent with the version it saw as a precondition). A writer that caches
 * versions, such as the IPAM allocator, then gets a real 409 Conflict on its
 * next write to the object, re-reads it and retries. Writes of its own are
 * recognised by the versions its updates returned and never answered, so it
 * provokes at most one conflict per foreign write and cannot starve a
 * retrying writer for good.
 *
 *   const chaos = new ResourceChaos(adminKubeConfig, 'tortie.io', 'v1alpha1', ['ipamblocks']);
 *   await chaos.start();
 *   ... writers run ...
 *   const { bumps } = await chaos.stop();
 */
import { ApiException, CustomObjectsApi, Watch, type KubeConfig } from '@kubernetes/client-node';
import { TortieError } from '../../../lib/errors.js';

interface Obj {
  metadata?: { name?: string; resourceVersion?: string; annotations?: Record<string, string> };
}

export const CHAOS_ANNOTATION = 'test.tortie.io/chaos';

export class ResourceChaos {
  /** Updates that went through (each a new resourceVersion). */
  bumps = 0;
  /** Updates the server refused (the object moved on first, or went away). */
  lost = 0;
  private readonly api: CustomObjectsApi;
  private readonly own = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly controllers: AbortController[] = [];
  private stopped = false;
  private failure: unknown;

  constructor(private readonly kc: KubeConfig, private readonly group: string, private readonly version: string, private readonly plurals: readonly string[]) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  /** Resolves once every watch is open (from the current version: objects as they are now are left alone). */
  async start(): Promise<void> {
    for (const plural of this.plurals) {
      const list = (await this.api.listClusterCustomObject({ group: this.group, version: this.version, plural })) as { metadata?: { resourceVersion?: string } };
      const watch = new Watch(this.kc);
      const controller = await watch.watch(`/apis/${this.group}/${this.version}/${plural}`, { resourceVersion: list.metadata?.resourceVersion ?? '0' }, (phase, obj: Obj) => {
        if (this.stopped || (phase !== 'ADDED' && phase !== 'MODIFIED')) return;
        const rv = obj.metadata?.resourceVersion;
        if (rv === undefined || this.own.delete(rv)) return;
        const p = this.bump(plural, obj).finally(() => this.inFlight.delete(p));
        this.inFlight.add(p);
      }, (err: unknown) => {
        if (!this.stopped && err !== null && err !== undefined) this.failure ??= err;
      });
      this.controllers.push(controller);
    }
  }

  private async bump(plural: string, obj: Obj): Promise<void> {
    const name = obj.metadata?.name ?? '';
    const body: Obj = { ...obj, metadata: { ...obj.metadata, annotations: { ...obj.metadata?.annotations, [CHAOS_ANNOTATION]: String(this.bumps + this.lost) } } };
    try {
      const res = (await this.api.replaceClusterCustomObject({ group: this.group, version: this.version, plural, name, body })) as Obj;
      this.bumps++;
      if (res.metadata?.resourceVersion !== undefined) this.own.add(res.metadata.resourceVersion);
    } catch (err) {
      const code = err instanceof ApiException ? err.code : undefined;
      if (code === 409 || code === 404) this.lost++;
      else this.failure ??= err;
    }
  }

  /** Stops watching, waits for updates in flight; throws if a watch or an update failed unexpectedly. */
  async stop(): Promise<{ bumps: number; lost: number }> {
    this.stopped = true;
    for (const c of this.controllers.splice(0)) c.abort();
    await Promise.all([...this.inFlight]);
    if (this.failure !== undefined) {
      const why = this.failure instanceof Error ? this.failure.message : JSON.stringify(this.failure);
      throw new TortieError('ERR_TEST_CHAOS', `chaos writer failed: ${why}`, { cause: this.failure });
    }
    return { bumps: this.bumps, lost: this.lost };
  }
}
