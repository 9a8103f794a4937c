/**
 * The command-line tools of a lab node, pointed at that node's own sockets:
 * tortiectl (the agent's control socket), vtysh (FRR's vty directory) and
 * birdc (BIRD's control socket). In a container these sockets sit at their
 * default paths; in the netns runner every node has its own under the lab's
 * state directory, so the tools need to be told where.
 */
import { join } from 'node:path';
import { TortieError } from '../lib/errors.js';
import { run, runIn, type RunOptions } from './command.js';
import { birdSocket, frrDir, labPath, toolArgv, tortiePaths } from './daemons.js';
import type { Lab } from './lab.js';

function nodeDir(lab: Lab, node: string): string {
  return join(lab.store.dir, lab.node(node).name);
}

/** argv for `lab exec`: a bare vtysh/birdc/tortiectl gets the node's socket added. */
export function execArgv(lab: Lab, node: string, argv: readonly string[]): string[] {
  const n = lab.node(node);
  const [cmd, ...rest] = argv;
  const dir = nodeDir(lab, node);
  if (cmd === 'vtysh' && n.role === 'frr') return ['vtysh', '--vty_socket', frrDir(dir), ...rest];
  if ((cmd === 'birdc' || cmd === 'birdcl') && n.role === 'bird') return [cmd, '-s', birdSocket(dir), ...rest];
  if (cmd === 'tortiectl' && n.role === 'tortie') return ['env', `PATH=${labPath()}`, ...toolArgv('tortiectl', lab.build), '--socket', tortiePaths(dir).socket, ...rest];
  return [...argv];
}

/** tortiectl on a tortie node; returns stdout. */
export async function tortiectl(lab: Lab, node: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  if (lab.node(node).role !== 'tortie') throw new TortieError('ERR_LAB_USAGE', `${node} is not a tortie node`);
  const argv = execArgv(lab, node, ['tortiectl', ...args]);
  const { stdout } = await run(argv[0], argv.slice(1), { timeoutMs: 15_000, ...opts });
  return stdout;
}

/** vtysh with one `-c` per command on an FRR node. */
export async function vtysh(lab: Lab, node: string, ...commands: string[]): Promise<string> {
  if (lab.node(node).role !== 'frr') throw new TortieError('ERR_LAB_USAGE', `${node} is not an FRR node`);
  const { stdout } = await run('vtysh', ['--vty_socket', frrDir(nodeDir(lab, node)), ...commands.flatMap((c) => ['-c', c])], { timeoutMs: 15_000 });
  return stdout;
}

/** birdc with one command line on a BIRD node. */
export async function birdc(lab: Lab, node: string, command: string): Promise<string> {
  if (lab.node(node).role !== 'bird') throw new TortieError('ERR_LAB_USAGE', `${node} is not a BIRD node`);
  const { stdout } = await run('birdc', ['-s', birdSocket(nodeDir(lab, node)), ...command.split(/\s+/).filter(Boolean)], { timeoutMs: 15_000 });
  return stdout;
}

/** The control socket of a tortie node's agent. */
export function agentSocket(lab: Lab, node: string): string {
  return tortiePaths(nodeDir(lab, node)).socket;
}

/** `ip -json route show` in a node, parsed. */
export async function kernelRoutes(lab: Lab, node: string, family: 4 | 6 = 4): Promise<KernelRoute[]> {
  const { stdout } = await runIn(lab.ns(node), 'ip', ['-json', `-${family}`, 'route', 'show']);
  return JSON.parse(stdout.trim() || '[]') as KernelRoute[];
}

export interface KernelRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  type?: string;
  scope?: string;
  nexthops?: { gateway?: string; dev?: string }[];
}
