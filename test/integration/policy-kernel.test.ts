/**
 * PolicyEnforcer on a real kernel, inside throw-away network namespaces,
 * with the real iptables-restore/ip6tables-restore/ipset (both backends).
 *
 * Two pods (routed veths, CNI naming) in a node namespace, with pod
 * agents serving TCP/UDP 80 and 81. Checked against the kernel itself:
 *  - every golden fixture loads as a whole and reads back hash for hash;
 *  - policy is enforced for real traffic, IPv4 and IPv6;
 *  - other tools' chains, rules and sets are untouched by apply and removeAll;
 *  - a change rewrites only the chains that differ: rules of other chains
 *    keep their packet counters (a rewritten rule starts again from zero);
 *  - a restarted enforcer adopts the programmed state and writes nothing;
 *  - a rule deleted by hand is found by verify and restored by resync.
 */
import { expect } from 'chai';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { NodeCommandRunner, type CommandResult, type CommandRunner, type RunOptions } from '../../agent/kernel/command-runner.js';
import type { ClusterState, NetworkPolicyInfo } from '../../policy/compile/model.js';
import { fullRestoreText, fullSetsText, type RenderedRule } from '../../policy/compile/render.js';
import { parseIptablesSave, parseIpsetSave } from '../../policy/compile/save-parse.js';
import { PolicyEnforcer } from '../../policy/enforcer.js';
import { goldenFixtures, renderGolden } from '../../policy/testing/golden.js';
import { isRoot, requireCommands, Topology, type Netns, type TrackedProcess } from '../support/netns.js';
import { hostIfName, NODE_IP4 } from '../netpol/model.js';
import { plainVethWiring, prepareNode } from '../netpol/wiring.js';

/** Records every command, so tests can see exactly what was written. */
class RecordingRunner implements CommandRunner {
  readonly calls: { argv: readonly string[]; input?: string }[] = [];
  private readonly inner = new NodeCommandRunner();
  run(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    this.calls.push({ argv, ...(opts.input !== undefined ? { input: opts.input } : {}) });
    return this.inner.run(argv, opts);
  }
  spawn(...args: Parameters<CommandRunner['spawn']>): ReturnType<CommandRunner['spawn']> {
    return this.inner.spawn(...args);
  }
  writes(): { argv: readonly string[]; input?: string }[] {
    return this.calls.filter((c) => /restore$/.test(c.argv[0]) || (c.argv[0] === 'ipset' && c.argv[1] === 'restore'));
  }
}

interface Pod {
  key: string;
  ns: Netns;
  ip4: string;
  ip6: string;
  agent: TrackedProcess;
}

const AGENT = join(process.cwd(), 'test', 'netpol', 'pod-agent.mjs');

async function startAgent(ns: Netns, name: string): Promise<TrackedProcess> {
  const proc = ns.spawn(process.execPath, [AGENT, name, '80,81', '80,81'], { pipeStdio: true });
  await new Promise<void>((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout ?? process.stdin });
    const t = setTimeout(() => reject(new Error(`agent ${name} not ready`)), 10_000);
    rl.on('line', (l) => {
      if (l.includes('"ready"')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  return proc;
}

let probeId = 0;
/** One TCP (or UDP) attempt from `from` to `host:port`; true when it connected. */
async function connects(from: Pod, host: string, port: number, proto: 'tcp' | 'udp' = 'tcp'): Promise<boolean> {
  const id = ++probeId;
  const proc = from.agent;
  const answer = new Promise<string>((resolve) => {
    const rl = createInterface({ input: proc.stdout ?? process.stdin });
    rl.on('line', (l) => {
      const m = JSON.parse(l) as { id?: number; results?: string[] };
      if (m.id === id) {
        rl.close();
        resolve(m.results?.[0] ?? '');
      }
    });
  });
  proc.stdin?.write(`${JSON.stringify({ id, probes: [{ host, port, proto, timeoutMs: 700 }] })}\n`);
  return (await answer).startsWith('ok:');
}

async function buildPods(topo: Topology, node: Netns, keys: string[]): Promise<Pod[]> {
  const pods: Pod[] = [];
  for (const [i, key] of keys.entries()) {
    const ns = await topo.addNamespace(key.replace('/', '-'));
    const ip4 = `192.0.2.${101 + i}`;
    const ip6 = `2001:db8:1::${(0x101 + i).toString(16)}`;
    await plainVethWiring.wire(node, ns, { key, ip4, ip6 });
    pods.push({ key, ns, ip4, ip6, agent: await startAgent(ns, key) });
  }
  return pods;
}

function stateOf(pods: Pod[], policies: NetworkPolicyInfo[]): ClusterState {
  return {
    namespaces: [{ name: 'x' }],
    pods: pods.map((p) => ({
      namespace: 'x',
      name: p.key.split('/')[1],
      labels: { pod: p.key.split('/')[1] },
      ports: [{ name: 'http', containerPort: 80 }],
      attachment: { ifName: hostIfName(p.key), ips: [p.ip4, p.ip6] },
    })),
    policies,
  };
}

const onlyFromB: NetworkPolicyInfo = { namespace: 'x', name: 'a-from-b-http', podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }], ports: [{ port: 'http' }] }] };
const denyA: NetworkPolicyInfo = { namespace: 'x', name: 'deny-a', podSelector: { matchLabels: { pod: 'a' } } };

/** iptables-save -c lines of one of our chains: [packets, rule hash]. */
async function counters(node: Netns, save: string, chain: string): Promise<[number, string][]> {
  const { stdout } = await node.exec(save, ['-c', '-t', 'filter']);
  return stdout
    .split('\n')
    .filter((l) => l.includes(`-A ${chain} `))
    .map((l) => [Number(/^\[(\d+):/.exec(l)?.[1] ?? -1), /tt:([0-9a-f]{16})/.exec(l)?.[1] ?? ''] as [number, string]);
}

for (const backend of ['nft', 'legacy'] as const) {
  describe(`policy enforcement on a real kernel (${backend} backend)`, function () {
    this.timeout(120_000);
    const save4 = `iptables-${backend}-save`;
    const restore4 = `iptables-${backend}-restore`;
    let topo: Topology;
    let node: Netns;
    let pods: Pod[];

    before(async function () {
      if (!isRoot()) throw new Error('policy kernel tests need root');
      requireCommands(['ip', save4, restore4, `ip6tables-${backend}-restore`, 'ipset']);
      topo = new Topology();
      node = await prepareNode(topo);
      // Another tool's chain, rule and set, which must survive everything below.
      await node.exec(restore4, ['--noflush'], { input: '*filter\n:KUBE-FORWARD - [0:0]\n-A KUBE-FORWARD -m comment --comment "kube rule" -j RETURN\n-A FORWARD -j KUBE-FORWARD\nCOMMIT\n' });
      await node.exec('ipset', ['create', 'KUBE-OTHER', 'hash:ip']);
      pods = await buildPods(topo, node, ['x/a', 'x/b']);
    });

    after(async function () {
      this.timeout(30_000);
      await topo?.destroy();
    });

    const foreign = async (): Promise<string> => {
      const { stdout } = await node.exec(save4, ['-t', 'filter']);
      const ipsets = (await node.exec('ipset', ['list', '-n'])).stdout;
      return [...stdout.split('\n').filter((l) => /KUBE/.test(l)), ...ipsets.split('\n').filter((l) => l.startsWith('KUBE'))].join('\n');
    };

    it('every golden fixture loads into the kernel and reads back hash for hash', async function () {
      const scratch = await topo.addNamespace('golden');
      for (const name of goldenFixtures()) {
        const { compiled } = renderGolden(name);
        await scratch.exec('ipset', ['restore', '-exist'], { input: fullSetsText(compiled.sets) });
        for (const fam of [4, 6] as const) {
          const tool = fam === 4 ? restore4 : `ip6tables-${backend}-restore`;
          await scratch.exec(tool, ['--noflush'], { input: fullRestoreText(compiled.tables.get(fam) ?? new Map()) });
          const { stdout } = await scratch.exec(fam === 4 ? save4 : `ip6tables-${backend}-save`, ['-t', 'filter']);
          const back = parseIptablesSave(stdout);
          for (const [chain, rules] of compiled.tables.get(fam) ?? new Map<string, readonly RenderedRule[]>()) expect(back.chains.get(chain), `${name} IPv${fam} ${chain}`).to.deep.equal(rules.map((r) => r.hash));
        }
        const sets = parseIpsetSave((await scratch.exec('ipset', ['save'])).stdout).sets;
        for (const [n, def] of compiled.sets) expect([...(sets.get(n)?.members ?? [])].sort(), `${name} set ${n}`).to.deep.equal([...def.members].sort());
        // Start the next fixture from nothing.
        await scratch.exec(restore4, [], { input: '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n' });
        await scratch.exec(`ip6tables-${backend}-restore`, [], { input: '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n' });
        await scratch.exec('ipset', ['destroy']);
      }
    });

    it('enforces policy on real traffic (IPv4 and IPv6), leaves other chains alone, writes only differences', async () => {
      const before = await foreign();
      const runner = new RecordingRunner();
      const e = new PolicyEnforcer({ runner, netns: node.name, ifacePrefix: 'tortie', backend, nodeAddresses: [NODE_IP4] });
      const d = await e.start();
      expect(d.backend).to.equal(backend);
      const [a, b] = pods;

      e.setState(stateOf(pods, []));
      await e.apply();
      expect(await connects(b, a.ip4, 80)).to.equal(true);
      expect(await connects(a, b.ip4, 81)).to.equal(true);

      e.setState(stateOf(pods, [onlyFromB]));
      await e.apply();
      expect(await connects(b, a.ip4, 80), 'b -> a http').to.equal(true);
      expect(await connects(b, a.ip4, 81), 'b -> a 81').to.equal(false);
      expect(await connects(b, a.ip6, 80), 'b -> a http over IPv6').to.equal(true);
      expect(await connects(b, a.ip6, 81), 'b -> a 81 over IPv6').to.equal(false);
      expect(await connects(a, b.ip4, 81), 'a -> b (b not isolated)').to.equal(true);
      expect(await connects(b, a.ip4, 80, 'udp'), 'b -> a udp 80 (http is TCP)').to.equal(false);
      expect((await e.verify()).ok).to.equal(true);
      expect(await foreign()).to.equal(before);

      // Traffic went through TORTIE-FORWARD; its counters must survive a change elsewhere.
      const fwdBefore = await counters(node, save4, 'TORTIE-POD-FWD');
      expect(fwdBefore.some(([n]) => n > 0), JSON.stringify(fwdBefore)).to.equal(true);
      const writesBefore = runner.writes().length;
      e.setState(stateOf(pods, [onlyFromB, denyA]));
      const r = await e.apply();
      const written = runner.writes().slice(writesBefore);
      const v4 = written.find((w) => w.argv[0] === restore4)?.input ?? '';
      const declared = (v4.match(/^:\S+/gm) ?? []).map((l) => l.replace(/[0-9a-f]{16}$/, 'H'));
      // x/a's ingress chain (one more policy) and the new policy chain; nothing else.
      expect(declared).to.have.members([':TORTIE-PI-H', ':TORTIE-NI-H']);
      expect(r.tables.find((t) => t.family === 4)?.chainsWritten).to.equal(2);
      expect(await counters(node, save4, 'TORTIE-POD-FWD')).to.deep.equal(fwdBefore);
      expect(await connects(b, a.ip4, 80), 'still allowed by the first policy (union)').to.equal(true);

      // Restart: adopt, write nothing.
      const runner2 = new RecordingRunner();
      const e2 = new PolicyEnforcer({ runner: runner2, netns: node.name, ifacePrefix: 'tortie', backend, nodeAddresses: [NODE_IP4] });
      await e2.start();
      e2.setState(stateOf(pods, [onlyFromB, denyA]));
      expect((await e2.apply()).changed).to.equal(false);
      expect(runner2.writes()).to.deep.equal([]);
      expect(e2.status('x/a').state).to.equal('programmed');

      // Someone deletes our rule: verify sees it, resync repairs it.
      const podChain = [...parseIptablesSave((await node.exec(save4, ['-t', 'filter'])).stdout).chains.keys()].find((n) => n.startsWith('TORTIE-PI-')) ?? '';
      const lastRule = (await counters(node, save4, podChain)).length;
      await node.exec(`iptables-${backend}`, ['-D', podChain, String(lastRule)]);
      expect(await connects(b, a.ip4, 81), 'open after the DROP was deleted').to.equal(true);
      const bad = await e2.verify();
      expect(bad.ok).to.equal(false);
      expect(bad.tables.find((t) => t.family === 4)?.differingChains).to.deep.equal([podChain]);
      expect(bad.podsAffected).to.deep.equal(['x/a']);
      await e2.resync();
      expect((await e2.verify()).ok).to.equal(true);
      expect(await connects(b, a.ip4, 81), 'closed again').to.equal(false);

      // Policy off: nothing of ours left, the rest untouched, traffic flows.
      await e2.removeAll();
      const left = (await node.exec(save4, ['-t', 'filter'])).stdout;
      expect(left).to.not.contain('TORTIE');
      expect((await node.exec('ipset', ['list', '-n'])).stdout).to.not.contain('TORTIE');
      expect(await foreign()).to.equal(before);
      expect(await connects(b, a.ip4, 81)).to.equal(true);
    });
  });
}
