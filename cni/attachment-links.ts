/**
 * Finding and deleting the host veths that belong to an attachment
 * (container ID + interface name), recognised by the ifalias ADD writes
 * (`tortie:<containerID>:<ifname>`). Used by ADD (stale veth of the same
 * pod), DEL and GC.
 */
import { CniError, CniErrorCode, parseAttachmentAlias } from './spec/index.js';
import type { Host } from './host.js';
import { listLinks, readAliasSysfs } from './host-links.js';
import { parseJsonLines, runIpBatch, type IpTools } from './ip-batch.js';

export interface AliasedLink {
  name: string;
  /** ifalias, '' when none. */
  alias: string;
}

interface IpLinkJson {
  ifname?: unknown;
  ifalias?: unknown;
}

function linksFromJson(value: unknown): AliasedLink[] {
  if (!Array.isArray(value)) return [];
  return (value as IpLinkJson[])
    .filter((l) => typeof l.ifname === 'string')
    .map((l) => ({ name: l.ifname as string, alias: typeof l.ifalias === 'string' ? l.ifalias : '' }));
}

/** Every link of this netns with its alias, from one `ip -json link show`. */
export async function linksWithAliases(host: Host, tools: IpTools): Promise<AliasedLink[]> {
  const r = await runIpBatch(host, tools, ['link show'], { json: true });
  if (!r.ok) throw new CniError(CniErrorCode.KernelFailed, `host: cannot list links: ${r.failure.message}`);
  return linksFromJson(parseJsonLines(r.stdout)[0]);
}

/**
 * The alias of one link: sysfs when it knows the link, else `ip`.
 * undefined when the link does not exist.
 */
export async function aliasOf(host: Host, tools: IpTools, name: string, known?: Set<string>): Promise<string | undefined> {
  const links = known ?? listLinks(host);
  if (!links.has(name)) return undefined;
  const fromSysfs = readAliasSysfs(host, name);
  if (fromSysfs !== undefined) return fromSysfs;
  const r = await runIpBatch(host, tools, [`link show dev ${name}`], { json: true });
  if (!r.ok) return undefined;
  return linksFromJson(parseJsonLines(r.stdout)[0])[0]?.alias ?? '';
}

export function aliasMatches(alias: string | undefined, containerId: string, ifname: string): boolean {
  const a = alias === undefined ? undefined : parseAttachmentAlias(alias);
  return a !== undefined && a.containerId === containerId && a.ifname === ifname;
}

/**
 * Deletes host links (one batch, -force). A link that is already gone is
 * fine; anything else is a CniError 103.
 */
export async function deleteLinks(host: Host, tools: IpTools, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  const lines = names.map((n) => `link del dev ${n}`);
  const r = await runIpBatch(host, tools, lines, { force: true });
  if (r.ok) return;
  const still = listLinks(host);
  const left = names.filter((n) => still.has(n));
  if (left.length > 0) throw new CniError(CniErrorCode.KernelFailed, `host: cannot delete ${left.join(', ')}: ${r.failure.message}`);
}
