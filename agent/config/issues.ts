/**
 * Configuration problems: each names the file, the 1-based line and column,
 * the field path (`bgp.peers[1].asn`) and what is wrong. All problems of a
 * file travel together in one ConfigInvalidError.
 */
import { TortieError } from '../../lib/errors.js';

export const ERR_CONFIG_INVALID = 'ERR_CONFIG_INVALID';

export interface ConfigIssue {
  readonly file: string;
  /** 1-based; 0 when the problem has no place in the text (the file cannot be read). */
  readonly line: number;
  /** 1-based; 0 together with line 0. */
  readonly column: number;
  /** The field, as `bgp.peers[1].asn`; '' for the whole file. */
  readonly path: string;
  readonly message: string;
}

/** `FILE:LINE:COL: path: message`; the position and path are left out when absent. */
export function formatIssue(i: ConfigIssue): string {
  const where = i.line > 0 ? `${i.file}:${i.line}:${i.column}` : i.file;
  return i.path === '' ? `${where}: ${i.message}` : `${where}: ${i.path}: ${i.message}`;
}

/** One issue per line, then a count ("3 errors"). */
export function formatIssues(issues: readonly ConfigIssue[]): string {
  const n = issues.length;
  return issues.map(formatIssue).join('\n') + `\n${n} error${n === 1 ? '' : 's'}\n`;
}

/** Orders issues by position, so a listing reads top to bottom. */
export function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.column - b.column);
}

/** The configuration file is unusable. `issues` lists every problem found, in file order. */
export class ConfigInvalidError extends TortieError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    const head = issues.length === 1 ? formatIssue(issues[0]) : `${issues.length} configuration errors:\n${issues.map(formatIssue).join('\n')}`;
    super(ERR_CONFIG_INVALID, head, options);
    this.name = 'ConfigInvalidError';
    this.issues = Object.freeze([...issues]);
  }
}
