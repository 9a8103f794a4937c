/**
 * The enforcer side of bench:policy, run inside the node's network
 * namespace (`ip netns exec <node> node --import tsx worker.ts …`), as the
 * agent runs in its node's: the iptables and ipset tools it starts are
 * then plain processes, not `ip netns exec` wrappers.
 *
 * It owns the scenario and applies changes on command, so objects keep
 * their identity between changes exactly as with an informer or the
 * manifest source. JSON lines on stdin; one JSON answer line per command.
 *   {"op":"program"}            set the whole scenario, apply
 *   {"op":"programNoPolicies"}  the same pods, no NetworkPolicy
 *   {"op":"remove"}             removeAll, forget the state
 *   {"op":"policyPort","i":n}   edit a port of one policy
 *   {"op":"policyPeers","i":n}  edit the peers of that policy (a new set)
 *   {"op":"podAdd","i":n} / {"op":"podRemove","i":n}
 *   {"op":"verify"}
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { HelperCommandRunner } from '../../policy/helper-runner.js';
import type { NetworkPolicyInfo, PodInfo } from '../../policy/compile/model.js';
import { PolicyEnforcer, type ApplyResult } from '../../policy/enforcer.js';
import { BENCH_PREFIX, benchIp, buildScenario, podFor, policyFor } from './scenario.js';

const { values: args } = parseArgs({ options: { pods: { type: 'string' }, policies: { type: 'string' }, node: { type: 'string' } } });
const PODS = Number(args.pods ?? '1000');
const POLICIES = Number(args.policies ?? '200');
const sc = buildScenario(PODS, POLICIES, { prefix: BENCH_PREFIX });
const apps = Math.max(1, Math.ceil(POLICIES / 10));
const enforcer = new PolicyEnforcer({ runner: new HelperCommandRunner(), ifacePrefix: BENCH_PREFIX, nodeAddresses: args.node ? [args.node] : [] });
let policies: NetworkPolicyInfo[] = [...sc.policies];
let pods: PodInfo[] = [...sc.pods];
const idx = Math.max(0, policies.findIndex((p) => p.namespace === 'ns-5' && p.name === 'pol-3'));
const extra = new Map<number, PodInfo>();

function summary(ms: number, r: ApplyResult): object {
  return {
    ms,
    compileMs: r.compileMs,
    writeMs: r.writeMs,
    diffMs: r.diffMs,
    ipsetMs: r.ipsetMs[0] + r.ipsetMs[1],
    restoreMs: Object.fromEntries(r.tables.map((t) => [t.family, t.restoreMs])),
    rules: r.tables.reduce((n, t) => n + t.rulesWritten, 0),
    chains: r.tables.reduce((n, t) => n + t.chainsWritten, 0),
    setsCreated: r.sets.created,
    members: r.sets.membersAdded + r.sets.membersRemoved,
  };
}

async function change(fn: () => void): Promise<object> {
  const t0 = performance.now();
  fn();
  enforcer.setState({ ...sc.state, pods, policies });
  const r = await enforcer.apply();
  return summary(performance.now() - t0, r);
}

async function handle(cmd: { op: string; i?: number }): Promise<object> {
  const i = cmd.i ?? 0;
  switch (cmd.op) {
    case 'start':
      return { backend: (await enforcer.start()).backend };
    case 'program':
      policies = [...sc.policies];
      pods = [...sc.pods];
      return change(() => undefined);
    case 'programNoPolicies':
      return change(() => {
        policies = [];
        pods = [...sc.pods];
      });
    case 'remove':
      await enforcer.removeAll();
      enforcer.setState({ namespaces: [], pods: [], policies: [] });
      return { ok: true };
    case 'policyPort':
      return change(() => {
        policies = policies.map((p, j) => (j === idx ? policyFor('ns-5', 3, apps, 5, i + 1) : p));
      });
    case 'policyPeers':
      return change(() => {
        const edited: NetworkPolicyInfo = { ...policies[idx], ingress: [{ from: [{ podSelector: { matchLabels: { app: `app-${(i + 7) % apps}` } } }], ports: [{ port: 80 }] }] };
        policies = policies.map((p, j) => (j === idx ? edited : p));
      });
    case 'podAdd':
      return change(() => {
        const p = podFor(BENCH_PREFIX, 'ns-3', `extra-${i}`, i, apps, benchIp(60000 + i));
        extra.set(i, p);
        pods = [...pods, p];
      });
    case 'podRemove':
      return change(() => {
        const p = extra.get(i);
        pods = pods.filter((x) => x !== p);
      });
    case 'verify': {
      const v = await enforcer.verify();
      return { ok: v.ok, chains: v.chainsChecked, rules: v.rulesChecked, sets: v.setsChecked, backend: v.backend };
    }
    default:
      throw new Error(`unknown op ${cmd.op}`);
  }
}

const rl = createInterface({ input: process.stdin });
let queue: Promise<void> = Promise.resolve();
rl.on('line', (line) => {
  queue = queue.then(async () => {
    try {
      const res = await handle(JSON.parse(line) as { op: string; i?: number });
      process.stdout.write(`${JSON.stringify({ ok: true, ...res })}\n`);
    } catch (err) {
      process.stdout.write(`${JSON.stringify({ ok: false, error: err instanceof Error ? err.message : String(err) })}\n`);
    }
  });
});
rl.on('close', () => {
  void queue.then(() => process.exit(0));
});
