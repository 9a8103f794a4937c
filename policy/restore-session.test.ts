/**
 * Kept restore processes (restore-session.ts) without root: against the
 * in-memory netfilter through FakePersistentRunner, plus one real child
 * process for the event-loop behaviour.
 */
import { expect } from 'chai';
import { FakeCommandRunner } from '../agent/kernel/command-runner.js';
import { hasCode } from '../lib/errors.js';
import { commandsFor } from './backend.js';
import type { ClusterState, PodInfo } from './compile/model.js';
import { withAttachments } from './enforcer.js';
import { IpsetWriter } from './ipset-writer.js';
import { IptablesWriter } from './iptables-writer.js';
import { RestoreSession, SpareProcess } from './restore-session.js';
import { FakeNetfilter } from './testing/fake-netfilter.js';
import { FakePersistentRunner } from './testing/fake-persistent.js';

const ADD_X = '*filter\n:TORTIE-X - [0:0]\n-A TORTIE-X -j DROP\nCOMMIT\n';
const ADD_Y = '*filter\n:TORTIE-Y - [0:0]\n-A TORTIE-Y -j TORTIE-X\nCOMMIT\n';
const BAD = '*filter\n-A TORTIE-NOPE -j DROP\nCOMMIT\n';

function restoreArgv(): string[] {
  return ['iptables-nft-restore', '--noflush', '-v'];
}

describe('RestoreSession (one kept iptables-restore per family)', () => {
  it('commits every write through one process, and resolves after each commit', async () => {
    const nf = new FakeNetfilter();
    const r = new FakePersistentRunner(nf.runner());
    const s = new RestoreSession(r, restoreArgv());
    s.prepare();
    await s.write(ADD_X);
    expect(nf.chains(4).get('TORTIE-X')).to.deep.equal(['-j DROP']);
    await s.write(ADD_Y);
    expect(nf.chains(4).get('TORTIE-Y')).to.deep.equal(['-j TORTIE-X']);
    expect(r.started.length).to.equal(1);
    expect(nf.restores.map((w) => w.input)).to.deep.equal([ADD_X, ADD_Y]);
    s.close();
    await r.started[0].cmd.exited;
  });

  it('a failed commit rejects with the tool error, and the next write starts a new process', async () => {
    const nf = new FakeNetfilter();
    const r = new FakePersistentRunner(nf.runner());
    const s = new RestoreSession(r, restoreArgv());
    await s.write(ADD_X);
    try {
      await s.write(BAD);
      expect.fail('should reject');
    } catch (err) {
      expect(hasCode(err, 'ERR_POLICY_RESTORE'), String(err)).to.equal(true);
      expect(String(err)).to.contain('TORTIE-NOPE');
    }
    await s.write(ADD_Y);
    expect(r.started.length).to.equal(2);
    expect(nf.chains(4).has('TORTIE-Y')).to.equal(true);
  });

  it('a process that died while idle is replaced on the next write', async () => {
    const nf = new FakeNetfilter();
    const r = new FakePersistentRunner(nf.runner());
    const s = new RestoreSession(r, restoreArgv());
    await s.write(ADD_X);
    r.started[0].cmd.kill('SIGKILL');
    await r.started[0].cmd.exited;
    await s.write(ADD_Y);
    expect(r.started.length).to.equal(2);
    expect(nf.chains(4).has('TORTIE-Y')).to.equal(true);
  });

  it('refuses input that does not end with COMMIT (the marker would not mean a commit)', async () => {
    const s = new RestoreSession(new FakePersistentRunner(new FakeNetfilter().runner()), restoreArgv());
    for (const text of ['*filter\n:TORTIE-X - [0:0]\n', '*filter\nCOMMIT']) {
      try {
        await s.write(text);
        expect.fail('should reject');
      } catch (err) {
        expect(hasCode(err, 'ERR_POLICY_RESTORE'), String(err)).to.equal(true);
      }
    }
  });

  it('a tool that does not echo comments is unsupported before anything is written; the writer then runs one-shot', async () => {
    const nf = new FakeNetfilter();
    const r = new FakePersistentRunner(nf.runner(), { echo: false });
    const s = new RestoreSession(r, restoreArgv(), undefined, { helloTimeoutMs: 50 });
    try {
      await s.write(ADD_X);
      expect.fail('should reject');
    } catch (err) {
      expect(hasCode(err, 'ERR_POLICY_SESSION_UNSUPPORTED'), String(err)).to.equal(true);
    }
    expect(nf.restores).to.deep.equal([]);

    const w = new IptablesWriter(r, commandsFor('nft'), 4, undefined, { helloTimeoutMs: 50 });
    expect(w.persistent).to.equal(true);
    await w.restore(ADD_X);
    expect(nf.chains(4).get('TORTIE-X')).to.deep.equal(['-j DROP']);
    await w.restore(ADD_Y);
    expect(nf.restores.map((x) => x.input)).to.deep.equal([ADD_X, ADD_Y]);
  });

  it('after close() the writers run the tools one-shot', async () => {
    const nf = new FakeNetfilter();
    const r = new FakePersistentRunner(nf.runner());
    const w = new IptablesWriter(r, commandsFor('nft'), 4);
    const ips = new IpsetWriter(r);
    w.prepare();
    ips.prepare();
    w.close();
    ips.close();
    await w.restore(ADD_X);
    await ips.restore('create TORTIE-S hash:ip family inet\n');
    expect(nf.chains(4).get('TORTIE-X')).to.deep.equal(['-j DROP']);
    expect(nf.sets.has('TORTIE-S')).to.equal(true);
    for (const p of r.started) await p.cmd.exited;
    expect(r.started.length, 'only the two prepared, both ended').to.equal(2);
  });

  it('is only used on nft, and only with a runner that can keep processes', () => {
    const nf = new FakeNetfilter();
    expect(new IptablesWriter(new FakePersistentRunner(nf.runner()), commandsFor('nft'), 4).persistent).to.equal(true);
    expect(new IptablesWriter(new FakePersistentRunner(nf.runner()), commandsFor('legacy'), 4).persistent).to.equal(false);
    expect(new IptablesWriter(nf.runner(), commandsFor('nft'), 4).persistent).to.equal(false);
    expect(new IptablesWriter(new FakePersistentRunner(nf.runner()), commandsFor('nft'), 4, undefined, { persistent: false }).persistent).to.equal(false);
  });

  it('a real kept process holds the event loop only while a write waits', async () => {
    const { run } = await import('../test/support/netns.js');
    // `cat` echoes every line, so it acts as a restore tool that commits instantly.
    const script = `import { HelperCommandRunner } from ${JSON.stringify(new URL('./helper-runner.ts', import.meta.url).href)};
import { RestoreSession } from ${JSON.stringify(new URL('./restore-session.ts', import.meta.url).href)};
const s = new RestoreSession(new HelperCommandRunner(), ['sh', '-c', 'sleep 0.3; exec cat']);
await s.write('*filter\\nCOMMIT\\n');
process.stdout.write('committed ' + (s.pid > 0) + '\\n');`;
    const t0 = Date.now();
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeoutMs: 15_000 });
    expect(stdout).to.equal('committed true\n');
    expect(Date.now() - t0, 'exits without close(): the idle process does not hold it').to.be.below(10_000);
  });
});

describe('SpareProcess and IpsetWriter (ipset restore started ahead of need)', () => {
  it('runs the waiting process on the input and reports its exit', async () => {
    const nf = new FakeNetfilter();
    const r = new FakePersistentRunner(nf.runner());
    const sp = new SpareProcess(r, ['ipset', 'restore', '-exist']);
    sp.prepare();
    sp.prepare();
    expect(r.started.length).to.equal(1);
    const ok = await sp.run('create TORTIE-S hash:ip family inet\nadd TORTIE-S 10.0.0.1\n');
    expect(ok.code).to.equal(0);
    expect([...(nf.sets.get('TORTIE-S')?.members.keys() ?? [])]).to.deep.equal(['10.0.0.1']);
    const bad = await sp.run('add TORTIE-NOPE 10.0.0.1\n');
    expect(bad.code).to.not.equal(0);
    expect(r.started.length).to.equal(2);
  });

  it('destroySets waits and resumes from the line that was still in use', async () => {
    const inputs: string[] = [];
    let busy = 2;
    const runner = new FakeCommandRunner({
      run: (call) => {
        inputs.push(call.input ?? '');
        if (busy-- > 0) return { stdout: '', stderr: 'ipset v7.17: Error in line 2: Set cannot be destroyed: it is in use by a kernel component\n', code: 1 };
        return { stdout: '', stderr: '', code: 0 };
      },
      spawn: () => undefined,
    });
    const w = new IpsetWriter(runner);
    expect(await w.destroySets(['TORTIE-A', 'TORTIE-B', 'TORTIE-C'], [1, 1, 1])).to.deep.equal([]);
    expect(inputs).to.deep.equal(['destroy TORTIE-A\ndestroy TORTIE-B\ndestroy TORTIE-C\n', 'destroy TORTIE-B\ndestroy TORTIE-C\n', 'destroy TORTIE-C\n']);
  });

  it('destroySets reports what is still in use after its retries, and rejects on any other error without retrying', async () => {
    let n = 0;
    const inUse = new FakeCommandRunner({
      run: (call) => {
        n++;
        const line = (call.input ?? '').split('\n').findIndex((l) => l === 'destroy TORTIE-B') + 1;
        return line > 0 ? { stdout: '', stderr: `ipset v7.17: Error in line ${line}: Set cannot be destroyed: it is in use by a kernel component\n`, code: 1 } : { stdout: '', stderr: '', code: 0 };
      },
      spawn: () => undefined,
    });
    expect(await new IpsetWriter(inUse).destroySets(['TORTIE-A', 'TORTIE-B', 'TORTIE-C'], [1, 1])).to.deep.equal(['TORTIE-B', 'TORTIE-C']);
    expect(n).to.equal(3);
    n = 0;
    const other = new FakeCommandRunner({
      run: () => {
        n++;
        return { stdout: '', stderr: 'ipset v7.17: Error in line 1: The set with the given name does not exist\n', code: 1 };
      },
      spawn: () => undefined,
    });
    try {
      await new IpsetWriter(other).destroySets(['TORTIE-A'], [1, 1]);
      expect.fail('should reject');
    } catch (err) {
      expect(hasCode(err, 'ERR_POLICY_IPSET'), String(err)).to.equal(true);
    }
    expect(n).to.equal(1);
  });
});

describe('withAttachments keeps unchanged pods identical (the compiler memoises by identity)', () => {
  const pods: PodInfo[] = [
    { namespace: 'x', name: 'a', labels: {} },
    { namespace: 'x', name: 'b', labels: {} },
    { namespace: 'x', name: 'c', labels: {}, attachment: { ifName: 'tt03', ips: ['10.0.0.3'] } },
  ];
  const state: ClusterState = { namespaces: [], pods, policies: [] };

  it('returns the same joined objects for the same pods and attachments, new ones for changes', () => {
    const att = new Map([
      ['x/a', { ifName: 'tt01', ips: ['10.0.0.1'] }],
      ['x/c', { ifName: 'tt03', ips: ['10.0.0.3'] }],
    ]);
    const one = withAttachments(state, att);
    expect(one.pods[0].attachment).to.deep.equal({ ifName: 'tt01', ips: ['10.0.0.1'] });
    expect(one.pods[1]).to.equal(pods[1]);
    expect(one.pods[2], 'attachment equal to its own').to.equal(pods[2]);
    const two = withAttachments(state, new Map([...att, ['x/a', { ifName: 'tt01', ips: ['10.0.0.1'] }]]));
    expect(two.pods[0], 'equal attachment, new map').to.equal(one.pods[0]);
    const three = withAttachments(state, new Map([...att, ['x/a', { ifName: 'tt01', ips: ['10.0.0.9'] }]]));
    expect(three.pods[0]).to.not.equal(one.pods[0]);
    expect(three.pods[0].attachment?.ips).to.deep.equal(['10.0.0.9']);
    const edited = { ...pods[0], labels: { app: 'z' } };
    const four = withAttachments({ ...state, pods: [edited, pods[1], pods[2]] }, att);
    expect(four.pods[0]).to.not.equal(one.pods[0]);
    expect(four.pods[0].labels).to.deep.equal({ app: 'z' });
  });
});
