/**
 * A list request whose items stay the API server's JSON. client-node's
 * typed list methods pass every object through its model classes, which
 * rename fields that clash with TypeScript words (a NetworkPolicy ingress
 * rule's `from` becomes `_from`) and build a full object graph per item; a
 * watch event's object, by contrast, is the plain JSON. Reading lists raw
 * keeps the two paths identical for a converter (policy-source.ts) and
 * costs one JSON.parse per page. Same client, authentication and TLS as the
 * rest of client-node (KubeConfig.applySecurityAuthentication); a non-2xx
 * answer is an ApiException, as the typed methods throw.
 */
import {
  ApiException, createConfiguration, HttpMethod, ServerConfiguration, type KubeConfig, type KubernetesListObject, type KubernetesObject,
} from '@kubernetes/client-node';
import { TortieError } from '../../lib/errors.js';
import type { ListPage } from './informer.js';

/**
 * Accept header for a list of metadata only (names, resourceVersions; no
 * spec): meta.k8s.io/v1 PartialObjectMetadataList, served since 1.15.
 */
export const ACCEPT_METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';

/** Give up on one list page after this long (the informer retries with backoff). */
const LIST_TIMEOUT_MS = 60_000;

/**
 * A lister for Informer's `list` option: GET `path` (a collection, e.g.
 * /api/v1/pods) with the page's limit and continue, and `fieldSelector` if
 * given (the informer's watch must have the same one).
 */
export function rawLister<R extends KubernetesObject>(kubeConfig: KubeConfig, path: string, fieldSelector?: string, accept = 'application/json'): (page: ListPage) => Promise<KubernetesListObject<R>> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new TortieError('ERR_K8S_NO_CONFIG', 'the kubeconfig has no current cluster');
  const config = createConfiguration({ baseServer: new ServerConfiguration(cluster.server, {}) });
  return async (page) => {
    const ctx = config.baseServer.makeRequestContext(path, HttpMethod.GET);
    if (page.limit !== undefined) ctx.setQueryParam('limit', String(page.limit));
    if (page._continue !== undefined) ctx.setQueryParam('continue', page._continue);
    if (fieldSelector !== undefined) ctx.setQueryParam('fieldSelector', fieldSelector);
    ctx.setHeaderParam('Accept', accept);
    ctx.setSignal(AbortSignal.timeout(LIST_TIMEOUT_MS));
    await kubeConfig.applySecurityAuthentication(ctx);
    const rsp = await config.httpApi.send(ctx).toPromise();
    const text = await rsp.body.text();
    if (rsp.httpStatusCode < 200 || rsp.httpStatusCode > 299) {
      throw new ApiException<string>(rsp.httpStatusCode, `list ${path}: HTTP ${rsp.httpStatusCode}`, text, rsp.headers);
    }
    const list = JSON.parse(text) as KubernetesListObject<R>;
    if (!Array.isArray(list.items)) list.items = [];
    return list;
  };
}
