/**
 * The policy compiler: cluster state -> intermediate form -> one rendered
 * filter table per family + the sets, with a fingerprint per local pod.
 *
 * Semantics (networking.k8s.io/v1), where each is decided:
 *  - isolation and union: a pod is isolated for ingress (egress) when at
 *    least one policy of its namespace selects it with Ingress (Egress)
 *    among its defaulted policy types; it may then receive (send) what any
 *    of those policies' rules allow (selectPolicies below; the pod chain
 *    jumps to each policy chain in turn);
 *  - peers and ports: rules.ts; label selectors: selector.ts; named ports
 *    and the chains of one policy: policy-chains.ts; chain layout:
 *    chains.ts.
 *
 * Incremental by construction. A PolicyCompiler keeps, between compiles:
 * pods and policies memoised by object identity, selections updated by pod
 * deltas, policy chains and sets reference-counted by the pods that use
 * them, and persistent tables (tables.ts). A compile works out which local
 * pods changed, which policy chains changed, which selections changed, and
 * touches only those. A fresh PolicyCompiler is the full compile; the
 * tests check that both always agree. Pure: no I/O, no clock.
 */
import type { Family } from './cidr.js';
import { canonicalIp, familyOf } from './cidr.js';
import { podChainSpecs, policyChainRules } from './chains.js';
import { hash64 } from './hash.js';
import type { IrPod, IrPolicyChain, PolicyIr, SetDef, SetSource } from './ir.js';
import { NAMESPACE_NAME_LABEL, type ClusterState, type Labels, type NetworkPolicyInfo, type PodInfo, type Protocol } from './model.js';
import { ifaceSetName, nodeSetName, podChain, policyChain } from './names.js';
import { ALL_PODS, blockFilter, buildEgressChain, buildIngressChain, egressDeps } from './policy-chains.js';
import { podCoreOf, resolveNamedPort, type NormPod, type PodCore } from './pods.js';
import type { RenderedRule, RenderedTable } from './render.js';
import { cmp, skeletonOf, type PolicySkeleton, type RuleSpec } from './rules.js';
import { Selection, podPeerPredicate } from './selection.js';
import { matchesSelector } from './selector.js';
import { DispatchTree, FamilyTable } from './tables.js';
import type { CompileIssue } from './validate.js';

export interface CompileOptions {
  /** Host-side interface prefix of pod veths (must match the CNI plugin's). */
  readonly ifacePrefix: string;
  /** Mark bit carrying "allowed" from a policy chain to its pod chain. Default 0x100000. */
  readonly markBit?: number;
  /** Families to program. Default [4, 6]. */
  readonly families?: readonly Family[];
  /** This node's addresses; traffic from them to local pods is always allowed. */
  readonly nodeAddresses?: readonly string[];
}

export const DEFAULT_MARK_BIT = 0x100000;

export function validateOptions(opts: CompileOptions): string[] {
  const problems: string[] = [];
  if (!/^[A-Za-z0-9_.-]{1,12}$/.test(opts.ifacePrefix)) problems.push(`ifacePrefix ${JSON.stringify(opts.ifacePrefix)}: 1-12 of [A-Za-z0-9_.-]`);
  const mark = opts.markBit ?? DEFAULT_MARK_BIT;
  if (!Number.isInteger(mark) || mark <= 0 || mark > 0x40000000 || (mark & (mark - 1)) !== 0) problems.push(`markBit ${mark}: must be a single bit below 0x80000000`);
  return problems;
}

/** What `show` and `verify` need besides the tables. */
export interface Resolved {
  readonly ir: PolicyIr;
  readonly policies: ReadonlyMap<string, PolicySkeleton>;
  /** Every pod (local or not) after normalisation. */
  readonly pods: ReadonlyMap<string, NormPod>;
  /** Members of a pod selection (PeerSpec key), in key order. */
  selectionPods(key: string): readonly NormPod[];
}

export interface Compiled {
  readonly resolved: Resolved;
  readonly families: readonly Family[];
  readonly tables: ReadonlyMap<Family, RenderedTable>;
  readonly sets: ReadonlyMap<string, SetDef>;
  /** Local pod -> fingerprint of everything that enforces its policy. */
  readonly podFingerprints: ReadonlyMap<string, string>;
  readonly issues: readonly CompileIssue[];
}

/** One policy chain a pod jumps to. */
interface ChainUse {
  readonly name: string;
  readonly sk: PolicySkeleton;
  readonly direction: 'ingress' | 'egress';
  readonly variant: string;
  readonly resolution: ReadonlyMap<string, number | undefined>;
}

/** Which policies select a local pod, and the chains that come out of it. */
interface PodPolicies {
  readonly pod: NormPod;
  readonly list: readonly PolicySkeleton[];
  readonly uses: readonly ChainUse[];
  readonly ir: IrPod;
}

/** A policy chain in use, with how many pods use it. */
interface ChainEntry {
  refs: number;
  use: ChainUse;
  chain: IrPolicyChain | undefined;
}

interface SetEntry {
  refs: number;
  source: SetSource;
  def: SetDef | undefined;
  version: number;
}

const RETURN_TARGET = '-j RETURN';

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class PolicyCompiler {
  private readonly families: readonly Family[];
  private readonly markBit: number;
  private readonly prefix: string;
  private generation = 0;

  // Inputs, memoised by object identity.
  private readonly coreMemo = new WeakMap<PodInfo, PodCore>();
  private readonly skeletonMemo = new WeakMap<NetworkPolicyInfo, ReturnType<typeof skeletonOf>>();
  private lastPods = new Map<string, NormPod>();
  private lastOrder: string[] = [];
  private nsSig: string | undefined;

  // Derived state, updated by deltas.
  private selections = new Map<string, Selection>();
  private podPolicies = new Map<string, PodPolicies>();
  private readonly chainUses = new Map<string, ChainEntry>();
  private readonly ingressMemo = new WeakMap<PolicySkeleton, Map<string, IrPolicyChain>>();
  private readonly egressMemo = new WeakMap<PolicySkeleton, { deps: string; chain: IrPolicyChain }>();
  private readonly egressName = new WeakMap<PolicySkeleton, string>();
  private readonly setUses = new Map<string, SetEntry>();
  private ifaceDefs = new Map<Family, SetDef>();
  private readonly nodeDefs = new Map<Family, SetDef>();
  private readonly tables: Map<Family, FamilyTable>;
  private readonly specMemo = new Map<Family, WeakMap<IrPolicyChain, string[]>>();
  /** Per family: a pod is dispatched (and has chains) only in the families it has addresses in. */
  private readonly trees = new Map<Family, { from: DispatchTree; to: DispatchTree }>();
  /** Per family: how many pods with an address in that family use each policy chain. */
  private readonly familyRefs = new Map<Family, Map<string, number>>();
  private readonly fingerprints = new Map<string, string>();
  private readonly podNames = new Map<string, { ingress: string; egress: string }>();

  constructor(readonly options: CompileOptions) {
    this.families = options.families ?? [4, 6];
    this.markBit = options.markBit ?? DEFAULT_MARK_BIT;
    this.prefix = options.ifacePrefix;
    this.tables = new Map(this.families.map((f) => [f, new FamilyTable(f, this.prefix)]));
    for (const fam of this.families) {
      this.trees.set(fam, { from: new DispatchTree('from', this.prefix), to: new DispatchTree('to', this.prefix) });
      this.familyRefs.set(fam, new Map());
    }
    for (const fam of this.families) {
      const node = [...new Set((options.nodeAddresses ?? []).map((a) => canonicalIp(a)).filter((a): a is string => a !== undefined && familyOf(a) === fam))].sort(cmp);
      if (node.length > 0) this.nodeDefs.set(fam, { name: nodeSetName(fam), family: fam, type: 'hash:ip', members: node, describe: `this node's IPv${fam} addresses` });
    }
  }

  compile(state: ClusterState): Compiled {
    const gen = ++this.generation;
    const issues: CompileIssue[] = [];

    // ---- namespaces
    const nsLabels = new Map<string, Labels>();
    for (const ns of state.namespaces) if (!nsLabels.has(ns.name)) nsLabels.set(ns.name, { ...(ns.labels ?? {}), [NAMESPACE_NAME_LABEL]: ns.name });
    for (const p of state.pods) if (!nsLabels.has(p.namespace)) nsLabels.set(p.namespace, { [NAMESPACE_NAME_LABEL]: p.namespace });
    const nsSig = JSON.stringify([...nsLabels].sort((a, b) => cmp(a[0], b[0])).map(([n, l]) => [n, Object.entries(l).sort((a, b) => cmp(a[0], b[0]))]));
    const nsChanged = nsSig !== this.nsSig;
    this.nsSig = nsSig;

    // ---- pods (key order; the sort is skipped while the set of keys is unchanged)
    const coreByKey = new Map<string, PodCore>();
    for (const p of state.pods) {
      if (p.hostNetwork) continue;
      let core = this.coreMemo.get(p);
      if (!core) this.coreMemo.set(p, (core = podCoreOf(p)));
      if (!coreByKey.has(core.key)) coreByKey.set(core.key, core);
    }
    let order = this.lastOrder;
    if (order.length !== coreByKey.size || !order.every((k) => coreByKey.has(k))) order = [...coreByKey.keys()].sort(cmp);
    this.lastOrder = order;
    const pods = new Map<string, NormPod>();
    const byNs = new Map<string, NormPod[]>();
    const allPods: NormPod[] = [];
    const ifOwner = new Map<string, string>();
    const changed: NormPod[] = [];
    for (const key of order) {
      const core = coreByKey.get(key);
      if (!core) continue;
      if (core.issues.length) issues.push(...core.issues);
      let ifName = core.rawIfName;
      if (ifName !== undefined && !ifName.startsWith(this.prefix)) {
        issues.push({ kind: 'Pod', key, path: 'attachment.ifName', code: 'ERR_POLICY_POD_IFACE_PREFIX', message: `interface ${ifName} does not start with ${this.prefix}; its traffic cannot be dispatched` });
        ifName = undefined;
      } else if (ifName !== undefined && ifOwner.has(ifName)) {
        issues.push({ kind: 'Pod', key, path: 'attachment.ifName', code: 'ERR_POLICY_POD_IFACE_DUPLICATE', message: `interface ${ifName} already belongs to ${ifOwner.get(ifName) ?? ''}` });
        ifName = undefined;
      }
      if (ifName !== undefined) ifOwner.set(ifName, key);
      const last = this.lastPods.get(key);
      const np: NormPod = last && last.core === core && last.ifName === ifName ? last : { ...core, core, ifName };
      if (np !== last) changed.push(np);
      pods.set(key, np);
      allPods.push(np);
      let l = byNs.get(np.namespace);
      if (!l) byNs.set(np.namespace, (l = []));
      l.push(np);
    }
    const removed: string[] = [];
    for (const key of this.lastPods.keys()) if (!pods.has(key)) removed.push(key);
    this.lastPods = pods;

    // ---- policies
    const policyMap = new Map<string, PolicySkeleton>();
    const raws = [...state.policies].sort((a, b) => cmp(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`));
    for (const raw of raws) {
      const key = `${raw.namespace}/${raw.name}`;
      if (policyMap.has(key)) continue;
      let memo = this.skeletonMemo.get(raw);
      if (!memo) this.skeletonMemo.set(raw, (memo = skeletonOf(raw)));
      if (memo.issues.length) issues.push(...memo.issues);
      if (memo.skeleton) policyMap.set(key, memo.skeleton);
    }
    const policiesByNs = new Map<string, PolicySkeleton[]>();
    for (const sk of policyMap.values()) {
      let l = policiesByNs.get(sk.namespace);
      if (!l) policiesByNs.set(sk.namespace, (l = []));
      l.push(sk);
    }

    // ---- which policies select each local pod; the pods whose answer changed
    const podPolicies = new Map<string, PodPolicies>();
    const changedLocal = new Set<string>();
    for (const pod of allPods) {
      if (pod.ifName === undefined) continue;
      const list = policiesByNs.get(pod.namespace) ?? [];
      let pp = this.podPolicies.get(pod.key);
      if (!pp || pp.pod !== pod || !sameList(pp.list, list)) {
        const next = this.selectPolicies(pod, list);
        if (pp && pp.pod === pod && sameUses(pp.uses, next.uses)) {
          // Another policy of the namespace changed, not one that selects this pod.
          pp = { ...pp, list };
        } else {
          pp = next;
          changedLocal.add(pod.key);
        }
      }
      podPolicies.set(pod.key, pp);
    }
    for (const key of this.podPolicies.keys()) if (!podPolicies.has(key)) changedLocal.add(key);
    const familyTouched = new Set<string>();
    for (const key of changedLocal) {
      const before = this.podPolicies.get(key);
      const after = podPolicies.get(key);
      for (const fam of this.families) {
        const refs = this.familyRefs.get(fam);
        if (!refs) continue;
        if (after && hasFamily(after.pod, fam)) {
          for (const u of after.uses) {
            refs.set(u.name, (refs.get(u.name) ?? 0) + 1);
            familyTouched.add(u.name);
          }
        }
        if (before && hasFamily(before.pod, fam)) {
          for (const u of before.uses) {
            refs.set(u.name, (refs.get(u.name) ?? 0) - 1);
            familyTouched.add(u.name);
          }
        }
      }
      for (const u of after?.uses ?? []) {
        const e = this.chainUses.get(u.name);
        if (e) {
          e.refs++;
          e.use = u;
        } else this.chainUses.set(u.name, { refs: 1, use: u, chain: undefined });
      }
      for (const u of before?.uses ?? []) {
        const e = this.chainUses.get(u.name);
        if (e) e.refs--;
      }
    }
    this.podPolicies = podPolicies;

    // ---- selections of the peers of the policies in use
    const usedPolicies = new Set<PolicySkeleton>();
    for (const e of this.chainUses.values()) if (e.refs > 0) usedPolicies.add(e.use.sk);
    const wanted = new Map<string, () => Selection>();
    const want = (r: RuleSpec, egress: boolean): void => {
      if (!r.valid) return;
      const named = egress && r.ports !== 'any' && r.ports.some((p) => typeof p.port === 'string');
      if (r.peers === 'any') {
        if (named) wanted.set(ALL_PODS, () => new Selection(ALL_PODS, 'all pods', () => true, false, undefined));
        return;
      }
      for (const peer of r.peers) {
        if (peer.kind === 'pods') {
          if (!wanted.has(peer.key)) wanted.set(peer.key, () => new Selection(peer.key, peer.describe, podPeerPredicate(peer, nsLabels), peer.namespaceSelector !== undefined, peer.namespace));
        } else if (named) {
          const key = `podsin|${peer.key}`;
          const inBlock = blockFilter(peer);
          wanted.set(key, () => new Selection(key, `pods in ${peer.describe}`, (pod) => pod.ipValues.some(inBlock), false, undefined, inBlock));
        }
      }
    };
    for (const sk of usedPolicies) {
      if (sk.ingress) for (const r of sk.ingressRules) want(r, false);
      if (sk.egress) for (const r of sk.egressRules) want(r, true);
    }
    const selections = new Map<string, Selection>();
    for (const [key, make] of wanted) {
      let sel = this.selections.get(key);
      if (!sel || (sel.usesNamespaceLabels && nsChanged)) {
        sel = make();
        sel.scan(allPods, byNs, gen);
      } else if (changed.length > 0 || removed.length > 0) {
        sel.update(changed, removed, gen);
      }
      selections.set(key, sel);
    }
    this.selections = selections;

    // ---- policy chains: (re)build what is new or changed, drop what is unused
    const changedChains = new Set<string>();
    for (const [name, e] of this.chainUses) {
      let chain: IrPolicyChain | undefined;
      if (e.refs > 0) chain = e.use.direction === 'ingress' ? this.ingressChain(e.use) : this.egressChain(e.use.sk, selections);
      const contentChanged = chain !== e.chain;
      if (contentChanged) {
        changedChains.add(name);
        for (const s of e.chain?.sets ?? []) this.unuseSet(s);
        for (const s of chain?.sets ?? []) this.useSet(s);
        e.chain = chain;
      }
      if (contentChanged || familyTouched.has(name)) {
        for (const [fam, table] of this.tables) {
          const refs = this.familyRefs.get(fam);
          const n = refs?.get(name) ?? 0;
          if (chain && n > 0) table.set(name, this.policySpecs(chain, fam));
          else {
            table.delete(name);
            if (n <= 0) refs?.delete(name);
          }
        }
      }
      if (e.refs <= 0) this.chainUses.delete(name);
    }

    // ---- sets
    for (const [name, e] of this.setUses) {
      if (e.refs <= 0) {
        this.setUses.delete(name);
        continue;
      }
      if (e.source.kind === 'block') {
        e.def ??= { name, family: e.source.family, type: 'hash:net', members: e.source.entries, describe: e.source.describe };
        continue;
      }
      const sel = selections.get(e.source.selection);
      const version = sel?.version ?? -1;
      if (e.def && e.version === version) continue;
      e.version = version;
      const members = new Set<string>();
      const src = e.source;
      for (const pod of sel?.pods() ?? []) {
        if (src.port && resolveNamedPort(pod.ports, src.port.name, src.port.protocol) !== src.port.number) continue;
        for (const ip of pod.ipValues) if (ip.family === src.family && (sel?.ipFilter?.(ip) ?? true)) members.add(ip.text);
      }
      const list = [...members].sort(cmp);
      if (!e.def || !sameList(e.def.members, list)) e.def = { name, family: src.family, type: 'hash:ip', members: list, describe: src.describe };
    }
    if (changedLocal.size > 0 || this.ifaceDefs.size === 0) {
      const ifMembers: Record<Family, string[]> = { 4: [], 6: [] };
      for (const pp of podPolicies.values()) for (const ip of pp.pod.ipValues) ifMembers[ip.family].push(`${ip.text},${pp.pod.ifName ?? ''}`);
      const next = new Map<Family, SetDef>();
      for (const fam of this.families) {
        const list = ifMembers[fam].sort(cmp);
        const prev = this.ifaceDefs.get(fam);
        next.set(fam, prev && sameList(prev.members, list) ? prev : { name: ifaceSetName(fam), family: fam, type: 'hash:net,iface', members: list, describe: `programmed pod interfaces with their IPv${fam} addresses` });
      }
      this.ifaceDefs = next;
    }

    // ---- pod chains and dispatch, for the pods that changed, in the families they have addresses in
    for (const key of changedLocal) {
      const pp = podPolicies.get(key);
      const names = this.podChainNames(key);
      for (const [fam, table] of this.tables) {
        const trees = this.trees.get(fam);
        if (!trees) continue;
        if (!pp || !hasFamily(pp.pod, fam)) {
          // Not dispatched in this family: its traffic there meets the default DROP.
          trees.from.remove(key);
          trees.to.remove(key);
          table.delete(names.ingress);
          table.delete(names.egress);
          continue;
        }
        const ifName = pp.pod.ifName ?? '';
        for (const [dir, list, tree, chainName] of [
          ['ingress', pp.ir.ingress, trees.to, names.ingress],
          ['egress', pp.ir.egress, trees.from, names.egress],
        ] as const) {
          if (list === undefined) {
            tree.set(key, ifName, RETURN_TARGET);
            table.delete(chainName);
          } else {
            tree.set(key, ifName, `-g ${chainName}`);
            table.set(chainName, podChainSpecs(list, dir === 'ingress' ? this.nodeDefs.get(fam)?.name : undefined, this.markBit));
          }
        }
      }
      if (!pp) {
        this.fingerprints.delete(key);
        this.podNames.delete(key);
      }
    }
    for (const [fam, trees] of this.trees) {
      const table = this.tables.get(fam);
      for (const tree of [trees.from, trees.to]) {
        for (const [name, specs] of tree.flush()) {
          if (specs) table?.set(name, specs);
          else table?.delete(name);
        }
      }
    }
    const renderedChanged = new Set<string>();
    const tables = new Map<Family, RenderedTable>();
    for (const [fam, table] of this.tables) {
      for (const name of table.flush()) renderedChanged.add(name);
      tables.set(fam, table.snapshot());
    }

    // ---- fingerprints, for pods that changed or use a chain that did
    const irPods = new Map<string, IrPod>();
    for (const pp of podPolicies.values()) {
      irPods.set(pp.pod.key, pp.ir);
      const key = pp.pod.key;
      const names = this.podChainNames(key);
      const touched =
        changedLocal.has(key) ||
        !this.fingerprints.has(key) ||
        (renderedChanged.size > 0 && (renderedChanged.has(names.ingress) || renderedChanged.has(names.egress) || pp.uses.some((u) => changedChains.has(u.name))));
      if (!touched) continue;
      const parts: string[] = [pp.ir.ifName, pp.ir.ips.join(',')];
      for (const fam of this.families) {
        const t = tables.get(fam);
        if (!hasFamily(pp.pod, fam)) {
          parts.push(`${fam}:absent`);
          continue;
        }
        for (const [dir, list, chainName] of [
          ['ingress', pp.ir.ingress, names.ingress],
          ['egress', pp.ir.egress, names.egress],
        ] as const) {
          if (list === undefined) parts.push(`${fam}${dir}:open`);
          else {
            parts.push(`${fam}${dir}:${lastHash(t, chainName)}`);
            for (const pc of list) parts.push(lastHash(t, pc));
          }
        }
      }
      this.fingerprints.set(key, hash64(parts.join('|')));
    }

    const sets = new Map<string, SetDef>();
    for (const [name, e] of this.setUses) if (e.def) sets.set(name, e.def);
    for (const d of this.ifaceDefs.values()) sets.set(d.name, d);
    for (const d of this.nodeDefs.values()) sets.set(d.name, d);
    const policyChains = new Map<string, IrPolicyChain>();
    for (const [name, e] of this.chainUses) if (e.chain) policyChains.set(name, e.chain);
    const resolved: Resolved = {
      ir: { pods: irPods, policyChains, sets },
      policies: policyMap,
      pods,
      selectionPods: (key) => selections.get(key)?.pods() ?? scanSelection(key, policyMap, allPods, nsLabels),
    };
    return { resolved, families: this.families, tables, sets, podFingerprints: new Map(this.fingerprints), issues };
  }

  private podChainNames(key: string): { ingress: string; egress: string } {
    let n = this.podNames.get(key);
    if (!n) this.podNames.set(key, (n = { ingress: podChain('ingress', key), egress: podChain('egress', key) }));
    return n;
  }

  private selectPolicies(pod: NormPod, list: readonly PolicySkeleton[]): PodPolicies {
    const ingress: ChainUse[] = [];
    const egress: ChainUse[] = [];
    for (const sk of list) {
      if (!matchesSelector(sk.policy.podSelector, pod.labels)) continue;
      if (sk.ingress) {
        const resolution = new Map<string, number | undefined>();
        const parts: string[] = [];
        for (const np of sk.ingressNamedPorts) {
          const slash = np.lastIndexOf('/');
          const n = resolveNamedPort(pod.ports, np.slice(0, slash), np.slice(slash + 1) as Protocol);
          resolution.set(np, n);
          parts.push(`${np}=${n ?? '-'}`);
        }
        const variant = parts.join(',');
        ingress.push({ name: policyChain('ingress', sk.key, variant), sk, direction: 'ingress', variant, resolution });
      }
      if (sk.egress) {
        let name = this.egressName.get(sk);
        if (name === undefined) this.egressName.set(sk, (name = policyChain('egress', sk.key, '')));
        egress.push({ name, sk, direction: 'egress', variant: '', resolution: new Map() });
      }
    }
    const namedPorts: Record<string, number> = {};
    for (const u of ingress) for (const [np, n] of u.resolution) if (n !== undefined) namedPorts[np] = n;
    const ir: IrPod = {
      key: pod.key,
      ifName: pod.ifName ?? '',
      ips: pod.ips,
      ingress: ingress.length > 0 ? ingress.map((u) => u.name) : undefined,
      egress: egress.length > 0 ? egress.map((u) => u.name) : undefined,
      ingressPolicies: ingress.map((u) => u.sk.key),
      egressPolicies: egress.map((u) => u.sk.key),
      namedPorts,
    };
    return { pod, list, uses: [...ingress, ...egress], ir };
  }

  private ingressChain(u: ChainUse): IrPolicyChain {
    let byVariant = this.ingressMemo.get(u.sk);
    if (!byVariant) this.ingressMemo.set(u.sk, (byVariant = new Map<string, IrPolicyChain>()));
    let chain = byVariant.get(u.variant);
    if (!chain) byVariant.set(u.variant, (chain = buildIngressChain(u.sk, u.variant, u.resolution, this.families)));
    return chain;
  }

  private egressChain(sk: PolicySkeleton, selections: ReadonlyMap<string, Selection>): IrPolicyChain {
    const deps = egressDeps(sk, selections);
    const memo = this.egressMemo.get(sk);
    if (memo && memo.deps === deps) return memo.chain;
    const chain = buildEgressChain(sk, selections, this.families);
    this.egressMemo.set(sk, { deps, chain });
    return chain;
  }

  private policySpecs(chain: IrPolicyChain, fam: Family): string[] {
    let memo = this.specMemo.get(fam);
    if (!memo) this.specMemo.set(fam, (memo = new WeakMap()));
    let specs = memo.get(chain);
    if (!specs) memo.set(chain, (specs = policyChainRules(chain.rules, chain.direction, fam, this.markBit)));
    return specs;
  }

  private useSet(s: SetSource): void {
    const e = this.setUses.get(s.name);
    if (e) {
      e.refs++;
      e.source = s;
    } else this.setUses.set(s.name, { refs: 1, source: s, def: undefined, version: -2 });
  }

  private unuseSet(s: SetSource): void {
    const e = this.setUses.get(s.name);
    if (e) e.refs--;
  }
}

/** Same chains from the same policy objects (so the same chain contents). */
function sameUses(a: readonly ChainUse[], b: readonly ChainUse[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].name !== b[i].name || a[i].sk !== b[i].sk) return false;
  return true;
}

function hasFamily(pod: NormPod, fam: Family): boolean {
  return pod.ipValues.some((ip) => ip.family === fam);
}

function lastHash(t: RenderedTable | undefined, name: string): string {
  const rules = t?.get(name);
  return rules && rules.length > 0 ? rules[rules.length - 1].hash : '-';
}

/** Members of a selection that no used policy needed (show on a pod nobody programs). */
function scanSelection(key: string, policies: ReadonlyMap<string, PolicySkeleton>, all: readonly NormPod[], nsLabels: ReadonlyMap<string, Labels>): readonly NormPod[] {
  for (const sk of policies.values()) {
    for (const r of [...sk.ingressRules, ...sk.egressRules]) {
      if (r.peers === 'any') continue;
      for (const p of r.peers) {
        if (p.kind === 'pods' && p.key === key) return all.filter(podPeerPredicate(p, nsLabels));
      }
    }
  }
  return [];
}

/** One rendered table entry, for callers that need the type. */
export type { RenderedRule };
