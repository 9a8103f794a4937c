/**
 * PrefixTable, pure: desired vs shadow per prefix, planning an apply (and
 * moving the shadow first), what monitor events mean, reverting a failed
 * line, forgetting empty records.
 */
import { expect } from 'chai';
import type { MonitorRouteEvent } from './monitor-events.js';
import { PrefixTable } from './prefix-table.js';
import type { KernelRoute, RouteSlot } from './routes.js';

const P = 77;
const r = (prefix: string, via = '192.0.2.2', extra: Partial<KernelRoute> = {}): KernelRoute => ({
  prefix,
  kind: 'unicast',
  nextHops: [{ via }],
  proto: P,
  table: 254,
  metric: 0,
  ...extra,
});
const foreign = (prefix: string, proto = 4): RouteSlot => ({ prefix, table: 254, metric: 0, proto, what: 'unicast' });
const ev = (e: Partial<MonitorRouteEvent> & { prefix: string }): MonitorRouteEvent & { prefix: string } => ({
  type: 'route',
  deleted: false,
  table: 254,
  proto: P,
  ...e,
});

describe('kernel/prefix-table: PrefixTable', () => {
  it('marks a prefix dirty once per change, and not at all for an unchanged route', () => {
    const t = new PrefixTable();
    expect(t.setDesired(r('10.1.0.0/24'))).to.equal(true);
    expect(t.setDesired(r('10.1.0.0/24'))).to.equal(false);
    expect(t.setDesired(r('10.1.0.0/24', '192.0.2.3'))).to.equal(true);
    expect(t.takeDirty(false).map((s) => s.prefix)).to.deep.equal(['10.1.0.0/24']);
    expect(t.dirtyCount).to.equal(0);
  });

  it('plans add, replace and delete lines, moves the shadow first, and reports prefixes in place', () => {
    const t = new PrefixTable();
    t.complete = true;
    t.loadKernel([r('10.1.0.0/24'), r('10.2.0.0/24'), r('10.3.0.0/24')], []);
    t.setDesired(r('10.1.0.0/24')); // in place
    t.setDesired(r('10.2.0.0/24', '192.0.2.9')); // replace
    t.setDesired(r('10.4.0.0/24')); // add
    const plan = t.plan(t.takeDirty(true));
    expect(plan.lines.sort()).to.deep.equal([
      'route add 10.4.0.0/24 via 192.0.2.2 proto 77 metric 0',
      'route del 10.3.0.0/24 proto 77 metric 0',
      'route replace 10.2.0.0/24 via 192.0.2.9 proto 77 metric 0',
    ]);
    expect(plan.inPlace.map((s) => s.prefix)).to.deep.equal(['10.1.0.0/24']);
    expect(t.get('10.2.0.0/24')?.installed).to.deep.equal([r('10.2.0.0/24', '192.0.2.9')]);
    expect(t.get('10.3.0.0/24'), 'a deleted, undesired prefix is forgotten').to.equal(undefined);
    expect(t.counts()).to.deep.equal({ desired: 3, installed: 3 });
  });

  it('before the desired set is complete, keeps adopted routes nobody mentioned but deletes removed ones', () => {
    const t = new PrefixTable();
    t.loadKernel([r('10.1.0.0/24'), r('10.2.0.0/24')], []);
    t.clearDesired('10.2.0.0/24');
    const plan = t.plan(t.takeDirty(true));
    expect(plan.lines).to.deep.equal(['route del 10.2.0.0/24 proto 77 metric 0']);
    expect(t.get('10.1.0.0/24')?.installed?.length).to.equal(1);
  });

  it('never plans a line for a slot held by someone else (blocked)', () => {
    const t = new PrefixTable();
    t.complete = true;
    t.loadKernel([], [foreign('10.1.0.0/24')]);
    t.setDesired(r('10.1.0.0/24'));
    const plan = t.plan(t.takeDirty(false));
    expect(plan.lines).to.deep.equal([]);
    expect(plan.blocked.map((b) => b.by.proto)).to.deep.equal([4]);
  });

  const verdicts: { name: string; setup: (t: PrefixTable) => void; event: MonitorRouteEvent & { prefix: string }; want: string; dirty: string[] }[] = [
    {
      name: 'our own add coming back (the shadow moved first)',
      setup: (t) => t.loadKernel([r('10.1.0.0/24')], []),
      event: ev({ prefix: '10.1.0.0/24', route: { ...r('10.1.0.0/24'), nextHops: [{ via: '192.0.2.2', dev: 'eth0' }] } }),
      want: 'ignored',
      dirty: [],
    },
    {
      name: 'our route deleted by someone',
      setup: (t) => t.loadKernel([r('10.1.0.0/24')], []),
      event: ev({ prefix: '10.1.0.0/24', deleted: true, route: r('10.1.0.0/24') }),
      want: 'drift',
      dirty: ['10.1.0.0/24'],
    },
    {
      name: 'our route changed by someone (same proto, other gateway)',
      setup: (t) => t.loadKernel([r('10.1.0.0/24')], []),
      event: ev({ prefix: '10.1.0.0/24', route: r('10.1.0.0/24', '192.0.2.7') }),
      want: 'drift',
      dirty: ['10.1.0.0/24'],
    },
    {
      name: 'our slot taken by a foreign replace',
      setup: (t) => t.loadKernel([r('10.1.0.0/24')], []),
      event: ev({ prefix: '10.1.0.0/24', proto: 12, slot: foreign('10.1.0.0/24', 12) }),
      want: 'drift',
      dirty: ['10.1.0.0/24'],
    },
    {
      name: 'a foreign route appears on a prefix we want',
      setup: (t) => t.setDesired(r('10.1.0.0/24')),
      event: ev({ prefix: '10.1.0.0/24', proto: 4, slot: foreign('10.1.0.0/24') }),
      want: 'recheck',
      dirty: ['10.1.0.0/24'],
    },
    {
      name: 'a foreign route goes from a prefix we want (a blocked route may go in)',
      setup: (t) => {
        t.loadKernel([], [foreign('10.1.0.0/24')]);
        t.setDesired(r('10.1.0.0/24'));
      },
      event: ev({ prefix: '10.1.0.0/24', deleted: true, proto: 4, slot: foreign('10.1.0.0/24') }),
      want: 'recheck',
      dirty: ['10.1.0.0/24'],
    },
    {
      name: 'a foreign route on a prefix we know nothing about',
      setup: () => undefined,
      event: ev({ prefix: '10.9.0.0/24', proto: 4, slot: foreign('10.9.0.0/24') }),
      want: 'ignored',
      dirty: [],
    },
    {
      name: 'a route with our proto we did not make (it is ours to manage)',
      setup: () => undefined,
      event: ev({ prefix: '10.9.0.0/24', route: r('10.9.0.0/24') }),
      want: 'drift',
      dirty: ['10.9.0.0/24'],
    },
  ];
  for (const c of verdicts) {
    it(`applyEvent: ${c.name} → ${c.want}`, () => {
      const t = new PrefixTable();
      c.setup(t);
      t.takeDirty(true);
      expect(t.applyEvent(c.event)).to.equal(c.want);
      expect(t.takeDirty(false).map((s) => s.prefix)).to.deep.equal(c.dirty);
    });
  }

  it('revert() puts the shadow right after a failed add or delete', () => {
    const t = new PrefixTable();
    t.complete = true;
    t.loadKernel([r('10.2.0.0/24')], []);
    t.setDesired(r('10.1.0.0/24'));
    const plan = t.plan(t.takeDirty(true));
    expect(plan.ops.map((o) => o.op).sort()).to.deep.equal(['add', 'del']);
    for (const op of plan.ops) t.revert(op);
    expect(t.get('10.1.0.0/24')?.installed).to.equal(undefined);
    expect(t.get('10.2.0.0/24')?.installed).to.deep.equal([r('10.2.0.0/24')]);
  });

  it('usesDev() finds our routes through an interface', () => {
    const t = new PrefixTable();
    t.loadKernel([{ ...r('10.1.0.0/24'), nextHops: [{ via: '192.0.2.2', dev: 'eth1' }] }], []);
    expect(t.usesDev('eth1')).to.equal(true);
    expect(t.usesDev('eth0')).to.equal(false);
  });
});
