/**
 * The CNI set-ups every runtime test runs, cheapest diagnosis first:
 *   1. ptp + host-local (Debian's reference plugins): the control. It tests
 *      the harness (runtime, image, netns access), not tortie; when it fails,
 *      the harness is broken, not the plugin.
 *   2. tortie + host-local, no agent: the plugin on a node where no agent
 *      runs ("any IPAM plugin works").
 *   3. tortie + tortie-ipam with the node's agent: the full path of issue 6.
 *
 * The tortie plugins are the bundles the project ships (dist/bin, from
 * `npm run build`), copied into the runtime's CNI bin dir as a DaemonSet
 * would install them. They start with `#!/usr/bin/env node`: the runtime's
 * PATH begins with the project's Node 24 (node_modules/node/bin), and CNI
 * plugins inherit the runtime's environment.
 */
import { expect } from 'chai';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TortieError } from '../../lib/errors.js';
import type { Topology } from '../support/netns.js';
import { node24BinDir, REFERENCE_CNI_DIR, REPO, type Pod, type RuntimeNode } from './harness.js';
import { NodeAgent } from './node-agent.js';

export const ROUTE_PROTO = 201;
const TORTIE_BIN = join(REPO, 'dist/bin/tortie');
const TORTIE_IPAM_BIN = join(REPO, 'dist/bin/tortie-ipam');
/**
 * containerd 1.6 and podman 4.3 vendor libcni 1.1, which speaks CNI up to
 * 1.0.0: that is what a conflist on such a node says.
 */
const CONFLIST_CNI_VERSION = '1.0.0';

/** What one variant puts on the node before the runtime starts. */
export interface Prepared {
  plugins: Record<string, string>;
  conflist: { name: string } & Record<string, unknown>;
  pathPrefix?: string[];
  /** What the IPAM still holds for this node (must be empty after removal). */
  allocations(): Promise<string[]>;
  /** Checks right after both pods run (e.g. the agent's view of them). */
  checkAllocated?: (pods: Pod[]) => Promise<void>;
  /** Routes that may stay after the last pod (e.g. the agent's block blackhole). */
  ignoreRoute?: (route: string) => boolean;
  stop?: () => Promise<void>;
  logs?: () => string;
}

export interface Variant {
  title: string;
  subnet: string;
  /** Check the routed wiring of design.md (tortie) rather than ptp's. */
  routed: boolean;
  prepare(topo: Topology, rn: RuntimeNode): Promise<Prepared>;
}

function requireBundles(...bins: string[]): void {
  for (const bin of bins) if (!existsSync(bin)) throw new TortieError('ERR_TEST_PREREQ', `${bin} is missing: run \`npm run build\` first`);
}

/** host-local's files for its allocations (one per address) under dataDir/<network>. */
function hostLocalAllocations(dataDir: string, network: string): string[] {
  try {
    return readdirSync(join(dataDir, network)).filter((f) => /^[\d.]+$|:/.test(f));
  } catch {
    return [];
  }
}

function hostLocal(dataDir: string, subnet: string): object {
  return { type: 'host-local', ranges: [[{ subnet }]], dataDir };
}

export const VARIANTS: readonly Variant[] = [
  {
    title: 'reference ptp + host-local (the control: proves the harness)',
    subnet: '10.250.0.0/24',
    routed: false,
    prepare(topo) {
      const dataDir = join(topo.tmpDir, 'host-local');
      const name = 'tortie-rt-reference';
      return Promise.resolve({
        plugins: { ptp: join(REFERENCE_CNI_DIR, 'ptp'), 'host-local': join(REFERENCE_CNI_DIR, 'host-local') },
        conflist: { cniVersion: CONFLIST_CNI_VERSION, name, plugins: [{ type: 'ptp', ipMasq: false, ipam: hostLocal(dataDir, '10.250.0.0/24') }] },
        allocations: () => Promise.resolve(hostLocalAllocations(dataDir, name)),
      });
    },
  },
  {
    title: 'tortie + host-local, no agent on the node',
    subnet: '10.252.0.0/24',
    routed: true,
    async prepare(topo) {
      requireBundles(TORTIE_BIN);
      const dataDir = join(topo.tmpDir, 'host-local');
      const name = 'tortie-rt-host-local';
      return {
        plugins: { tortie: TORTIE_BIN, 'host-local': join(REFERENCE_CNI_DIR, 'host-local') },
        conflist: {
          cniVersion: CONFLIST_CNI_VERSION,
          name,
          plugins: [{ type: 'tortie', routeProtocol: ROUTE_PROTO, ipam: hostLocal(dataDir, '10.252.0.0/24') }],
        },
        pathPrefix: [await node24BinDir()],
        allocations: () => Promise.resolve(hostLocalAllocations(dataDir, name)),
      };
    },
  },
  {
    title: 'tortie + tortie-ipam with the node agent (issue 6)',
    subnet: '10.251.0.0/24',
    routed: true,
    async prepare(topo, rn) {
      requireBundles(TORTIE_BIN, TORTIE_IPAM_BIN);
      const nodeBinDir = await node24BinDir();
      const agent = await NodeAgent.start(topo, rn, { nodeName: 'rt-node', routeProtocol: ROUTE_PROTO, poolCidr: '10.251.0.0/24', blockSize: 28, nodeBinDir });
      return {
        plugins: { tortie: TORTIE_BIN, 'tortie-ipam': TORTIE_IPAM_BIN },
        conflist: {
          cniVersion: CONFLIST_CNI_VERSION,
          name: 'tortie-rt',
          plugins: [{ type: 'tortie', routeProtocol: ROUTE_PROTO, ipam: { type: 'tortie-ipam', socket: agent.controlSocket } }],
        },
        pathPrefix: [nodeBinDir],
        allocations: () => agent.allocations(),
        async checkAllocated(pods) {
          // The agent holds exactly these two, under the names the runtime put in CNI_ARGS.
          const held = await agent.allocations();
          expect(held.map((h) => `${h.split(' ')[0] ?? ''} ${h.split(' ')[2] ?? ''}`)).to.have.members(
            pods.map((p) => `${p.ip} ${p.k8s.namespace}/${p.k8s.name}`),
          );
        },
        // The node keeps its block, and the block's blackhole route, after its last pod goes.
        ignoreRoute: (r) => r.startsWith('blackhole ') && r.endsWith(` proto ${ROUTE_PROTO}`),
        stop: () => agent.stop(),
        logs: () => `--- agent log (tail)\n${agent.proc.logTail(30)}`,
      };
    },
  },
];

export function inCidr(ip: string, cidr: string): boolean {
  const toInt = (a: string): number => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const [base, len] = cidr.split('/');
  const size = 2 ** (32 - Number(len));
  return Math.floor(toInt(ip) / size) === Math.floor(toInt(base ?? '') / size);
}
