/**
 * Putting deploy/ manifests into a test cluster through client-node, and
 * waiting for CRDs to be served.
 */
import { readFileSync } from 'node:fs';
import { ApiextensionsV1Api, KubernetesObjectApi, loadAllYaml, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { TortieError } from '../../../lib/errors.js';
import { sleep } from '../netns.js';

/**
 * The objects in YAML files (every document, anchors resolved), as
 * client-node model objects. They must be: KubernetesObjectApi serialises by
 * the models' field names, and a plain object's JSON-only names (such as
 * `x-kubernetes-preserve-unknown-fields`) would silently vanish.
 */
export function readManifests(files: readonly string[]): KubernetesObject[] {
  const out: KubernetesObject[] = [];
  for (const f of files) {
    try {
      for (const obj of loadAllYaml(readFileSync(f, 'utf8')) as (KubernetesObject | null)[]) if (obj !== null) out.push(obj);
    } catch (err) {
      throw new TortieError('ERR_TEST_PREREQ', `${f}: ${(err as Error).message}`, { cause: err });
    }
  }
  return out;
}

/** Creates every object (the API server validates each one); CRDs are then waited for until Established. */
export async function createManifests(kc: KubeConfig, objects: readonly KubernetesObject[], timeoutMs = 60_000): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  for (const o of objects) await api.create(o);
  const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata?.name ?? '');
  if (crds.length > 0) await waitForCrds(kc, crds, timeoutMs);
}

export async function waitForCrds(kc: KubeConfig, names: readonly string[], timeoutMs = 60_000): Promise<void> {
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const crd = await ext.readCustomResourceDefinition({ name });
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new TortieError('ERR_TEST_TIMEOUT', `CRD ${name} not Established after ${timeoutMs} ms`);
      await sleep(100);
    }
  }
}
