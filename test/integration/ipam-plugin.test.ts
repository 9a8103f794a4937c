/**
 * tortie-ipam (the built bundle) against one real agent in its own network
 * namespace: 64 ADDs in parallel give 64 distinct IPv4 and 64 distinct IPv6
 * addresses; CHECK agrees; DEL of all of them leaves zero allocations; fixed
 * addresses; VERSION and STATUS; exhaustion is a CNI error that names the
 * pool and why, and `tortiectl ipam show` says the same. Needs root.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { IpamShowView } from '../../ipam/api-types.js';
import {
  CTL_BIN, duplicates, ensureBuilt, netConf, readAllocations, resultAddresses, runPlugin, startAgent, type AgentHandle, type PluginRun,
} from '../../ipam/testing/harness.js';
import { isRoot, requireCommands, Topology } from '../support/netns.js';

const execFileP = promisify(execFile);

describe('ipam: tortie-ipam ADD/CHECK/DEL against one agent', function () {
  this.timeout(180_000);
  const topo = new Topology();
  let agent: AgentHandle;
  const ids = Array.from({ length: 64 }, (_, i) => `pod${String(i).padStart(2, '0')}aaaa`);
  const added = new Map<string, PluginRun>();

  before(async function () {
    if (!isRoot()) throw new Error('this test needs root (network namespaces); run it through .ci/run or as root');
    requireCommands(['ip']);
    await ensureBuilt();
    agent = await startAgent(topo, {
      name: 'ipam-a', routerId: '192.0.2.51',
      ipamYaml: `  pools:
    - { name: v4, cidr: 10.123.0.0/24, blockSize: 28 }
    - { name: v6, cidr: "fd00:123::/120", blockSize: 124 }
    - { name: tiny, cidr: 10.124.0.0/30, blockSize: 30 }
  reservations: [10.123.0.0]
  releaseCooldownSec: 0
  gcGraceSec: 0`,
    });
  });

  after(async () => {
    await topo.destroy();
  });

  async function ctl(args: string[]): Promise<string> {
    const { stdout } = await execFileP(process.execPath, [CTL_BIN, ...args, '--socket', agent.socket]);
    return stdout;
  }

  it('VERSION and STATUS', async () => {
    const v = await runPlugin({ command: 'VERSION', conf: { cniVersion: '1.0.0' } });
    expect(JSON.parse(v.stdout)).to.deep.equal({ cniVersion: '1.0.0', supportedVersions: ['0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
    const s = await runPlugin({ command: 'STATUS', conf: netConf(agent.socket) });
    expect(s.code, s.stdout).to.equal(0);
    const down = await runPlugin({ command: 'STATUS', conf: netConf(join(agent.dir, 'nobody.sock')) });
    expect(down.code).to.equal(1);
    expect(JSON.parse(down.stdout)).to.include({ code: 50 });
  });

  it('64 ADDs in parallel: 64 distinct IPv4 and 64 distinct IPv6 addresses, as the agent records them', async () => {
    // Pools v4 and v6 only (tiny is for exhaustion).
    const conf = netConf(agent.socket, {}, { pools: ['v4', 'v6'] });
    const runs = await Promise.all(ids.map((id) => runPlugin({ command: 'ADD', containerId: id, conf, cniArgs: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${id}` })));
    runs.forEach((r, i) => {
      expect(r.code, `${ids[i]}: ${r.stdout}${r.stderr}`).to.equal(0);
      added.set(ids[i], r);
    });
    const all = runs.flatMap(resultAddresses);
    expect(all).to.have.length(128);
    expect(duplicates(all)).to.deep.equal([]);
    expect(all.filter((a) => a.endsWith('/32')).every((a) => a.startsWith('10.123.0.') && a !== '10.123.0.0/32')).to.equal(true);
    expect(all.filter((a) => a.endsWith('/128'))).to.have.length(64);

    const stored = await readAllocations(join(agent.dir, 'state/ipam'));
    expect(stored.allocations).to.have.length(128);
    expect(duplicates(stored.allocations.map((a) => a.address))).to.deep.equal([]);
    expect(stored.allocations.every((a) => a.handle.endsWith('/eth0') && a.node === 'ipam-a')).to.equal(true);
    const byHandle = new Map<string, string[]>();
    for (const a of stored.allocations) byHandle.set(a.handle, [...(byHandle.get(a.handle) ?? []), a.address]);
    for (const [id, r] of added) {
      expect((byHandle.get(`${id}/eth0`) ?? []).sort()).to.deep.equal(resultAddresses(r).map((x) => x.replace(/\/\d+$/, '')).sort());
    }
  });

  it('ADD retried for the same container returns the same addresses', async () => {
    const id = ids[7];
    const again = await runPlugin({ command: 'ADD', containerId: id, conf: netConf(agent.socket, {}, { pools: ['v4', 'v6'] }) });
    expect(resultAddresses(again).sort()).to.deep.equal(resultAddresses(added.get(id)!).sort());
  });

  it('CHECK passes with the ADD result and fails with another', async () => {
    const id = ids[3];
    const ok = await runPlugin({ command: 'CHECK', containerId: id, conf: netConf(agent.socket, { prevResult: JSON.parse(added.get(id)!.stdout) as unknown }) });
    expect(ok.code, ok.stdout).to.equal(0);
    const wrong = await runPlugin({ command: 'CHECK', containerId: id, conf: netConf(agent.socket, { prevResult: JSON.parse(added.get(ids[4])!.stdout) as unknown }) });
    expect(wrong.code).to.equal(1);
    expect(JSON.parse(wrong.stdout)).to.include({ code: 124 });
  });

  it('a fixed address from CNI_ARGS IP=, refused when taken', async () => {
    const a = await runPlugin({ command: 'ADD', containerId: 'fixed0001', cniArgs: 'IgnoreUnknown=1;IP=10.123.0.250', conf: netConf(agent.socket, {}, { families: ['ipv4'] }) });
    expect(resultAddresses(a)).to.deep.equal(['10.123.0.250/32']);
    const b = await runPlugin({ command: 'ADD', containerId: 'fixed0002', cniArgs: 'IP=10.123.0.250', conf: netConf(agent.socket, {}, { families: ['ipv4'] }) });
    expect(b.code).to.equal(1);
    expect(JSON.parse(b.stdout)).to.include({ code: 122, details: 'ERR_IPAM_ADDRESS_IN_USE' });
    expect((await runPlugin({ command: 'DEL', containerId: 'fixed0001', conf: netConf(agent.socket) })).code).to.equal(0);
  });

  it('DEL of all 64 in parallel leaves zero allocations; DEL again is still success', async () => {
    const conf = netConf(agent.socket);
    const dels = await Promise.all(ids.map((id) => runPlugin({ command: 'DEL', containerId: id, conf })));
    for (const d of dels) expect(d.code, d.stdout).to.equal(0);
    expect((await readAllocations(join(agent.dir, 'state/ipam'))).allocations).to.deep.equal([]);
    const again = await runPlugin({ command: 'DEL', containerId: ids[0], conf });
    expect(again.code, again.stdout).to.equal(0);
    expect(again.stdout).to.equal('');
  });

  it('exhaustion: a CNI error naming the pool and why, shown by tortiectl ipam show', async () => {
    const conf = netConf(agent.socket, {}, { pools: ['tiny'] });
    for (let i = 0; i < 4; i++) expect((await runPlugin({ command: 'ADD', containerId: `tiny${i}`, conf })).code).to.equal(0);
    const r = await runPlugin({ command: 'ADD', containerId: 'tiny4', conf });
    expect(r.code).to.equal(1);
    const e = JSON.parse(r.stdout) as { code: number; msg: string; details: string };
    expect(e).to.include({ code: 120, details: 'ERR_IPAM_POOL_EXHAUSTED' });
    expect(e.msg).to.include('pool tiny (10.124.0.0/30, /30 blocks): no free block (all 1 blocks are claimed (1 by ipam-a, 0 by other nodes))');
    expect(e.msg).to.include('borrowing from other nodes\' blocks is disabled (ipam.strictAffinity is true)');

    const table = await ctl(['ipam', 'show']);
    expect(table).to.match(/tiny\s+10\.124\.0\.0\/30\s+\/30\s+EXHAUSTED/);
    expect(table).to.include('Pool tiny exhausted at');
    expect(table).to.include(e.msg);
    const json = JSON.parse(await ctl(['ipam', 'show', '-o', 'json'])) as IpamShowView;
    expect(json.pools.find((p) => p.name === 'tiny')?.lastError).to.deep.include({ code: 'ERR_IPAM_POOL_EXHAUSTED', message: e.msg });
    const yaml = await ctl(['ipam', 'show', '-o', 'yaml']);
    expect(yaml).to.include('code: ERR_IPAM_POOL_EXHAUSTED');
    expect(await ctl(['ipam', 'show', '-o', 'wide'])).to.include('tiny0/eth0');
  });
});
