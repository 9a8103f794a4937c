/**
 * The kernel route model, pure (no I/O; kernel-routes.ts runs the
 * commands), in three parts re-exported here:
 *
 *   route-model.ts  types, constants, canonical text, normalizeRoute, equality
 *   route-json.ts   parseIpJsonRoutes: `ip -json route show` → ours / unmanaged / foreign
 *   route-diff.ts   diffRoutes / diffPrefix and renderBatch: `ip -batch` lines
 */
export * from './route-model.js';
export * from './route-json.js';
export * from './route-diff.js';
