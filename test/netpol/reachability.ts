/**
 * A truth table of which pod may connect to which, built the way the
 * upstream e2e tests build theirs: start from "everything connects" and
 * knock out peers (ExpectPeer with partial selectors, ExpectAllIngress,
 * ExpectAllEgress, Expect). Loopback (a pod to itself) is ignored in
 * comparisons, as upstream does: it never leaves the pod.
 */
import { ALL_PODS } from './model.js';

export interface Peer {
  readonly ns?: string;
  readonly pod?: string;
}

const matches = (p: Peer, key: string): boolean => {
  const [ns, pod] = key.split('/');
  return (p.ns === undefined || p.ns === ns) && (p.pod === undefined || p.pod === pod);
};

export class Reachability {
  /** from -> to -> connects */
  private readonly m = new Map<string, Map<string, boolean>>();

  constructor(defaultConnects = true) {
    for (const from of ALL_PODS) this.m.set(from, new Map(ALL_PODS.map((to) => [to, defaultConnects])));
  }

  expect(from: string, to: string, connects: boolean): this {
    this.m.get(from)?.set(to, connects);
    return this;
  }

  expectPeer(from: Peer, to: Peer, connects: boolean): this {
    for (const f of ALL_PODS) if (matches(from, f)) for (const t of ALL_PODS) if (matches(to, t)) this.expect(f, t, connects);
    return this;
  }

  expectAllIngress(to: string, connects: boolean): this {
    for (const f of ALL_PODS) this.expect(f, to, connects);
    return this;
  }

  expectAllEgress(from: string, connects: boolean): this {
    for (const t of ALL_PODS) this.expect(from, t, connects);
    return this;
  }

  get(from: string, to: string): boolean {
    return this.m.get(from)?.get(to) ?? false;
  }

  /** Pairs (loopback excluded) where `other` disagrees. */
  diff(other: { get(from: string, to: string): boolean }): string[] {
    const out: string[] = [];
    for (const f of ALL_PODS) for (const t of ALL_PODS) if (f !== t && this.get(f, t) !== other.get(f, t)) out.push(`${f} -> ${t}: expected ${this.get(f, t) ? 'connect' : 'blocked'}`);
    return out;
  }

  /** The table as upstream prints it: rows are sources, `.` connects, `X` blocked. */
  render(observed?: { get(from: string, to: string): boolean }): string {
    const lines = [`${'-'.padEnd(5)}${ALL_PODS.map((p) => p.padEnd(5)).join('')}`];
    for (const f of ALL_PODS) {
      const cells = ALL_PODS.map((t) => {
        const want = this.get(f, t);
        const mark = want ? '.' : 'X';
        if (!observed || f === t || observed.get(f, t) === want) return mark.padEnd(5);
        return `${mark}!${observed.get(f, t) ? '.' : 'X'}`.padEnd(5);
      });
      lines.push(`${f.padEnd(5)}${cells.join('')}`);
    }
    return lines.join('\n');
  }
}
