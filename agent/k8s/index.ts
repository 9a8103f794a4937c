/** The Kubernetes layer of the agent: see README.md for what it does and how the agent wires it. */
export { ClusterSource, type ClusterListener, type ClusterSourceOptions, type ClusterState, type ClusterStatus } from './cluster-source.js';
export { applyClusterPeers, EMPTY_CLUSTER_PEERS, formatOrigin, type ClusterPeers, type MergedConfig, type PeerOrigin } from './merge-peers.js';
export { meshFromNodes, parseAsnAnnotation, type ClusterMeshMember, type MeshInput, type MeshResult } from './node-mesh.js';
export { selectBgpPeers, validateBgpPeer, type BgpPeerSelection, type SelectedBgpPeer } from './bgp-peers.js';
export { describeKubeError, Informer, DEFAULT_BACKOFF, type Backoff, type InformerOptions, type InformerStatus, type ListPage } from './informer.js';
export { KubePolicySource, type KubePolicySourceOptions, type PolicySourceState, type PolicySourceStatus } from './policy-source.js';
export { rawLister } from './raw-list.js';
export { ERR_K8S_NO_CONFIG, loadKubeConfig, type KubeConfigSource } from './kube-config.js';
export * from './types.js';
export { accessGrants, AGENT_API_ACCESS, type ApiAccess, type ApiComponent, type ApiVerb } from './access.js';
export { KubernetesDatastore, STORE_KINDS } from './store-k8s.js';
