/**
 * The incremental compiler must be indistinguishable from a fresh one:
 * after every random change (pods added, removed, relabelled, readdressed,
 * re-ported; policies added, removed, edited; namespace labels changed) a
 * long-lived PolicyCompiler and a new one must produce the same tables,
 * sets, fingerprints and issues. Seeded, so a failure replays.
 */
import { expect } from 'chai';
import { PolicyCompiler, compile, type Compiled } from './compile.js';
import type { ClusterState, NamespaceInfo, NetworkPolicyInfo, NetworkPolicyPeer, NetworkPolicyPort, PodInfo } from './model.js';
import { fullRestoreText, fullSetsText } from './render.js';

/** mulberry32: a small seeded PRNG (tests only). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NS = ['a', 'b', 'c'];
const APPS = ['web', 'api', 'db'];

function fingerprint(c: Compiled): string {
  return [
    fullRestoreText(c.tables.get(4) ?? new Map()),
    fullRestoreText(c.tables.get(6) ?? new Map()),
    fullSetsText(c.sets),
    JSON.stringify([...c.podFingerprints].sort()),
    JSON.stringify(c.issues),
  ].join('\n=====\n');
}

class World {
  namespaces: NamespaceInfo[] = NS.map((n, i) => ({ name: n, labels: { team: `t${i % 2}` } }));
  pods: PodInfo[] = [];
  policies: NetworkPolicyInfo[] = [];
  private n = 0;

  constructor(private readonly r: () => number) {}

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)];
  }

  newPod(): PodInfo {
    const i = this.n++;
    const ns = this.pick(NS);
    const local = this.r() < 0.7;
    const ip4 = `10.${i >> 8}.${i & 255}.${1 + Math.floor(this.r() * 200)}`;
    const ips = this.r() < 0.3 ? [ip4, `fd00::${i.toString(16)}`] : [ip4];
    return {
      namespace: ns,
      name: `p${i}`,
      labels: { app: this.pick(APPS), ...(this.r() < 0.5 ? { tier: this.pick(['front', 'back']) } : {}) },
      ports: [{ name: 'http', containerPort: this.pick([80, 8080, 8081]) }, ...(this.r() < 0.5 ? [{ name: 'dns', containerPort: 53, protocol: 'UDP' as const }] : [])],
      ...(local ? { attachment: { ifName: `tt${(i * 2654435761 >>> 0).toString(16).slice(0, 8)}${i}`, ips } } : { ips }),
    };
  }

  peer(): NetworkPolicyPeer {
    const k = this.r();
    if (k < 0.3) return { podSelector: { matchLabels: { app: this.pick(APPS) } } };
    if (k < 0.5) return { namespaceSelector: { matchLabels: { team: this.pick(['t0', 't1']) } } };
    if (k < 0.65) return { namespaceSelector: {}, podSelector: { matchExpressions: [{ key: 'tier', operator: this.pick(['Exists', 'DoesNotExist'] as const) }] } };
    if (k < 0.8) return { ipBlock: { cidr: '10.0.0.0/8', except: this.r() < 0.5 ? ['10.0.0.0/16'] : [] } };
    return { podSelector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: [this.pick(APPS)] }] } };
  }

  ports(): NetworkPolicyPort[] | undefined {
    const k = this.r();
    if (k < 0.3) return undefined;
    if (k < 0.6) return [{ port: 'http' }];
    if (k < 0.8) return [{ port: 80, endPort: this.pick([80, 90]) }, { protocol: 'UDP', port: 'dns' }];
    return [{ protocol: 'SCTP' }];
  }

  newPolicy(): NetworkPolicyInfo {
    const i = this.n++;
    const rules = (): { peers: NetworkPolicyPeer[] | undefined; ports: NetworkPolicyPort[] | undefined }[] =>
      Array.from({ length: Math.floor(this.r() * 3) }, () => ({ peers: this.r() < 0.2 ? undefined : [this.peer(), ...(this.r() < 0.3 ? [this.peer()] : [])], ports: this.ports() }));
    const types = this.pick([undefined, ['Ingress'], ['Egress'], ['Ingress', 'Egress']] as const);
    return {
      namespace: this.pick(NS),
      name: `np${i}`,
      podSelector: this.r() < 0.3 ? {} : { matchLabels: { app: this.pick(APPS) } },
      ...(types ? { policyTypes: [...types] } : {}),
      ingress: rules().map((r) => ({ ...(r.peers ? { from: r.peers } : {}), ...(r.ports ? { ports: r.ports } : {}) })),
      egress: rules().map((r) => ({ ...(r.peers ? { to: r.peers } : {}), ...(r.ports ? { ports: r.ports } : {}) })),
    };
  }

  mutate(): string {
    const k = this.r();
    if (k < 0.25 || this.pods.length < 3) {
      this.pods = [...this.pods, this.newPod()];
      return 'add pod';
    }
    if (k < 0.35) {
      const victim = this.pick(this.pods);
      this.pods = this.pods.filter((p) => p !== victim);
      return `remove pod ${victim.name}`;
    }
    if (k < 0.5) {
      const i = Math.floor(this.r() * this.pods.length);
      const p = this.pods[i];
      const changed: PodInfo = this.r() < 0.5 ? { ...p, labels: { ...p.labels, app: this.pick(APPS) } } : { ...p, ports: [{ name: 'http', containerPort: this.pick([80, 8080, 8081]) }] };
      this.pods = this.pods.map((x, j) => (j === i ? changed : x));
      return `change pod ${p.name}`;
    }
    if (k < 0.55) {
      const i = Math.floor(this.r() * this.pods.length);
      const p = this.pods[i];
      const ip = `10.200.${Math.floor(this.r() * 250)}.${1 + Math.floor(this.r() * 250)}`;
      const changed: PodInfo = p.attachment ? { ...p, attachment: { ...p.attachment, ips: [ip] } } : { ...p, ips: [ip] };
      this.pods = this.pods.map((x, j) => (j === i ? changed : x));
      return `readdress pod ${p.name}`;
    }
    if (k < 0.75 || this.policies.length === 0) {
      this.policies = [...this.policies, this.newPolicy()];
      return 'add policy';
    }
    if (k < 0.85) {
      const victim = this.pick(this.policies);
      this.policies = this.policies.filter((p) => p !== victim);
      return `remove policy ${victim.name}`;
    }
    if (k < 0.95) {
      const i = Math.floor(this.r() * this.policies.length);
      const old = this.policies[i];
      const next = { ...this.newPolicy(), name: old.name, namespace: old.namespace };
      this.policies = this.policies.map((x, j) => (j === i ? next : x));
      return `edit policy ${old.name}`;
    }
    const i = Math.floor(this.r() * this.namespaces.length);
    this.namespaces = this.namespaces.map((ns, j) => (j === i ? { ...ns, labels: { team: this.pick(['t0', 't1', 't2']) } } : ns));
    return `relabel namespace ${NS[i]}`;
  }

  state(): ClusterState {
    return { namespaces: this.namespaces, pods: this.pods, policies: this.policies };
  }
}

describe('PolicyCompiler (incremental) matches a fresh compile', () => {
  for (const seed of [1, 2, 3, 42, 1234]) {
    it(`seed ${seed}: 150 random changes`, () => {
      const r = rng(seed);
      const w = new World(r);
      const opts = { ifacePrefix: 'tt', nodeAddresses: ['192.0.2.1'] };
      const inc = new PolicyCompiler(opts);
      const steps: string[] = [];
      for (let step = 0; step < 150; step++) {
        steps.push(w.mutate());
        const got = fingerprint(inc.compile(w.state()));
        const want = fingerprint(compile(w.state(), opts));
        if (got !== want) expect.fail(`diverged after: ${steps.slice(-5).join(' / ')} (step ${step})`);
      }
    });
  }

  it('compiling the same state twice returns identical chains (nothing to write)', () => {
    const w = new World(rng(7));
    for (let i = 0; i < 40; i++) w.mutate();
    const inc = new PolicyCompiler({ ifacePrefix: 'tt' });
    const a = inc.compile(w.state());
    const b = inc.compile(w.state());
    for (const fam of [4, 6] as const) {
      const ta = a.tables.get(fam);
      const tb = b.tables.get(fam);
      expect(tb?.size).to.equal(ta?.size);
      for (const [name, rules] of ta ?? []) expect(tb?.get(name), name).to.equal(rules);
    }
    for (const [name, def] of a.sets) expect(b.sets.get(name), name).to.equal(def);
  });
});
