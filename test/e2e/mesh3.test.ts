/**
 * End-to-end on test/topologies/mesh3.clab.yml: three tortie nodes in one AS
 * with the node-to-node iBGP full mesh on one LAN, no router. Needs root;
 * see test/e2e/support/lab-suite.ts.
 */
import { describeLabSuite } from './support/lab-suite.js';

describeLabSuite('e2e: mesh3 (three nodes, iBGP full mesh)', {
  file: 'test/topologies/mesh3.clab.yml',
  families: [4],
  pools: { 4: '10.244.0.0/16' },
  podsPerNode: 2,
  holdTimeSec: 15,
  // No routers: the nodes' own tables are the only BGP tables.
  routerPaths: {},
  nodePaths: {
    'node-a': { 'node-b': [], 'node-c': [] },
    'node-b': { 'node-a': [], 'node-c': [] },
    'node-c': { 'node-a': [], 'node-b': [] },
  },
  restart: { node: 'node-b', from: ['node-a', 'node-c'] },
  stop: 'node-c',
});
