/**
 * Typed, position-aware access to a parsed YAML document. Every read that
 * fails records a ConfigIssue (file, line, column, field path, message) and
 * returns undefined, so validation goes on and reports every problem at
 * once. No I/O.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Scalar } from 'yaml';
import type { ConfigIssue } from './issues.js';
import { didYouMean } from './suggest.js';

/** Something with a position: a YAML node, or a raw source offset. */
export type Where = Node | number | undefined;

export interface Position {
  line: number;
  column: number;
}

export class Reader {
  readonly issues: ConfigIssue[] = [];

  constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lineCounter: LineCounter,
  ) {}

  position(where: Where): Position {
    const offset = typeof where === 'number' ? where : where?.range?.[0] ?? 0;
    const { line, col } = this.lineCounter.linePos(offset);
    return { line, column: col };
  }

  report(where: Where, path: string, message: string): void {
    this.issues.push({ file: this.file, ...this.position(where), path, message });
  }

  /** Follows an alias to its anchor; undefined for an empty value (`key:` or `~`). */
  value(node: Node | null | undefined): Node | undefined {
    let n: Node | null | undefined = node;
    for (let hops = 0; n !== null && n !== undefined && isAlias(n) && hops < 32; hops++) n = n.resolve(this.doc);
    if (n === null || n === undefined || isAlias(n)) return undefined;
    if (isScalar(n) && n.value === null) return undefined;
    return n;
  }

  /**
   * A mapping whose keys must all be in `allowed`. Unknown keys are reported
   * at the key, with a suggestion when one is close.
   */
  fields(node: Node | undefined, path: string, allowed: readonly string[]): Fields | undefined {
    if (node === undefined) return undefined;
    if (!isMap(node)) {
      this.report(node, path, `expected a mapping, got ${describe(node)}`);
      return undefined;
    }
    const entries = new Map<string, Entry>();
    for (const pair of node.items) {
      const key = pair.key as Node | null;
      const keyScalar = key !== null && isScalar(key) ? key : undefined;
      const name = keyScalar !== undefined ? String(keyScalar.value) : undefined;
      if (name === undefined || keyScalar === undefined) {
        this.report(key ?? node, path, 'keys must be plain field names');
        continue;
      }
      const at = join(path, name);
      const first = entries.get(name);
      if (first !== undefined) {
        this.report(keyScalar, at, `duplicate field (first at line ${this.position(first.key).line})`);
        continue;
      }
      if (!allowed.includes(name)) {
        this.report(keyScalar, at, `unknown field${didYouMean(name, allowed)}`);
        continue;
      }
      entries.set(name, { key: keyScalar, value: this.value(pair.value as Node | null) });
    }
    return new Fields(this, node, path, entries);
  }

  /** The items of a list; reports a non-list. */
  list(node: Node | undefined, path: string): { node: Node | undefined; path: string; at: Where }[] | undefined {
    if (node === undefined) return undefined;
    if (!isSeq(node)) {
      this.report(node, path, `expected a list, got ${describe(node)}`);
      return undefined;
    }
    return node.items.map((item, i) => {
      const raw = item as Node | null;
      return { node: this.value(raw), path: `${path}[${i}]`, at: raw ?? node };
    });
  }

  int(node: Node | undefined, path: string, min: number, max: number, range?: (v: number) => string): number | undefined {
    if (node === undefined) return undefined;
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.report(node, path, `expected an integer, got ${describe(node)}`);
      return undefined;
    }
    if (v < min || v > max) {
      this.report(node, path, range ? range(v) : `${v} is out of range (${min}..${max})`);
      return undefined;
    }
    return v;
  }

  str(node: Node | undefined, path: string, what = 'a string'): string | undefined {
    if (node === undefined) return undefined;
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v !== 'string') {
      this.report(node, path, `expected ${what}, got ${describe(node)}`);
      return undefined;
    }
    return v;
  }

  bool(node: Node | undefined, path: string): boolean | undefined {
    if (node === undefined) return undefined;
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v !== 'boolean') {
      this.report(node, path, `expected true or false, got ${describe(node)}`);
      return undefined;
    }
    return v;
  }

  oneOf<T extends string>(node: Node | undefined, path: string, values: readonly T[]): T | undefined {
    const s = this.str(node, path, `one of ${values.join(', ')}`);
    if (s === undefined) return undefined;
    if (!(values as readonly string[]).includes(s)) {
      this.report(node, path, `${JSON.stringify(s)} is not one of ${values.join(', ')}${didYouMean(s, values)}`);
      return undefined;
    }
    return s as T;
  }
}

interface Entry {
  key: Scalar;
  value: Node | undefined;
}

/** The fields of one mapping, read by name. */
export class Fields {
  constructor(
    readonly reader: Reader,
    readonly node: Node,
    readonly path: string,
    private readonly entries: Map<string, Entry>,
  ) {}

  at(name: string): string {
    return join(this.path, name);
  }

  /** The value node; undefined when the field is absent or empty. */
  get(name: string): Node | undefined {
    return this.entries.get(name)?.value;
  }

  /** The key if present, else the mapping: where to report about `name`. */
  where(name: string): Node {
    const e = this.entries.get(name);
    return e?.value ?? e?.key ?? this.node;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Reports `name` as required when it is absent or empty. */
  require(name: string, what: string): boolean {
    if (this.has(name)) return true;
    const e = this.entries.get(name);
    this.reader.report(e?.key ?? this.node, this.at(name), e ? `is empty; expected ${what}` : `is required (${what})`);
    return false;
  }

  int(name: string, min: number, max: number, range?: (v: number) => string): number | undefined {
    return this.reader.int(this.get(name), this.at(name), min, max, range);
  }

  str(name: string, what?: string): string | undefined {
    return this.reader.str(this.get(name), this.at(name), what);
  }

  bool(name: string): boolean | undefined {
    return this.reader.bool(this.get(name), this.at(name));
  }

  oneOf<T extends string>(name: string, values: readonly T[]): T | undefined {
    return this.reader.oneOf(this.get(name), this.at(name), values);
  }

  fields(name: string, allowed: readonly string[]): Fields | undefined {
    return this.reader.fields(this.get(name), this.at(name), allowed);
  }

  list(name: string): { node: Node | undefined; path: string; at: Where }[] | undefined {
    return this.reader.list(this.get(name), this.at(name));
  }

  report(name: string, message: string): void {
    this.reader.report(this.where(name), this.at(name), message);
  }
}

export function join(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

/** "a string (\"x\")", "an integer (5)", "a list", ... for type errors. */
export function describe(node: Node | undefined): string {
  if (node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'nothing';
    if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 40 ? v.slice(0, 37) + '...' : v)})`;
    if (typeof v === 'number') return Number.isInteger(v) ? `an integer (${v})` : `a number (${v})`;
    if (typeof v === 'boolean') return `a boolean (${String(v)})`;
    return `a ${typeof v}`;
  }
  return 'something else';
}
