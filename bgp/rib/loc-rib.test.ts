import { expect } from 'chai';
import { hasCode } from '../../lib/errors.js';
import { BestPathReason, type BestPathOptions } from './best-path.js';
import { LocRib, RibChangeKind, type RibChange } from './loc-rib.js';
import type { Path } from './path.js';
import { LOCAL_AS, path, peer, seq } from './test-fixtures.js';

const P = '10.0.0.0/24';
const pa = peer('a', { routerId: '10.0.0.1', address: '192.0.2.1' });
const pb = peer('b', { routerId: '10.0.0.2', address: '192.0.2.2' });
const pc = peer('c', { routerId: '10.0.0.3', address: '192.0.2.3' });

// Paths: a1 < b1 < c1 by router ID (equal otherwise, distinct next hops, so ECMP-able);
// aLong loses to all on AS-path length; aLoop is ineligible.
const a1 = path(pa, { nextHops: ['192.0.2.1'] });
const a2 = path(pa, { nextHops: ['192.0.2.1'], med: 0, communities: [1] });
const aLong = path(pa, { asPath: [seq(65001, 65009)], nextHops: ['192.0.2.1'] });
const aLoop = path(pa, { asPath: [seq(65001, LOCAL_AS)], nextHops: ['192.0.2.1'] });
const b1 = path(pb, { nextHops: ['192.0.2.2'] });
const c1 = path(pc, { nextHops: ['192.0.2.3'] });

type Op = [peerId: string, path: Path | undefined];
interface Expect {
  kind: RibChangeKind;
  best: Path | undefined;
  previous: Path | undefined;
  reason?: BestPathReason;
  multipathChanged?: boolean;
}

interface Case {
  name: string;
  opts?: BestPathOptions;
  ops: Op[];
  /** Expected change for each op (undefined: no change). */
  want: (Expect | undefined)[];
  /** The ECMP set at the end, by peer id. */
  multipath?: string[];
}

const cases: Case[] = [
  {
    name: 'first path is added',
    ops: [['a', a1]],
    want: [{ kind: RibChangeKind.Added, best: a1, previous: undefined, reason: BestPathReason.OnlyPath, multipathChanged: true }],
  },
  {
    name: 'same path again: no change',
    ops: [['a', a1], ['a', a1]],
    want: [{ kind: RibChangeKind.Added, best: a1, previous: undefined }, undefined],
  },
  {
    name: 'new attributes from the same peer: changed',
    ops: [['a', a1], ['a', a2]],
    want: [{ kind: RibChangeKind.Added, best: a1, previous: undefined }, { kind: RibChangeKind.Changed, best: a2, previous: a1 }],
  },
  {
    name: 'withdrawing the only path: withdrawn',
    ops: [['a', a1], ['a', undefined]],
    want: [
      { kind: RibChangeKind.Added, best: a1, previous: undefined },
      { kind: RibChangeKind.Withdrawn, best: undefined, previous: a1, reason: BestPathReason.NoEligiblePath },
    ],
  },
  {
    name: 'withdrawing an unknown prefix or peer: no change',
    ops: [['a', undefined], ['a', a1], ['b', undefined]],
    want: [undefined, { kind: RibChangeKind.Added, best: a1, previous: undefined }, undefined],
  },
  {
    name: 'a worse second path changes nothing',
    ops: [['b', b1], ['a', aLong]],
    want: [{ kind: RibChangeKind.Added, best: b1, previous: undefined }, undefined],
  },
  {
    name: 'a better second path takes over, with its reason',
    ops: [['b', b1], ['a', a1]],
    want: [
      { kind: RibChangeKind.Added, best: b1, previous: undefined },
      { kind: RibChangeKind.Changed, best: a1, previous: b1, reason: BestPathReason.RouterId },
    ],
  },
  {
    name: 'withdraw of the best promotes the next',
    ops: [['a', a1], ['b', b1], ['c', c1], ['a', undefined]],
    want: [
      { kind: RibChangeKind.Added, best: a1, previous: undefined },
      undefined,
      undefined,
      { kind: RibChangeKind.Changed, best: b1, previous: a1, reason: BestPathReason.RouterId },
    ],
  },
  {
    name: 'withdraw down to one path: OnlyPath',
    ops: [['a', a1], ['b', b1], ['b', undefined], ['a', undefined]],
    want: [
      { kind: RibChangeKind.Added, best: a1, previous: undefined },
      undefined,
      undefined,
      { kind: RibChangeKind.Withdrawn, best: undefined, previous: a1 },
    ],
  },
  {
    name: 'withdraw of a non-best path: no change',
    ops: [['a', a1], ['b', b1], ['b', undefined]],
    want: [{ kind: RibChangeKind.Added, best: a1, previous: undefined }, undefined, undefined],
  },
  {
    name: 'the best path turning worse hands over to another',
    ops: [['a', a1], ['b', b1], ['a', aLong]],
    want: [
      { kind: RibChangeKind.Added, best: a1, previous: undefined },
      undefined,
      { kind: RibChangeKind.Changed, best: b1, previous: a1, reason: BestPathReason.AsPathLength },
    ],
  },
  {
    name: 'an ineligible (looped) path is held but never best',
    ops: [['a', aLoop], ['b', b1], ['b', undefined]],
    want: [
      undefined,
      { kind: RibChangeKind.Added, best: b1, previous: undefined, reason: BestPathReason.OnlyPath },
      { kind: RibChangeKind.Withdrawn, best: undefined, previous: b1 },
    ],
  },
  {
    name: 'the only path becoming ineligible: withdrawn',
    ops: [['a', a1], ['a', aLoop]],
    want: [{ kind: RibChangeKind.Added, best: a1, previous: undefined }, { kind: RibChangeKind.Withdrawn, best: undefined, previous: a1 }],
  },
  {
    name: 'ECMP: an equal path joins the set (best unchanged)',
    opts: { maxPaths: 4 },
    ops: [['a', a1], ['b', b1], ['c', c1]],
    want: [
      { kind: RibChangeKind.Added, best: a1, previous: undefined },
      { kind: RibChangeKind.Multipath, best: a1, previous: a1, multipathChanged: true },
      { kind: RibChangeKind.Multipath, best: a1, previous: a1, multipathChanged: true },
    ],
    multipath: ['a', 'b', 'c'],
  },
  {
    name: 'ECMP: a member leaving shrinks the set',
    opts: { maxPaths: 4 },
    ops: [['a', a1], ['b', b1], ['c', c1], ['b', undefined]],
    want: [
      { kind: RibChangeKind.Added, best: a1, previous: undefined },
      { kind: RibChangeKind.Multipath, best: a1, previous: a1 },
      { kind: RibChangeKind.Multipath, best: a1, previous: a1 },
      { kind: RibChangeKind.Multipath, best: a1, previous: a1, multipathChanged: true },
    ],
    multipath: ['a', 'c'],
  },
  {
    name: 'ECMP: the best leaving promotes the next and reports the set change',
    opts: { maxPaths: 4 },
    ops: [['a', a1], ['b', b1], ['a', undefined]],
    want: [
      { kind: RibChangeKind.Added, best: a1, previous: undefined },
      { kind: RibChangeKind.Multipath, best: a1, previous: a1 },
      { kind: RibChangeKind.Changed, best: b1, previous: a1, reason: BestPathReason.OnlyPath, multipathChanged: true },
    ],
    multipath: ['b'],
  },
  {
    name: 'ECMP: a worse path does not touch the set',
    opts: { maxPaths: 4 },
    ops: [['a', a1], ['b', b1], ['c', path(pc, { asPath: [seq(65001, 1)], nextHops: ['192.0.2.3'] })]],
    want: [{ kind: RibChangeKind.Added, best: a1, previous: undefined }, { kind: RibChangeKind.Multipath, best: a1, previous: a1 }, undefined],
    multipath: ['a', 'b'],
  },
];

describe('LocRib.update', () => {
  for (const c of cases) {
    it(c.name, () => {
      const rib = new LocRib(c.opts);
      const got: (RibChange | undefined)[] = c.ops.map(([peerId, p]) => rib.update(P, peerId, p));
      expect(got).to.have.length(c.want.length);
      got.forEach((g, i) => {
        const w = c.want[i];
        if (w === undefined) {
          expect(g, `op ${i}`).to.equal(undefined);
          return;
        }
        expect(g, `op ${i}`).to.not.equal(undefined);
        expect(g!.prefix).to.equal(P);
        expect(g!.kind, `op ${i} kind`).to.equal(w.kind);
        expect(g!.best, `op ${i} best`).to.equal(w.best);
        expect(g!.previous, `op ${i} previous`).to.equal(w.previous);
        if (w.reason !== undefined) expect(g!.reason, `op ${i} reason`).to.equal(w.reason);
        if (w.multipathChanged !== undefined) expect(g!.multipathChanged, `op ${i} mp`).to.equal(w.multipathChanged);
      });
      if (c.multipath) expect(rib.multipath(P).map((p) => p.source.peerId)).to.deep.equal(c.multipath);
    });
  }

  it('keeps prefixes apart', () => {
    const rib = new LocRib();
    rib.update('10.0.0.0/24', 'a', a1);
    rib.update('10.0.1.0/24', 'b', b1);
    expect(rib.size).to.equal(2);
    expect(rib.best('10.0.0.0/24')).to.equal(a1);
    expect(rib.best('10.0.1.0/24')).to.equal(b1);
    expect([...rib.bestPaths()].map(([p]) => p).sort()).to.deep.equal(['10.0.0.0/24', '10.0.1.0/24']);
  });

  it('add-path: several candidates from one peer, told apart by path id', () => {
    const rib = new LocRib();
    const x1 = path(pa, { med: 5 }, 1);
    const x2 = path(pa, { med: 1 }, 2);
    rib.update(P, 'a', x1);
    const ch = rib.update(P, 'a', x2);
    expect(ch?.best).to.equal(x2);
    expect(rib.candidates(P)).to.have.length(2);
    const back = rib.update(P, 'a', undefined, 2);
    expect(back?.best).to.equal(x1);
  });

  it('lookup() shows candidates, best, reason and multipath', () => {
    const rib = new LocRib();
    rib.update(P, 'a', a1);
    expect(rib.lookup(P)).to.deep.equal({ best: a1, reason: BestPathReason.OnlyPath, multipath: [a1], candidates: [a1] });
    rib.update(P, 'b', b1);
    expect(rib.lookup(P)).to.deep.equal({ best: a1, reason: BestPathReason.RouterId, multipath: [a1], candidates: [a1, b1] });
    expect(rib.lookup('10.9.9.0/24')).to.equal(undefined);
  });

  it('recompute() reports a change when next-hop reachability changes', () => {
    let down = false;
    const rib = new LocRib({ isNextHopResolvable: (p) => !(down && p.attrs.nextHops[0] === '192.0.2.1') });
    rib.update(P, 'a', a1);
    rib.update(P, 'b', b1);
    down = true;
    const ch = rib.recompute(P);
    expect(ch).to.include({ kind: RibChangeKind.Changed, best: b1, previous: a1 });
    expect(rib.recompute(P)).to.equal(undefined);
    expect(rib.recomputeAll()).to.deep.equal([]);
    down = false;
    expect(rib.recomputeAll().map((c) => c.best)).to.deep.equal([a1]);
  });

  it('rejects a path offered under another peer id', () => {
    const rib = new LocRib();
    expect(() => rib.update(P, 'b', a1)).to.throw().that.satisfies((e: unknown) => hasCode(e, 'ERR_RIB_PEER_MISMATCH'));
  });
});
