/**
 * tortie-ipam without a second process. When `ipam.type` is "tortie-ipam"
 * (and the config does not say `"ipamInProcess": false`), the plugin runs
 * tortie-ipam's own code (ipam/plugin/plugin.ts `runPlugin`, the very
 * function dist/bin/tortie-ipam's main calls) inside this process, with the
 * environment and stdin the exec protocol would have given it, and reads
 * back the same stdout and exit status. It saves one Node start-up per
 * command (the largest single cost of an ADD; see docs in cni/README.md).
 *
 * The agent is reached through agent-http.ts (node:net) instead of
 * tortie-ipam's node:http client: the same requests and the same
 * `AgentUnreachable` errors, for about 20 ms less CPU per invocation.
 *
 * The modules load on first use only (dynamic import: esbuild keeps them in
 * the bundle but evaluates them lazily), so host-local users load none of it.
 */
import { AgentHttpError, agentRequest } from '../lib/agent-http.js';
import type { ExecResult } from './host.js';

export const TORTIE_IPAM_TYPE = 'tortie-ipam';

export async function runTortieIpamInProcess(env: Record<string, string>, stdin: string): Promise<ExecResult> {
  const [{ runPlugin }, { AgentUnreachable }] = await Promise.all([import('../ipam/plugin/plugin.js'), import('../ipam/plugin/agent-client.js')]);
  const out = await runPlugin(env, stdin, (conf) => ({
    call: async (method, path, body) => {
      try {
        return await agentRequest(conf.socket, method, path, body, conf.timeoutMs);
      } catch (err) {
        if (err instanceof AgentHttpError) throw new AgentUnreachable(err.message, err.errno);
        throw err;
      }
    },
  }));
  return { code: out.exitCode, stdout: out.stdout, stderr: '' };
}
