/** NodeGc: who collects, the grace period, and never on data that may be wrong. */
import { expect } from 'chai';
import { silentLogger } from '../lib/log.js';
import type { ReleaseNodesResult } from '../ipam/node-gc.js';
import { NodeGc } from './node-gc.js';

interface Call { live: string[]; dryRun: boolean; only?: string[] }

function setup(o: { self?: string; nodes?: string[] | undefined; stale?: boolean; gone?: string[]; kept?: string[]; active?: string[] } = {}) {
  const state = { nodes: o.nodes === undefined && 'nodes' in o ? undefined : new Set(o.nodes ?? ['a', 'b']), stale: o.stale ?? false, now: 1_000_000 };
  const calls: Call[] = [];
  const gone = o.gone ?? ['z'];
  const active = new Set(o.active ?? ['a', 'b']);
  const ipam = {
    activeNodes: () => Promise.resolve(active),
    releaseNodesNotIn: (live: ReadonlySet<string>, opts: { dryRun?: boolean; only?: ReadonlySet<string> } = {}): Promise<ReleaseNodesResult> => {
      calls.push({ live: [...live].sort(), dryRun: opts.dryRun === true, ...(opts.only ? { only: [...opts.only].sort() } : {}) });
      const out = gone.filter((n) => !live.has(n) && (opts.only === undefined || opts.only.has(n)));
      return Promise.resolve({
        goneNodes: out, releasedBlocks: out.filter((n) => !(o.kept ?? []).includes(n)).map((n) => ({ cidr: `10.0.${n.charCodeAt(0)}.0/26`, node: n })),
        keptBlocks: out.filter((n) => (o.kept ?? []).includes(n)).map((n) => ({ cidr: '10.9.0.0/26', node: n, used: 1 })),
        strandedAllocations: [], removedNodeRecords: out, dryRun: opts.dryRun === true,
      });
    },
  };
  const gc = new NodeGc({
    self: o.self ?? 'a', ipam, graceSec: () => 300, log: silentLogger, now: () => state.now,
    source: { nodeNames: () => state.nodes, stale: () => state.stale },
  });
  return { gc, calls, state };
}

describe('agent: NodeGc (IPAM blocks of deleted nodes)', () => {
  it('collects on the first live node by name, only after the grace period', async () => {
    const { gc, calls, state } = setup();
    await gc.run();
    expect(gc.status().collector).to.equal(true);
    expect(calls).to.deep.equal([{ live: ['a', 'b'], dryRun: true }]);
    expect(gc.status().waiting.map((w) => w.node)).to.deep.equal(['z']);
    state.now += 299_000;
    await gc.run();
    expect(calls.filter((c) => !c.dryRun)).to.deep.equal([]);
    state.now += 1_000;
    await gc.run();
    expect(calls.filter((c) => !c.dryRun)).to.deep.equal([{ live: ['a', 'b'], dryRun: false, only: ['z'] }]);
    expect(gc.status().releasedBlocks).to.equal(1);
    expect(gc.status().waiting).to.deep.equal([]);
  });

  it('a node that comes back inside its grace period is forgotten', async () => {
    const { gc, calls, state } = setup();
    await gc.run();
    state.nodes = new Set(['a', 'b', 'z']);
    state.now += 100_000;
    await gc.run();
    expect(gc.status().waiting).to.deep.equal([]);
    state.now += 300_000;
    state.nodes = new Set(['a', 'b']);
    await gc.run();
    expect(calls.filter((c) => !c.dryRun)).to.deep.equal([]);
  });

  it('keeps waiting-list nodes that still hold addresses (blocks kept, reported again)', async () => {
    const { gc, state } = setup({ kept: ['z'] });
    await gc.run();
    state.now += 300_000;
    await gc.run();
    expect(gc.status().releasedBlocks).to.equal(0);
    expect(gc.status().waiting.map((w) => w.node)).to.deep.equal(['z']);
  });

  it('releases only the nodes decided on: one that appeared gone after the dry run waits its own grace', async () => {
    const { gc, calls, state } = setup({ gone: ['y', 'z'] });
    state.nodes = new Set(['a', 'b', 'y']);
    await gc.run();
    state.nodes = new Set(['a', 'b']);
    state.now += 300_000;
    await gc.run();
    expect(calls.filter((c) => !c.dryRun).map((c) => c.only)).to.deep.equal([['z']]);
    expect(gc.status().waiting.map((w) => w.node)).to.deep.equal(['y']);
  });

  it('never releases a node whose agent still writes its record, Node object or not', async () => {
    const { gc, calls, state } = setup({ active: ['a', 'b', 'z'] });
    await gc.run();
    state.now += 600_000;
    await gc.run();
    expect(calls.filter((c) => !c.dryRun)).to.deep.equal([]);
  });

  it('the first node without a running agent does not hold the job: the first with one collects', async () => {
    const { gc, calls } = setup({ self: 'b', nodes: ['a', 'b'], active: ['b'] });
    await gc.run();
    expect(gc.status().collector).to.equal(true);
    expect(calls.length).to.equal(1);
  });

  const never: { name: string; o: Parameters<typeof setup>[0] }[] = [
    { name: 'on a node that does not sort first', o: { self: 'b' } },
    { name: 'before the Nodes were listed', o: { nodes: undefined } },
    { name: 'while the API is unreachable (stale)', o: { stale: true } },
    { name: 'when this node has no Node object', o: { self: 'a0', nodes: ['a', 'b'] } },
  ];
  for (const c of never) {
    it(`does nothing ${c.name}`, async () => {
      const { gc, calls } = setup(c.o);
      await gc.run();
      expect(calls).to.deep.equal([]);
      expect(gc.status().collector).to.equal(false);
    });
  }
});
