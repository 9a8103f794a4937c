/** Helpers for the configuration tests. */
import { expect } from 'chai';
import type { ConfigIssue } from './issues.js';
import { parseConfigText, type ConfigEnv, type ConfigResult } from './load.js';
import type { AgentConfig } from './schema.js';

/**
 * A YAML text written indented inside a test: drops the first line break
 * and the common indentation, so line 1 is the first line of content.
 */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const raw = strings.reduce((acc, s, i) => acc + s + (i < values.length ? String(values[i]) : ''), '');
  const lines = raw.replace(/^\n/, '').replace(/\n[ \t]*$/, '\n').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)?.[0].length ?? 0));
  return lines.map((l) => l.slice(indent)).join('\n');
}

export const TEST_ENV: ConfigEnv = Object.freeze({ env: {}, hostname: 'test-host' });

export function parse(text: string, env: ConfigEnv = TEST_ENV): ConfigResult {
  return parseConfigText(text, 'node.yaml', env);
}

/** The config, or a thrown Error listing the issues. */
export function parseOk(text: string, env: ConfigEnv = TEST_ENV): AgentConfig {
  const r = parse(text, env);
  if (!r.ok) throw new Error(`expected a valid config, got:\n${r.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`).join('\n')}`);
  return r.config;
}

/** An expected issue: position and path exactly; the message exactly, or `has` as a substring. */
export interface Want {
  line: number;
  column: number;
  path: string;
  message?: string;
  has?: string;
}

/** Asserts the issues, in order, against `want`; failures show the whole list. */
export function expectIssues(got: readonly ConfigIssue[], want: readonly Want[]): void {
  const shown = got.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`).join('\n');
  expect(got.length, `issues:\n${shown}`).to.equal(want.length);
  want.forEach((w, k) => {
    const g = got[k];
    expect({ line: g.line, column: g.column, path: g.path }, `issue ${k}:\n${shown}`).to.deep.equal({ line: w.line, column: w.column, path: w.path });
    if (w.message !== undefined) expect(g.message, `issue ${k}`).to.equal(w.message);
    if (w.has !== undefined) expect(g.message, `issue ${k}`).to.include(w.has);
  });
}
