/**
 * The CNI protocol, pure: environment, configs, results, versions, errors
 * and names. No Node APIs (type-checked with "types": []). See README.md.
 */
export * from './errors.js';
export * from './version.js';
export * from './env.js';
export * from './config.js';
export * from './result.js';
export * from './ip.js';
export * from './naming.js';
export { sha1Hex } from './sha1.js';
