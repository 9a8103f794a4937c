/**
 * The one effect behind which iptables lives: read our part of one
 * family's filter table (`<backend>-save -t filter`, parsed for our chains
 * and hash comments only) and write a difference with
 * `<backend>-restore --noflush`, which on both backends applies a whole
 * table's input as one transaction.
 */
import type { CommandRunner } from '../agent/kernel/command-runner.js';
import { TortieError } from '../lib/errors.js';
import type { BackendCommands } from './backend.js';
import type { Family } from './compile/cidr.js';
import type { ProgrammedTable } from './compile/render.js';
import { parseIptablesSave } from './compile/save-parse.js';

/**
 * Seconds to wait for the xtables lock. Legacy only: nft has no such lock,
 * and passing -w to iptables-nft-restore doubles its run time here
 * (11 -> 22 ms with 27k rules loaded).
 */
const LOCK_WAIT_SEC = 5;

export class IptablesWriter {
  constructor(
    private readonly runner: CommandRunner,
    private readonly commands: BackendCommands,
    readonly family: Family,
    private readonly netns?: string,
  ) {}

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
    const argv = [this.commands.restore[this.family], '--noflush', ...(this.commands.backend === 'legacy' ? ['-w', String(LOCK_WAIT_SEC)] : [])];
    const res = await this.runner.run(argv, { netns: this.netns, input: text });
    if (res.code !== 0) {
      throw new TortieError('ERR_POLICY_RESTORE', `${argv.join(' ')} exited with ${res.code}: ${res.stderr.trim().slice(0, 2000)}`);
    }
  }
}
