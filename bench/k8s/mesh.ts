/**
 * bench:k8s part 1: mesh convergence. N Node objects are created at once
 * (a bounded number in flight, as fast as the API server takes them), and
 * the agent's control socket is polled until `GET /v1/bgp/sessions` lists
 * exactly N sessions whose source is one of those Nodes; then all N are
 * deleted at once and the poll waits for none. The times are measured from
 * the first and from the last create (delete) response: the watch event of
 * an object is sent when its write commits, so the last response is the
 * closest observable stand-in for "the last watch event".
 */
import type { SessionView } from '../../agent/api-types.js';
import { TortieError } from '../../lib/errors.js';
import { sleep } from '../../test/support/netns.js';
import { timedPool, type RawKube } from './api-client.js';
import type { BenchAgent } from './agent-run.js';
import { NODE_PREFIX, nodeBody } from './objects.js';

export interface MeshRound {
  round: number;
  /** ms from the first request to the last response. */
  writeMs: number;
  /** ms from the first / last response to the poll that saw the wanted count. */
  fromFirstMs: number;
  fromLastMs: number;
  /** The agent's last "reload applied" log record in the round, ms after the last response (bunyan time, ms resolution). */
  logFromLastMs?: number;
  /** "reload applied" records in the round: how many reloads absorbed the burst. */
  reloads: number;
}

export interface MeshResult {
  nodes: number;
  concurrency: number;
  pollMs: number;
  create: MeshRound[];
  remove: MeshRound[];
  /** Writes the bench had to retry (429 or 5xx from the API server). */
  apiRetries: number;
}

const POLL_MS = 50;

function benchSessions(list: readonly SessionView[]): number {
  return list.filter((s) => s.source.startsWith(`node/${NODE_PREFIX}`)).length;
}

/** Polls the sessions until `want` bench sessions are listed; resolves with performance.now() of that poll's answer. */
async function pollUntil(agent: BenchAgent, want: number, deadline: number, stop: { done: boolean }): Promise<number> {
  while (!stop.done) {
    if (!agent.proc.running) throw new TortieError('ERR_BENCH', `the agent exited:\n${agent.proc.logTail(30)}`);
    const list = await agent.sessions();
    const at = performance.now();
    const last = benchSessions(list);
    if (last === want) return at;
    if (at > deadline) throw new TortieError('ERR_BENCH', `the agent still lists ${last} Node sessions, not ${want}, after 60 s:\n${agent.proc.logTail(10)}`);
    await sleep(POLL_MS);
  }
  throw new TortieError('ERR_BENCH', 'poll stopped');
}

async function oneWay(agent: BenchAgent, api: RawKube, round: number, n: number, concurrency: number, create: boolean): Promise<MeshRound> {
  const ids = Array.from({ length: n }, (_, i) => i);
  const wall0 = Date.now();
  const t0 = performance.now();
  const stop = { done: false };
  const converged = pollUntil(agent, create ? n : 0, t0 + 60_000, stop);
  // A failure of the writes must not leave the poll running (and unhandled).
  converged.catch(() => undefined);
  let times: number[];
  try {
    times = await timedPool(ids, concurrency, (i) => (create
      ? api.call('POST', '/api/v1/nodes', nodeBody(i))
      : api.call('DELETE', `/api/v1/nodes/${NODE_PREFIX}${i}`, undefined, { ok: [200, 202] })), t0);
  } catch (err) {
    stop.done = true;
    throw err;
  }
  const doneAt = await converged;
  const first = Math.min(...times);
  const last = Math.max(...times);
  const lastWall = wall0 + last;
  // Let the log reach the file, then read the reloads of this round.
  await sleep(200);
  const reloads = agent.logTimes('reload applied').filter((r) => r.at >= wall0);
  const lastReload = reloads.at(-1);
  return {
    round, writeMs: last, fromFirstMs: doneAt - t0 - first, fromLastMs: doneAt - t0 - last,
    ...(lastReload ? { logFromLastMs: lastReload.at - lastWall } : {}), reloads: reloads.length,
  };
}

/** `rounds` rounds of: create N Nodes at once, converge; delete them at once, converge. */
export async function meshRounds(
  agent: BenchAgent, api: RawKube, opts: { nodes: number; rounds: number; concurrency: number; onConverged?: (round: number) => void },
): Promise<MeshResult> {
  const create: MeshRound[] = [];
  const remove: MeshRound[] = [];
  const retries0 = api.retries;
  for (let r = 1; r <= opts.rounds; r++) {
    create.push(await oneWay(agent, api, r, opts.nodes, opts.concurrency, true));
    opts.onConverged?.(r);
    remove.push(await oneWay(agent, api, r, opts.nodes, opts.concurrency, false));
    // The agent's reloads of this round are over before the next round starts.
    await sleep(500);
  }
  return { nodes: opts.nodes, concurrency: opts.concurrency, pollMs: POLL_MS, create, remove, apiRetries: api.retries - retries0 };
}
