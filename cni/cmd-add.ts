/**
 * ADD, top to bottom: checks that change nothing; IPAM; host batch; host
 * sysctls; pod batch; result. Every step that changes something first
 * pushes its undo, so a failure anywhere (or an injected one, see
 * fail-points.ts) leaves nothing behind: no link, no route, no allocation.
 */
import {
  CniError,
  CniErrorCode,
  asCniError,
  formatIp,
  parseAttachmentAlias,
  parseCidr,
  type CniResult,
  type IpAddress,
} from './spec/index.js';
import { aliasOf, deleteLinks } from './attachment-links.js';
import { ipamCall, type CommandContext } from './context.js';
import { FAILING_LINE, failIfAt } from './fail-points.js';
import { checkNetns, listLinks, uplinkMtu } from './host-links.js';
import { batchError, requireIpTools, runIpBatch } from './ip-batch.js';
import { execIpam, requireIpamPlugin } from './ipam-exec.js';
import { ensureSysctls } from './sysctls.js';
import { reportAttachment } from './policy-report.js';
import { UndoStack } from './undo-stack.js';
import { hostVethName, planWiring, type Attachment } from './wiring-plan.js';

/** The pod's addresses in an IPAM result: unique, in order. */
export function addressesOf(result: CniResult): IpAddress[] {
  const out: IpAddress[] = [];
  const seen = new Set<string>();
  for (const ip of result.ips ?? []) {
    const p = parseCidr(ip.address);
    if (!p) continue;
    const key = p.address.bytes.join('.');
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p.address);
  }
  return out;
}

export async function cmdAdd(ctx: CommandContext): Promise<CniResult> {
  const { host, env, conf } = ctx;
  const att: Attachment = { containerId: env.containerId!, ifname: env.ifname!, netns: env.netns! };

  // ---- 1. checks that change nothing
  checkNetns(host, att.netns);
  const tools = requireIpTools(host);
  const ipamBinary = requireIpamPlugin(host, env, conf);
  const hostVeth = hostVethName(conf, att.containerId, att.ifname);
  const links = listLinks(host);
  let replaceStaleVeth = false;
  if (links.has(hostVeth)) {
    const alias = (await aliasOf(host, tools, hostVeth, links)) ?? '';
    const owner = parseAttachmentAlias(alias);
    if (owner === undefined) {
      throw new CniError(CniErrorCode.InterfaceExists, `host interface ${hostVeth} exists and is not a tortie veth`, `ifalias: ${JSON.stringify(alias)}`);
    }
    if (owner.containerId === att.containerId && owner.ifname === att.ifname) {
      throw new CniError(CniErrorCode.InterfaceExists, `attachment ${att.containerId}/${att.ifname} already exists (host veth ${hostVeth}); DEL it first`);
    }
    // The same pod identity hashes to the same name: an older sandbox of this pod. Replace it.
    replaceStaleVeth = true;
    ctx.warn(`replacing ${hostVeth} of an older sandbox (${owner.containerId}/${owner.ifname})`);
  }
  const mtu = conf.mtu ?? uplinkMtu(host).mtu;
  ctx.mark('checks');

  const undo = new UndoStack();
  try {
    // ---- 2. IPAM
    // A failed IPAM ADD has cleaned up after itself (spec); a successful one is undone by DEL.
    const call = ipamCall(ctx);
    const ipamResult = (await execIpam(call, 'ADD', ipamBinary))!;
    undo.push(`ipam ${conf.ipam.type} DEL`, async () => {
      await execIpam(call, 'DEL', ipamBinary);
    });
    ctx.mark('ipam');
    const addresses = addressesOf(ipamResult);
    if (addresses.length === 0) throw new CniError(CniErrorCode.IpamFailed, `IPAM plugin ${conf.ipam.type} returned no address`);
    failIfAt(ctx.failAt, 'after-ipam');

    const plan = planWiring({
      conf,
      attachment: att,
      addresses,
      extraRoutes: ipamResult.routes ?? [],
      dns: ipamResult.dns ?? conf.net.dns,
      mtu,
      replaceStaleVeth,
      cniVersion: conf.net.cniVersion,
    });

    // ---- 3. host side: veth (peer created straight in the pod netns), alias, up, gateway, routes
    undo.push(`delete ${plan.hostVeth}`, () => deleteLinks(host, tools, [plan.hostVeth]));
    const hostLines = ctx.failAt === 'host-batch' ? [...plan.hostLines, FAILING_LINE] : plan.hostLines;
    const hostRun = await runIpBatch(host, tools, hostLines);
    if (!hostRun.ok) {
      const err = batchError('host', hostRun.failure);
      if (err.cniCode === CniErrorCode.InterfaceExists) {
        throw new CniError(CniErrorCode.InterfaceExists, `interface ${att.ifname} already exists in ${att.netns}`, hostRun.failure.message);
      }
      if (ctx.failAt === 'host-batch' && hostRun.failure.line === FAILING_LINE) failIfAt(ctx.failAt, 'host-batch');
      throw err;
    }
    failIfAt(ctx.failAt, 'after-host');
    ctx.mark('host-batch');

    // ---- 4. host sysctls: node-wide forwarding first (set if off, never undone), then the
    // veth's own (gone with the link). Only values that differ are written: a write to a
    // `forwarding` sysctl spins (rtnl_trylock + restart_syscall) while any other process
    // holds the rtnl lock, as parallel ADDs creating veths do; a veth created on a
    // forwarding node already inherits forwarding=1.
    ensureSysctls(host, plan.globalSysctls);
    ensureSysctls(host, plan.hostSysctls);
    failIfAt(ctx.failAt, 'after-sysctl');
    ctx.mark('sysctls');

    // ---- 5. pod side: addresses, up, gateway routes
    const podLines = ctx.failAt === 'pod-batch' ? [...plan.podLines, FAILING_LINE] : plan.podLines;
    const podRun = await runIpBatch(host, tools, podLines, { netns: att.netns });
    if (!podRun.ok) {
      if (ctx.failAt === 'pod-batch' && podRun.failure.line === FAILING_LINE) failIfAt(ctx.failAt, 'pod-batch');
      throw batchError('pod', podRun.failure);
    }
    failIfAt(ctx.failAt, 'after-pod');
    ctx.mark('pod-batch');

    // ---- 6. NetworkPolicy: the agent learns the attachment; wait (bounded) for its rules
    const reported = await reportAttachment(ctx, plan.hostVeth, addresses.map((a) => formatIp(a)));
    if (reported) undo.push('policy: forget the attachment', () => reported.undo());
    ctx.mark('policy');

    undo.commit();
    return plan.result;
  } catch (err) {
    const failures = await undo.unwind();
    if (failures.length === 0) throw err;
    const e = asCniError(err);
    const details = [e.details, `rollback incomplete: ${failures.join('; ')}`].filter((d) => d !== undefined && d !== '').join('; ');
    throw new CniError(e.cniCode, e.message, details, { cause: err });
  }
}
