/**
 * DEL: release the address and remove the veth, side by side. Idempotent:
 * a missing netns, link or allocation is success, and so is a second DEL
 * or one without prevResult.
 *
 * The veth is found by name (the hash of the pod identity, plus any host
 * interface prevResult names) and deleted only if its ifalias names this
 * very attachment: a late DEL of an older sandbox must not tear down the
 * veth of its successor, which has the same name. When no candidate
 * matches (say DEL came without the CNI_ARGS that ADD had), every link with
 * our prefix is checked. Deleting the host end deletes the pod end and the
 * host routes with it.
 */
import { ipamCall, type CommandContext } from './context.js';
import { aliasMatches, aliasOf, deleteLinks, linksWithAliases } from './attachment-links.js';
import { listLinks } from './host-links.js';
import { requireIpTools, type IpTools } from './ip-batch.js';
import { execIpam, requireIpamPlugin } from './ipam-exec.js';
import { forgetAttachment } from './policy-report.js';
import { hostVethName } from './wiring-plan.js';

export async function findAttachmentVeths(ctx: CommandContext, tools: IpTools, containerId: string, ifname: string): Promise<string[]> {
  const { host, conf } = ctx;
  const candidates = new Set<string>([hostVethName(conf, containerId, ifname)]);
  for (const itf of conf.net.prevResult?.interfaces ?? []) {
    if (itf.sandbox === undefined && itf.name.startsWith(conf.vethPrefix)) candidates.add(itf.name);
  }
  const links = listLinks(host);
  const found: string[] = [];
  for (const name of candidates) {
    if (aliasMatches(await aliasOf(host, tools, name, links), containerId, ifname)) found.push(name);
  }
  if (found.length > 0) return found;
  // Slow path: look at every link with our prefix.
  if (![...links].some((l) => l.startsWith(conf.vethPrefix))) return [];
  return (await linksWithAliases(host, tools))
    .filter((l) => l.name.startsWith(conf.vethPrefix) && aliasMatches(l.alias, containerId, ifname))
    .map((l) => l.name);
}

export async function cmdDel(ctx: CommandContext): Promise<void> {
  const { host, env, conf } = ctx;
  const containerId = env.containerId!;
  const ifname = env.ifname!;
  const tools = requireIpTools(host);
  const ipamBinary = requireIpamPlugin(host, env, conf);

  const [ipam, links] = await Promise.allSettled([
    forgetAttachment(ctx).then(() => execIpam(ipamCall(ctx), 'DEL', ipamBinary)),
    (async () => deleteLinks(host, tools, await findAttachmentVeths(ctx, tools, containerId, ifname)))(),
  ]);
  for (const outcome of [links, ipam]) {
    if (outcome.status === 'rejected') throw outcome.reason instanceof Error ? outcome.reason : new Error(String(outcome.reason));
  }
}
