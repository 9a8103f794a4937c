/**
 * STATUS (CNI 1.1): can this plugin serve ADD? It needs `ip` and `nsenter`
 * and the IPAM plugin in CNI_PATH (else 50); then the IPAM plugin's own
 * STATUS decides (tortie-ipam asks the agent whether it is reachable and
 * its pools have room). An IPAM plugin that predates 1.1.0 has no STATUS
 * and counts as available. IPAM errors other than 50/51 are reported as 50.
 */
import { CniError, CniErrorCode, asCniError } from './spec/index.js';
import { ipamCall, type CommandContext } from './context.js';
import { findIpTools } from './ip-batch.js';
import { execIpam, findPlugin, IN_PROCESS, ipamSupports11 } from './ipam-exec.js';
import { TORTIE_IPAM_TYPE } from './ipam-inprocess.js';

export async function cmdStatus(ctx: CommandContext): Promise<void> {
  const { host, env, conf } = ctx;
  const { missing } = findIpTools(host);
  if (missing.length > 0) throw new CniError(CniErrorCode.PluginNotAvailable, `plugin not available: missing ${missing.join(', ')}`);
  const ipamBinary = conf.ipamInProcess && conf.ipam.type === TORTIE_IPAM_TYPE ? IN_PROCESS : findPlugin(host, env.path, conf.ipam.type);
  if (ipamBinary === undefined) {
    throw new CniError(CniErrorCode.PluginNotAvailable, `plugin not available: IPAM plugin ${JSON.stringify(conf.ipam.type)} not found in CNI_PATH`, `CNI_PATH=${env.path.join(':')}`);
  }
  const call = ipamCall(ctx);
  if (!(await ipamSupports11(call, ipamBinary))) return;
  try {
    await execIpam(call, 'STATUS', ipamBinary);
  } catch (err) {
    const e = asCniError(err);
    if (e.cniCode === CniErrorCode.PluginNotAvailable || e.cniCode === CniErrorCode.LimitedConnectivity) throw e;
    throw new CniError(CniErrorCode.PluginNotAvailable, `plugin not available: ${e.message}`, e.details);
  }
}
