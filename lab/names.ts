/**
 * Names the netns runner gives to what it creates. Pure.
 *
 * Every namespace of lab L is `tl.L.<node>` (pods: `tl.L.<node>.<pod>`). Lab,
 * node and pod names cannot contain a dot, so the prefix `tl.L.` belongs to
 * lab L alone and `down` can find every namespace of a lab even when its
 * state directory is gone. The containerlab equivalent is the container
 * name `clab-L-<node>`.
 */
import { TortieError } from '../lib/errors.js';
import { NAME_RE } from './clab-file.js';

export const NS_PREFIX = 'tl';
export const STATE_ROOT = '/run/tortie-lab';

export function labPrefix(lab: string): string {
  return `${NS_PREFIX}.${lab}.`;
}

export function nodeNamespace(lab: string, node: string): string {
  return `${labPrefix(lab)}${node}`;
}

export function podNamespace(lab: string, node: string, pod: string): string {
  return `${labPrefix(lab)}${node}.${pod}`;
}

/** True when the namespace `ns` belongs to lab `lab` (a node's or a pod's). */
export function belongsToLab(ns: string, lab: string): boolean {
  return ns.startsWith(labPrefix(lab)) && ns.length > labPrefix(lab).length;
}

export function labStateDir(lab: string, root = STATE_ROOT): string {
  return `${root}/${lab}`;
}

export function checkName(what: string, name: string): void {
  if (!NAME_RE.test(name)) throw new TortieError('ERR_LAB_NAME', `${what} ${JSON.stringify(name)} must match ${NAME_RE.source}`);
}
