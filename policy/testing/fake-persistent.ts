/**
 * A runner that can also hold processes (PersistentSpawner), for tests of
 * the kept restore processes without root: one-shot runs go to `inner`
 * (e.g. FakeNetfilter.runner()); a kept `*-restore` process acts like
 * iptables-nft-restore -v (commits each block at its COMMIT line through
 * `inner`, echoes comment lines, exits on the first failure); any other
 * kept process (ipset restore) gets its whole input at end() and runs it
 * through `inner`.
 */
import type { CommandResult, CommandRunner, ExitStatus, RunOptions, RunningCommand, SpawnOptions } from '../../agent/kernel/command-runner.js';
import type { PersistentCommand, PersistentSpawner } from '../restore-session.js';

export interface FakePersistentOptions {
  /** False: a restore tool that does not echo comments (an iptables that behaves otherwise). */
  echo?: boolean;
}

let fakePid = 200_000;

export class FakePersistentRunner implements CommandRunner, PersistentSpawner {
  /** Every kept process started: argv and whether it is still running. */
  readonly started: { argv: readonly string[]; netns: string | undefined; cmd: PersistentCommand }[] = [];

  constructor(
    readonly inner: CommandRunner,
    readonly opts: FakePersistentOptions = {},
  ) {}

  run(argv: readonly string[], opts?: RunOptions): Promise<CommandResult> {
    return this.inner.run(argv, opts);
  }

  spawn(argv: readonly string[], opts?: SpawnOptions): RunningCommand {
    return this.inner.spawn(argv, opts);
  }

  spawnPersistent(argv: readonly string[], opts: SpawnOptions = {}): PersistentCommand {
    const inner = this.inner;
    const restoreTool = /-restore$/.test(argv[0] ?? '');
    const echo = this.opts.echo ?? true;
    const oneShotArgv = argv.filter((a) => a !== '-v');
    let status: ExitStatus | undefined;
    let resolveExit: (s: ExitStatus) => void = () => undefined;
    const exited = new Promise<ExitStatus>((r) => (resolveExit = r));
    let stdinOpen = true;
    let pending = '';
    let block: string[] = [];
    let all = '';
    let chain: Promise<void> = Promise.resolve();
    let refs = 0;
    const finish = (s: ExitStatus): void => {
      if (status) return;
      status = s;
      opts.onExit?.(s);
      resolveExit(s);
    };
    const later = (fn: () => void | Promise<void>): void => {
      chain = chain.then(async () => {
        await new Promise<void>((r) => setImmediate(r));
        if (!status) await fn();
      });
    };
    const line = (l: string): void => {
      if (l.startsWith('#')) {
        if (echo) later(() => opts.onStdout?.(`${l}\n`));
        return;
      }
      block.push(l);
      if (l !== 'COMMIT') return;
      const input = `${block.join('\n')}\n`;
      block = [];
      later(async () => {
        const r = await inner.run(oneShotArgv, { netns: opts.netns, input });
        if (r.code !== 0) {
          opts.onStderr?.(r.stderr);
          finish({ code: r.code, signal: null });
        }
      });
    };
    const cmd: PersistentCommand = {
      pid: fakePid++,
      get running() {
        return status === undefined;
      },
      write(text: string): void {
        if (!stdinOpen || status) return;
        if (!restoreTool) {
          all += text;
          return;
        }
        pending += text;
        let nl = pending.indexOf('\n');
        while (nl >= 0) {
          line(pending.slice(0, nl));
          pending = pending.slice(nl + 1);
          nl = pending.indexOf('\n');
        }
      },
      end(): void {
        if (!stdinOpen) return;
        stdinOpen = false;
        later(async () => {
          if (!restoreTool) {
            const r = await inner.run(argv, { netns: opts.netns, input: all });
            if (r.stdout) opts.onStdout?.(r.stdout);
            if (r.stderr) opts.onStderr?.(r.stderr);
            finish({ code: r.code, signal: null });
          } else finish({ code: 0, signal: null });
        });
      },
      kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
        if (status) return false;
        setImmediate(() => finish({ code: null, signal }));
        return true;
      },
      ref(): void {
        refs++;
      },
      unref(): void {
        refs = 0;
      },
      exited,
    };
    void refs;
    this.started.push({ argv: [...argv], netns: opts.netns, cmd });
    return cmd;
  }
}
