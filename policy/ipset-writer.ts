/**
 * The one effect behind which ipset lives: read our sets (`ipset save`,
 * parsed for TORTIE- names only) and apply `ipset restore -exist` input.
 * ipset sets are per network namespace and shared by both iptables
 * families and both backends.
 *
 * With a runner that can hold processes, `ipset restore` is started ahead
 * of need (a spare, restore-session.ts); `prepare()` starts the next one.
 */
import type { CommandRunner } from '../agent/kernel/command-runner.js';
import { TortieError } from '../lib/errors.js';
import { parseIpsetSave, type ParsedSets } from './compile/save-parse.js';
import { canSpawnPersistent, SpareProcess } from './restore-session.js';

export class IpsetWriter {
  private readonly spare: SpareProcess | undefined;

  constructor(
    private readonly runner: CommandRunner,
    private readonly netns?: string,
    private readonly command = 'ipset',
    opts: { persistent?: boolean } = {},
  ) {
    if ((opts.persistent ?? true) && canSpawnPersistent(runner)) this.spare = new SpareProcess(runner, [command, 'restore', '-exist'], netns);
  }

  /** Starts an `ipset restore` for the next write (when the runner can hold one). */
  prepare(): void {
    this.spare?.prepare();
  }

  close(): void {
    this.spare?.close();
  }

  async saveText(): Promise<string> {
    const res = await this.runner.run([this.command, 'save'], { netns: this.netns });
    if (res.code !== 0) throw new TortieError('ERR_POLICY_SAVE', `ipset save exited with ${res.code}: ${res.stderr.trim()}`);
    return res.stdout;
  }

  async read(): Promise<ParsedSets> {
    return parseIpsetSave(await this.saveText());
  }

  /**
   * Destroys sets. A set that rules used until a moment ago stays "in use
   * by a kernel component" until the kernel has released the old rules (an
   * RCU grace period after the iptables commit, which a one-shot restore
   * waits for when it exits, a kept one does not): such a destroy is retried
   * from the failing line after each of `delaysMs`. Resolves with the sets
   * still in use after the last try (destroyed: all the others); any other
   * error rejects.
   */
  async destroySets(names: readonly string[], delaysMs: readonly number[] = [10, 25, 50, 100, 250], opts: { spare?: boolean } = {}): Promise<string[]> {
    let rest = [...names];
    for (let attempt = 0; rest.length > 0; attempt++) {
      try {
        await this.restore(rest.map((n) => `destroy ${n}\n`).join(''), opts);
        return [];
      } catch (err) {
        const m = /Error in line (\d+): Set cannot be destroyed: it is in use/.exec(err instanceof Error ? err.message : String(err));
        if (!m) throw err;
        rest = rest.slice(Number(m[1]) - 1);
        const delay = delaysMs[attempt];
        if (delay === undefined) return rest;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    return [];
  }

  /** `spare: false` runs a process of its own, leaving the spare for the next write. */
  async restore(text: string, opts: { spare?: boolean } = {}): Promise<void> {
    if (text === '') return;
    const res = this.spare && opts.spare !== false && !this.spare.isClosed ? await this.spare.run(text) : await this.runner.run([this.command, 'restore', '-exist'], { netns: this.netns, input: text });
    if (res.code !== 0) throw new TortieError('ERR_POLICY_IPSET', `ipset restore exited with ${res.code}: ${res.stderr.trim().slice(0, 2000)}`);
  }
}
