import { expect } from 'chai';
import { hasCode } from '../lib/errors.js';
import { HelperCommandRunner } from './helper-runner.js';

describe('HelperCommandRunner (commands started by a small helper process)', function () {
  this.timeout(20_000);
  const r = new HelperCommandRunner();
  after(() => r.close());

  it('runs commands with input and reports exit codes like NodeCommandRunner', async () => {
    expect(await r.run(['cat'], { input: 'hello\n' })).to.deep.equal({ stdout: 'hello\n', stderr: '', code: 0 });
    expect((await r.run(['sh', '-c', 'echo oops >&2; exit 3'])).code).to.equal(3);
    expect((await r.run(['sh', '-c', 'echo oops >&2; exit 3'])).stderr).to.equal('oops\n');
  });

  it('runs overlapping requests and keeps their answers apart', async () => {
    const outs = await Promise.all([1, 2, 3, 4, 5].map((n) => r.run(['sh', '-c', `sleep 0.0${6 - n}; echo ${n}`])));
    expect(outs.map((o) => o.stdout.trim())).to.deep.equal(['1', '2', '3', '4', '5']);
  });

  it('rejects with a code for a command that cannot start, or that times out', async () => {
    for (const [argv, opts, code] of [
      [['/nonexistent/tool'], {}, 'ERR_COMMAND_SPAWN'],
      [['sleep', '5'], { timeoutMs: 100 }, 'ERR_COMMAND_TIMEOUT'],
    ] as const) {
      try {
        await r.run(argv, opts);
        expect.fail('should reject');
      } catch (err) {
        expect(hasCode(err, code), String(err)).to.equal(true);
      }
    }
  });

  it('close() ends the processes it keeps (spawnPersistent)', async () => {
    const out: string[] = [];
    const k = r.spawnPersistent(['cat'], { onStdout: (c) => out.push(c) });
    k.write('one\n');
    r.close();
    const st = await k.exited;
    expect(st.code).to.equal(0);
    expect(out.join('')).to.equal('one\n');
    expect(k.running).to.equal(false);
  });

  it('starts a new helper after the old one is gone', async () => {
    r.close();
    expect((await r.run(['true'])).code).to.equal(0);
  });
});

describe('HelperCommandRunner keeps the process alive while a run is pending', () => {
  it('a script whose only work is a pending run completes it', async () => {
    const { run } = await import('../test/support/netns.js');
    const script = `import { HelperCommandRunner } from ${JSON.stringify(new URL('./helper-runner.ts', import.meta.url).href)};
const r = new HelperCommandRunner();
const out = await r.run(['sh', '-c', 'sleep 0.2; echo done']);
process.stdout.write(out.stdout);`;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeoutMs: 15_000 });
    expect(stdout).to.equal('done\n');
  });
});
