/**
 * The namespace helper that interop tests stand on (test/support/netns.ts):
 * unique names, veths with usable IPv4/IPv6 at once, processes tracked by
 * PID, and a destroy() that cleans up everything, twice if asked, also
 * after a half-failed setup. Needs root; fails (never skips) without it.
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { hasCode } from '../../lib/errors.js';
import { type TrackedProcess, Topology, isRoot, requireCommands, run, waitFor } from '../support/netns.js';

async function namespaceNames(): Promise<string[]> {
  const { stdout } = await run('ip', ['-json', 'netns', 'list']);
  return (JSON.parse(stdout.trim() || '[]') as { name: string }[]).map((n) => n.name);
}

function alive(p: TrackedProcess): boolean {
  return p.running;
}

/** A tiny TCP echo-once server and client, run with this very Node binary inside namespaces. */
const SERVER = `require('net').createServer((s) => { s.end('pong'); }).listen(7777, '::', () => console.log('listening'));`;
const CLIENT = `const s = require('net').connect(7777, process.argv[1], () => {}); let d = ''; s.on('data', (c) => (d += c)); s.on('end', () => { console.log(d); });`;

describe('test/support/netns (root)', function () {
  this.timeout(30_000);

  before(() => {
    if (!isRoot()) throw new Error('test/support/netns needs root (network namespaces)');
    requireCommands(['ip', 'sysctl']);
  });

  it('builds namespaces and a dual-stack veth that carries TCP over IPv4, IPv6 and link-local at once', async () => {
    const topo = new Topology();
    try {
      const a = await topo.addNamespace('a');
      const b = await topo.addNamespace('b');
      expect(a.name).to.match(/^tt[0-9a-z]+$/);
      expect(a.name).to.not.equal(b.name);
      expect(await namespaceNames()).to.include.members([a.name, b.name]);
      const link = await topo.link(a, b, {
        aAddresses: ['192.0.2.1/29', '2001:db8:99::1/64'],
        bAddresses: ['192.0.2.2/29', '2001:db8:99::2/64'],
      });
      const addrs = await b.addresses(link.b.ifname);
      expect(addrs.map((x) => x.local)).to.include.members(['192.0.2.2', '2001:db8:99::2']);
      expect(addrs.some((x) => x.tentative)).to.equal(false);
      const ll = await b.linkLocal(link.b.ifname);
      expect(ll).to.match(/^fe80:/);

      const server = b.spawn(process.execPath, ['-e', SERVER], { logFile: `${topo.tmpDir}/server.log` });
      await waitFor('server', () => Promise.resolve(/listening/.test(server.logTail()) ? true : undefined), { timeoutMs: 10_000 });
      for (const target of ['192.0.2.2', '2001:db8:99::2', `${ll}%${link.a.ifname}`]) {
        const { stdout } = await a.exec(process.execPath, ['-e', CLIENT, target], { timeoutMs: 10_000 });
        expect(stdout.trim(), target).to.equal('pong');
      }
    } finally {
      await topo.destroy();
    }
  });

  it('destroy() stops its processes (SIGKILL when SIGTERM is ignored), deletes its namespaces and temp dir, and is idempotent', async () => {
    const topo = new Topology();
    const ns = await topo.addNamespace('x');
    const tmp = topo.tmpDir;
    const polite = ns.spawn('sleep', ['300']);
    const stubborn = ns.spawn(process.execPath, ['-e', `process.on('SIGTERM', () => {}); setInterval(() => {}, 1000); console.log('up');`], {
      stopTimeoutMs: 300,
      logFile: `${tmp}/stubborn.log`,
    });
    await waitFor('stubborn process', () => Promise.resolve(/up/.test(stubborn.logTail()) ? true : undefined), { timeoutMs: 10_000 });
    expect(alive(polite) && alive(stubborn)).to.equal(true);

    await Promise.all([topo.destroy(), topo.destroy()]);
    await topo.destroy();
    expect(alive(polite), 'sleep still running').to.equal(false);
    expect(alive(stubborn), 'SIGTERM-ignoring process still running').to.equal(false);
    expect(stubborn.exit?.signal).to.equal('SIGKILL');
    expect(await namespaceNames()).to.not.include(ns.name);
    expect(existsSync(tmp)).to.equal(false);
    for (const use of [() => ns.spawn('true', []), () => topo.tmpDir]) {
      expect(use).to.throw().that.satisfies((e: unknown) => hasCode(e, 'ERR_TEST_TOPOLOGY'));
    }
    expect(existsSync(tmp), 'tmpDir re-created after destroy').to.equal(false);
  });

  it('destroy() cleans up after a setup that failed half-way', async () => {
    const topo = new Topology();
    let created: string[] = [];
    try {
      const a = await topo.addNamespace('a');
      const b = await topo.addNamespace('b');
      created = [a.name, b.name];
      await topo.link(a, b, { aAddresses: ['not-an-address'] });
      expect.fail('link() accepted a bad address');
    } catch (err) {
      expect(hasCode(err, 'ERR_TEST_COMMAND'), String(err)).to.equal(true);
    } finally {
      await topo.destroy();
    }
    expect(created).to.have.length(2);
    const left = await namespaceNames();
    for (const name of created) expect(left).to.not.include(name);
  });
});
