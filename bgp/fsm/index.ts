/** The BGP session FSM (RFC 4271 §8): pure transitions; the session carries out the actions. */
export * from './types.js';
export { transition, type TransitionResult } from './transition.js';
export * from './peer-down-reason.js';
export * from './events.js';
export * from './hold-time.js';
export * from './open-checks.js';
export * from './collision.js';
export { parseBgpId } from './bgp-id.js';
