/** combinedHealth: the one rule ClusterSource and KubePolicySource use for synced / stale. */
import { expect } from 'chai';
import { combinedHealth, type InformerStatus } from './informer.js';

const st = (o: Partial<InformerStatus>): InformerStatus => ({
  resource: 'r', synced: false, connected: false, missing: false, objects: 0, resourceVersion: '', lists: 0, restarts: 0, ...o,
});
const up = st({ synced: true, connected: true });
const down = st({ synced: true, connected: false });
const listing = st({});
const notServed = st({ missing: true });

describe('k8s informer: combinedHealth', () => {
  const cases: [string, InformerStatus[], { attempted: boolean; missingIsEmpty: boolean }, 'synced' | 'stale' | undefined][] = [
    ['all listed and watching', [up, up], { attempted: true, missingIsEmpty: false }, 'synced'],
    ['one cannot reach the API', [up, down], { attempted: true, missingIsEmpty: false }, 'stale'],
    ['still listing at start: no verdict, not stale', [up, listing], { attempted: false, missingIsEmpty: false }, undefined],
    ['never reached after start: stale', [up, listing], { attempted: true, missingIsEmpty: false }, 'stale'],
    ['a CRD not installed counts as empty', [up, notServed], { attempted: true, missingIsEmpty: true }, 'synced'],
    ['... unless missing resources are not allowed', [up, notServed], { attempted: true, missingIsEmpty: false }, 'stale'],
  ];
  for (const [name, s, o, want] of cases) it(name, () => expect(combinedHealth(s, o)).to.equal(want));
});
