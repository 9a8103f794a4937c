/**
 * Property tests: random assign / release / GC sequences from three nodes
 * (three allocators) sharing one in-memory store that injects CAS conflicts,
 * failures and lost acknowledgements. After every step the store itself is
 * checked:
 *
 *   - no address is given out twice (no two allocations share an address,
 *     no two blocks overlap);
 *   - every allocation has a handle, and a handle holds at most one address
 *     per family;
 *   - every assign that succeeded is findable by its handle, with exactly the
 *     addresses it returned, until it is released;
 *   - nothing is held by a handle that was never assigned or whose release
 *     succeeded (only handles whose last operation failed may be uncertain);
 *   - release is idempotent: releasing again finds nothing and changes nothing;
 *   - nothing lies outside the pools or inside a reservation;
 *   - a cache entry at the store's current revision equals the stored block
 *     (memory never runs ahead of a successful write).
 *
 * Seeds are fixed, so a failure reproduces; the seed is in the test name.
 */
import { expect } from 'chai';
import { hasCode } from '../lib/errors.js';
import { silentLogger } from '../lib/log.js';
import { Allocator } from './allocator.js';
import { assign } from './core/assign.js';
import { addressTextAt, decodeBlock } from './core/block.js';
import { cidrContains, cidrOf, cidrsOverlap, parseIp, type Family } from './core/ip.js';
import { blockKey, BLOCKS_PREFIX } from './core/keys.js';
import type { IpamPolicy } from './core/policy.js';
import { ipamError, IpamErrorCode } from './core/errors.js';
import { collectGarbage, releaseAddress, releaseEmptyBlocks, releaseHandle, type ReleasedIp } from './core/release.js';
import { policy } from './core/test-fixtures.js';
import { MemoryDatastore, type FaultKind } from './datastore/store-memory.js';

/** mulberry32: a small seeded PRNG. */
function rngFrom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** As the service does: "nothing found" is an error, so the allocator re-reads the store once before believing it. */
function orNotFound(r: ReleasedIp[], what: string): ReleasedIp[] {
  if (r.length === 0) throw ipamError(IpamErrorCode.HandleNotFound, `${what}: nothing to release`);
  return r;
}

async function releasing(p: Promise<ReleasedIp[]>): Promise<ReleasedIp[]> {
  try {
    return await p;
  } catch (err) {
    if (hasCode(err, IpamErrorCode.HandleNotFound)) return [];
    throw err;
  }
}

interface Held {
  node: string;
  addresses: string[];
}

const NODES = ['node-a', 'node-b', 'node-c'];
const POOLS = [
  { name: 'v4', cidr: '10.0.0.0/27', blockSize: 29 }, // 4 blocks of 8
  { name: 'v6', cidr: 'fd00::/124', blockSize: 126 }, // 4 blocks of 4
];
const RESERVATIONS = ['10.0.0.3', '10.0.0.8/30', 'fd00::4/127'];

function runProperty(seed: number, steps: number, strictAffinity: boolean, faultRate: number): void {
  it(`seed ${seed}: ${steps} steps, strictAffinity ${strictAffinity}, fault rate ${faultRate}`, async () => {
    const rng = rngFrom(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];
    let nowMs = 1_000_000;
    let faultsOn = true;
    let midWriteViolation: string | undefined;
    const store = new MemoryDatastore((op) => {
      // Before every write: no allocator's memory may hold a change the store has not accepted yet.
      if (op !== 'get' && op !== 'list') midWriteViolation ??= cacheAheadOfStore();
      if (!faultsOn || op === 'list' || op === 'get') return undefined;
      const r = rng();
      const kinds: FaultKind[] = ['conflict', 'conflict', 'unavailable', 'lost-ack'];
      return r < faultRate ? pick(kinds) : undefined;
    });
    const pols = new Map<string, IpamPolicy>(NODES.map((n) => [n, policy({
      node: n, pools: POOLS, reservations: RESERVATIONS, strictAffinity, cooldownMs: 5_000,
    })]));
    const allocators = new Map(NODES.map((n) => [n, new Allocator({ store, policy: () => pols.get(n)!, now: () => nowMs, log: silentLogger, maxAttempts: 12, random: () => 0.5 })]));

    function cacheAheadOfStore(): string | undefined {
      for (const [node, alloc] of allocators) {
        for (const cidr of alloc.blocks.cidrs()) {
          const c = alloc.blocks.entry(cidr)!;
          const s = store.peek(blockKey(cidr));
          if (s !== undefined && s.revision === c.revision && JSON.stringify(s.value) !== JSON.stringify(c.view.doc)) {
            return `${node}'s cache of ${cidr} holds a change the store has not accepted (revision ${c.revision})`;
          }
        }
      }
      return undefined;
    }

    const live = new Map<string, Held>();
    const uncertain = new Set<string>();
    const released = new Set<string>();
    let counter = 0;
    let checks = 0;
    const log: string[] = [];

    const poolCidrs = POOLS.map((p) => cidrOf(p.cidr));
    const resCidrs = RESERVATIONS.map((r) => cidrOf(r.includes('/') ? r : `${r}/${r.includes(':') ? 128 : 32}`));

    async function checkInvariants(step: number): Promise<void> {
      // Plain comparisons (chai per item is too slow for thousands of steps); a failure names the step and the last operations.
      const fail = (what: string): never => expect.fail(`${what}\nseed ${seed} step ${step}; last ops:\n${log.slice(-6).join('\n')}`);
      faultsOn = false;
      const entries = await store.list(BLOCKS_PREFIX);
      faultsOn = true;
      const seen = new Map<string, string>();
      const perHandle = new Map<string, { family: Family; address: string }[]>();
      const blocks = entries.map((e) => ({ e, doc: decodeBlock(e.value, e.key) }));
      for (let i = 0; i < blocks.length; i++) {
        const ci = cidrOf(blocks[i].doc.cidr);
        if (blockKey(blocks[i].doc.cidr) !== blocks[i].e.key) fail(`block ${blocks[i].doc.cidr} stored under ${blocks[i].e.key}`);
        if (!poolCidrs.some((p) => cidrsOverlap(p, ci) && p.len <= ci.len)) fail(`${blocks[i].doc.cidr} lies outside the pools`);
        for (let j = 0; j < i; j++) if (cidrsOverlap(ci, cidrOf(blocks[j].doc.cidr))) fail(`blocks ${blocks[i].doc.cidr} and ${blocks[j].doc.cidr} overlap`);
        for (const a of blocks[i].doc.allocations) {
          const addr = addressTextAt(ci, a.ordinal);
          if (typeof a.handle !== 'string' || a.handle === '') fail(`${addr} has no handle`);
          if (seen.has(addr)) fail(`${addr} given to ${seen.get(addr)} and ${a.handle}`);
          seen.set(addr, a.handle);
          if (resCidrs.some((r) => cidrContains(r, parseIp(addr)!))) fail(`${addr} is reserved`);
          const list = perHandle.get(a.handle) ?? [];
          if (list.some((x) => x.family === ci.family)) fail(`${a.handle} holds two IPv${ci.family} addresses`);
          list.push({ family: ci.family, address: addr });
          perHandle.set(a.handle, list);
        }
      }
      for (const [h, held] of live) {
        if (uncertain.has(h)) continue;
        const got = (perHandle.get(h) ?? []).map((x) => x.address).sort().join();
        if (got !== [...held.addresses].sort().join()) fail(`live handle ${h} holds [${got}], not [${held.addresses.join()}] as assigned`);
      }
      for (const h of perHandle.keys()) {
        if (!live.has(h) && !uncertain.has(h)) fail(`${h} holds addresses but was never assigned, or was released`);
      }
      // Memory never runs ahead of the store: after the step, and at the start of every write during it.
      const ahead = midWriteViolation ?? cacheAheadOfStore();
      if (ahead !== undefined) fail(ahead);
      checks++;
    }

    async function oneOp(concurrent = false): Promise<void> {
      const node = pick(NODES);
      const alloc = allocators.get(node)!;
      // Operations run at once touch distinct fresh handles, so the model's order cannot differ from the store's.
      const r = concurrent ? 0 : rng();
      if (r < 0.45) {
        const reuse = !concurrent && rng() < 0.15 && live.size > 0;
        const handle = reuse ? pick([...live.keys()]) : `c${counter++}/eth0`;
        const owner = live.get(handle)?.node ?? node;
        const fixed = rng() < 0.15 ? [parseIp(`10.0.0.${Math.floor(rng() * 32)}`)!] : undefined;
        try {
          // As the agent's service runs it: an answer without a write comes from a fresh view.
          const got = await allocators.get(owner)!.run('assign', (t, pol, now) => assign(t, pol, { handle, attrs: {}, ...(fixed ? { ips: fixed } : {}) }, now), { freshIfNoWrite: true });
          const addresses = got.map((a) => a.address);
          const prev = live.get(handle);
          if (prev !== undefined && !uncertain.has(handle)) expect(addresses.sort()).to.include.members(prev.addresses);
          live.set(handle, { node: owner, addresses: [...new Set([...(prev?.addresses ?? []), ...addresses])] });
          uncertain.delete(handle);
          released.delete(handle);
          log.push(`${owner} assign ${handle} ${fixed ? `fixed ${fixed.map(String).join()}` : ''} -> ${addresses.join(',')}`);
        } catch (err) {
          log.push(`${owner} assign ${handle} failed: ${(err as Error).message.slice(0, 120)}`);
          if (!hasCode(err, 'ERR_IPAM_POOL_EXHAUSTED') && !hasCode(err, 'ERR_IPAM_ADDRESS_IN_USE') && !hasCode(err, 'ERR_IPAM_ADDRESS_RESERVED') &&
            !hasCode(err, 'ERR_IPAM_ADDRESS_AFFINE_ELSEWHERE')) {
            uncertain.add(handle); // a write may have landed
          } else if ((live.get(handle)?.addresses.length ?? 0) === 2 && !uncertain.has(handle) && fixed === undefined) {
            throw new Error(`assign of a live handle failed with ${(err as Error).message}`, { cause: err });
          } else {
            uncertain.add(handle); // dual-stack: the v4 write may have landed before v6 exhausted
          }
        }
      } else if (r < 0.75) {
        const handle = live.size > 0 && rng() < 0.85 ? pick([...live.keys()]) : rng() < 0.5 && released.size > 0 ? pick([...released]) : `never${counter++}/eth0`;
        const owner = live.get(handle)?.node ?? node;
        try {
          const out = await releasing(allocators.get(owner)!.runItems('release', (t, pol, now) => orNotFound(releaseHandle(t, pol, handle, now), handle), (x) => x.block));
          log.push(`${owner} release ${handle} -> ${out.map((x) => x.address).join(',')}`);
          if (released.has(handle)) expect(out, 'release is idempotent').to.deep.equal([]);
          live.delete(handle);
          uncertain.delete(handle);
          released.add(handle);
          // Idempotence, right away: a second release finds nothing.
          const again = await releasing(allocators.get(owner)!.runItems('release again', (t, pol, now) => orNotFound(releaseHandle(t, pol, handle, now), handle), (x) => x.block)).catch(() => undefined);
          if (again !== undefined) expect(again).to.deep.equal([]);
        } catch (err) {
          log.push(`${owner} release ${handle} failed: ${(err as Error).message.slice(0, 120)}`);
          if (live.has(handle)) uncertain.add(handle);
        }
      } else if (r < 0.85) {
        const candidates = [...live.entries()].flatMap(([h, v]) => v.addresses.map((a) => [h, a] as const));
        if (candidates.length === 0) return;
        const [handle, address] = pick(candidates);
        try {
          const out = await releasing(alloc.runItems('release ip', (t, pol, now) => orNotFound(releaseAddress(t, pol, parseIp(address)!, now), address), (x) => x.block));
          expect(out.map((x) => x.handle), `release of ${address} found its holder`).to.deep.equal([handle]);
          log.push(`${node} release ip ${address} (${handle})`);
          const held = live.get(handle)!;
          held.addresses = held.addresses.filter((a) => a !== address);
          if (held.addresses.length === 0) {
            live.delete(handle);
            released.add(handle);
          }
        } catch (err) {
          log.push(`${node} release ip ${address} failed: ${(err as Error).message.slice(0, 120)}`);
          uncertain.add(handle);
        }
      } else if (r < 0.92) {
        const mine = [...live.entries()].filter(([, v]) => v.node === node).map(([h]) => h);
        const valid = new Set(mine.filter(() => rng() < 0.7));
        try {
          const out = await alloc.runItems('gc', (t, pol, now) => collectGarbage(t, pol, { valid, graceMs: 0 }, now), (x) => x.block);
          log.push(`${node} gc keeps ${valid.size} -> released ${out.map((x) => x.handle).join(',')}`);
          for (const x of out) {
            live.delete(x.handle);
            uncertain.delete(x.handle);
            released.add(x.handle);
          }
          for (const h of mine) expect(valid.has(h) || !live.has(h), 'gc released every invalid handle of the node').to.equal(true);
        } catch (err) {
          log.push(`${node} gc failed: ${(err as Error).message.slice(0, 120)}`);
          for (const h of mine) if (!valid.has(h)) uncertain.add(h);
        }
      } else {
        try {
          const out = await alloc.run('release empty blocks', (t, pol, now) => releaseEmptyBlocks(t, pol, now));
          log.push(`${node} released blocks ${out.join(',')}`);
        } catch (err) {
          log.push(`${node} release empty blocks failed: ${(err as Error).message.slice(0, 120)}`);
        }
      }
    }

    // Uncertain handles are settled by releasing them (as GC would) before they count again.
    for (let step = 0; step < steps; step++) {
      nowMs += Math.floor(rng() * 2000);
      if (rng() < 0.2) {
        // several at once: they share batches
        await Promise.all([oneOp(true), oneOp(true), oneOp(true)]);
      } else {
        await oneOp();
      }
      await checkInvariants(step);
    }
    expect(checks).to.equal(steps);
    expect(store.stats.injected, 'faults were injected').to.be.greaterThan(faultRate > 0 ? 10 : -1);
    const stats = [...allocators.values()].map((a) => a.stats);
    expect(stats.reduce((n, s) => n + s.conflicts, 0), 'CAS conflicts happened').to.be.greaterThan(faultRate > 0 ? 0 : -1);

    // Finally: release everything (faults off); the store must hold no allocation.
    faultsOn = false;
    for (const n of NODES) await allocators.get(n)!.run('final gc', (t, pol, now) => collectGarbage(t, pol, { valid: new Set(), graceMs: 0 }, now));
    uncertain.clear();
    live.clear();
    await checkInvariants(steps);
    const left = (await store.list(BLOCKS_PREFIX)).reduce((n, e) => n + decodeBlock(e.value, e.key).allocations.length, 0);
    expect(left).to.equal(0);
  });
}

describe('ipam: allocator properties (memory store, injected CAS conflicts)', function () {
  this.timeout(60_000);
  runProperty(1, 400, true, 0.2);
  runProperty(2, 400, false, 0.2);
  runProperty(3, 400, true, 0.35);
  runProperty(4, 400, false, 0.35);
  runProperty(5, 300, false, 0);
  runProperty(20261122, 600, false, 0.25);
});
