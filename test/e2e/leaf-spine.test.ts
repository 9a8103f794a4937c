/**
 * End-to-end on test/topologies/leaf-spine.clab.yml: two racks (AS 65101 and
 * 65102) under an FRR leaf (AS 65001) and a BIRD leaf (AS 65002), one FRR
 * spine (AS 65000), all eBGP. Needs root; see test/e2e/support/lab-suite.ts.
 */
import { describeLabSuite } from './support/lab-suite.js';

const RACK1 = ['r1n1', 'r1n2'];
const RACK2 = ['r2n1', 'r2n2'];
const each = (nodes: string[], path: number[] | null): Record<string, number[] | null> => Object.fromEntries(nodes.map((n) => [n, path]));
const paths = (nodes: string[], path: number[]): Record<string, number[]> => Object.fromEntries(nodes.map((n) => [n, path]));

describeLabSuite('e2e: leaf-spine (two racks, FRR and BIRD leaves, FRR spine, eBGP)', {
  file: 'test/topologies/leaf-spine.clab.yml',
  families: [4],
  pools: { 4: '10.244.0.0/16' },
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
  // r1n2's leaf is FRR: its pods are pinged from the rack-mate and from the other rack.
  restart: { node: 'r1n2', from: ['r1n1', 'r2n1'] },
  stop: 'r2n2',
});
