/**
 * Where the agent finds the API server: a kubeconfig file when one is
 * given, else the in-cluster service account (KUBERNETES_SERVICE_HOST and
 * the token mounted at /var/run/secrets/kubernetes.io/serviceaccount).
 */
import { KubeConfig } from '@kubernetes/client-node';
import { TortieError } from '../../lib/errors.js';

export const ERR_K8S_NO_CONFIG = 'ERR_K8S_NO_CONFIG';

export interface KubeConfigSource {
  /** A kubeconfig file; wins over the in-cluster config. */
  readonly kubeconfig?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export function loadKubeConfig(src: KubeConfigSource = {}): KubeConfig {
  const env = src.env ?? process.env;
  const kc = new KubeConfig();
  try {
    if (src.kubeconfig !== undefined) kc.loadFromFile(src.kubeconfig);
    else if (env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
    else throw new Error('no kubeconfig given and not running in a pod (KUBERNETES_SERVICE_HOST is unset)');
  } catch (err) {
    throw new TortieError(ERR_K8S_NO_CONFIG, `cannot configure the Kubernetes client: ${(err as Error).message}`, { cause: err });
  }
  if (!kc.getCurrentCluster()) throw new TortieError(ERR_K8S_NO_CONFIG, 'the kubeconfig has no current cluster');
  return kc;
}
