/**
 * Names and MAC addresses derived from a pod's identity, so that every
 * invocation (ADD, CHECK, DEL, a retried ADD) computes the same ones.
 *
 * Host veth: `<prefix><hex>` with as many SHA-1 hex digits as fit in the
 * kernel's 15 characters. The hashed key is "<namespace>.<pod>" when the
 * runtime gave a Kubernetes identity, else the container ID; a CNI_IFNAME
 * other than eth0 is appended (".<ifname>") so a second attachment of the
 * same pod gets its own veth.
 */
import { interfaceNameProblem, type K8sIdentity } from './env.js';
import { sha1, sha1Hex, utf8Bytes } from './sha1.js';

/** Linux IFNAMSIZ - 1. */
export const MAX_IFNAME_LEN = 15;
/** The fewest hash digits we accept (prefix at most 15 - 6 = 9 chars). */
export const MIN_HASH_DIGITS = 6;

/** The string whose hash names the host veth. */
export function vethKey(containerId: string, ifname: string, k8s: K8sIdentity = {}): string {
  const base = k8s.namespace !== undefined && k8s.podName !== undefined ? `${k8s.namespace}.${k8s.podName}` : containerId;
  return ifname === 'eth0' ? base : `${base}.${ifname}`;
}

/** Why `prefix` cannot be a veth prefix, or undefined when it can. */
export function vethPrefixProblem(prefix: string): string | undefined {
  if (prefix === '') return 'is empty';
  if (prefix.length > MAX_IFNAME_LEN - MIN_HASH_DIGITS) return `is longer than ${MAX_IFNAME_LEN - MIN_HASH_DIGITS} characters`;
  if (!/^[a-zA-Z][a-zA-Z0-9_-]*$/.test(prefix)) return "must start with a letter and hold only letters, digits, '_' and '-'";
  return interfaceNameProblem(prefix);
}

/** `<prefix><sha1 hex of key>` cut to 15 characters. */
export function vethName(prefix: string, key: string): string {
  return `${prefix}${sha1Hex(key)}`.slice(0, MAX_IFNAME_LEN);
}

/**
 * A stable, locally administered unicast MAC for the pod's interface,
 * from the container ID and interface name: `02:` or another first octet
 * with bit 1 set and bit 0 clear, then five hash bytes.
 */
export function podMac(containerId: string, ifname: string): string {
  const h = sha1(utf8Bytes(`${containerId}/${ifname}`));
  const bytes = [(h[0] & 0xfc) | 0x02, h[1], h[2], h[3], h[4], h[5]];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Normalises a MAC ("AA-bb-..." → "aa:bb:..."); undefined when it is not a 48-bit unicast MAC. */
export function normaliseMac(mac: string): string | undefined {
  const m = /^([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})$/.exec(mac);
  if (!m) return undefined;
  const out = m.slice(1).map((b) => b.toLowerCase());
  if ((parseInt(out[0], 16) & 1) === 1) return undefined;
  return out.join(':');
}

/**
 * The host veth's `ifalias`, which marks the link as ours and names the
 * attachment it belongs to; DEL and GC read it back.
 */
export function attachmentAlias(containerId: string, ifname: string): string {
  return `tortie:${containerId}:${ifname}`;
}

/** Parses an alias written by attachmentAlias; undefined for anything else. */
export function parseAttachmentAlias(alias: string): { containerId: string; ifname: string } | undefined {
  const m = /^tortie:([a-zA-Z0-9][a-zA-Z0-9_.-]*):([^\s/:]{1,15})$/.exec(alias.trim());
  if (!m) return undefined;
  return { containerId: m[1], ifname: m[2] };
}
