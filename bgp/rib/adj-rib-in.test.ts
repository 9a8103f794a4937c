import { expect } from 'chai';
import { AdjRibIn } from './adj-rib-in.js';
import { AdjRibOut } from './adj-rib-out.js';
import { LocRib, RibChangeKind } from './loc-rib.js';
import { attrs, peer, seq } from './test-fixtures.js';

const src = peer('a');
const [P0, P1, P2, P3] = ['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24', '10.0.3.0/24'];

describe('AdjRibIn', () => {
  const fresh = (): { rib: AdjRibIn; loc: LocRib } => {
    const loc = new LocRib();
    return { rib: new AdjRibIn(src, loc), loc };
  };

  it('pathFor shares one Path per attribute set (and path id)', () => {
    const { rib } = fresh();
    const x = attrs();
    expect(rib.pathFor(x)).to.equal(rib.pathFor(x));
    expect(rib.pathFor(x, 1)).to.equal(rib.pathFor(x, 1));
    expect(rib.pathFor(x, 1)).to.not.equal(rib.pathFor(x, 2));
    expect(rib.pathFor(x).source).to.equal(src);
  });

  it('is the way into the Loc-RIB: each call returns its change', () => {
    const { rib, loc } = fresh();
    const p1 = rib.pathFor(attrs({ med: 1 }));
    const p2 = rib.pathFor(attrs({ med: 2 }));
    expect(rib.accept(P0, p1)).to.include({ kind: RibChangeKind.Added, best: p1 });
    expect(rib.accept(P0, p1)).to.equal(undefined);
    expect(rib.accept(P0, p2)).to.include({ kind: RibChangeKind.Changed, best: p2, previous: p1 });
    expect(loc.best(P0)).to.equal(p2);
    expect(rib.reject(P0)).to.include({ kind: RibChangeKind.Withdrawn, previous: p2 });
    expect(loc.best(P0)).to.equal(undefined);
    expect(rib.withdraw(P0)).to.equal(undefined);
  });

  it('counts received and accepted', () => {
    const { rib } = fresh();
    const p1 = rib.pathFor(attrs({ med: 1 }));
    const p2 = rib.pathFor(attrs({ med: 2 }));
    const steps: [() => unknown, number, number][] = [
      [() => rib.accept(P0, p1), 1, 1],
      [() => rib.accept(P1, p1), 2, 2],
      [() => rib.accept(P0, p2), 2, 2],
      [() => rib.reject(P2), 3, 2],
      [() => rib.reject(P2), 3, 2],
      [() => rib.reject(P0), 3, 1],
      [() => rib.accept(P2, p1), 3, 2],
      [() => rib.withdraw(P0), 2, 2],
      [() => rib.withdraw(P1), 1, 1],
      [() => rib.withdraw(P1), 1, 1],
      [() => rib.withdraw(P2), 0, 0],
    ];
    steps.forEach(([op, received, accepted], i) => {
      op();
      expect(rib.receivedCount, `step ${i} received`).to.equal(received);
      expect(rib.acceptedCount, `step ${i} accepted`).to.equal(accepted);
    });
    expect(rib.has(P0)).to.equal(false);
  });

  it('add-path: several path ids per prefix', () => {
    const { rib, loc } = fresh();
    const x = attrs();
    rib.accept(P0, rib.pathFor(x, 1));
    rib.accept(P0, rib.pathFor(x, 2));
    rib.reject(P0, 3);
    expect(rib.receivedCount).to.equal(3);
    expect(rib.acceptedCount).to.equal(2);
    expect(loc.candidates(P0)).to.have.length(2);
    expect(rib.get(P0, 2)?.pathId).to.equal(2);
    expect(rib.get(P0, 3)).to.equal(undefined);
    expect(rib.has(P0, 3)).to.equal(true);
    rib.withdraw(P0, 1);
    expect([...rib.accepted()].map(([p, path]) => `${p}#${path.pathId}`)).to.deep.equal([`${P0}#2`]);
  });

  it("leaves other peers' candidates alone", () => {
    const { rib, loc } = fresh();
    const other = new AdjRibIn(peer('b'), loc);
    const mine = rib.pathFor(attrs());
    const theirs = other.pathFor(attrs({ asPath: [seq(65001, 1)] }));
    rib.accept(P0, mine);
    other.accept(P0, theirs);
    other.accept(P1, theirs);
    expect(rib.clear().map((c) => [c.kind, c.best])).to.deep.equal([[RibChangeKind.Changed, theirs]]);
    expect(other.acceptedCount).to.equal(2);
    expect([...other.accepted()].map(([p]) => p).sort()).to.deep.equal([P0, P1]);
  });

  describe('graceful restart: mark stale, refresh, sweep', () => {
    const x = attrs({ med: 1 });
    const y = attrs({ med: 2 });

    it('marks every accepted path stale (still best) and forgets rejected entries', () => {
      const { rib, loc } = fresh();
      const p = rib.pathFor(x);
      rib.accept(P0, p);
      rib.accept(P1, p);
      rib.reject(P2);
      expect(rib.markAllStale()).to.equal(2);
      expect(rib.staleCount).to.equal(2);
      expect(rib.receivedCount).to.equal(2);
      expect(rib.get(P0)?.stale).to.equal(true);
      expect(loc.best(P0)).to.equal(p);
    });

    it('a path sent again after the restart is fresh, even with the same attributes', () => {
      const { rib } = fresh();
      const before = rib.pathFor(x);
      rib.accept(P0, before);
      rib.accept(P1, before);
      rib.markAllStale();
      const again = rib.pathFor(x);
      expect(again).to.not.equal(before);
      expect(again.stale).to.equal(false);
      expect(rib.accept(P0, again)).to.include({ kind: RibChangeKind.Changed, best: again, previous: before });
      expect(rib.staleCount).to.equal(1);
      expect(rib.acceptedCount).to.equal(2);
      expect(rib.get(P0)?.stale).to.equal(false);
      expect(rib.get(P1)?.stale).to.equal(true);
    });

    it('sweep removes only what is still stale and returns the Loc-RIB changes', () => {
      const { rib, loc } = fresh();
      rib.accept(P0, rib.pathFor(x));
      rib.accept(P1, rib.pathFor(x));
      rib.accept(P2, rib.pathFor(y));
      rib.accept(P3, rib.pathFor(y, 7));
      rib.markAllStale();
      rib.accept(P1, rib.pathFor(y));
      rib.withdraw(P2);
      const changes = rib.sweepStale();
      expect(changes.map((c) => [c.prefix, c.kind]).sort()).to.deep.equal([
        [P0, RibChangeKind.Withdrawn],
        [P3, RibChangeKind.Withdrawn],
      ]);
      expect(rib.staleCount).to.equal(0);
      expect(rib.acceptedCount).to.equal(1);
      expect(rib.receivedCount).to.equal(1);
      expect([...loc.prefixes()]).to.deep.equal([P1]);
      expect(rib.sweepStale()).to.deep.equal([]);
    });

    it('sweep with nothing stale removes nothing', () => {
      const { rib } = fresh();
      rib.accept(P0, rib.pathFor(x));
      expect(rib.sweepStale()).to.deep.equal([]);
      expect(rib.acceptedCount).to.equal(1);
    });
  });

  it('clear() removes everything and returns the withdrawals', () => {
    const { rib, loc } = fresh();
    rib.accept(P0, rib.pathFor(attrs()));
    rib.reject(P1);
    expect(rib.clear().map((c) => c.kind)).to.deep.equal([RibChangeKind.Withdrawn]);
    expect([rib.receivedCount, rib.acceptedCount, rib.staleCount]).to.deep.equal([0, 0, 0]);
    expect(loc.size).to.equal(0);
  });
});

describe('AdjRibOut', () => {
  it('suppresses duplicate adverts and withdrawals of what was never sent', () => {
    const out = new AdjRibOut('a');
    const x = attrs({ med: 1 });
    const xCopy = attrs({ med: 1 });
    const y = attrs({ med: 2 });
    const steps: [() => boolean, boolean][] = [
      [() => out.advertise('10.0.0.0/24', x), true],
      [() => out.advertise('10.0.0.0/24', x), false],
      [() => out.advertise('10.0.0.0/24', xCopy), false],
      [() => out.advertise('10.0.0.0/24', y), true],
      [() => out.withdraw('10.0.0.0/24'), true],
      [() => out.withdraw('10.0.0.0/24'), false],
    ];
    steps.forEach(([op, want], i) => expect(op(), `step ${i}`).to.equal(want));
  });

  it('groups advertised prefixes by attribute set for re-sending', () => {
    const out = new AdjRibOut('a');
    const x = attrs({ med: 1 });
    const y = attrs({ med: 2 });
    out.advertise('10.0.0.0/24', x);
    out.advertise('10.0.1.0/24', y);
    out.advertise('10.0.2.0/24', x);
    const groups = out.groupByAttrs();
    expect(groups.size).to.equal(2);
    expect(groups.get(x)?.sort()).to.deep.equal(['10.0.0.0/24', '10.0.2.0/24']);
    expect(groups.get(y)).to.deep.equal(['10.0.1.0/24']);
  });
});
