/**
 * Runs `fn` once changes pause for `quietMs`, but no later than `maxWaitMs`
 * after the first change of a burst that does not pause. A lone change runs
 * within quietMs; a stream of watch events (500 Nodes created at once) runs
 * fn every maxWaitMs rather than on every event or every quietMs.
 */
export class BurstDebounce {
  private timer: NodeJS.Timeout | undefined;
  private burstStart: number | undefined;

  constructor(
    private readonly fn: () => void,
    private readonly quietMs: number,
    private readonly maxWaitMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A change arrived. */
  trigger(): void {
    const t = this.now();
    this.burstStart ??= t;
    const wait = Math.max(0, Math.min(this.quietMs, this.burstStart + this.maxWaitMs - t));
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.burstStart = undefined;
      this.fn();
    }, wait);
    this.timer.unref();
  }

  get pending(): boolean {
    return this.timer !== undefined;
  }

  /** Drops a pending run. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.burstStart = undefined;
  }
}
