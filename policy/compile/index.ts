/** Pure policy compilation: Kubernetes objects -> chains and sets -> restore text. */
export * from './model.js';
export * from './cidr.js';
export { hash64 } from './hash.js';
export * from './selector.js';
export * from './validate.js';
export type * from './ir.js';
export * from './names.js';
export { skeletonOf, podSelectionOf, type PolicySkeleton, type RuleSpec, type PeerSpec } from './rules.js';
export { podCoreOf, resolveNamedPort, type NormPod, type PodIp } from './pods.js';
export { fixedChains, podChainSpecs, policyChainRules, type ChainMap } from './chains.js';
export { DispatchTree, FamilyTable } from './tables.js';
export * from './render.js';
export * from './save-parse.js';
export * from './compile.js';
export * from './show.js';
export * from './verify.js';
