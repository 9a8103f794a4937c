/**
 * tortie-ipam without a second process. When `ipam.type` is "tortie-ipam"
 * (and the config does not say `"ipamInProcess": false`), the plugin runs
 * tortie-ipam's own code (ipam/plugin/plugin.ts `runPlugin`, the very
 * function dist/bin/tortie-ipam's main calls) inside this process, with the
 * environment and stdin the exec protocol would have given it, and reads
 * back the same stdout and exit status. It saves one Node start-up per
 * command (the largest single cost of an ADD; see docs in cni/README.md).
 *
 * The modules load on first use only (dynamic import: esbuild keeps them in
 * the bundle but evaluates them lazily), so host-local users never load
 * node:http.
 */
import type { ExecResult } from './host.js';

export const TORTIE_IPAM_TYPE = 'tortie-ipam';

export async function runTortieIpamInProcess(env: Record<string, string>, stdin: string): Promise<ExecResult> {
  const [{ runPlugin }, { socketClient }] = await Promise.all([import('../ipam/plugin/plugin.js'), import('../ipam/plugin/agent-client.js')]);
  const out = await runPlugin(env, stdin, (conf) => socketClient(conf.socket, conf.timeoutMs));
  return { code: out.exitCode, stdout: out.stdout, stderr: '' };
}
