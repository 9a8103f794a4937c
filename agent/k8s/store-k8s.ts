/**
 * The `kubernetes` IPAM datastore (ipam/core/datastore.ts): one cluster-scoped
 * custom resource per key, compare-and-swap on its resourceVersion.
 *
 *   key "blocks/<name>"      → IPAMBlock <name>      (ipamblocks.tortie.io)
 *   key "nodes/<name>"       → IPAMNode <name>       (ipamnodes.tortie.io)
 *
 * A block's affinity is a field of its IPAMBlock (agent/k8s/README.md), so
 * there is no separate affinity object.
 *
 * The object's spec is { key, value }: value is the stored JSON as written.
 * create maps "already exists" (409) to ERR_DATASTORE_CONFLICT; update sends
 * the revision as metadata.resourceVersion and delete sends it as a
 * precondition, so the API server refuses a stale writer with 409 (and a
 * vanished key with 404): both are ERR_DATASTORE_CONFLICT. Anything else that
 * fails is ERR_DATASTORE_UNAVAILABLE, and the caller must read again.
 */
import { ApiException, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { TortieError } from '../../lib/errors.js';
import { DatastoreErrorCode, isValidKey, type Datastore, type KeyRevision, type StoredValue } from '../../ipam/core/datastore.js';
import { describeKubeError } from './informer.js';
import { ACCEPT_METADATA_LIST, rawLister } from './raw-list.js';
import { CRD, crdPath, TORTIE_API_VERSION, TORTIE_GROUP, TORTIE_VERSION, type CrdNames } from './types.js';

/** Key kind (the segment before the first "/") → custom resource. */
export const STORE_KINDS: Readonly<Record<string, CrdNames>> = Object.freeze({
  blocks: CRD.IPAMBlock,
  nodes: CRD.IPAMNode,
});

/** A Kubernetes object name (RFC 1123 subdomain). */
const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

interface StoreObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; resourceVersion?: string };
  spec?: { key?: string; value?: unknown };
}

interface ListResult {
  items?: StoreObject[];
}

function badKey(key: string, why: string): TortieError {
  return new TortieError(DatastoreErrorCode.BadKey, `bad datastore key ${JSON.stringify(key)}: ${why}`);
}

function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

export class KubernetesDatastore implements Datastore {
  readonly kind = 'kubernetes';
  readonly location: string;
  private readonly api: CustomObjectsApi;

  constructor(private readonly kubeConfig: KubeConfig) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
    this.location = kubeConfig.getCurrentCluster()?.server ?? 'kubernetes';
  }

  private target(key: string): { crd: CrdNames; name: string } {
    if (!isValidKey(key)) throw badKey(key, 'not kind/name');
    const slash = key.indexOf('/');
    const kind = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const crd = STORE_KINDS[kind];
    if (crd === undefined) throw badKey(key, `kind ${JSON.stringify(kind)} is not one of ${Object.keys(STORE_KINDS).join(', ')}`);
    if (name.length > 253 || !NAME_RE.test(name)) throw badKey(key, `${JSON.stringify(name)} is not a Kubernetes object name`);
    return { crd, name };
  }

  private params(crd: CrdNames): { group: string; version: string; plural: string } {
    return { group: TORTIE_GROUP, version: TORTIE_VERSION, plural: crd.plural };
  }

  private stored(key: string, o: StoreObject): StoredValue {
    const revision = o.metadata?.resourceVersion;
    if (o.spec === undefined || !('value' in o.spec) || revision === undefined) {
      throw new TortieError(DatastoreErrorCode.Corrupt, `${key}: the object has no spec.value or resourceVersion`);
    }
    return { key, value: o.spec.value, revision };
  }

  private fail(op: string, key: string, err: unknown): TortieError {
    const code = statusOf(err);
    if ((op === 'create' && code === 409) || ((op === 'update' || op === 'delete') && (code === 409 || code === 404))) {
      return new TortieError(DatastoreErrorCode.Conflict, `${op} ${key}: ${code === 404 ? 'the key is gone' : 'compare-and-swap lost'} (${describeKubeError(err)})`, { cause: err });
    }
    return new TortieError(DatastoreErrorCode.Unavailable, `${op} ${key}: ${describeKubeError(err)}`, { cause: err });
  }

  private body(key: string, name: string, crd: CrdNames, value: unknown, resourceVersion?: string): StoreObject {
    return {
      apiVersion: TORTIE_API_VERSION,
      kind: crd.kind,
      metadata: { name, ...(resourceVersion !== undefined ? { resourceVersion } : {}) },
      spec: { key, value: JSON.parse(JSON.stringify(value)) as unknown },
    };
  }

  async get(key: string): Promise<StoredValue | undefined> {
    const { crd, name } = this.target(key);
    try {
      return this.stored(key, (await this.api.getClusterCustomObject({ ...this.params(crd), name })) as StoreObject);
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      if (err instanceof TortieError) throw err;
      throw this.fail('get', key, err);
    }
  }

  async list(prefix: string): Promise<StoredValue[]> {
    const kinds = Object.keys(STORE_KINDS).filter((k) => `${k}/`.startsWith(prefix) || prefix.startsWith(`${k}/`));
    const out: StoredValue[] = [];
    for (const kind of kinds) {
      const crd = STORE_KINDS[kind];
      let list: ListResult;
      try {
        list = (await this.api.listClusterCustomObject(this.params(crd))) as ListResult;
      } catch (err) {
        throw this.fail('list', prefix, err);
      }
      for (const o of list.items ?? []) {
        const key = `${kind}/${o.metadata?.name ?? ''}`;
        if (key.startsWith(prefix)) out.push(this.stored(key, o));
      }
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /**
   * Every key's resourceVersion, from a metadata-only list (no specs): the
   * allocator then gets only the blocks that changed. A resourceVersion
   * names one write of one object for good (etcd's revision), so equal
   * means unchanged.
   */
  async revisions(prefix: string): Promise<KeyRevision[]> {
    const kinds = Object.keys(STORE_KINDS).filter((k) => `${k}/`.startsWith(prefix) || prefix.startsWith(`${k}/`));
    const out: KeyRevision[] = [];
    for (const kind of kinds) {
      const list = rawLister<StoreObject & { metadata?: { name?: string; resourceVersion?: string } }>(
        this.kubeConfig, crdPath(STORE_KINDS[kind]), undefined, ACCEPT_METADATA_LIST,
      );
      let items: StoreObject[];
      try {
        items = (await list({})).items;
      } catch (err) {
        throw this.fail('list', prefix, err);
      }
      for (const o of items) {
        const key = `${kind}/${o.metadata?.name ?? ''}`;
        const revision = o.metadata?.resourceVersion;
        if (key.startsWith(prefix) && revision !== undefined) out.push({ key, revision });
      }
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async create(key: string, value: unknown): Promise<StoredValue> {
    const { crd, name } = this.target(key);
    try {
      return this.stored(key, (await this.api.createClusterCustomObject({ ...this.params(crd), body: this.body(key, name, crd, value) })) as StoreObject);
    } catch (err) {
      if (err instanceof TortieError) throw err;
      throw this.fail('create', key, err);
    }
  }

  async update(key: string, value: unknown, revision: string): Promise<StoredValue> {
    const { crd, name } = this.target(key);
    // An empty resourceVersion would make the API server write unconditionally.
    if (revision === '') throw new TortieError(DatastoreErrorCode.Conflict, `update ${key}: no revision given`);
    try {
      const body = this.body(key, name, crd, value, revision);
      return this.stored(key, (await this.api.replaceClusterCustomObject({ ...this.params(crd), name, body })) as StoreObject);
    } catch (err) {
      if (err instanceof TortieError) throw err;
      throw this.fail('update', key, err);
    }
  }

  async delete(key: string, revision: string): Promise<void> {
    const { crd, name } = this.target(key);
    if (revision === '') throw new TortieError(DatastoreErrorCode.Conflict, `delete ${key}: no revision given`);
    try {
      await this.api.deleteClusterCustomObject({ ...this.params(crd), name, body: { preconditions: { resourceVersion: revision } } });
    } catch (err) {
      throw this.fail('delete', key, err);
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
