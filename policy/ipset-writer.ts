/**
 * The one effect behind which ipset lives: read our sets (`ipset save`,
 * parsed for TORTIE- names only) and apply `ipset restore -exist` input.
 * ipset sets are per network namespace and shared by both iptables
 * families and both backends.
 */
import type { CommandRunner } from '../agent/kernel/command-runner.js';
import { TortieError } from '../lib/errors.js';
import { parseIpsetSave, type ParsedSets } from './compile/save-parse.js';

export class IpsetWriter {
  constructor(
    private readonly runner: CommandRunner,
    private readonly netns?: string,
    private readonly command = 'ipset',
  ) {}

  async saveText(): Promise<string> {
    const res = await this.runner.run([this.command, 'save'], { netns: this.netns });
    if (res.code !== 0) throw new TortieError('ERR_POLICY_SAVE', `ipset save exited with ${res.code}: ${res.stderr.trim()}`);
    return res.stdout;
  }

  async read(): Promise<ParsedSets> {
    return parseIpsetSave(await this.saveText());
  }

  async restore(text: string): Promise<void> {
    if (text === '') return;
    const res = await this.runner.run([this.command, 'restore', '-exist'], { netns: this.netns, input: text });
    if (res.code !== 0) throw new TortieError('ERR_POLICY_IPSET', `ipset restore exited with ${res.code}: ${res.stderr.trim().slice(0, 2000)}`);
  }
}
