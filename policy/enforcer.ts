/**
 * PolicyEnforcer: the narrow object the agent hosts. It holds the desired
 * cluster state, compiles it (pure), and makes the kernel match it:
 *
 *   setState(state)  the latest Namespaces, Pods (with their attachments on
 *                    this node) and NetworkPolicies; cheap, no I/O
 *   apply()          compile, diff against what is programmed, write the
 *                    difference: `ipset restore` (creates, adds, deletes),
 *                    `iptables-restore --noflush` per family; sets no
 *                    rule uses any more are destroyed shortly after,
 *                    off the write path. Calls are serialised
 *                    and coalesced: callers arriving while one apply waits
 *                    share it.
 *   status / waitProgrammed / show / verify   for the CNI ADD path and the CLI
 *
 * What is programmed is known from the last successful write (or, at
 * start and after any failed write, read back from the kernel); memory is
 * never updated before the write succeeds.
 */
import type { CommandRunner } from '../agent/kernel/command-runner.js';
import { TortieError } from '../lib/errors.js';
import { silentLogger, type Logger } from '../lib/log.js';
import { detectBackend, type BackendDetection, type BackendPreference } from './backend.js';
import type { Family } from './compile/cidr.js';
import { PolicyCompiler, validateOptions, type Compiled, type CompileOptions } from './compile/compile.js';
import { podKey, type Attachment, type ClusterState, type PodInfo } from './compile/model.js';
import { BUILTIN_JUMPS } from './compile/names.js';
import { diffSets, diffTable, programmedSetOf, removeAllText, type ProgrammedSet, type ProgrammedTable, type RenderedRule, type RenderedTable } from './compile/render.js';
import { explainPod, type PodExplanation } from './compile/show.js';
import type { CompileIssue } from './compile/validate.js';
import { verifyProgrammed, type VerifyReport } from './compile/verify.js';
import { IpsetWriter } from './ipset-writer.js';
import { IptablesWriter } from './iptables-writer.js';

export interface EnforcerOptions extends CompileOptions {
  readonly runner: CommandRunner;
  /** Program this network namespace instead of our own (tests, lab). */
  readonly netns?: string;
  readonly backend?: BackendPreference;
  readonly logger?: Logger;
  /** Called after every apply that wrote something or failed (metrics). */
  readonly onApplied?: (r: ApplyResult) => void;
  /**
   * Keep restore processes ready between writes when the runner can hold
   * them (HelperCommandRunner): one iptables-nft-restore per family, and a
   * spare `ipset restore`. Default true; other runners always run one-shot.
   */
  readonly persistentRestore?: boolean;
}

export type PodPolicyState =
  /** Its rules are in the kernel and match the current desired state. */
  | 'programmed'
  /** Enforced, but by an older version of its rules; an apply is due. */
  | 'updating'
  /** Known with an attachment but not yet programmed: its traffic is dropped. */
  | 'pending'
  /** Not a pod wired on this node (no attachment, or unknown). */
  | 'unknown';

export interface PodStatus {
  readonly pod: string;
  readonly state: PodPolicyState;
  readonly ifName?: string;
  readonly ingressIsolated?: boolean;
  readonly egressIsolated?: boolean;
}

export interface ApplyResult {
  /** False when the kernel already matched. */
  readonly changed: boolean;
  readonly ok: boolean;
  readonly error?: string;
  readonly compileMs: number;
  /** Working out the difference (part of writeMs). */
  readonly diffMs: number;
  readonly writeMs: number;
  readonly totalMs: number;
  readonly tables: readonly { family: Family; chainsWritten: number; chainsDeleted: number; rulesWritten: number; jumpsAdded: number; restoreMs: number }[];
  /** Wall time of each `ipset restore` (before iptables; the second is 0: unused sets are destroyed later, off the write path). */
  readonly ipsetMs: readonly [number, number];
  readonly sets: { created: number; destroyed: number; membersAdded: number; membersRemoved: number };
  readonly pods: number;
  readonly issues: readonly CompileIssue[];
}

interface Waiter {
  resolve: (s: PodStatus) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Unused sets are destroyed once no write has come for this long (the
 * kernel releases old rules within a grace period; a destroy in the queue
 * would delay the next write), or at the latest after the max wait.
 */
const SET_COLLECT_DELAY_MS = 500;
const SET_COLLECT_MAX_WAIT_MS = 5_000;
/** Sets still held after this many collect rounds are tried every SET_HELD_BACKOFF_MS instead. */
const SET_HELD_ROUNDS_BEFORE_BACKOFF = 20;
const SET_HELD_BACKOFF_MS = 30_000;

const EMPTY_STATE: ClusterState = { namespaces: [], pods: [], policies: [] };

/** The joined copy made for a pod object, and the attachment it was made with. */
const joined = new WeakMap<PodInfo, { attachment: Attachment | undefined; pod: PodInfo }>();

function sameAttachment(a: Attachment | undefined, b: Attachment | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.ifName !== b.ifName || a.ips.length !== b.ips.length) return false;
  return a.ips.every((ip, i) => ip === b.ips[i]);
}

/**
 * Joins CNI attachments (by namespace/name) onto the pods of a state. A pod
 * whose object and attachment are unchanged since the last join gets the
 * same joined object back, so the compiler's identity memo keeps its work.
 */
export function withAttachments(state: ClusterState, attachments: ReadonlyMap<string, Attachment>): ClusterState {
  return {
    ...state,
    pods: state.pods.map((p) => {
      const attachment = attachments.get(podKey(p)) ?? p.attachment;
      if (sameAttachment(attachment, p.attachment)) return p;
      const memo = joined.get(p);
      if (memo && sameAttachment(memo.attachment, attachment)) return memo.pod;
      const pod: PodInfo = { ...p, attachment };
      joined.set(p, { attachment, pod });
      return pod;
    }),
  };
}

export class PolicyEnforcer {
  private readonly log: Logger;
  private readonly families: readonly Family[];
  private detection: BackendDetection | undefined;
  private tableWriters = new Map<Family, IptablesWriter>();
  private readonly ipset: IpsetWriter;

  private state: ClusterState = EMPTY_STATE;
  private stateVersion = 0;
  private compiled: { version: number; c: Compiled } | undefined;
  private readonly compiler: PolicyCompiler;

  /** Known programmed state; undefined = unknown, read from the kernel before the next diff. */
  private programmedTables: Map<Family, ProgrammedTable> | undefined;
  private programmedSets: Map<string, ProgrammedSet> | undefined;
  private programmedPods = new Map<string, string>();

  private queue: Promise<unknown> = Promise.resolve();
  private queued: Promise<ApplyResult> | undefined;
  private readonly waiters = new Map<string, Set<Waiter>>();
  private lastResult: ApplyResult | undefined;
  private closed = false;
  /** Sets the rules written by the last successful apply may use (undefined: unknown). */
  private appliedSets: ReadonlySet<string> | undefined;
  private collectTimer: NodeJS.Timeout | undefined;
  private collectSince = 0;
  /** Collect rounds in a row that left sets the kernel still holds. */
  private heldRounds = 0;

  constructor(private readonly opts: EnforcerOptions) {
    const problems = validateOptions(opts);
    if (problems.length) throw new TortieError('ERR_POLICY_CONFIG', `invalid policy options: ${problems.join('; ')}`);
    this.log = (opts.logger ?? silentLogger).child({ component: 'policy' });
    this.families = opts.families ?? [4, 6];
    this.ipset = new IpsetWriter(opts.runner, opts.netns, 'ipset', { persistent: opts.persistentRestore });
    this.compiler = new PolicyCompiler({ ifacePrefix: opts.ifacePrefix, markBit: opts.markBit, families: this.families, nodeAddresses: opts.nodeAddresses });
  }

  get backend(): BackendDetection | undefined {
    return this.detection;
  }

  /** Detects the backend (refusing a mixed host) and reads what is programmed. */
  async start(): Promise<BackendDetection> {
    const d = await detectBackend(this.opts.runner, { netns: this.opts.netns, prefer: this.opts.backend });
    this.detection = d;
    for (const w of this.tableWriters.values()) w.close();
    this.tableWriters = new Map(this.families.map((f) => [f, new IptablesWriter(this.opts.runner, d, f, this.opts.netns, { persistent: this.opts.persistentRestore })]));
    this.log.info({ backend: d.backend, reason: d.reason, evidence: d.evidence }, 'iptables backend detected');
    await this.readBack();
    this.prepareWriters();
    return d;
  }

  /** Starts the restore processes the next write will use (off the write path). */
  private prepareWriters(): void {
    if (this.closed) return;
    for (const w of this.tableWriters.values()) w.prepare();
    this.ipset.prepare();
  }

  /** Replaces the desired state. Does not write; call apply(). */
  setState(state: ClusterState): void {
    this.state = state;
    this.stateVersion++;
  }

  /** The desired state compiled (cached per setState). */
  desired(): Compiled {
    if (this.compiled?.version !== this.stateVersion) {
      this.compiled = { version: this.stateVersion, c: this.compiler.compile(this.state) };
    }
    return this.compiled.c;
  }

  get lastApply(): ApplyResult | undefined {
    return this.lastResult;
  }

  /** Makes the kernel match the desired state. Serialised; concurrent callers share a queued run. */
  apply(): Promise<ApplyResult> {
    if (this.queued) return this.queued;
    const run = this.queue.then(() => {
      this.queued = undefined;
      return this.applyNow().finally(() => {
        // The next processes start once the caller has its answer, not during this write.
        setImmediate(() => this.prepareWriters());
      });
    });
    this.queued = run;
    this.queue = run.catch(() => undefined);
    return run;
  }

  private requireStarted(): Map<Family, IptablesWriter> {
    if (!this.detection) throw new TortieError('ERR_POLICY_NOT_STARTED', 'PolicyEnforcer.start() has not completed');
    return this.tableWriters;
  }

  private async readBack(): Promise<void> {
    const writers = this.requireStarted();
    const tables = new Map<Family, ProgrammedTable>();
    for (const [fam, w] of writers) tables.set(fam, await w.read());
    const sets = await this.ipset.read();
    this.programmedTables = tables;
    this.programmedSets = sets.sets;
  }

  private async applyNow(): Promise<ApplyResult> {
    const writers = this.requireStarted();
    const t0 = performance.now();
    const c = this.desired();
    const t1 = performance.now();
    try {
      if (!this.programmedTables || !this.programmedSets) await this.readBack();
      const progTables = this.programmedTables ?? new Map<Family, ProgrammedTable>();
      const progSets = this.programmedSets ?? new Map<string, ProgrammedSet>();
      const setsDiff = diffSets(c.sets, progSets);
      const tableDiffs = this.families.map((fam) => ({
        fam,
        diff: diffTable(c.tables.get(fam) ?? new Map(), progTables.get(fam) ?? { chains: new Map(), jumps: new Map() }),
      }));
      const tDiff = performance.now() - t1;
      const ipsetMs: [number, number] = [0, 0];
      const restoreMs = new Map<Family, number>();
      // Sets are destroyed later (collectSets); one the last apply already left unused is waiting for
      // that, not a change. Only sets that go out of use now make this apply a change.
      const nowUnused = setsDiff.destroyed.filter((n) => this.appliedSets === undefined || this.appliedSets.has(n));
      const changed = setsDiff.prepare !== '' || nowUnused.length > 0 || tableDiffs.some((t) => t.diff.text !== '');
      if (changed) {
        // From here on the kernel may differ from what we know until every step has succeeded.
        this.programmedTables = undefined;
        this.programmedSets = undefined;
        this.appliedSets = undefined;
        // One tool at a time: run side by side they contend for the same
        // netlink commit path and the CPU, and finish later (measured:
        // 47 ms together against 27 ms in a row at 27k rules).
        const t = performance.now();
        await this.ipset.restore(setsDiff.prepare);
        ipsetMs[0] = performance.now() - t;
        for (const td of tableDiffs) {
          const ts = performance.now();
          await (writers.get(td.fam)?.restore(td.diff.text) ?? Promise.resolve());
          restoreMs.set(td.fam, performance.now() - ts);
        }
        this.programmedTables = new Map(this.families.map((fam) => [fam, programmedOf(c.tables.get(fam) ?? new Map<string, readonly RenderedRule[]>())]));
        const sets = new Map<string, ProgrammedSet>();
        for (const [n, def] of c.sets) {
          const had = progSets.get(n);
          sets.set(n, had?.def === def ? had : programmedSetOf(def));
        }
        // Sets no rule uses any more are destroyed later (collectSets): they
        // cost nothing while they wait, and destroying them now would wait
        // for the kernel to release the old rules.
        for (const n of setsDiff.destroyed) {
          const had = progSets.get(n);
          if (had) sets.set(n, had);
        }
        this.programmedSets = sets;
        this.appliedSets = new Set(c.sets.keys());
        if (setsDiff.destroyed.length > 0 || this.collectTimer) this.scheduleCollect();
      }
      this.programmedPods = new Map(c.podFingerprints);
      const t2 = performance.now();
      const result: ApplyResult = {
        changed,
        ok: true,
        compileMs: t1 - t0,
        diffMs: tDiff,
        writeMs: t2 - t1,
        totalMs: t2 - t0,
        tables: tableDiffs.map((t) => ({ family: t.fam, chainsWritten: t.diff.written.length, chainsDeleted: t.diff.deleted.length, rulesWritten: t.diff.rulesWritten, jumpsAdded: t.diff.jumpsAdded.length, restoreMs: restoreMs.get(t.fam) ?? 0 })),
        ipsetMs,
        sets: { created: setsDiff.created.length, destroyed: nowUnused.length, membersAdded: setsDiff.added, membersRemoved: setsDiff.removed },
        pods: c.podFingerprints.size,
        issues: c.issues,
      };
      this.lastResult = result;
      if (changed) {
        this.log.info({ ...result, issues: c.issues.length }, 'policy programmed');
        this.opts.onApplied?.(result);
      }
      this.wakeWaiters();
      return result;
    } catch (err) {
      const t2 = performance.now();
      const message = err instanceof Error ? err.message : String(err);
      this.log.error({ err: message }, 'policy apply failed');
      const result: ApplyResult = {
        changed: true,
        ok: false,
        error: message,
        compileMs: t1 - t0,
        diffMs: 0,
        writeMs: t2 - t1,
        totalMs: t2 - t0,
        tables: [],
        ipsetMs: [0, 0],
        sets: { created: 0, destroyed: 0, membersAdded: 0, membersRemoved: 0 },
        pods: c.podFingerprints.size,
        issues: c.issues,
      };
      this.lastResult = result;
      this.opts.onApplied?.(result);
      throw err instanceof TortieError ? err : new TortieError('ERR_POLICY_APPLY', message, { cause: err });
    }
  }

  /** Destroys the sets the programmed rules no longer use, soon (not on the write path). */
  private scheduleCollect(): void {
    if (this.closed) return;
    const now = performance.now();
    if (this.collectTimer) {
      // Wait for a quiet moment (this is called after every write), but not for ever.
      if (now - this.collectSince >= SET_COLLECT_MAX_WAIT_MS) return;
      clearTimeout(this.collectTimer);
    } else this.collectSince = now;
    this.collectTimer = setTimeout(() => {
      this.collectTimer = undefined;
      this.collectSets().catch((err: unknown) => this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'destroying unused ipsets failed; retried after the next apply'));
    }, this.heldRounds > SET_HELD_ROUNDS_BEFORE_BACKOFF ? SET_HELD_BACKOFF_MS : SET_COLLECT_DELAY_MS);
  }

  /**
   * Queued after any apply in progress: destroys our sets that no programmed
   * rule uses. `delaysMs`: how long to wait for sets the kernel still holds
   * (none from the timer, so the queue never waits: they are tried later).
   */
  private collectSets(delaysMs: readonly number[] = []): Promise<void> {
    if (this.collectTimer) {
      clearTimeout(this.collectTimer);
      this.collectTimer = undefined;
    }
    const run = this.queue.then(async () => {
      const applied = this.appliedSets;
      const have = this.programmedSets;
      if (!applied || !have || !this.programmedTables) return;
      const unused = [...have.keys()].filter((n) => !applied.has(n)).sort();
      if (unused.length === 0) return;
      let held: string[];
      try {
        // A process of its own: the spare stays ready for the next write.
        held = await this.ipset.destroySets(unused, delaysMs, { spare: false });
      } catch (err) {
        // Some may be gone: read the kernel again before the next diff.
        this.programmedSets = undefined;
        throw err;
      }
      const keep = new Set(held);
      const left = new Map(have);
      for (const n of unused) if (!keep.has(n)) left.delete(n);
      if (this.programmedSets === have) this.programmedSets = left;
      if (held.length > 0) {
        // Held for long: something else (not our rules) references them. Try less often, and say so once.
        if (++this.heldRounds === SET_HELD_ROUNDS_BEFORE_BACKOFF + 1) {
          this.log.warn({ sets: held }, `unused ipsets still in use by the kernel after ${SET_HELD_ROUNDS_BEFORE_BACKOFF} tries (a rule outside tortie may reference them); retrying every ${SET_HELD_BACKOFF_MS / 1000} s`);
        }
        this.scheduleCollect();
      } else {
        this.heldRounds = 0;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Forgets what we believe is programmed, reads the kernel again and
   * applies: repairs anything changed behind our back (what verify reports).
   */
  resync(): Promise<ApplyResult> {
    this.programmedTables = undefined;
    this.programmedSets = undefined;
    return this.apply();
  }

  /** Where one pod stands. */
  status(key: string): PodStatus {
    const c = this.desired();
    const want = c.podFingerprints.get(key);
    const have = this.programmedPods.get(key);
    const ir = c.resolved.ir.pods.get(key);
    const base = ir ? { ifName: ir.ifName, ingressIsolated: ir.ingress !== undefined, egressIsolated: ir.egress !== undefined } : {};
    let state: PodPolicyState;
    if (want === undefined) state = 'unknown';
    else if (have === want) state = 'programmed';
    else if (have !== undefined) state = 'updating';
    else state = 'pending';
    return { pod: key, state, ...base };
  }

  /** Every local pod's status. */
  statuses(): PodStatus[] {
    return [...this.desired().podFingerprints.keys()].map((k) => this.status(k));
  }

  /**
   * Resolves once the pod's rules are programmed as currently desired;
   * rejects with ERR_POLICY_PROGRAM_TIMEOUT after `timeoutMs`.
   */
  waitProgrammed(key: string, timeoutMs: number): Promise<PodStatus> {
    const now = this.status(key);
    if (now.state === 'programmed') return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      let set = this.waiters.get(key);
      if (!set) this.waiters.set(key, (set = new Set()));
      const w: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          set.delete(w);
          if (set.size === 0) this.waiters.delete(key);
          reject(new TortieError('ERR_POLICY_PROGRAM_TIMEOUT', `policy for ${key} not programmed within ${timeoutMs} ms (state: ${this.status(key).state})`));
        }, timeoutMs),
      };
      set.add(w);
    });
  }

  private wakeWaiters(): void {
    for (const [key, set] of this.waiters) {
      const s = this.status(key);
      if (s.state !== 'programmed') continue;
      for (const w of set) {
        clearTimeout(w.timer);
        w.resolve(s);
      }
      this.waiters.delete(key);
    }
  }

  /** `policy show`: the policies selecting a pod, per direction, with their effective rules. */
  show(key: string): (PodExplanation & { status: PodStatus }) | undefined {
    const e = explainPod(this.desired(), key);
    return e ? { ...e, status: this.status(key) } : undefined;
  }

  /** `policy verify`: reads the kernel (our chains and sets only) and compares with the desired state. */
  async verify(): Promise<VerifyReport & { backend: string; applyPending: boolean }> {
    const writers = this.requireStarted();
    // Unused sets waiting to be destroyed would show as extra.
    if (this.collectTimer) await this.collectSets([10, 25, 50, 100, 250]).catch(() => undefined);
    const tables = new Map<Family, ProgrammedTable>();
    for (const [fam, w] of writers) tables.set(fam, await w.read());
    const sets = await this.ipset.read();
    const c = this.desired();
    const report = verifyProgrammed(c, tables, sets.sets, sets.foreignTyped);
    const applyPending = [...c.podFingerprints].some(([k, fp]) => this.programmedPods.get(k) !== fp) || this.programmedPods.size !== c.podFingerprints.size;
    return { ...report, backend: this.detection?.backend ?? 'unknown', applyPending };
  }

  /** Removes every chain, jump and set of ours (policy switched off). */
  async removeAll(): Promise<void> {
    const writers = this.requireStarted();
    const run = this.queue.then(async () => {
      this.programmedTables = undefined;
      this.programmedSets = undefined;
      for (const [, w] of writers) await w.restore(removeAllText(await w.read()));
      const sets = await this.ipset.read();
      const held = await this.ipset.destroySets([...sets.sets.keys(), ...sets.foreignTyped]);
      if (held.length > 0) throw new TortieError('ERR_POLICY_IPSET', `ipset: still in use by a kernel component: ${held.join(' ')}`);
      this.programmedPods.clear();
      this.programmedTables = new Map(this.families.map((f) => [f, { chains: new Map(), jumps: new Map() }]));
      this.programmedSets = new Map();
      this.appliedSets = new Set();
    });
    this.queue = run.catch(() => undefined);
    await run;
  }

  /** Rejects every pending waitProgrammed and lets the kept restore processes exit (shutdown). */
  close(): void {
    this.closed = true;
    if (this.collectTimer) clearTimeout(this.collectTimer);
    this.collectTimer = undefined;
    for (const w of this.tableWriters.values()) w.close();
    this.ipset.close();
    for (const set of this.waiters.values()) {
      for (const w of set) {
        clearTimeout(w.timer);
        w.reject(new TortieError('ERR_POLICY_CLOSED', 'policy enforcer closed'));
      }
    }
    this.waiters.clear();
  }
}

/** What a successful write of `t` left in the kernel (chains stand in for themselves; jumps are in place). */
function programmedOf(t: RenderedTable): ProgrammedTable {
  return { chains: new Map(), rendered: t, jumps: new Map(BUILTIN_JUMPS.map((j) => [j.builtin, 1])) };
}
