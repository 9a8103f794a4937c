import { expect } from 'chai';
import { BurstDebounce } from './burst-debounce.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('k8s BurstDebounce', () => {
  it('a lone change runs once, after the quiet time', async () => {
    const runs: number[] = [];
    const t0 = Date.now();
    const d = new BurstDebounce(() => runs.push(Date.now() - t0), 40, 400);
    d.trigger();
    expect(d.pending).to.equal(true);
    await sleep(150);
    expect(runs).to.have.length(1);
    expect(runs[0]).to.be.within(35, 140);
    expect(d.pending).to.equal(false);
  });

  it('changes closer together than the quiet time are one run, after they stop', async () => {
    let runs = 0;
    const d = new BurstDebounce(() => runs++, 60, 10_000);
    for (let i = 0; i < 5; i++) {
      d.trigger();
      await sleep(10);
    }
    expect(runs).to.equal(0);
    await sleep(200);
    expect(runs).to.equal(1);
  });

  it('a burst that never pauses runs every maxWait, not on every change', async () => {
    let runs = 0;
    const d = new BurstDebounce(() => runs++, 50, 150);
    const end = Date.now() + 620;
    let triggers = 0;
    while (Date.now() < end) {
      d.trigger();
      triggers++;
      await sleep(5);
    }
    await sleep(100);
    // ~620 ms of changes with a 150 ms cap: about 4 runs, plus the last one after the burst.
    expect(triggers).to.be.greaterThan(40);
    expect(runs).to.be.within(3, 7);
  });

  it('cancel drops the pending run', async () => {
    let runs = 0;
    const d = new BurstDebounce(() => runs++, 20, 100);
    d.trigger();
    d.cancel();
    await sleep(80);
    expect(runs).to.equal(0);
  });
});
