/**
 * Persistent, delta-updated pieces of the compiled tables, so that a
 * recompile touches only what changed:
 *
 *  - FamilyTable: one family's chains (specs and rendered rules by chain
 *    name). Setting a chain to rules equal to what it has keeps the old
 *    arrays, so an unchanged chain stays the same object from compile to
 *    compile (which lets diffs skip it by identity).
 *  - DispatchTree: the FROM or TO tree (chains.ts describes its shape), as
 *    membership that pods join and leave; only the chains whose members
 *    or children changed are rebuilt.
 */
import type { Family } from './cidr.js';
import { fixedChains } from './chains.js';
import { hash64 } from './hash.js';
import { CHAIN_FROM, CHAIN_TO, dispatchChain } from './names.js';
import type { RenderedRule, RenderedTable } from './render.js';
import { cmp } from './rules.js';

function sameSpecs(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function render(name: string, specs: readonly string[]): RenderedRule[] {
  let prev = '';
  const rules: RenderedRule[] = [];
  for (const spec of specs) {
    prev = hash64(`${name}\n${prev}\n${spec}`);
    rules.push({ hash: prev, spec });
  }
  return rules;
}

export class FamilyTable {
  private readonly specs = new Map<string, readonly string[]>();
  private readonly rendered = new Map<string, readonly RenderedRule[]>();
  private readonly dirty = new Set<string>();

  constructor(
    readonly family: Family,
    prefix: string,
  ) {
    for (const [name, specs] of fixedChains(family, prefix)) this.set(name, specs);
  }

  set(name: string, specs: readonly string[]): void {
    const had = this.specs.get(name);
    if (had !== undefined && sameSpecs(had, specs)) return;
    this.specs.set(name, specs);
    this.dirty.add(name);
  }

  delete(name: string): void {
    if (this.specs.delete(name)) this.dirty.add(name);
  }

  /** Renders what changed since the last flush; returns those chain names. */
  flush(): Set<string> {
    const changed = new Set(this.dirty);
    for (const name of this.dirty) {
      const specs = this.specs.get(name);
      if (specs === undefined) this.rendered.delete(name);
      else this.rendered.set(name, render(name, specs));
    }
    this.dirty.clear();
    return changed;
  }

  /** The current table, as a map the next compile will not change. */
  snapshot(): RenderedTable {
    return new Map(this.rendered);
  }
}

interface Entry {
  readonly ifName: string;
  readonly target: string;
  readonly chain: string;
}

/** One dispatch tree (FROM: `-i`, TO: `-o`), kept as membership. */
export class DispatchTree {
  private readonly root: string;
  private readonly flag: string;
  private readonly byPod = new Map<string, Entry>();
  /** chain -> exact rules (ifName -> target). */
  private readonly exact = new Map<string, Map<string, string>>();
  /** chain -> child tags (1 char under the root, 2 chars under a level-1 chain). */
  private readonly children = new Map<string, Set<string>>();
  private readonly dirty = new Set<string>();

  constructor(
    which: 'from' | 'to',
    private readonly prefix: string,
  ) {
    this.root = which === 'from' ? CHAIN_FROM : CHAIN_TO;
    this.flag = which === 'from' ? '-i' : '-o';
    this.dirty.add(this.root);
  }

  /** The chain holding `ifName`'s exact rule, and its ancestors' (parent, tag) links. */
  private placement(ifName: string): { chain: string; links: [string, string][] } {
    const p = this.prefix.length;
    if (ifName.length <= p + 1) return { chain: this.root, links: [] };
    const c = ifName[p];
    const l1 = dispatchChain(this.root as typeof CHAIN_FROM, c);
    if (ifName.length <= p + 2) return { chain: l1, links: [[this.root, c]] };
    const cd = c + ifName[p + 1];
    return { chain: dispatchChain(this.root as typeof CHAIN_FROM, cd), links: [[this.root, c], [l1, cd]] };
  }

  set(pod: string, ifName: string, target: string): void {
    const had = this.byPod.get(pod);
    if (had && had.ifName === ifName && had.target === target) return;
    if (had) this.remove(pod);
    const { chain, links } = this.placement(ifName);
    for (const [parent, tag] of links) {
      let kids = this.children.get(parent);
      if (!kids) this.children.set(parent, (kids = new Set()));
      if (!kids.has(tag)) {
        kids.add(tag);
        this.dirty.add(parent);
      }
    }
    let m = this.exact.get(chain);
    if (!m) this.exact.set(chain, (m = new Map<string, string>()));
    m.set(ifName, target);
    this.dirty.add(chain);
    this.byPod.set(pod, { ifName, target, chain });
  }

  remove(pod: string): void {
    const had = this.byPod.get(pod);
    if (!had) return;
    this.byPod.delete(pod);
    this.exact.get(had.chain)?.delete(had.ifName);
    this.dirty.add(had.chain);
    // Prune chains left with neither rules nor children, bottom up.
    const { links } = this.placement(had.ifName);
    let chain = had.chain;
    for (let i = links.length - 1; i >= 0; i--) {
      if ((this.exact.get(chain)?.size ?? 0) > 0 || (this.children.get(chain)?.size ?? 0) > 0) break;
      this.exact.delete(chain);
      this.children.delete(chain);
      const [parent, tag] = links[i];
      this.children.get(parent)?.delete(tag);
      this.dirty.add(parent);
      chain = parent;
    }
  }

  /** Chains rebuilt since the last flush: name -> specs, or undefined for a chain that is gone. */
  flush(): Map<string, readonly string[] | undefined> {
    const out = new Map<string, readonly string[] | undefined>();
    for (const name of this.dirty) {
      const rules = this.exact.get(name);
      const kids = this.children.get(name);
      if (name !== this.root && (rules?.size ?? 0) === 0 && (kids?.size ?? 0) === 0) {
        out.set(name, undefined);
        continue;
      }
      const specs: string[] = [];
      for (const ifName of [...(rules?.keys() ?? [])].sort(cmp)) specs.push(`${this.flag} ${ifName} ${rules?.get(ifName) ?? ''}`);
      for (const tag of [...(kids ?? [])].sort(cmp)) specs.push(`${this.flag} ${this.prefix}${tag}+ -g ${dispatchChain(this.root as typeof CHAIN_FROM, tag)}`);
      specs.push('-j DROP');
      out.set(name, specs);
    }
    this.dirty.clear();
    return out;
  }
}
