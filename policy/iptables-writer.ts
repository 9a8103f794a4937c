/**
 * The one effect behind which iptables lives: read our part of one
 * family's filter table (`<backend>-save -t filter`, parsed for our chains
 * and hash comments only) and write a difference with
 * `<backend>-restore --noflush`, which on both backends applies a whole
 * table's input as one transaction.
 *
 * On nft, with a runner that can hold processes (HelperCommandRunner),
 * writes go through one long-lived restore process per family
 * (restore-session.ts): no start-up and no socket close on the write path.
 */
import type { CommandRunner } from '../agent/kernel/command-runner.js';
import { hasCode, TortieError } from '../lib/errors.js';
import type { BackendCommands } from './backend.js';
import type { Family } from './compile/cidr.js';
import type { ProgrammedTable } from './compile/render.js';
import { parseIptablesSave } from './compile/save-parse.js';
import { canSpawnPersistent, RestoreSession } from './restore-session.js';

/**
 * Seconds to wait for the xtables lock. Legacy only: nft has no such lock,
 * and passing -w to iptables-nft-restore doubles its run time here
 * (11 -> 22 ms with 27k rules loaded).
 */
const LOCK_WAIT_SEC = 5;

export class IptablesWriter {
  /** The kept restore process (nft with a PersistentSpawner runner); see restore-session.ts. */
  readonly session: RestoreSession | undefined;

  constructor(
    private readonly runner: CommandRunner,
    private readonly commands: BackendCommands,
    readonly family: Family,
    private readonly netns?: string,
    opts: { persistent?: boolean; helloTimeoutMs?: number } = {},
  ) {
    // nft only. Legacy restores work under the host-wide xtables lock, which a kept process must not risk
    // holding between writes (not measured here), and they cost O(ruleset) per commit anyway.
    if ((opts.persistent ?? true) && commands.backend === 'nft' && canSpawnPersistent(runner)) {
      this.session = new RestoreSession(runner, [commands.restore[family], '--noflush', '-v'], netns, { helloTimeoutMs: opts.helloTimeoutMs });
    }
  }

  /** True when writes go through a long-lived restore process. */
  get persistent(): boolean {
    return this.session !== undefined;
  }

  /** Starts the restore process ahead of the next write (when persistent). */
  prepare(): void {
    this.session?.prepare();
  }

  close(): void {
    this.session?.close();
  }

  /** The filter table as save prints it. */
  async saveText(): Promise<string> {
    const argv = [this.commands.save[this.family], '-t', 'filter'];
    const res = await this.runner.run(argv, { netns: this.netns });
    if (res.code !== 0) throw new TortieError('ERR_POLICY_SAVE', `${argv.join(' ')} exited with ${res.code}: ${res.stderr.trim()}`);
    return res.stdout;
  }

  async read(): Promise<ProgrammedTable> {
    return parseIptablesSave(await this.saveText());
  }

  async restore(text: string): Promise<void> {
    if (text === '') return;
    if (this.session && this.session.unsupported === undefined && !this.session.isClosed) {
      try {
        await this.session.write(text);
        return;
      } catch (err) {
        // Nothing was written: the tool does not echo markers; run it one-shot from now on.
        if (!hasCode(err, 'ERR_POLICY_SESSION_UNSUPPORTED')) throw err;
      }
    }
    const argv = [this.commands.restore[this.family], '--noflush', ...(this.commands.backend === 'legacy' ? ['-w', String(LOCK_WAIT_SEC)] : [])];
    const res = await this.runner.run(argv, { netns: this.netns, input: text });
    if (res.code !== 0) {
      throw new TortieError('ERR_POLICY_RESTORE', `${argv.join(' ')} exited with ${res.code}: ${res.stderr.trim().slice(0, 2000)}`);
    }
  }
}
