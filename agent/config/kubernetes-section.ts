/**
 * The `kubernetes` section: whether this agent talks to a Kubernetes API
 * server (agent/k8s/README.md), how it finds it, and how it picks other
 * nodes' BGP addresses. Read with a position for every problem.
 */
import { Seen, readPrefixNode } from './common.js';
import { DEFAULTS, type KubernetesConfig } from './schema.js';
import type { Fields } from './yaml-reader.js';

export const KUBERNETES_FIELDS = ['enabled', 'kubeconfig', 'nodeAddressCidrs', 'nodeGcGraceSec'] as const;
/** Set in every pod by the kubelet: the agent runs in a cluster. */
export const ENV_KUBERNETES_SERVICE_HOST = 'KUBERNETES_SERVICE_HOST';
const MAX_SEC = 86_400;

/** `inCluster`: KUBERNETES_SERVICE_HOST is set, which makes `enabled` default to true. */
export function readKubernetes(f: Fields | undefined, inCluster: boolean): KubernetesConfig {
  const enabled = f?.bool('enabled') ?? inCluster;
  let kubeconfig = f?.str('kubeconfig', 'a kubeconfig file path');
  if (kubeconfig !== undefined && !kubeconfig.startsWith('/')) {
    f?.report('kubeconfig', `${JSON.stringify(kubeconfig)} is not an absolute path`);
    kubeconfig = undefined;
  }
  const nodeAddressCidrs: string[] = [];
  const list = f?.list('nodeAddressCidrs');
  if (f !== undefined && list !== undefined) {
    const seen = new Seen(f.reader);
    for (const item of list) {
      const p = readPrefixNode(f.reader, item.node, item.path);
      if (p !== undefined && seen.add(p, item.node ?? item.at, item.path, (first) => `${p} is listed twice (also ${first})`)) nodeAddressCidrs.push(p);
    }
  }
  const nodeGcGraceSec = f?.int('nodeGcGraceSec', 0, MAX_SEC, (v) => `${v} is out of range (0..${MAX_SEC} seconds)`) ?? DEFAULTS.kubernetesNodeGcGraceSec;
  return { enabled, ...(kubeconfig !== undefined ? { kubeconfig } : {}), nodeAddressCidrs, nodeGcGraceSec };
}
