/**
 * Loading the configuration file: read it, parse the YAML keeping
 * positions, validate, apply defaults. `parseConfigText` is pure (the
 * environment comes in as an argument); `loadConfig` and `loadConfigSync`
 * add the file read and the process's environment.
 *
 * Failure is one ConfigInvalidError (code ERR_CONFIG_INVALID) listing every
 * problem: a file that cannot be read, YAML syntax, then the schema.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigInvalidError, sortIssues, type ConfigIssue } from './issues.js';
import type { AgentConfig } from './schema.js';
import { buildConfig, type ConfigEnv } from './validate.js';
import { Reader } from './yaml-reader.js';

export type { ConfigEnv } from './validate.js';

export type ConfigResult = { ok: true; config: AgentConfig } | { ok: false; issues: readonly ConfigIssue[] };


/** Parses and validates the text of a configuration file. `file` is only used in the issues. */
export function parseConfigText(text: string, file: string, env: ConfigEnv): ConfigResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, strict: true });
  const r = new Reader(file, doc, lineCounter);
  // Syntax errors stop here: a schema check of a half-parsed document would
  // mostly report noise. Warnings (an unknown tag) are reported with the rest.
  // Duplicate keys are left to the schema check, which can name the field.
  // One syntax error per line: the first is the cause, the rest of that line is its echo.
  const lines = new Set<number>();
  for (const e of [...doc.errors, ...doc.warnings]) {
    const line = r.position(e.pos[0]).line;
    if (lines.has(line)) continue;
    lines.add(line);
    r.report(e.pos[0], '', `YAML: ${e.message}`);
  }
  if (doc.errors.length > 0) return { ok: false, issues: sortIssues(r.issues) };
  const root = r.value(doc.contents);
  if (root === undefined) {
    r.report(0, '', 'the file is empty; a configuration needs at least node.asn');
    return { ok: false, issues: r.issues };
  }
  const config = buildConfig(r, root, env);
  if (config === undefined || r.issues.length > 0) return { ok: false, issues: sortIssues(r.issues) };
  return { ok: true, config };
}

function processEnv(): ConfigEnv {
  return { env: process.env, hostname: hostname() };
}

function decode(bytes: Uint8Array, file: string): ConfigResult | string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, issues: [{ file, line: 0, column: 0, path: '', message: 'cannot read the file: it is not valid UTF-8 text' }] };
  }
}

function unreadable(file: string, err: unknown): ConfigResult {
  const why = err instanceof Error ? err.message : String(err);
  return { ok: false, issues: [{ file, line: 0, column: 0, path: '', message: `cannot read the file: ${why}` }] };
}

/** Reads and validates a file; never throws for a bad file. */
export function readConfigFileSync(file: string, env: ConfigEnv = processEnv()): ConfigResult {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    return unreadable(file, err);
  }
  const text = decode(bytes, file);
  return typeof text === 'string' ? parseConfigText(text, file, env) : text;
}

/** Reads and validates a file; never throws for a bad file. */
export async function readConfigFile(file: string, env: ConfigEnv = processEnv()): Promise<ConfigResult> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    return unreadable(file, err);
  }
  const text = decode(bytes, file);
  return typeof text === 'string' ? parseConfigText(text, file, env) : text;
}

function orThrow(r: ConfigResult): AgentConfig {
  if (r.ok) return r.config;
  throw new ConfigInvalidError(r.issues);
}

/** The configuration in `file`. Throws ConfigInvalidError (ERR_CONFIG_INVALID) listing every problem. */
export async function loadConfig(file: string, env?: ConfigEnv): Promise<AgentConfig> {
  return orThrow(await readConfigFile(file, env));
}

/** As loadConfig, synchronously. */
export function loadConfigSync(file: string, env?: ConfigEnv): AgentConfig {
  return orThrow(readConfigFileSync(file, env));
}
