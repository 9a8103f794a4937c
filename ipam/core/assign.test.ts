/**
 * Assign and release as pure functions over a block table: order, claiming,
 * cooldown, fixed addresses, borrowing, exhaustion, GC, empty blocks.
 *
 * With 4 blocks in 10.0.0.0/24 (/26), node-a starts claiming at block 3
 * (10.0.0.192/26) and node-b at block 2 (10.0.0.128/26): claimStart is
 * FNV-1a of the node name (see block.test.ts).
 */
import { expect } from 'chai';
import { assign, type AssignInput } from './assign.js';
import { parseIp } from './ip.js';
import { collectGarbage, releaseAddress, releaseEmptyBlocks, releaseHandle } from './release.js';
import { policy, TestTable, type PolicyInput } from './test-fixtures.js';

const req = (handle: string, extra: Partial<AssignInput> = {}): AssignInput => ({ handle, attrs: {}, ...extra });
const ip = (s: string) => parseIp(s)!;

function addrs(t: TestTable, pol: PolicyInput, n: number, prefix = 'c', nowMs = 0): string[] {
  const p = policy(pol);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(t.step((ws) => assign(ws, p, req(`${prefix}${i}/eth0`), nowMs)).map((a) => a.address).join(','));
  return out;
}

describe('ipam/core/assign', () => {
  it('claims the node\'s first block and hands out ordinals in order', () => {
    const t = new TestTable();
    expect(addrs(t, {}, 3)).to.deep.equal(['10.0.0.192', '10.0.0.193', '10.0.0.194']);
    const blocks = t.cache.views().map((b) => [b.doc.cidr, b.doc.affinity]);
    expect(blocks).to.deep.equal([['10.0.0.192/26', 'node-a']]);
  });

  it('claims the next block (wrapping) when its blocks are full', () => {
    const t = new TestTable();
    const got = addrs(t, { pools: [{ cidr: '10.0.0.0/24', blockSize: 30 }] }, 6); // 4-address blocks
    expect(new Set(got).size).to.equal(6);
    expect(t.cache.size).to.equal(2);
  });

  it('is idempotent per handle (a retried ADD gets the same address)', () => {
    const t = new TestTable();
    const p = policy();
    const a = t.step((ws) => assign(ws, p, req('x/eth0'), 0));
    const b = t.step((ws) => assign(ws, p, req('x/eth0'), 0));
    expect(b.map((x) => [x.address, x.existing])).to.deep.equal([[a[0].address, true]]);
    expect(t.cache.views()[0].doc.allocations).to.have.length(1);
  });

  it('gives one address per family, dual-stack by default', () => {
    const t = new TestTable();
    const p = policy({ pools: [{ cidr: '10.0.0.0/24' }, { cidr: 'fd00::/120', blockSize: 122 }] });
    const got = t.step((ws) => assign(ws, p, req('x/eth0'), 0));
    expect(got.map((a) => [a.family, a.hostCidr.endsWith('/32') || a.hostCidr.endsWith('/128')])).to.deep.equal([[4, true], [6, true]]);
    const only6 = t.step((ws) => assign(ws, p, req('y/eth0', { families: [6] }), 0));
    expect(only6.map((a) => a.family)).to.deep.equal([6]);
  });

  it('does not reuse a released address while it cools down', () => {
    const t = new TestTable();
    const pol = { cooldownMs: 60_000 };
    const p = policy(pol);
    addrs(t, pol, 3, 'c', 1000); // .192 .193 .194
    t.step((ws) => releaseHandle(ws, p, 'c1/eth0', 2000)); // .193 cools
    expect(addrs(t, pol, 1, 'd', 3000)).to.deep.equal(['10.0.0.195']);
    expect(addrs(t, pol, 1, 'e', 62_000)).to.deep.equal(['10.0.0.193']); // cooled
  });

  it('reuses the oldest cooling address only when nothing else is left', () => {
    const t = new TestTable();
    const pol: PolicyInput = { pools: [{ cidr: '10.0.0.0/30', blockSize: 30 }], cooldownMs: 60_000 };
    const p = policy(pol);
    addrs(t, pol, 4, 'c', 0);
    t.step((ws) => releaseHandle(ws, p, 'c2/eth0', 100));
    t.step((ws) => releaseHandle(ws, p, 'c0/eth0', 200));
    expect(addrs(t, pol, 2, 'd', 300)).to.deep.equal(['10.0.0.2', '10.0.0.0']);
  });

  it('skips reserved addresses and wholly reserved blocks', () => {
    const t = new TestTable();
    const pol: PolicyInput = { reservations: ['10.0.0.192/26', '10.0.0.0', '10.0.0.2/31'] };
    expect(addrs(t, pol, 3)).to.deep.equal(['10.0.0.1', '10.0.0.4', '10.0.0.5']);
    expect(t.cache.views().map((b) => b.doc.cidr)).to.deep.equal(['10.0.0.0/26']);
  });

  it('works in a huge IPv6 pool', () => {
    const t = new TestTable();
    const got = addrs(t, { pools: [{ cidr: 'fd00:244::/64', blockSize: 122 }] }, 2);
    expect(got).to.have.length(2);
    expect(got[0]).to.match(/^fd00:244::/);
    expect(t.cache.views()[0].doc.cidr).to.match(/\/122$/);
  });

  describe('exhaustion', () => {
    it('strict affinity: names the pool and says no free block and borrowing disabled', () => {
      const t = new TestTable();
      const pool = { name: 'tiny', cidr: '10.0.0.0/29', blockSize: 30 };
      addrs(t, { node: 'node-b', pools: [pool] }, 4, 'b');
      addrs(t, { node: 'node-a', pools: [pool] }, 4, 'a');
      let err: unknown;
      try {
        addrs(t, { node: 'node-a', pools: [pool] }, 1, 'x');
      } catch (e) {
        err = e;
      }
      expect(err).to.have.property('code', 'ERR_IPAM_POOL_EXHAUSTED');
      const msg = (err as Error).message;
      expect(msg).to.include('pool tiny (10.0.0.0/29, /30 blocks)');
      expect(msg).to.include('no free block (all 2 blocks are claimed (1 by node-a, 1 by other nodes))');
      expect(msg).to.include('borrowing from other nodes\' blocks is disabled (ipam.strictAffinity is true)');
      expect(err).to.have.deep.property('pools', ['tiny']);
    });

    it('without strict affinity: borrows from another node\'s block, then says they are full too', () => {
      const t = new TestTable();
      const pool = { name: 'tiny', cidr: '10.0.0.0/29', blockSize: 30 };
      addrs(t, { node: 'node-b', pools: [pool] }, 2, 'b'); // node-b's block keeps 2 free
      addrs(t, { node: 'node-a', pools: [pool] }, 4, 'a');
      const p = policy({ node: 'node-a', pools: [pool], strictAffinity: false });
      const got = t.step((ws) => assign(ws, p, req('borrow/eth0'), 0));
      expect(got[0]).to.deep.include({ borrowed: true });
      expect(got[0].block).to.not.equal(t.cache.views().find((b) => b.doc.affinity === 'node-a')?.doc.cidr);
      t.step((ws) => assign(ws, p, req('borrow2/eth0'), 0));
      expect(() => t.step((ws) => assign(ws, p, req('none/eth0'), 0))).to.throw('the other nodes\' blocks are full too')
        .with.property('code', 'ERR_IPAM_POOL_EXHAUSTED');
    });

    it('no pool for the node: ERR_IPAM_NO_POOL with the reasons', () => {
      const t = new TestTable();
      const p = policy({ labels: { zone: 'a' }, pools: [{ name: 'b-only', cidr: '10.0.0.0/24', nodeSelector: 'zone == "b"' }, { name: 'off', cidr: '10.1.0.0/24', disabled: true }] });
      expect(() => t.step((ws) => assign(ws, p, req('x/eth0'), 0))).to.throw('b-only: nodeSelector zone == "b" does not select this node; off: disabled')
        .with.property('code', 'ERR_IPAM_NO_POOL');
      const none = policy({ pools: [] });
      expect(() => t.step((ws) => assign(ws, none, req('x/eth0'), 0))).to.throw('no IP pools are configured').with.property('code', 'ERR_IPAM_NO_POOL');
    });
  });

  describe('fixed addresses', () => {
    const base: PolicyInput = { pools: [{ name: 'main', cidr: '10.0.0.0/24' }, { name: 'off', cidr: '10.9.0.0/24', disabled: true }], reservations: ['10.0.0.10'] };
    const cases: { name: string; pre?: [string, string][]; preNode?: string; pol?: PolicyInput; ip: string; handle?: string; code?: string; has?: string; want?: { address: string; borrowed: boolean } }[] = [
      { name: 'a free address in a new block: claims the block', ip: '10.0.0.70', want: { address: '10.0.0.70', borrowed: false } },
      { name: 'already taken by another handle', pre: [['other/eth0', '10.0.0.70']], ip: '10.0.0.70', code: 'ERR_IPAM_ADDRESS_IN_USE', has: 'already allocated to other/eth0' },
      { name: 'taken by the same handle: the same answer', pre: [['me/eth0', '10.0.0.70']], ip: '10.0.0.70', handle: 'me/eth0', want: { address: '10.0.0.70', borrowed: false } },
      { name: 'the handle holds another address', pre: [['me/eth0', '10.0.0.71']], ip: '10.0.0.70', handle: 'me/eth0', code: 'ERR_IPAM_ADDRESS_IN_USE', has: 'already holds 10.0.0.71' },
      { name: 'outside every pool', ip: '192.0.2.1', code: 'ERR_IPAM_ADDRESS_NOT_IN_POOL', has: 'not in any IP pool' },
      { name: 'reserved', ip: '10.0.0.10', code: 'ERR_IPAM_ADDRESS_RESERVED', has: 'reserved (ipam.reservations: 10.0.0.10/32)' },
      { name: 'in a disabled pool', ip: '10.9.0.1', code: 'ERR_IPAM_POOL_DISABLED', has: 'pool off, which is disabled' },
      { name: 'in another node\'s block, strict', pre: [['b/eth0', '10.0.0.65']], preNode: 'node-b', ip: '10.0.0.70', code: 'ERR_IPAM_ADDRESS_AFFINE_ELSEWHERE', has: 'belongs to node node-b' },
      { name: 'in another node\'s block, not strict: borrowed', pre: [['b/eth0', '10.0.0.65']], preNode: 'node-b', pol: { strictAffinity: false }, ip: '10.0.0.70', want: { address: '10.0.0.70', borrowed: true } },
      { name: 'in a pool that does not select the node', pol: { labels: { zone: 'x' }, pools: [{ name: 'main', cidr: '10.0.0.0/24', nodeSelector: 'zone == "y"' }] }, ip: '10.0.0.70', code: 'ERR_IPAM_POOL_NOT_FOR_NODE' },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const t = new TestTable();
        for (const [h, a] of c.pre ?? []) {
          const p0 = policy({ ...base, node: c.preNode ?? 'node-a' });
          t.step((ws) => assign(ws, p0, req(h, { ips: [ip(a)] }), 0));
        }
        const p = policy({ ...base, ...c.pol });
        const run = () => t.step((ws) => assign(ws, p, req(c.handle ?? 'new/eth0', { ips: [ip(c.ip)] }), 0));
        if (c.code !== undefined) {
          const e = (() => { try { run(); return undefined; } catch (err) { return err as Error & { code: string }; } })();
          expect(e?.code, e?.message).to.equal(c.code);
          if (c.has !== undefined) expect(e?.message).to.include(c.has);
        } else {
          expect(run().map((a) => ({ address: a.address, borrowed: a.borrowed }))).to.deep.equal([c.want]);
        }
      });
    }

    it('refuses two addresses of one family', () => {
      const t = new TestTable();
      expect(() => t.step((ws) => assign(ws, policy(), req('x/eth0', { ips: [ip('10.0.0.1'), ip('10.0.0.2')] }), 0))).to.throw().with.property('code', 'ERR_IPAM_BAD_REQUEST');
    });

    it('a failed request changes nothing it planned (the caller drops the working set)', () => {
      const t = new TestTable();
      const p = policy({ pools: [{ cidr: '10.0.0.0/24' }, { cidr: 'fd00::/120', blockSize: 122 }] });
      expect(() => t.step((ws) => assign(ws, p, req('x/eth0', { ips: [ip('10.0.0.5'), ip('fd01::1')] }), 0))).to.throw().with.property('code', 'ERR_IPAM_ADDRESS_NOT_IN_POOL');
      expect(t.cache.size).to.equal(0);
    });
  });

  describe('release', () => {
    it('by handle releases every family; by address; not found is empty', () => {
      const t = new TestTable();
      const p = policy({ pools: [{ cidr: '10.0.0.0/24' }, { cidr: 'fd00::/120', blockSize: 122 }] });
      t.step((ws) => assign(ws, p, req('x/eth0'), 0));
      const y = t.step((ws) => assign(ws, p, req('y/eth0'), 0));
      expect(t.step((ws) => releaseHandle(ws, p, 'x/eth0', 0))).to.have.length(2);
      expect(t.step((ws) => releaseHandle(ws, p, 'x/eth0', 0))).to.deep.equal([]);
      expect(t.step((ws) => releaseAddress(ws, p, ip(y[0].address), 0, 'someone-else/eth0'))).to.deep.equal([]);
      expect(t.step((ws) => releaseAddress(ws, p, ip(y[0].address), 0)).map((r) => r.handle)).to.deep.equal(['y/eth0']);
      expect(t.step((ws) => releaseAddress(ws, p, ip('192.0.2.1'), 0))).to.deep.equal([]);
    });

    it('GC releases this node\'s allocations that are not valid, of its network, past the grace period', () => {
      const t = new TestTable();
      const p = policy();
      const a = (h: string, at: number, network?: string) =>
        t.step((ws) => assign(ws, p, { handle: h, attrs: network !== undefined ? { network } : {} }, at));
      a('live/eth0', 0, 'net1');
      a('dead/eth0', 0, 'net1');
      a('young/eth0', 9_500, 'net1');
      a('other-net/eth0', 0, 'net2');
      const pb = policy({ node: 'node-b', strictAffinity: false });
      t.step((ws) => assign(ws, pb, req('b-dead/eth0'), 0));
      const released = t.step((ws) => collectGarbage(ws, p, { valid: new Set(['live/eth0']), network: 'net1', graceMs: 1000 }, 10_000));
      expect(released.map((r) => r.handle)).to.deep.equal(['dead/eth0']);
    });

    it('releases empty blocks once nothing is cooling, and only this node\'s', () => {
      const t = new TestTable();
      const p = policy({ cooldownMs: 1000 });
      t.step((ws) => assign(ws, p, req('x/eth0'), 0));
      t.step((ws) => assign(ws, policy({ node: 'node-b' }), req('b/eth0'), 0));
      t.step((ws) => releaseHandle(ws, p, 'x/eth0', 100));
      expect(t.step((ws) => releaseEmptyBlocks(ws, p, 500))).to.deep.equal([]);
      expect(t.step((ws) => releaseEmptyBlocks(ws, p, 1100))).to.deep.equal(['10.0.0.192/26']);
      expect(t.cache.views().map((b) => b.doc.affinity)).to.deep.equal(['node-b']);
    });
  });
});
