/**
 * Datastore keys and allocation handles.
 *
 * Keys are "<kind>/<name>" with names that are valid file names and valid
 * Kubernetes object names, so the local store (a directory per key) and the
 * CRD store (a kind and an object name) can both use them as they are:
 *
 *   blocks/10-244-0-64-26       the block 10.244.0.64/26
 *   blocks/fd00-244---80-122    the block fd00:244::80/122
 *   nodes/node-a                the node record of node-a
 *
 * An IPv4 block name has exactly four numbers and no "--"; an IPv6 one has
 * either seven single dashes between groups or a "--" (from "::"), so the two
 * never collide.
 *
 * A handle names one attachment: "<containerID>/<ifname>". CNI container IDs
 * and Linux interface names never contain "/", so it splits back uniquely.
 *
 * Pure.
 */

export const BLOCKS_PREFIX = 'blocks/';
export const NODES_PREFIX = 'nodes/';

export function blockKey(cidr: string): string {
  return BLOCKS_PREFIX + cidr.replace(/[.:/]/g, '-');
}

/** Node names outside [A-Za-z0-9._-] are escaped as _HH (UTF-8 bytes). */
export function nodeKey(name: string): string {
  let out = '';
  for (const c of name) {
    if (/[A-Za-z0-9.-]/.test(c)) out += c;
    else if (c === '_') out += '_5f';
    else out += encodeURIComponent(c).replace(/%([0-9A-F]{2})/g, (_m, h: string) => `_${h.toLowerCase()}`).replace(/[!'()*~]/g, (x) => `_${x.charCodeAt(0).toString(16)}`);
  }
  // "." and ".." are not names a store can hold.
  if (out === '.' || out === '..' || out === '') out = out.replace(/\./g, '_2e') || '_';
  return NODES_PREFIX + out;
}

export function handleFor(containerId: string, ifname: string): string {
  return `${containerId}/${ifname}`;
}

export function parseHandle(handle: string): { containerId: string; ifname: string } | undefined {
  const i = handle.lastIndexOf('/');
  if (i <= 0 || i === handle.length - 1) return undefined;
  return { containerId: handle.slice(0, i), ifname: handle.slice(i + 1) };
}
