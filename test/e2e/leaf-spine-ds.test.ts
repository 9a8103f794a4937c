/**
 * End-to-end on test/topologies/leaf-spine-ds.clab.yml: the leaf-spine lab
 * with IPv6 on every link and one IPv6 session beside every IPv4 session;
 * every check runs for both families. Needs root; see support/lab-suite.ts.
 */
import { describeLabSuite } from './support/lab-suite.js';

const RACK1 = ['r1n1', 'r1n2'];
const RACK2 = ['r2n1', 'r2n2'];
const each = (nodes: string[], path: number[] | null): Record<string, number[] | null> => Object.fromEntries(nodes.map((n) => [n, path]));
const paths = (nodes: string[], path: number[]): Record<string, number[]> => Object.fromEntries(nodes.map((n) => [n, path]));

describeLabSuite('e2e: dual-stack leaf-spine (IPv4 and IPv6 sessions, two racks, FRR and BIRD leaves, FRR spine, eBGP)', {
  file: 'test/topologies/leaf-spine-ds.clab.yml',
  families: [4, 6],
  pools: { 4: '10.244.0.0/16', 6: '2001:db8:244::/48' },
  podsPerNode: 2,
  holdTimeSec: 15,
  routerPaths: {
    leaf1: { ...paths(RACK1, [65101]), ...paths(RACK2, [65000, 65002, 65102]) },
    leaf2: { ...paths(RACK2, [65102]), ...paths(RACK1, [65000, 65001, 65101]) },
    spine: { ...paths(RACK1, [65001, 65101]), ...paths(RACK2, [65002, 65102]) },
  },
  nodePaths: {
    // A rack-mate's blocks return with the rack's own AS in the path: rejected, reached via the default route.
    r1n1: { r1n2: null, ...each(RACK2, [65001, 65000, 65002, 65102]) },
    r1n2: { r1n1: null, ...each(RACK2, [65001, 65000, 65002, 65102]) },
    r2n1: { r2n2: null, ...each(RACK1, [65002, 65000, 65001, 65101]) },
    r2n2: { r2n1: null, ...each(RACK1, [65002, 65000, 65001, 65101]) },
  },
  // r2n1's leaf is BIRD (the IPv4-only suite restarts a node under the FRR leaf).
  restart: { node: 'r2n1', from: ['r2n2', 'r1n1'] },
  stop: 'r1n1',
});
