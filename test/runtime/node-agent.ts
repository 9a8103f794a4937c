/**
 * The node's tortie-agent for the runtime tests: a standalone node (no BGP
 * peers) with one IPv4 pool in the local datastore, started inside the node
 * namespace from source (node + tsx's loader: one process, one PID), and
 * reached through its control socket.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ControlClient } from '../../agent/control-client.js';
import type { IpamShowView } from '../../ipam/api-types.js';
import { stopProcess } from '../support/node-mount-ns.js';
import { waitFor, type Topology, type TrackedProcess } from '../support/netns.js';
import { NODE_ADDR, REPO, type RuntimeNode } from './harness.js';

export interface NodeAgentOptions {
  nodeName: string;
  routeProtocol: number;
  poolCidr: string;
  blockSize: number;
  /** Put first on the agent's PATH (Node 24). */
  nodeBinDir: string;
}

export class NodeAgent {
  readonly dir: string;
  readonly controlSocket: string;
  readonly client: ControlClient;
  readonly proc: TrackedProcess;
  readonly nodeName: string;

  private constructor(dir: string, proc: TrackedProcess, nodeName: string) {
    this.dir = dir;
    this.controlSocket = join(dir, 'tortie.sock');
    this.client = new ControlClient(this.controlSocket, 5_000);
    this.proc = proc;
    this.nodeName = nodeName;
  }

  static async start(topo: Topology, rn: RuntimeNode, opts: NodeAgentOptions): Promise<NodeAgent> {
    const dir = join(topo.tmpDir, 'agent');
    mkdirSync(dir, { recursive: true });
    const configFile = join(dir, 'agent.yaml');
    writeFileSync(configFile, agentConfig(dir, opts));
    const loader = pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
    const proc = rn.node.spawn(process.execPath, ['--import', loader, join(REPO, 'agent/main.ts'), '--config', configFile], {
      logFile: join(dir, 'agent.log'),
      env: { PATH: `${opts.nodeBinDir}:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: '/root' },
    });
    const agent = new NodeAgent(dir, proc, opts.nodeName);
    await waitFor('the agent to serve its IPAM API', () => agent.client.get<unknown>('/v1/ipam/status'), {
      timeoutMs: 30_000,
      intervalMs: 200,
      failFast: () => (proc.running ? undefined : `the agent exited:\n${proc.logTail(40)}`),
      describe: () => `agent log:\n${proc.logTail(40)}`,
    });
    return agent;
  }

  /** This node's allocations as "address handle namespace/pod", so a leak names its pod. */
  async allocations(): Promise<string[]> {
    const view = await this.client.get<IpamShowView>('/v1/ipam/show?allocations=1');
    return (view.allocations ?? [])
      .filter((a) => a.node === this.nodeName)
      .map((a) => `${a.address} ${a.handle} ${a.namespace ?? ''}/${a.pod ?? ''}`)
      .sort();
  }

  stop(): Promise<void> {
    return stopProcess(this.proc, 5_000);
  }
}

function agentConfig(dir: string, o: NodeAgentOptions): string {
  return `node:
  name: ${o.nodeName}
  asn: 65001
  sourceAddress: ${NODE_ADDR}
bgp:
  listen: { address: ${NODE_ADDR}, port: 0 }
  nodeToNodeMesh: { enabled: false }
routes:
  protocol: ${o.routeProtocol}
paths:
  stateDir: ${dir}/state
  controlSocket: ${dir}/tortie.sock
ipam:
  datastore: { type: local, directory: ${dir}/ipam }
  pools:
    - { name: rt-pool, cidr: ${o.poolCidr}, blockSize: ${o.blockSize} }
metrics: { address: 127.0.0.1, port: 0 }
health: { address: 127.0.0.1, port: 0 }
`;
}
