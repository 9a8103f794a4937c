/**
 * Node selectors for IP pools: a small subset of Calico's selector language,
 * evaluated against a node's labels.
 *
 *   all()                         every node
 *   has(key)   !has(key)          the label is present / absent
 *   key == "v"   key != "v"       the label equals / does not equal v (absent counts as "not equal")
 *   key in {"a", "b"}             the label is one of the values
 *   key not in {"a", "b"}         the label is absent or none of the values
 *   a && b   a || b   !a   ( a )  combinations; && binds tighter than ||
 *
 * Values are quoted with " or '. Pure.
 */

export type Selector =
  | { kind: 'all' }
  | { kind: 'has'; key: string }
  | { kind: 'eq'; key: string; value: string; negate: boolean }
  | { kind: 'in'; key: string; values: readonly string[]; negate: boolean }
  | { kind: 'not'; inner: Selector }
  | { kind: 'and' | 'or'; left: Selector; right: Selector };

export type SelectorParse = { ok: true; selector: Selector } | { ok: false; reason: string; offset: number };

export const ALL_NODES = 'all()';

interface Token {
  kind: 'ident' | 'string' | 'op';
  text: string;
  at: number;
}

const KEY_RE = /[A-Za-z0-9_./-]/;
const OPS = ['&&', '||', '==', '!=', '!', '(', ')', '{', '}', ','];

function tokenize(src: string): Token[] | { reason: string; offset: number } {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '"' || c === '\'') {
      const end = src.indexOf(c, i + 1);
      if (end < 0) return { reason: `unterminated string starting at column ${i + 1}`, offset: i };
      out.push({ kind: 'string', text: src.slice(i + 1, end), at: i });
      i = end + 1;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (op !== undefined) {
      out.push({ kind: 'op', text: op, at: i });
      i += op.length;
      continue;
    }
    if (KEY_RE.test(c)) {
      let j = i;
      while (j < src.length && KEY_RE.test(src[j])) j++;
      out.push({ kind: 'ident', text: src.slice(i, j), at: i });
      i = j;
      continue;
    }
    return { reason: `unexpected character ${JSON.stringify(c)} at column ${i + 1}`, offset: i };
  }
  return out;
}

class Parser {
  private i = 0;

  constructor(private readonly toks: Token[], private readonly srcLen: number) {}

  private peek(): Token | undefined {
    return this.toks[this.i];
  }

  private fail(what: string): never {
    const t = this.peek();
    const at = t?.at ?? this.srcLen;
    throw new SelectorError(t === undefined ? `expected ${what} at the end` : `expected ${what} at column ${at + 1}, found ${JSON.stringify(t.text)}`, at);
  }

  private isOp(text: string): boolean {
    const t = this.peek();
    return t !== undefined && t.kind === 'op' && t.text === text;
  }

  private expectOp(text: string): void {
    if (!this.isOp(text)) this.fail(JSON.stringify(text));
    this.i++;
  }

  parseAll(): Selector {
    const s = this.parseOr();
    if (this.peek() !== undefined) this.fail('&&, || or the end');
    return s;
  }

  private parseOr(): Selector {
    let left = this.parseAnd();
    while (this.isOp('||')) {
      this.i++;
      left = { kind: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): Selector {
    let left = this.parseUnary();
    while (this.isOp('&&')) {
      this.i++;
      left = { kind: 'and', left, right: this.parseUnary() };
    }
    return left;
  }

  private parseUnary(): Selector {
    if (this.isOp('!')) {
      this.i++;
      return { kind: 'not', inner: this.parseUnary() };
    }
    return this.parsePrimary();
  }

  private parseString(): string {
    const t = this.peek();
    if (t === undefined || t.kind !== 'string') this.fail('a quoted value');
    this.i++;
    return t.text;
  }

  private parsePrimary(): Selector {
    if (this.isOp('(')) {
      this.i++;
      const s = this.parseOr();
      this.expectOp(')');
      return s;
    }
    const t = this.peek();
    if (t === undefined || t.kind !== 'ident') this.fail('all(), has(key) or a label key');
    this.i++;
    if ((t.text === 'all' || t.text === 'has') && this.isOp('(')) {
      this.i++;
      if (t.text === 'all') {
        this.expectOp(')');
        return { kind: 'all' };
      }
      const k = this.peek();
      if (k === undefined || k.kind !== 'ident') this.fail('a label key');
      this.i++;
      this.expectOp(')');
      return { kind: 'has', key: k.text };
    }
    const key = t.text;
    if (this.isOp('==') || this.isOp('!=')) {
      const negate = this.peek()?.text === '!=';
      this.i++;
      return { kind: 'eq', key, value: this.parseString(), negate };
    }
    let negate = false;
    const w = this.peek();
    if (w?.kind === 'ident' && w.text === 'not') {
      negate = true;
      this.i++;
    }
    const inTok = this.peek();
    if (inTok?.kind !== 'ident' || inTok.text !== 'in') this.fail(negate ? '"in"' : '==, !=, in or not in');
    this.i++;
    this.expectOp('{');
    const values: string[] = [];
    if (!this.isOp('}')) {
      values.push(this.parseString());
      while (this.isOp(',')) {
        this.i++;
        values.push(this.parseString());
      }
    }
    this.expectOp('}');
    return { kind: 'in', key, values, negate };
  }
}

class SelectorError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
  }
}

export function parseSelector(text: string): SelectorParse {
  if (text.trim() === '') return { ok: false, reason: 'is empty; write all() to select every node', offset: 0 };
  const toks = tokenize(text);
  if (!Array.isArray(toks)) return { ok: false, ...toks };
  try {
    return { ok: true, selector: new Parser(toks, text.length).parseAll() };
  } catch (err) {
    if (err instanceof SelectorError) return { ok: false, reason: err.message, offset: err.offset };
    throw err;
  }
}

export function selectorMatches(s: Selector, labels: Readonly<Record<string, string>>): boolean {
  const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(labels, k);
  switch (s.kind) {
    case 'all': return true;
    case 'has': return has(s.key);
    case 'eq': return (has(s.key) && labels[s.key] === s.value) !== s.negate;
    case 'in': return (has(s.key) && s.values.includes(labels[s.key])) !== s.negate;
    case 'not': return !selectorMatches(s.inner, labels);
    case 'and': return selectorMatches(s.left, labels) && selectorMatches(s.right, labels);
    case 'or': return selectorMatches(s.left, labels) || selectorMatches(s.right, labels);
  }
}
