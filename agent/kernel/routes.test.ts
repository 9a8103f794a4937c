/**
 * The pure route model: parsing real `ip -json` dumps captured from a
 * kernel (fixtures/, see capture-fixtures.ts), validation, diff and
 * rendering. No I/O beyond reading the fixtures.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasCode } from '../../lib/errors.js';
import { FakeIpKernel } from './fake-ip.js';
import {
  type KernelRoute,
  type RouteInput,
  type RouteSlot,
  canonicalPrefix,
  checkOwnProto,
  diffPrefix,
  diffRoutes,
  emptyDiff,
  normalizeRoute,
  parseIpJsonRoutes,
  renderBatch,
  routeSatisfies,
} from './routes.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixture = (name: string): string => readFileSync(join(fixtures, name), 'utf8');

const P = 77;
const r4 = (prefix: string, extra: Partial<KernelRoute> = {}): KernelRoute => ({
  prefix,
  kind: 'unicast',
  nextHops: [{ via: '192.0.2.2', dev: 've0a' }],
  proto: P,
  table: 254,
  metric: 0,
  ...extra,
});
const r6 = (prefix: string, extra: Partial<KernelRoute> = {}): KernelRoute => ({
  prefix,
  kind: 'unicast',
  nextHops: [{ via: '2001:db8:1::2', dev: 've0a' }],
  proto: P,
  table: 254,
  metric: 1024,
  ...extra,
});
const slotsOf = (slots: RouteSlot[]): string[] => slots.map((s) => `${s.prefix} proto ${s.proto} metric ${s.metric} ${s.what}`).sort();

const OURS_V4: KernelRoute[] = [
  r4('0.0.0.0/0', { metric: 100 }),
  r4('10.1.0.0/24'),
  r4('10.2.0.0/24', { nextHops: [{ via: '192.0.2.2', dev: 've0a' }, { via: '192.0.2.3', dev: 've0a', weight: 3 }] }),
  { prefix: '10.3.0.0/16', kind: 'blackhole', nextHops: [], proto: P, table: 254, metric: 0 },
  r4('10.4.0.5/32'),
  r4('10.6.0.0/24', { metric: 50 }),
];

const OURS_V6: KernelRoute[] = [
  r6('2001:db8:10::/48'),
  r6('2001:db8:11::/48', { nextHops: [{ via: '2001:db8:1::2', dev: 've0a', weight: 2 }, { via: 'fe80::1', dev: 've0a' }] }),
  { prefix: '2001:db8:12::/48', kind: 'blackhole', nextHops: [], proto: P, table: 254, metric: 1024 },
  r6('2001:db8:13::1/128'),
  r6('::/0', { nextHops: [{ via: 'fe80::1', dev: 've0a' }], metric: 100 }),
];

const byPrefix = (a: KernelRoute, b: KernelRoute): number => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0);

describe('kernel/routes: parseIpJsonRoutes on captured ip -json output', () => {
  const cases: { name: string; file: string; opts: Parameters<typeof parseIpJsonRoutes>[2]; ours: KernelRoute[]; unmanaged: string[]; foreign: string[] }[] = [
    {
      name: 'IPv4 table main, -N (all protos)',
      file: 'v4-table-main-numeric.json',
      opts: { family: 4, table: 254 },
      ours: OURS_V4,
      unmanaged: ['10.5.0.0/24 proto 77 metric 0 dev-only', '10.7.0.0/24 proto 77 metric 0 unreachable'],
      foreign: [
        '10.1.0.0/24 proto 4 metric 10 unicast',
        '10.8.0.0/24 proto 12 metric 0 unicast',
        '10.9.0.0/24 proto 3 metric 0 unicast',
        '192.0.2.0/24 proto 2 metric 0 unicast',
      ],
    },
    {
      name: 'IPv6 table main, -N (all protos)',
      file: 'v6-table-main-numeric.json',
      opts: { family: 6, table: 254 },
      ours: OURS_V6,
      unmanaged: [],
      foreign: [
        '2001:db8:10::/48 proto 4 metric 2000 unicast',
        '2001:db8:1::/64 proto 2 metric 256 unicast',
        '2001:db8:20::/48 proto 12 metric 1024 unicast',
        'fe80::/64 proto 2 metric 256 unicast',
      ],
    },
    {
      name: 'IPv4 `route show proto 77` (no protocol field)',
      file: 'v4-proto-filtered.json',
      opts: { family: 4, protoFiltered: true },
      ours: OURS_V4,
      unmanaged: ['10.5.0.0/24 proto 77 metric 0 dev-only', '10.7.0.0/24 proto 77 metric 0 unreachable'],
      foreign: [],
    },
    {
      name: 'IPv6 `-6 route show proto 77` (no protocol field)',
      file: 'v6-proto-filtered.json',
      opts: { family: 6, protoFiltered: true },
      ours: OURS_V6,
      unmanaged: [],
      foreign: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const parsed = parseIpJsonRoutes(fixture(c.file), P, c.opts);
      const ours = [...parsed.ours].sort(byPrefix);
      expect(ours).to.deep.equal([...c.ours].sort(byPrefix));
      expect(slotsOf(parsed.unmanaged)).to.deep.equal([...c.unmanaged].sort());
      expect(slotsOf(parsed.foreign)).to.deep.equal([...c.foreign].sort());
    });
  }

  it('reads names (no -N) from a `table all` dump of both families: table, type and protocol names', () => {
    const parsed = parseIpJsonRoutes(fixture('all-tables-names.json'), P);
    const ours = parsed.ours.map((r) => `${r.prefix} t${r.table ?? 254} m${r.metric ?? '-'} ${r.kind}`).sort();
    expect(ours).to.deep.equal(
      [
        '0.0.0.0/0 t254 m100 unicast',
        '10.1.0.0/24 t254 m0 unicast',
        '10.100.0.0/24 t100 m0 unicast',
        '10.2.0.0/24 t254 m0 unicast',
        '10.3.0.0/16 t254 m0 blackhole',
        '10.4.0.5/32 t254 m0 unicast',
        '10.6.0.0/24 t254 m50 unicast',
        '2001:db8:10::/48 t254 m1024 unicast',
        '2001:db8:11::/48 t254 m1024 unicast',
        '2001:db8:12::/48 t254 m1024 blackhole',
        '2001:db8:13::1/128 t254 m1024 unicast',
        '::/0 t254 m100 unicast',
      ].sort(),
    );
    expect(parsed.foreign.find((s) => s.prefix === '10.8.0.0/24')?.proto).to.equal(12);
    expect(parsed.foreign.find((s) => s.prefix === '10.1.0.0/24')?.proto).to.equal(4);
    expect(parsed.foreign.filter((s) => s.table === 255).length).to.be.greaterThan(3);
  });

  it('rejects output that is not a JSON array with ERR_KERNEL_PARSE, and takes "" as empty', () => {
    let caught: unknown;
    try {
      parseIpJsonRoutes('{"dst":"10.0.0.0/8"}', P);
    } catch (err) {
      caught = err;
    }
    expect(hasCode(caught, 'ERR_KERNEL_PARSE')).to.equal(true);
    expect(parseIpJsonRoutes('', P)).to.deep.equal({ ours: [], unmanaged: [], foreign: [] });
  });
});

describe('kernel/routes: normalizeRoute', () => {
  const ok: { name: string; input: RouteInput; out: KernelRoute }[] = [
    {
      name: 'canonical IPv6 text, default metric, table main',
      input: { prefix: '2001:DB8:0:0::/32', kind: 'unicast', nextHops: [{ via: '2001:0db8::0001' }] },
      out: { prefix: '2001:db8::/32', kind: 'unicast', nextHops: [{ via: '2001:db8::1' }], proto: P, table: 254, metric: 1024 },
    },
    {
      name: 'IPv6 metric 0 is 1024',
      input: { prefix: '2001:db8::/32', kind: 'blackhole', metric: 0 },
      out: { prefix: '2001:db8::/32', kind: 'blackhole', nextHops: [], proto: P, table: 254, metric: 1024 },
    },
    {
      name: 'ECMP sorted, duplicates merged, weight 1 dropped',
      input: {
        prefix: '10.0.0.0/8',
        kind: 'unicast',
        nextHops: [{ via: '192.0.2.9', weight: 1 }, { via: '192.0.2.3', weight: 5 }, { via: '192.0.2.9' }],
      },
      out: {
        prefix: '10.0.0.0/8',
        kind: 'unicast',
        nextHops: [{ via: '192.0.2.3', weight: 5 }, { via: '192.0.2.9' }],
        proto: P,
        table: 254,
        metric: 0,
      },
    },
    {
      name: 'a single next hop loses its weight',
      input: { prefix: '10.0.0.0/8', kind: 'unicast', nextHops: [{ via: '192.0.2.9', dev: 'eth0', weight: 7 }] },
      out: { prefix: '10.0.0.0/8', kind: 'unicast', nextHops: [{ via: '192.0.2.9', dev: 'eth0' }], proto: P, table: 254, metric: 0 },
    },
    {
      name: 'link-local next hop with dev',
      input: { prefix: '::/0', kind: 'unicast', nextHops: [{ via: 'FE80::1', dev: 'eth0' }] },
      out: { prefix: '::/0', kind: 'unicast', nextHops: [{ via: 'fe80::1', dev: 'eth0' }], proto: P, table: 254, metric: 1024 },
    },
  ];
  for (const c of ok) {
    it(`accepts: ${c.name}`, () => {
      expect(normalizeRoute(c.input, { proto: P })).to.deep.equal(c.out);
    });
  }

  const bad: { name: string; input: RouteInput }[] = [
    { name: 'host bits set', input: { prefix: '10.0.0.1/24', kind: 'blackhole' } },
    { name: 'no length', input: { prefix: '10.0.0.0', kind: 'blackhole' } },
    { name: 'length out of range', input: { prefix: '10.0.0.0/33', kind: 'blackhole' } },
    { name: 'garbage prefix', input: { prefix: '10.0.0.0/8 via 1.2.3.4', kind: 'blackhole' } },
    { name: 'next hop of the other family', input: { prefix: '10.0.0.0/8', kind: 'unicast', nextHops: [{ via: '2001:db8::1' }] } },
    { name: 'link-local without dev', input: { prefix: '2001:db8::/32', kind: 'unicast', nextHops: [{ via: 'fe80::1' }] } },
    { name: 'blackhole with next hops', input: { prefix: '10.0.0.0/8', kind: 'blackhole', nextHops: [{ via: '192.0.2.1' }] } },
    { name: 'unicast without next hops', input: { prefix: '10.0.0.0/8', kind: 'unicast', nextHops: [] } },
    { name: 'weight 0', input: { prefix: '10.0.0.0/8', kind: 'unicast', nextHops: [{ via: '192.0.2.1', weight: 0 }] } },
    { name: 'weight 257', input: { prefix: '10.0.0.0/8', kind: 'unicast', nextHops: [{ via: '192.0.2.1', weight: 257 }] } },
    { name: 'dev with a space', input: { prefix: '10.0.0.0/8', kind: 'unicast', nextHops: [{ via: '192.0.2.1', dev: 'eth0 proto' }] } },
    { name: 'dev too long', input: { prefix: '10.0.0.0/8', kind: 'unicast', nextHops: [{ via: '192.0.2.1', dev: 'a'.repeat(16) }] } },
    { name: 'bad next hop address', input: { prefix: '10.0.0.0/8', kind: 'unicast', nextHops: [{ via: '192.0.2.256' }] } },
    { name: 'another proto', input: { prefix: '10.0.0.0/8', kind: 'blackhole', proto: 12 } },
    { name: 'another table', input: { prefix: '10.0.0.0/8', kind: 'blackhole', table: 100 } },
    { name: 'negative metric', input: { prefix: '10.0.0.0/8', kind: 'blackhole', metric: -1 } },
  ];
  for (const c of bad) {
    it(`rejects with ERR_KERNEL_ROUTE_INVALID: ${c.name}`, () => {
      let caught: unknown;
      try {
        normalizeRoute(c.input, { proto: P });
      } catch (err) {
        caught = err;
      }
      expect(hasCode(caught, 'ERR_KERNEL_ROUTE_INVALID'), String(caught)).to.equal(true);
    });
  }

  for (const [proto, valid] of [[77, true], [12, false], [186, false], [4, false], [0, false], [256, false], [7.5, false]] as const) {
    it(`checkOwnProto(${proto}) ${valid ? 'accepts' : 'rejects with ERR_KERNEL_PROTO_INVALID'}`, () => {
      let caught: unknown;
      try {
        checkOwnProto(proto);
      } catch (err) {
        caught = err;
      }
      expect(caught === undefined).to.equal(valid);
      if (!valid) expect(hasCode(caught, 'ERR_KERNEL_PROTO_INVALID')).to.equal(true);
    });
  }

  for (const [text, family, out] of [
    ['10.1.2.3', undefined, '10.1.2.3/32'],
    ['2001:db8::1', undefined, '2001:db8::1/128'],
    ['default', 4, '0.0.0.0/0'],
    ['default', 6, '::/0'],
    ['default', undefined, undefined],
    ['10.0.0.0/8', 6, undefined],
    ['2001:db9::/31', undefined, undefined],
    ['2001:db8::/31', undefined, '2001:db8::/31'],
    ['010.0.0.0/8', undefined, undefined],
  ] as const) {
    it(`canonicalPrefix(${text}, ${String(family)}) = ${String(out)}`, () => {
      expect(canonicalPrefix(text, family)).to.equal(out);
    });
  }
});

describe('kernel/routes: diffRoutes', () => {
  const bh = (prefix: string): KernelRoute => ({ prefix, kind: 'blackhole', nextHops: [], proto: P, table: 254, metric: isV6(prefix) ? 1024 : 0 });
  const noDev = (r: KernelRoute): KernelRoute => ({ ...r, nextHops: r.nextHops.map(({ via, weight }) => (weight ? { via, weight } : { via })) });
  const foreign = (prefix: string, metric = 0): RouteSlot => ({ prefix, table: 254, metric, proto: 4, what: 'unicast' });
  const ecmp = (w?: number): KernelRoute =>
    r4('10.2.0.0/24', { nextHops: [{ via: '192.0.2.3', dev: 've0a', ...(w ? { weight: w } : {}) }, { via: '192.0.2.2', dev: 've0a' }] });
  const cases: {
    name: string;
    desired: KernelRoute[];
    current: KernelRoute[];
    occupied?: RouteSlot[];
    deleteUnwanted?: boolean;
    expect: { add?: string[]; replace?: string[]; del?: string[]; blocked?: string[] };
  }[] = [
    { name: 'nothing to do', desired: [], current: [], expect: {} },
    { name: 'a new route is added', desired: [r4('10.1.0.0/24')], current: [], expect: { add: ['10.1.0.0/24'] } },
    { name: 'a desired hop without dev matches the kernel\'s hop with dev', desired: [noDev(r4('10.1.0.0/24'))], current: [r4('10.1.0.0/24')], expect: {} },
    { name: 'another gateway is a replace', desired: [r4('10.1.0.0/24', { nextHops: [{ via: '192.0.2.3' }] })], current: [r4('10.1.0.0/24')], expect: { replace: ['10.1.0.0/24'] } },
    { name: 'ECMP next hops compare as a set', desired: [r4('10.2.0.0/24', { nextHops: [{ via: '192.0.2.2' }, { via: '192.0.2.3' }] })], current: [ecmp()], expect: {} },
    { name: 'an ECMP weight change is a replace', desired: [ecmp(3)], current: [ecmp()], expect: { replace: ['10.2.0.0/24'] } },
    { name: 'ECMP → single path is a replace', desired: [r4('10.2.0.0/24')], current: [ecmp()], expect: { replace: ['10.2.0.0/24'] } },
    { name: 'blackhole → unicast is a replace', desired: [r4('10.3.0.0/16')], current: [bh('10.3.0.0/16')], expect: { replace: ['10.3.0.0/16'] } },
    { name: 'an undesired route of ours is deleted', desired: [], current: [r4('10.1.0.0/24'), bh('2001:db8::/32')], expect: { del: ['10.1.0.0/24', '2001:db8::/32'] } },
    { name: '… but not while adopting (deleteUnwanted false)', desired: [], current: [r4('10.1.0.0/24')], deleteUnwanted: false, expect: {} },
    { name: 'a metric change deletes the old slot and adds the new one', desired: [r4('10.1.0.0/24', { metric: 20 })], current: [r4('10.1.0.0/24')], expect: { add: ['10.1.0.0/24'], del: ['10.1.0.0/24'] } },
    { name: 'a foreign route in our slot blocks us', desired: [r4('10.1.0.0/24')], current: [], occupied: [foreign('10.1.0.0/24')], expect: { blocked: ['10.1.0.0/24'] } },
    { name: 'a foreign route at another metric does not', desired: [r4('10.1.0.0/24')], current: [], occupied: [foreign('10.1.0.0/24', 10)], expect: { add: ['10.1.0.0/24'] } },
    { name: 'IPv6: metric 1024 is the default slot', desired: [r6('2001:db8::/32', { metric: undefined })], current: [r6('2001:db8::/32')], expect: {} },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = diffRoutes(c.desired, c.current, { occupied: c.occupied, deleteUnwanted: c.deleteUnwanted });
      expect({
        add: d.add.map((r) => r.prefix),
        replace: d.replace.map((r) => r.prefix),
        del: d.del.map((r) => r.prefix),
        blocked: d.blocked.map((b) => b.route.prefix),
      }).to.deep.equal({ add: [], replace: [], del: [], blocked: [], ...c.expect });
    });
  }

  it('diffPrefix, run per prefix, agrees with diffRoutes on every case above', () => {
    for (const c of cases) {
      const deleteUnwanted = c.deleteUnwanted ?? true;
      const want = diffRoutes(c.desired, c.current, { occupied: c.occupied, deleteUnwanted });
      const got = emptyDiff();
      const prefixes = new Set([...c.desired, ...c.current].map((r) => r.prefix));
      for (const p of prefixes) {
        diffPrefix(
          c.desired.find((r) => r.prefix === p),
          c.current.filter((r) => r.prefix === p),
          (c.occupied ?? []).filter((o) => o.prefix === p),
          deleteUnwanted,
          got,
        );
      }
      expect(got, c.name).to.deep.equal(want);
    }
  });

  it('routeSatisfies: a current route of another proto never satisfies ours', () => {
    expect(routeSatisfies(r4('10.1.0.0/24'), { ...r4('10.1.0.0/24'), proto: 12 })).to.equal(false);
  });
});

function isV6(prefix: string): boolean {
  return prefix.includes(':');
}

describe('kernel/routes: renderBatch', () => {
  it('renders deletes, then replaces, then adds; every line carries our proto and metric', () => {
    const lines = renderBatch({
      del: [r4('10.9.0.0/24', { metric: 5 }), { ...r6('2001:db8:9::/48'), table: 100 }],
      replace: [r4('10.2.0.0/24', { nextHops: [{ via: '192.0.2.2' }, { via: '192.0.2.3', weight: 3 }] })],
      add: [
        { prefix: '10.3.0.0/16', kind: 'blackhole', nextHops: [], proto: P, table: 254, metric: 0 },
        { prefix: '2001:db8:12::/48', kind: 'blackhole', nextHops: [], proto: P },
        r6('::/0', { nextHops: [{ via: 'fe80::1', dev: 'eth0' }], metric: 100 }),
        r4('10.1.0.0/24', { nextHops: [{ via: '192.0.2.2' }], table: 100 }),
      ],
      blocked: [{ route: r4('10.77.0.0/24'), by: { prefix: '10.77.0.0/24', table: 254, metric: 0, proto: 4, what: 'unicast' } }],
    });
    expect(lines).to.deep.equal([
      'route del 10.9.0.0/24 proto 77 metric 5',
      'route del 2001:db8:9::/48 proto 77 table 100 metric 1024',
      'route replace 10.2.0.0/24 proto 77 metric 0 nexthop via 192.0.2.2 nexthop via 192.0.2.3 weight 3',
      'route add blackhole 10.3.0.0/16 proto 77 metric 0',
      'route add blackhole 2001:db8:12::/48 proto 77 metric 1024',
      'route add ::/0 via fe80::1 dev eth0 proto 77 metric 100',
      'route add 10.1.0.0/24 via 192.0.2.2 proto 77 table 100 metric 0',
    ]);
  });

  it('never emits a line for a route that is not ours: foreign-only current gives nothing', () => {
    const current = parseIpJsonRoutes(fixture('v4-table-main-numeric.json'), 99, { family: 4 });
    expect(current.ours).to.deep.equal([]);
    expect(renderBatch(diffRoutes([], current.ours, { occupied: current.foreign }))).to.deep.equal([]);
  });

  it('round trip through the fake kernel: rendered lines, read back as JSON, satisfy what was desired', async () => {
    const k = new FakeIpKernel();
    k.addLink('ve0a', '192.0.2.1/24', '2001:db8:1::1/64');
    const desired = [...OURS_V4, ...OURS_V6].map((r) => normalizeRoute(r, { proto: P }));
    for (const line of renderBatch(diffRoutes(desired, []))) expect(k.execLine(line), line).to.equal(undefined);
    const back: KernelRoute[] = [];
    for (const family of [4, 6] as const) {
      const r = await k.runner.run(['ip', '-N', '-json', `-${family}`, 'route', 'show', 'table', '254']);
      back.push(...parseIpJsonRoutes(r.stdout, P, { family }).ours);
    }
    expect(back.length).to.equal(desired.length);
    expect(diffRoutes(desired, back)).to.deep.equal({ add: [], replace: [], del: [], blocked: [] });
  });
});
