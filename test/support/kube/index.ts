/** A real etcd + kube-apiserver on loopback for integration tests (see cluster.ts). */
export {
  ADMIN_USER, KubeCluster, kubeApiserverBinary, SERVICE_CLUSTER_IP_RANGE, type AuditEvent, type KubeClusterOptions, type KubeUser,
} from './cluster.js';
export { makePki, type KubePki } from './certs.js';
export { createManifests, readManifests, waitForCrds } from './apply.js';
export { ApiBridge } from './netns-bridge.js';
export { CHAOS_ANNOTATION, ResourceChaos } from './resource-chaos.js';
export { AGENT_USER, startAgentCluster, type AgentCluster } from './agent-cluster.js';
