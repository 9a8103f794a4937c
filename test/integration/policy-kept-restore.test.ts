/**
 * The enforcer with kept restore processes (policy/restore-session.ts) on a
 * real kernel, nft backend: one iptables-nft-restore per family serves
 * every write, each write is committed before apply() resolves (verify
 * reads the kernel back, hash for hash), sets that rules stopped using are
 * destroyed once the kernel has released them, writes by other tools in
 * between are seen, a killed process is replaced, removeAll leaves nothing.
 */
import { expect } from 'chai';
import type { SpawnOptions } from '../../agent/kernel/command-runner.js';
import { benchIp, buildScenario, podFor, policyFor } from '../../bench/policy/scenario.js';
import type { ClusterState, NetworkPolicyInfo, PodInfo } from '../../policy/compile/model.js';
import { PolicyEnforcer } from '../../policy/enforcer.js';
import { HelperCommandRunner } from '../../policy/helper-runner.js';
import type { PersistentCommand } from '../../policy/restore-session.js';
import { isRoot, requireCommands, Topology, type Netns } from '../support/netns.js';

class CountingRunner extends HelperCommandRunner {
  readonly kept: { argv: readonly string[]; cmd: PersistentCommand }[] = [];
  override spawnPersistent(argv: readonly string[], opts?: SpawnOptions): PersistentCommand {
    const cmd = super.spawnPersistent(argv, opts);
    this.kept.push({ argv, cmd });
    return cmd;
  }
}

describe('policy enforcer with kept restore processes (real kernel, nft)', function () {
  this.timeout(120_000);
  let topo: Topology;
  let ns: Netns;
  const runner = new CountingRunner();
  let e: PolicyEnforcer | undefined;

  before(async () => {
    if (!isRoot()) throw new Error('kept restore tests need root');
    requireCommands(['iptables-nft-restore', 'ip6tables-nft-restore', 'iptables-nft-save', 'ipset']);
    topo = new Topology();
    ns = await topo.addNamespace('kept');
  });
  after(async () => {
    e?.close();
    runner.close();
    await topo?.destroy();
  });

  const iptKept = (): PersistentCommand[] => runner.kept.filter((k) => k.argv[0] === 'iptables-nft-restore').map((k) => k.cmd);

  it('programs, changes and removes through kept processes, verified against the kernel after every write', async () => {
    const sc = buildScenario(60, 12, { prefix: 'tortie' });
    const apps = 2;
    e = new PolicyEnforcer({ runner, netns: ns.name, ifacePrefix: 'tortie', backend: 'nft', nodeAddresses: ['192.0.2.1'] });
    await e.start();
    let pods: PodInfo[] = [...sc.pods];
    let policies: NetworkPolicyInfo[] = [...sc.policies];
    const step = async (what: string): Promise<void> => {
      const state: ClusterState = { ...sc.state, pods, policies };
      e?.setState(state);
      const r = await e?.apply();
      expect(r?.ok, what).to.equal(true);
      const v = await e?.verify();
      expect(v?.ok, `${what}: ${JSON.stringify(v)}`).to.equal(true);
    };
    await step('from scratch');
    const sets0 = (await ns.exec('ipset', ['list', '-n'])).stdout.split('\n').filter((n) => n.startsWith('TORTIE-')).length;
    expect(sets0).to.be.greaterThan(5);

    // A peer edit: a new set, and the old one unused (destroyed after the write, once the kernel lets go).
    const idx = 3;
    for (let i = 0; i < 4; i++) {
      policies = policies.map((p, j) => (j === idx ? { ...p, ingress: [{ from: [{ podSelector: { matchLabels: { pod: `pod-${i}` } } }], ports: [{ port: 80 }] }] } : p));
      await step(`peer edit ${i}`);
      const p = podFor('tortie', 'ns-3', `extra-${i}`, i, apps, benchIp(60000 + i));
      pods = [...pods, p];
      await step(`pod add ${i}`);
      policies = policies.map((q, j) => (j === idx ? policyFor(q.namespace, 1, apps, 1, i + 1) : q));
      await step(`port edit ${i}`);
      pods = pods.filter((x) => x !== p);
      await step(`pod remove ${i}`);
    }
    expect(iptKept().length, 'one kept iptables-nft-restore served every write').to.equal(1);

    // Another tool deletes one of our rules between writes: our next write is built on the kernel as it is.
    const save = (await ns.exec('iptables-nft-save', ['-t', 'filter'])).stdout;
    const chain = /^:(TORTIE-PI-[0-9a-f]{16}) /m.exec(save)?.[1] ?? '';
    expect(chain).to.not.equal('');
    await ns.exec('iptables-nft', ['-F', chain]);
    expect((await e.verify()).ok).to.equal(false);
    await e.resync();
    expect((await e.verify()).ok).to.equal(true);

    // The kept process is killed (our own PID): the next write starts another one.
    const first = iptKept()[0];
    expect(first.kill('SIGKILL')).to.equal(true);
    await first.exited;
    pods = [...pods, podFor('tortie', 'ns-4', 'late', 1, apps, benchIp(61000))];
    await step('after the kept process was killed');
    expect(iptKept().length).to.equal(2);

    await e.removeAll();
    expect((await ns.exec('iptables-nft-save', ['-t', 'filter'])).stdout).to.not.contain('TORTIE');
    expect((await ns.exec('ipset', ['list', '-n'])).stdout).to.not.contain('TORTIE');

    e.close();
    for (const k of runner.kept) await k.cmd.exited;
    expect(runner.kept.every((k) => !k.cmd.running)).to.equal(true);
  });
});
