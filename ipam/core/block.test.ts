/** Block math: pools cut into blocks, ordinals <-> addresses, reservations, allocation order, cooldown. */
import { expect } from 'chai';
import {
  addressTextAt, BlockView, decodeBlock, newBlock, ordinalOf, releasable, reservedRanges, withAllocation, withoutAllocations,
  type BlockDoc, type BlockRules,
} from './block.js';
import { cidrOf, formatCidr, parseIp } from './ip.js';
import { blockAt, blockCount, blockIndexOf, claimStart, defaultBlockSize, defaultPoolName, findFreeBlock, fnv1a32, poolFromSpec } from './pool.js';

const pool = (cidr: string, blockSize: number) => poolFromSpec({ name: 'p', cidr, blockSize, nodeSelector: 'all()', disabled: false });

describe('ipam/core/pool: blocks of a pool', () => {
  const table: { pool: string; size: number; count: bigint; index: bigint; block: string }[] = [
    { pool: '10.244.0.0/16', size: 26, count: 1024n, index: 0n, block: '10.244.0.0/26' },
    { pool: '10.244.0.0/16', size: 26, count: 1024n, index: 1n, block: '10.244.0.64/26' },
    { pool: '10.244.0.0/16', size: 26, count: 1024n, index: 1023n, block: '10.244.255.192/26' },
    { pool: '10.244.0.0/16', size: 20, count: 16n, index: 15n, block: '10.244.240.0/20' },
    { pool: '10.244.0.0/24', size: 32, count: 256n, index: 255n, block: '10.244.0.255/32' },
    { pool: '10.244.0.0/26', size: 26, count: 1n, index: 0n, block: '10.244.0.0/26' },
    { pool: 'fd00:244::/64', size: 122, count: 1n << 58n, index: 1n, block: 'fd00:244::40/122' },
    { pool: 'fd00:244::/64', size: 122, count: 1n << 58n, index: (1n << 58n) - 1n, block: 'fd00:244::ffff:ffff:ffff:ffc0/122' },
    { pool: 'fd00:244::/120', size: 128, count: 256n, index: 17n, block: 'fd00:244::11/128' },
    { pool: 'fd00:244::/116', size: 116, count: 1n, index: 0n, block: 'fd00:244::/116' },
  ];
  for (const t of table) {
    it(`${t.pool} /${t.size}: block ${t.index} of ${t.count} is ${t.block}`, () => {
      const p = pool(t.pool, t.size);
      expect(blockCount(p)).to.equal(t.count);
      const b = blockAt(p, t.index);
      expect(formatCidr(b)).to.equal(t.block);
      // and back: any address of the block maps to its index
      const last = { family: b.family, value: b.base + (1n << BigInt((b.family === 4 ? 32 : 128) - b.len)) - 1n };
      expect(blockIndexOf(p, { family: b.family, value: b.base })).to.equal(t.index);
      expect(blockIndexOf(p, last)).to.equal(t.index);
    });
  }

  const refused: [string, number, string][] = [
    ['10.0.0.0/16', 19, 'not allowed'],
    ['10.0.0.0/16', 33, 'not allowed'],
    ['10.0.0.0/28', 26, 'not allowed'], // block larger than the pool
    ['fd00::/64', 115, 'not allowed'],
    ['fd00::/64', 129, 'not allowed'],
  ];
  for (const [cidr, size, why] of refused) {
    it(`refuses ${cidr} with /${size} blocks`, () => expect(() => pool(cidr, size)).to.throw(RangeError, why));
  }

  it('default block sizes and names', () => {
    expect(defaultBlockSize(cidrOf('10.0.0.0/16'))).to.equal(26);
    expect(defaultBlockSize(cidrOf('10.0.0.0/28'))).to.equal(28);
    expect(defaultBlockSize(cidrOf('fd00::/48'))).to.equal(122);
    expect(defaultPoolName(cidrOf('fd00:244::/64'))).to.equal('pool-fd00-244---64');
    expect(defaultPoolName(cidrOf('10.244.0.0/16'))).to.equal('pool-10-244-0-0-16');
  });

  it('the claim start is a stable hash of the node name', () => {
    expect(fnv1a32('')).to.equal(0x811c9dc5);
    expect(fnv1a32('a')).to.equal(0xe40c292c); // FNV-1a test vector
    const p = pool('10.244.0.0/16', 26);
    expect(claimStart(p, 'node-a')).to.equal(claimStart(p, 'node-a'));
    expect(claimStart(p, 'node-a')).to.not.equal(claimStart(p, 'node-b'));
    expect(claimStart(p, 'node-a') < 1024n).to.equal(true);
  });

  describe('findFreeBlock', () => {
    const p = pool('10.0.0.0/24', 26); // 4 blocks: .0 .64 .128 .192
    const res = (...c: string[]) => c.map(cidrOf);
    const taken = (...c: string[]) => (b: ReturnType<typeof cidrOf>) => c.includes(formatCidr(b));
    const cases: { name: string; start: bigint; taken: string[]; reservations: string[]; want: string | undefined }[] = [
      { name: 'the start block when free', start: 2n, taken: [], reservations: [], want: '10.0.0.128/26' },
      { name: 'the next one when the start is taken', start: 2n, taken: ['10.0.0.128/26'], reservations: [], want: '10.0.0.192/26' },
      { name: 'wraps around', start: 3n, taken: ['10.0.0.192/26'], reservations: [], want: '10.0.0.0/26' },
      { name: 'skips a wholly reserved block', start: 0n, taken: [], reservations: ['10.0.0.0/26'], want: '10.0.0.64/26' },
      { name: 'skips a block reserved by two halves', start: 0n, taken: [], reservations: ['10.0.0.0/27', '10.0.0.32/27'], want: '10.0.0.64/26' },
      { name: 'takes a partly reserved block', start: 0n, taken: [], reservations: ['10.0.0.0/27'], want: '10.0.0.0/26' },
      { name: 'jumps a reservation wider than a block', start: 0n, taken: [], reservations: ['10.0.0.0/25'], want: '10.0.0.128/26' },
      { name: 'none when all are taken or reserved', start: 1n, taken: ['10.0.0.64/26', '10.0.0.128/26'], reservations: ['10.0.0.192/26', '10.0.0.0/26'], want: undefined },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const got = findFreeBlock(p, c.start, taken(...c.taken), res(...c.reservations));
        expect(got === undefined ? undefined : formatCidr(got)).to.equal(c.want);
      });
    }

    it('is bounded in a huge IPv6 pool with a huge reservation', () => {
      const big = pool('fd00::/64', 122);
      const got = findFreeBlock(big, 0n, () => false, res('fd00::/65'));
      expect(got === undefined ? undefined : formatCidr(got)).to.equal('fd00::8000:0:0:0/122');
    });
  });
});

describe('ipam/core/block: ordinals, order and cooldown', () => {
  const rules = (cooldownMs = 0, reservations: string[] = []): BlockRules => ({ cooldownMs, reservations: reservations.map(cidrOf) });
  const alloc = (ordinal: number, handle = `h${ordinal}`, at = 0) => ({ ordinal, handle, assignedAtMs: at, attrs: { node: 'n' } });
  const fill = (doc: BlockDoc, ords: number[]) => ords.reduce((d, o) => withAllocation(d, alloc(o), rules(), 0), doc);

  const ordinals: [string, string, number | undefined][] = [
    ['10.0.0.64/26', '10.0.0.64', 0],
    ['10.0.0.64/26', '10.0.0.127', 63],
    ['10.0.0.64/26', '10.0.0.128', undefined],
    ['10.0.0.64/26', '10.0.0.63', undefined],
    ['fd00::40/122', 'fd00::7f', 63],
    ['fd00::40/122', '10.0.0.64', undefined],
    ['10.0.0.5/32', '10.0.0.5', 0],
  ];
  for (const [block, ip, ord] of ordinals) {
    it(`${ip} is ordinal ${String(ord)} of ${block}`, () => {
      const c = cidrOf(block);
      expect(ordinalOf(c, parseIp(ip)!)).to.equal(ord);
      if (ord !== undefined) expect(addressTextAt(c, ord)).to.equal(ip);
    });
  }

  it('reserved ranges are clipped to the block and merged', () => {
    expect(reservedRanges(cidrOf('10.0.0.64/26'), ['10.0.0.0/24', 'fd00::/8'].map(cidrOf))).to.deep.equal([[0, 63]]);
    expect(reservedRanges(cidrOf('10.0.0.64/26'), ['10.0.0.64/31', '10.0.0.66/32', '10.0.0.100/32', '10.0.0.0/26'].map(cidrOf)))
      .to.deep.equal([[0, 2], [36, 36]]);
  });

  const picks: { name: string; used: number[]; reservations?: string[]; cooling?: [number, number][]; now?: number; cooldownMs?: number; lastResort?: boolean; want: number | undefined }[] = [
    { name: 'lowest free first', used: [], want: 0 },
    { name: 'skips used', used: [0, 1, 3], want: 2 },
    { name: 'skips reserved', used: [0], reservations: ['10.0.0.1/32', '10.0.0.2/31'], want: 4 },
    { name: 'skips cooling', used: [0], cooling: [[1, 1000]], now: 1500, cooldownMs: 1000, want: 2 },
    { name: 'cooled down: free again', used: [0], cooling: [[1, 1000]], now: 2000, cooldownMs: 1000, want: 1 },
    { name: 'full', used: Array.from({ length: 8 }, (_, i) => i), want: undefined },
    { name: 'only cooling left: not picked normally', used: [0, 1, 2, 4, 5, 6, 7], cooling: [[3, 1000]], now: 1000, cooldownMs: 60000, want: undefined },
    { name: 'only cooling left: picked as a last resort', used: [0, 1, 2, 4, 5, 6, 7], cooling: [[3, 1000]], now: 1000, cooldownMs: 60000, lastResort: true, want: 3 },
    { name: 'last resort takes the oldest cooling first', used: [0, 1, 2, 4, 5, 6], cooling: [[7, 500], [3, 1000]], now: 1000, cooldownMs: 60000, lastResort: true, want: 7 },
  ];
  for (const p of picks) {
    it(`pick: ${p.name}`, () => {
      let doc = fill(newBlock('10.0.0.0/29', 'p', 'n', 0), p.used);
      doc = { ...doc, cooldown: (p.cooling ?? []).map(([ordinal, releasedAtMs]) => ({ ordinal, releasedAtMs })) };
      const v = new BlockView(doc);
      expect(v.pick(rules(p.cooldownMs ?? 0, p.reservations), p.now ?? 0, p.lastResort)).to.equal(p.want);
    });
  }

  it('release puts ordinals into the cooldown queue, allocation takes them out, expiry prunes them', () => {
    let doc = fill(newBlock('10.0.0.0/29', 'p', 'n', 0), [0, 1, 2]);
    const r = withoutAllocations(doc, (a) => a.ordinal === 1, rules(1000), 5000);
    expect(r.removed.map((a) => a.ordinal)).to.deep.equal([1]);
    doc = r.doc;
    expect(doc.cooldown).to.deep.equal([{ ordinal: 1, releasedAtMs: 5000 }]);
    expect(new BlockView(doc).pick(rules(1000), 5500)).to.equal(3);
    // Taking the cooling ordinal explicitly removes it from the queue.
    expect(withAllocation(doc, alloc(1), rules(1000), 5500).cooldown).to.deep.equal([]);
    // A later write prunes expired entries.
    expect(withAllocation(doc, alloc(3), rules(1000), 7000).cooldown).to.deep.equal([]);
    // Without a cooldown nothing is queued (and what was queued is pruned).
    expect(withoutAllocations(doc, (a) => a.ordinal === 0, rules(0), 6000).doc.cooldown).to.deep.equal([]);
  });

  it('allocating a used ordinal is refused', () => {
    const doc = fill(newBlock('10.0.0.0/29', 'p', 'n', 0), [0]);
    expect(() => withAllocation(doc, alloc(0, 'other'), rules(), 0)).to.throw().with.property('code', 'ERR_IPAM_ADDRESS_IN_USE');
  });

  it('a block is releasable when empty and nothing is cooling', () => {
    const doc = newBlock('10.0.0.0/29', 'p', 'n', 0);
    expect(releasable(doc, 0, 1000)).to.equal(true);
    const cooling = { ...doc, cooldown: [{ ordinal: 2, releasedAtMs: 100 }] };
    expect(releasable(cooling, 900, 1000)).to.equal(false);
    expect(releasable(cooling, 1100, 1000)).to.equal(true);
    expect(releasable(fill(doc, [1]), 0, 0)).to.equal(false);
  });

  describe('decodeBlock', () => {
    const good = fill(newBlock('10.0.0.0/29', 'p', 'n', 7), [2]);
    it('round-trips a block through JSON', () => {
      expect(decodeBlock(JSON.parse(JSON.stringify(good)), 'k')).to.deep.equal(good);
    });
    const broken: [string, (d: Record<string, unknown>) => void, string][] = [
      ['an allocation without a handle', (d) => { (d.allocations as Record<string, unknown>[])[0].handle = ''; }, 'has no handle'],
      ['an ordinal outside the block', (d) => { (d.allocations as Record<string, unknown>[])[0].ordinal = 8; }, 'bad ordinal'],
      ['an ordinal allocated twice', (d) => { (d.allocations as unknown[]).push({ ...(d.allocations as object[])[0] }); }, 'allocated twice'],
      ['a bad CIDR', (d) => { d.cidr = '10.0.0.1/29'; }, 'host bits'],
      ['an unknown schema', (d) => { d.schema = 2; }, 'unknown schema'],
      ['no node in the attributes', (d) => { (d.allocations as Record<string, unknown>[])[0].attrs = {}; }, 'attrs.node'],
    ];
    for (const [name, mutate, why] of broken) {
      it(`refuses ${name}`, () => {
        const d = JSON.parse(JSON.stringify(good)) as Record<string, unknown>;
        mutate(d);
        expect(() => decodeBlock(d, 'blocks/x')).to.throw(why).with.property('code', 'ERR_IPAM_CORRUPT_BLOCK');
      });
    }
  });
});
