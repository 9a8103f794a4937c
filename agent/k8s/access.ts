/**
 * Every Kubernetes API access the agent makes, in one table. deploy/rbac.yaml
 * must grant exactly this (test/unit/k8s-manifests.test.ts checks it), and
 * test/integration/k8s-rbac.test.ts checks against the API server's audit log
 * that the code makes no request outside it. Code that adds an API call adds
 * its row here and its rule to deploy/rbac.yaml.
 */

export type ApiVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

/** The part of the agent that makes the calls; each has an integration test that checks its rows against an audit log. */
export type ApiComponent = 'cluster-source' | 'ipam-store' | 'policy';

export interface ApiAccess {
  readonly component: ApiComponent;
  /** '' for the core group. */
  readonly apiGroup: string;
  readonly resource: string;
  readonly verbs: readonly ApiVerb[];
  /** Who needs it. */
  readonly usedBy: string;
}

export const AGENT_API_ACCESS: readonly ApiAccess[] = Object.freeze([
  { component: 'cluster-source', apiGroup: '', resource: 'nodes', verbs: ['list', 'watch'], usedBy: 'mesh members from Node objects' },
  { component: 'cluster-source', apiGroup: 'tortie.io', resource: 'bgppeers', verbs: ['list', 'watch'], usedBy: 'BGPPeer peers' },
  { component: 'cluster-source', apiGroup: 'tortie.io', resource: 'bgpconfigurations', verbs: ['list', 'watch'], usedBy: 'mesh switch, default AS' },
  { component: 'cluster-source', apiGroup: 'tortie.io', resource: 'ippools', verbs: ['list', 'watch'], usedBy: 'IP pools (merged after the file\'s)' },
  { component: 'policy', apiGroup: '', resource: 'pods', verbs: ['list', 'watch'], usedBy: 'NetworkPolicy: pod labels, ports, IPs; the tortie.io/ip-addrs annotation (policy-source.ts)' },
  { component: 'policy', apiGroup: '', resource: 'namespaces', verbs: ['list', 'watch'], usedBy: 'NetworkPolicy: namespace labels (policy-source.ts)' },
  { component: 'policy', apiGroup: 'networking.k8s.io', resource: 'networkpolicies', verbs: ['list', 'watch'], usedBy: 'NetworkPolicy objects (policy-source.ts)' },
  ...(['ipamblocks', 'ipamnodes'] as const).map((resource): ApiAccess => ({
    component: 'ipam-store', apiGroup: 'tortie.io', resource, verbs: ['get', 'list', 'create', 'update', 'delete'],
    usedBy: 'the kubernetes IPAM datastore (store-k8s.ts)',
  })),
]);

/** The rows as "group/resource:verb" strings (what RBAC must grant, what the audit log may show). */
export function accessGrants(component?: ApiComponent): string[] {
  return AGENT_API_ACCESS.filter((a) => component === undefined || a.component === component)
    .flatMap((a) => a.verbs.map((v) => `${a.apiGroup}/${a.resource}:${v}`)).sort();
}
