/** What show and check report, from blocks: utilisation, borrowed addresses, advertised prefixes, leaks, orphaned blocks. */
import { expect } from 'chai';
import { assign } from './assign.js';
import { releaseHandle } from './release.js';
import { policy, TestTable } from './test-fixtures.js';
import { blockView, borrowedViews, checkBlocks, originatedFromCache, originatedPrefixes, poolView } from './view.js';

const POOLS = [{ name: 'tiny', cidr: '10.0.0.0/29', blockSize: 30 }];

function scenario(): TestTable {
  // node-a: 4 addresses (its block full) + 1 borrowed from node-b's block; node-b: 1 address.
  const t = new TestTable();
  const a = policy({ node: 'node-a', pools: POOLS, strictAffinity: false, reservations: [] });
  const b = policy({ node: 'node-b', pools: POOLS, strictAffinity: false });
  t.step((ws) => assign(ws, b, { handle: 'b0/eth0', attrs: { namespace: 'ns', pod: 'b0' } }, 1000));
  for (let i = 0; i < 5; i++) t.step((ws) => assign(ws, a, { handle: `a${i}/eth0`, attrs: { pod: `a${i}`, netns: `/run/netns/a${i}` } }, 2000));
  return t;
}

describe('ipam/core/view', () => {
  it('pool and block views count what is used, free, cooling and lent out', () => {
    const t = scenario();
    const pol = policy({ node: 'node-a', pools: POOLS, reservations: ['10.0.0.7'], cooldownMs: 10_000 });
    t.step((ws) => releaseHandle(ws, pol, 'b0/eth0', 5000));
    const views = t.cache.views();
    expect(poolView(pol.pools[0], views, pol)).to.deep.include({
      name: 'tiny', blocks: { total: '2', claimed: 2, thisNode: 1 },
      addresses: { total: '8', inClaimedBlocks: 8, used: 5, reserved: '1' }, blockUtilizationPct: 62.5,
    });
    const bv = views.map((v) => blockView(v, pol, 6000)).map(({ cidr, node, used, free, cooling, reserved, lentOut }) => ({ cidr, node, used, free, cooling, reserved, lentOut }));
    const aBlock = bv.find((x) => x.node === 'node-a')!;
    const bBlock = bv.find((x) => x.node === 'node-b')!;
    expect(aBlock).to.deep.include({ used: 4, free: 0, cooling: 0, lentOut: 0 });
    expect(bBlock).to.deep.include({ used: 1, cooling: 1, lentOut: 1 });
    expect(bBlock.free + bBlock.used + bBlock.reserved).to.equal(4);
  });

  it('borrowed addresses and advertised prefixes (from views and from the cache indexes alike)', () => {
    const t = scenario();
    const views = t.cache.views();
    const borrowed = borrowedViews(views);
    expect(borrowed).to.have.length(1);
    expect(borrowed[0]).to.deep.include({ node: 'node-a', blockNode: 'node-b', handle: 'a4/eth0' });
    for (const node of ['node-a', 'node-b', 'node-c']) {
      const want = originatedPrefixes(views, node);
      expect(originatedFromCache(t.cache, node), node).to.deep.equal({ blocks: [...want.blocks].sort(), borrowed: [...want.borrowed].sort() });
    }
    expect(originatedFromCache(t.cache, 'node-a').borrowed).to.deep.equal([`${borrowed[0].address}/32`]);
  });

  it('check: dead attachments, gone nodes, removed pools, new reservations', () => {
    const t = scenario();
    const pol = policy({ node: 'node-a', pools: POOLS, reservations: ['10.0.0.0/29'] });
    const liveness = new Map([
      ['a0/eth0', { state: 'alive' as const }],
      ['a1/eth0', { state: 'dead' as const, reason: 'its network namespace /run/netns/a1 is gone' }],
    ]);
    const r = checkBlocks(t.cache.views(), pol, { nodes: new Map([['node-a', 0]]), liveness, nowMs: 0 });
    const leaks = Object.fromEntries(r.leaks.map((l) => [l.handle, l.reason]));
    // Every node-a address is now reserved; a1 is also dead; b0 belongs to a node with no record.
    expect(leaks['a1/eth0']).to.equal('its network namespace /run/netns/a1 is gone; the address is now reserved');
    expect(leaks['a0/eth0']).to.equal('the address is now reserved');
    expect(leaks['b0/eth0']).to.equal('its node node-b is gone (no node record)');
    expect(r.orphanedBlocks.map((b) => [b.node, b.reason])).to.deep.equal([['node-b', 'its node node-b is gone (no node record)']]);
    expect(r.allocations).to.equal(6);
    expect(r.unknown).to.equal(3); // a2, a3, a4: no liveness given

    const noPool = checkBlocks(t.cache.views(), policy({ node: 'node-a', pools: [{ name: 'other', cidr: '10.9.0.0/24' }] }), {
      nodes: new Map([['node-a', 0], ['node-b', 0]]), liveness: new Map(), nowMs: 0,
    });
    expect(noPool.leaks.filter((l) => l.node === 'node-a').every((l) => l.reason === 'its block lies in no configured pool')).to.equal(true);
    expect(noPool.orphanedBlocks).to.deep.equal([]);

    // A node whose record has not been refreshed for longer than NODE_GONE_AFTER_MS counts as gone too.
    const stale = checkBlocks(t.cache.views(), policy({ node: 'node-a', pools: POOLS }), {
      nodes: new Map([['node-a', 3_600_000], ['node-b', 0]]), liveness: new Map(), nowMs: 3_600_000,
    });
    expect(stale.orphanedBlocks.map((b) => b.reason)).to.deep.equal(['its node node-b has not been seen for 60 minutes (since 1970-01-01T00:00:00.000Z)']);
  });
});
