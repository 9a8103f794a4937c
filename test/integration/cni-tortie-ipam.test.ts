// tortie CNI with tortie-ipam against a real agent (started from source in
// the node namespace with one local-datastore pool): ADD, CHECK, DEL, GC
// and STATUS, both with tortie-ipam run in-process (the default) and
// exec'd as a separate plugin from CNI_PATH ("ipamInProcess": false).

import { expect } from 'chai';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { buildLab, linkNames, ROOT, type CniLab } from './cni-harness.js';
import { waitFor, type TrackedProcess } from '../support/netns.js';

/** GET on the agent's control socket; resolves with the HTTP status. */
function agentStatus(socketPath: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

const handle = (containerId: string): string => `/v1/ipam/allocations?handle=${encodeURIComponent(`${containerId}/eth0`)}`;

describe('cni: tortie + tortie-ipam + agent (netns)', function () {
  this.timeout(180_000);
  let lab: CniLab;
  let agent: TrackedProcess;
  let socket: string;

  before(async function () {
    lab = await buildLab();
    const dir = join(lab.topo.tmpDir, 'agent');
    mkdirSync(dir);
    socket = join(dir, 'tortie.sock');
    const config = join(dir, 'agent.yaml');
    writeFileSync(
      config,
      [
        'node: { name: cni-node, asn: 65001, routerId: 192.0.2.1, sourceAddress: 192.0.2.1 }',
        `paths: { stateDir: ${join(dir, 'state')}, controlSocket: ${socket} }`,
        'metrics: { port: 0 }',
        'health: { port: 0 }',
        'ipam:',
        '  pools: [{ cidr: 10.88.0.0/16 }, { cidr: "fd88::/64" }]',
        '  gcGraceSec: 0',
        `  datastore: { type: local, directory: ${join(dir, 'ipam')} }`,
        '',
      ].join('\n'),
    );
    const loader = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
    agent = lab.node.spawn(process.execPath, ['--import', loader, join(ROOT, 'agent/main.ts'), '--config', config], { logFile: join(dir, 'agent.log') });
    await waitFor('the agent control socket', () => Promise.resolve(existsSync(socket) ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 100,
      failFast: () => (agent.running ? undefined : `agent exited: ${agent.logTail()}`),
    });
    // The exec'd variant needs a tortie-ipam binary in CNI_PATH.
    await build({
      absWorkingDir: ROOT,
      entryPoints: ['ipam/cni-ipam-main.ts'],
      outfile: join(lab.bin, 'tortie-ipam'),
      bundle: true,
      platform: 'node',
      target: 'node24',
      format: 'cjs',
      banner: { js: '#!/usr/bin/env node' },
      logLevel: 'warning',
    });
    chmodSync(join(lab.bin, 'tortie-ipam'), 0o755);
  });
  after(async function () {
    await lab?.destroy();
  });

  for (const inProcess of [true, false]) {
    it(`ADD, CHECK, DEL, DEL with tortie-ipam ${inProcess ? 'in-process' : "exec'd"}`, async function () {
      const conf = {
        cniVersion: '1.1.0',
        name: 'tortie-ipam-net',
        type: 'tortie',
        ipamInProcess: inProcess,
        ipam: { type: 'tortie-ipam', socket, families: ['ipv4', 'ipv6'] },
      };
      const pod = await lab.newPod();
      const opts = { containerId: `ti-${inProcess ? 'in' : 'ex'}`, netns: lab.netnsPath(pod) };
      const res = (await lab.ok('ADD', conf, opts)) as { ips: { address: string }[]; interfaces: { name: string }[] };
      expect(res.ips.map((i) => i.address)).to.satisfy((a: string[]) => a.some((x) => /^10\.88\./.test(x)) && a.some((x) => x.startsWith('fd88:')));
      await lab.ok('CHECK', { ...conf, prevResult: res }, opts);
      const st = await lab.call('STATUS', conf);
      expect(st.code, st.stdout).to.equal(0);
      await lab.ok('DEL', conf, opts);
      await lab.ok('DEL', conf, opts);
      expect(await linkNames(pod)).to.deep.equal(['lo']);
      // The address is free again: CHECK of the old result now fails in IPAM as well.
      const again = await lab.call('CHECK', { ...conf, prevResult: res }, opts);
      expect(again.code).to.equal(1);
    });
  }

  it('GC releases what is not in cni.dev/valid-attachments, in the kernel and in IPAM', async function () {
    const conf = { cniVersion: '1.1.0', name: 'tortie-ipam-net', type: 'tortie', ipam: { type: 'tortie-ipam', socket } };
    const keep = await lab.newPod();
    const drop = await lab.newPod();
    const keepRes = (await lab.ok('ADD', conf, { containerId: 'gc-keep', netns: lab.netnsPath(keep) })) as { interfaces: { name: string }[] };
    const dropRes = (await lab.ok('ADD', conf, { containerId: 'gc-drop', netns: lab.netnsPath(drop) })) as { interfaces: { name: string }[] };
    expect(await agentStatus(socket, handle('gc-drop'))).to.equal(200);
    const r = await lab.call('GC', { ...conf, 'cni.dev/valid-attachments': [{ containerID: 'gc-keep', ifname: 'eth0' }] });
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stderr).to.not.include('skipped');
    const links = await linkNames(lab.node);
    expect(links).to.include(keepRes.interfaces[0].name);
    expect(links).to.not.include(dropRes.interfaces[0].name);
    expect(await agentStatus(socket, handle('gc-drop')), 'dropped allocation').to.equal(404);
    expect(await agentStatus(socket, handle('gc-keep')), 'kept allocation').to.equal(200);
    await lab.ok('DEL', conf, { containerId: 'gc-keep', netns: lab.netnsPath(keep) });
  });

  it('STATUS is 50 when the agent is not reachable', async function () {
    const conf = { cniVersion: '1.1.0', name: 'tortie-ipam-net', type: 'tortie', ipam: { type: 'tortie-ipam', socket: join(lab.topo.tmpDir, 'nowhere.sock') } };
    const r = await lab.call('STATUS', conf);
    expect(r.json).to.deep.include({ code: 50 });
  });
});
