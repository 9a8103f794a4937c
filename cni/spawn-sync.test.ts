import { expect } from 'chai';
import { bindingSpawner, publicSpawner, type SyncOptions, type SyncSpawner } from './spawn-sync.js';

const opts = (over: Partial<SyncOptions> = {}): SyncOptions => ({ input: '', env: { PATH: '/usr/bin:/bin' }, timeoutMs: 10_000, maxBuffer: 1 << 20, ...over });

const spawners: [string, () => SyncSpawner | undefined][] = [
  ['spawn_sync binding', bindingSpawner],
  ['child_process.spawnSync', publicSpawner],
];

describe('cni: synchronous spawn', () => {
  it('the internal binding is available on this Node (else every ADD pays ~7 ms CPU more)', () => {
    expect(bindingSpawner()).to.be.a('function');
  });

  for (const [name, make] of spawners) {
    describe(name, () => {
      const run = (file: string, args: string[], o?: Partial<SyncOptions>): ReturnType<SyncSpawner> => make()!(file, args, opts(o));

      it('feeds stdin and captures stdout and stderr', () => {
        const r = run('/bin/sh', ['-c', 'cat; echo err >&2'], { input: 'hello\nworld\n' });
        expect(r).to.deep.include({ status: 0, signal: null, stdout: 'hello\nworld\n', stderr: 'err\n' });
        expect(r.errorCode).to.equal(undefined);
      });
      it('passes exactly the given environment', () => {
        const r = run('/usr/bin/env', [], { env: { A: '1', B: 'x=y', SKIP: undefined } });
        expect(r.stdout.split('\n').filter(Boolean).sort()).to.deep.equal(['A=1', 'B=x=y']);
      });
      it('reports the exit status', () => {
        expect(run('/bin/sh', ['-c', 'exit 3']).status).to.equal(3);
      });
      it('reports a program that does not exist', () => {
        const r = run('/nonexistent/tortie-test', []);
        expect(r.status).to.equal(null);
        expect(r.errorCode).to.equal('ENOENT');
      });
      it('kills a program that overruns its timeout', () => {
        const t0 = Date.now();
        const r = run('/bin/sleep', ['5'], { timeoutMs: 200 });
        expect(Date.now() - t0).to.be.lessThan(3000);
        expect(r.errorCode).to.equal('ETIMEDOUT');
        expect(r.signal).to.equal('SIGKILL');
      });
      it('survives a program that ignores a large stdin', () => {
        const r = run('/bin/true', [], { input: 'x'.repeat(1 << 20) });
        expect(r.status).to.equal(0);
      });
    });
  }
});
