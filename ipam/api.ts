/**
 * The IPAM endpoints of the control API, as a route map the agent merges
 * into its control server's. Shapes: ipam/api-types.ts.
 */
import { TortieError } from '../lib/errors.js';
import type { IpamAllocationsResponse } from './api-types.js';
import type { IpamService } from './service.js';

export type IpamHandler = (url: URL, body: unknown) => unknown;

export function ipamRoutes(svc: () => IpamService): Record<string, IpamHandler> {
  return {
    'POST /v1/ipam/assign': (_url, body) => svc().assign(body),
    'POST /v1/ipam/release': (_url, body) => svc().release(body),
    'GET /v1/ipam/allocations': async (url): Promise<IpamAllocationsResponse> => {
      const handle = url.searchParams.get('handle');
      if (handle === null || handle === '') throw new TortieError('ERR_API_BAD_REQUEST', 'give ?handle=');
      return { allocations: await svc().allocations(handle) };
    },
    'GET /v1/ipam/show': (url) => svc().show(['1', 'true'].includes(url.searchParams.get('allocations') ?? '')),
    'GET /v1/ipam/check': () => svc().check(undefined),
    'POST /v1/ipam/check': (_url, body) => svc().check(body),
    'POST /v1/ipam/gc': (_url, body) => svc().gc(body),
    'GET /v1/ipam/status': () => svc().status(),
  };
}
