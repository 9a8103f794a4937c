/**
 * GC (CNI 1.1): deletes every host veth that carries our alias but names an
 * attachment absent from `cni.dev/valid-attachments` (its /32 and /128
 * routes go with it), then passes the same config to the IPAM plugin's GC
 * when the plugin speaks 1.1.0. Links with our prefix but no tortie alias
 * are left alone: we cannot tell whose they are.
 */
import { CniError, CniErrorCode, parseAttachmentAlias } from './spec/index.js';
import { deleteLinks, linksWithAliases } from './attachment-links.js';
import { ipamCall, type CommandContext } from './context.js';
import { requireIpTools } from './ip-batch.js';
import { execIpam, ipamSupports11, requireIpamPlugin } from './ipam-exec.js';

export async function cmdGc(ctx: CommandContext): Promise<{ deleted: string[]; ipamDelegated: boolean }> {
  const { host, env, conf } = ctx;
  const valid = conf.net.validAttachments;
  if (valid === undefined) {
    throw new CniError(CniErrorCode.InvalidNetworkConfig, 'GC needs cni.dev/valid-attachments', 'field: cni.dev/valid-attachments');
  }
  const tools = requireIpTools(host);
  const ipamBinary = requireIpamPlugin(host, env, conf);
  const keep = new Set(valid.map((a) => `${a.containerID}\n${a.ifname}`));

  const stale = (await linksWithAliases(host, tools))
    .filter((l) => l.name.startsWith(conf.vethPrefix))
    .filter((l) => {
      const owner = parseAttachmentAlias(l.alias);
      return owner !== undefined && !keep.has(`${owner.containerId}\n${owner.ifname}`);
    })
    .map((l) => l.name);
  await deleteLinks(host, tools, stale);

  const call = ipamCall(ctx);
  const ipamDelegated = await ipamSupports11(call, ipamBinary);
  if (ipamDelegated) await execIpam(call, 'GC', ipamBinary);
  else ctx.warn(`IPAM plugin ${conf.ipam.type} does not speak CNI 1.1.0: its GC was skipped`);
  return { deleted: stale, ipamDelegated };
}
