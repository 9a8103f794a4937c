/**
 * Polls a probe in the background until stopped, keeping every sample: the
 * evidence for "the route never went away" during a restart.
 */
export interface Sample<T> {
  atMs: number;
  value: T | undefined;
  error?: string;
}

export class Sampler<T> {
  readonly samples: Sample<T>[] = [];
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(probe: () => Promise<T | undefined>, intervalMs = 200) {
    this.loop = (async () => {
      while (!this.stopped) {
        const atMs = Date.now();
        try {
          this.samples.push({ atMs, value: await probe() });
        } catch (err) {
          this.samples.push({ atMs, value: undefined, error: err instanceof Error ? err.message : String(err) });
        }
        if (!this.stopped) await new Promise((r) => setTimeout(r, intervalMs));
      }
    })();
  }

  async stop(): Promise<Sample<T>[]> {
    this.stopped = true;
    await this.loop;
    return this.samples;
  }
}
