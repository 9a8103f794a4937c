/**
 * The RIB: normalized paths, the decision process, the Loc-RIB with its
 * per-peer Adj-RIB-In views, Adj-RIB-Out, export rules and policies. Pure:
 * no sockets, no clock, no randomness. See README.md in this folder.
 */
export * from './path.js';
export * from './best-path.js';
export * from './loc-rib.js';
export * from './adj-rib-in.js';
export * from './adj-rib-out.js';
export * from './export.js';
export * from './policy.js';
export * from './communities.js';
export { PrefixTable } from './prefix-table.js';
export { compareAddresses, parsePrefix, type ParsedPrefix } from './address.js';
