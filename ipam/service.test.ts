/**
 * The IPAM service behind a real control socket, in-process (no root):
 * the plugin logic and tortiectl talk to it over HTTP on a unix socket.
 * Exhaustion, fixed addresses, check, GC, empty-block release and the
 * prefixes the node must advertise.
 */
import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlServer } from '../agent/control-server.js';
import { runCtl } from '../agent/ctl.js';
import { ControlClient } from '../agent/control-client.js';
import { silentLogger } from '../lib/log.js';
import { ipamRoutes } from './api.js';
import type { IpamCheckView, IpamGcResponse, IpamShowView } from './api-types.js';
import { openLocalDatastore } from './datastore/store-local.js';
import { socketClient } from './plugin/agent-client.js';
import { runPlugin } from './plugin/plugin.js';
import { IpamService, type IpamServiceConfig } from './service.js';

interface Rig {
  dir: string;
  socket: string;
  svc: IpamService;
  server: ControlServer;
  client: ControlClient;
  originated: { blocks: string[]; borrowed: string[] }[];
  clock: { now: number };
}

async function rig(config: Partial<IpamServiceConfig> = {}, node = 'node-a', dir?: string): Promise<Rig> {
  const d = dir ?? await mkdtemp(join(tmpdir(), 'tortie-ipam-svc-'));
  const socket = join(d, `${node}.sock`);
  const clock = { now: 1_700_000_000_000 };
  const originated: { blocks: string[]; borrowed: string[] }[] = [];
  const svc = new IpamService({
    node, labels: { 'kubernetes.io/hostname': node },
    config: {
      pools: [{ name: 'tiny', cidr: '10.99.0.0/29', blockSize: 30, nodeSelector: 'all()', disabled: false }],
      reservations: [], strictAffinity: true, releaseCooldownSec: 0, gcGraceSec: 0, ...config,
    },
    store: await openLocalDatastore(join(d, 'store')), log: silentLogger, now: () => clock.now,
    onOriginated: (o) => originated.push(o), upkeepMs: 3_600_000,
  });
  await svc.start();
  const server = new ControlServer(socket, ipamRoutes(() => svc), silentLogger);
  await server.start();
  return { dir: d, socket, svc, server, client: new ControlClient(socket), originated, clock };
}

async function stop(r: Rig, removeDir = true): Promise<void> {
  await r.server.stop();
  await r.svc.stop();
  if (removeDir) await rm(r.dir, { recursive: true, force: true });
}

function cni(r: Rig, command: string, containerId: string, extra: Record<string, string> = {}, conf: Record<string, unknown> = {}) {
  const env = { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: `/var/run/netns/${containerId}`, CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin', ...extra };
  const stdin = JSON.stringify({ cniVersion: '1.1.0', name: 'podnet', type: 'tortie', ipam: { type: 'tortie-ipam', socket: r.socket }, ...conf });
  return runPlugin(env, stdin, (c) => socketClient(c.socket, c.timeoutMs));
}

async function ctl(r: Rig, args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCtl([...args, '--socket', r.socket], { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { code, out, err };
}

describe('ipam: the service over its control socket', function () {
  this.timeout(20_000);

  it('assigns in order through the plugin, then exhausts with a CNI error naming the pool and why; tortiectl ipam show says so', async () => {
    const r = await rig();
    try {
      const got: string[] = [];
      for (let i = 0; i < 8; i++) {
        const out = await cni(r, 'ADD', `c${i}`);
        expect(out.exitCode, out.stdout).to.equal(0);
        got.push((JSON.parse(out.stdout) as { ips: { address: string }[] }).ips[0].address);
      }
      expect(new Set(got).size).to.equal(8);
      expect(got.every((a) => /^10\.99\.0\.[0-7]\/32$/.test(a))).to.equal(true);
      const full = await cni(r, 'ADD', 'c8');
      expect(full.exitCode).to.equal(1);
      const e = JSON.parse(full.stdout) as { code: number; msg: string; details: string };
      expect(e.code).to.equal(120);
      expect(e.details).to.equal('ERR_IPAM_POOL_EXHAUSTED');
      expect(e.msg).to.include('pool tiny (10.99.0.0/29, /30 blocks): no free block (all 2 blocks are claimed (2 by node-a, 0 by other nodes))');
      expect(e.msg).to.include('borrowing from other nodes\' blocks is disabled (ipam.strictAffinity is true)');

      const show = await ctl(r, ['ipam', 'show']);
      expect(show.code, show.err).to.equal(0);
      expect(show.out).to.match(/tiny\s+10\.99\.0\.0\/29\s+\/30\s+EXHAUSTED\s+2\/2\s+2\s+8\/8\s+100%/);
      expect(show.out).to.include('Pool tiny exhausted at');
      expect(show.out).to.include('borrowing from other nodes\' blocks is disabled');
      const json = JSON.parse((await ctl(r, ['ipam', 'show', '-o', 'json'])).out) as IpamShowView;
      expect(json.pools[0].lastError?.code).to.equal('ERR_IPAM_POOL_EXHAUSTED');
      expect(json.allocations).to.have.length(8);
      expect(json.originated).to.deep.equal(['10.99.0.0/30', '10.99.0.4/30']);

      // One DEL frees an address and the pool is usable again: the error clears.
      expect((await cni(r, 'DEL', 'c3')).exitCode).to.equal(0);
      expect((await cni(r, 'DEL', 'c3')).exitCode, 'DEL is idempotent').to.equal(0);
      expect((await cni(r, 'ADD', 'c8')).exitCode).to.equal(0);
      const after = JSON.parse((await ctl(r, ['ipam', 'show', '-o', 'json'])).out) as IpamShowView;
      expect(after.pools[0].lastError).to.equal(undefined);
    } finally {
      await stop(r);
    }
  });

  it('fixed addresses from CNI_ARGS IP= and runtimeConfig.ips; taken ones are refused clearly', async () => {
    const r = await rig({ pools: [{ name: 'p', cidr: '10.98.0.0/24', blockSize: 26, nodeSelector: 'all()', disabled: false }], reservations: ['10.98.0.200'] });
    try {
      const a = await cni(r, 'ADD', 'fixed1', { CNI_ARGS: 'IP=10.98.0.77' });
      expect(JSON.parse(a.stdout)).to.deep.include({ ips: [{ address: '10.98.0.77/32' }] });
      const b = await cni(r, 'ADD', 'fixed2', {}, { runtimeConfig: { ips: ['10.98.0.77/24'] } });
      expect(JSON.parse(b.stdout)).to.include({ code: 122 }).and.have.property('msg').that.includes('10.98.0.77 is already allocated to fixed1/eth0');
      const c = await cni(r, 'ADD', 'fixed3', { CNI_ARGS: 'IP=10.98.0.200' });
      expect(JSON.parse(c.stdout)).to.include({ code: 123, details: 'ERR_IPAM_ADDRESS_RESERVED' });
      const d = await cni(r, 'ADD', 'fixed4', { CNI_ARGS: 'IP=192.0.2.1' });
      expect(JSON.parse(d.stdout)).to.include({ code: 123, details: 'ERR_IPAM_ADDRESS_NOT_IN_POOL' });
      // CHECK agrees with the ADD result, and disagrees with another.
      const prev = { prevResult: JSON.parse(a.stdout) as unknown };
      expect((await cni(r, 'CHECK', 'fixed1', {}, prev)).exitCode).to.equal(0);
      const wrong = await cni(r, 'CHECK', 'fixed1', {}, { prevResult: { cniVersion: '1.1.0', ips: [{ address: '10.98.0.78/32' }] } });
      expect(JSON.parse(wrong.stdout)).to.include({ code: 124 });
    } finally {
      await stop(r);
    }
  });

  it('check finds allocations whose netns is gone and blocks whose node is gone; GC reclaims; empty blocks are released and withdrawn', async () => {
    const r = await rig({ pools: [{ name: 'p', cidr: '10.97.0.0/24', blockSize: 28, nodeSelector: 'all()', disabled: false }] });
    try {
      await writeFile(join(r.dir, 'alive-ns'), '');
      for (const id of ['alive', 'dead']) {
        const out = await cni(r, 'ADD', id, { CNI_NETNS: join(r.dir, `${id}-ns`) });
        expect(out.exitCode, out.stdout).to.equal(0);
      }
      // A block of a node that no longer exists, written by "another agent".
      const ghost = await rig({ pools: [{ name: 'p', cidr: '10.97.0.0/24', blockSize: 28, nodeSelector: 'all()', disabled: false }] }, 'ghost', r.dir);
      expect((await cni(ghost, 'ADD', 'g1')).exitCode).to.equal(0);
      await stop(ghost, false);
      await rm(join(r.dir, 'store', 'nodes', 'ghost'), { recursive: true, force: true });

      const check = await ctl(r, ['ipam', 'check']);
      expect(check.code, 'problems found: exit 1').to.equal(1);
      expect(check.out).to.include('PROBLEMS FOUND');
      const v = JSON.parse((await ctl(r, ['ipam', 'check', '-o', 'json'])).out) as IpamCheckView;
      const reasons = Object.fromEntries(v.leaks.map((l) => [l.handle, l.reason]));
      expect(reasons).to.deep.equal({
        'dead/eth0': `its network namespace ${join(r.dir, 'dead-ns')} is gone`,
        'g1/eth0': 'its node ghost is gone (no node record)',
      });
      expect(v.leaks.map((l) => l.handle).sort()).to.deep.equal(['dead/eth0', 'g1/eth0']);
      expect(v.orphanedBlocks).to.have.length(1);
      expect(v.orphanedBlocks[0]).to.deep.include({ node: 'ghost', reason: 'its node ghost is gone (no node record)' });

      // With the runtime's list of attachments: only "alive" is valid.
      const attachments = join(r.dir, 'att.json');
      await writeFile(attachments, JSON.stringify([{ containerId: 'alive', ifname: 'eth0' }]));
      const v2 = JSON.parse((await ctl(r, ['ipam', 'check', '--attachments', attachments, '-o', 'json'])).out) as IpamCheckView;
      expect(v2.basis).to.equal('attachments');
      expect(v2.leaks.filter((l) => l.node === 'node-a').map((l) => l.handle)).to.deep.equal(['dead/eth0']);

      // CNI GC reclaims it; the block of the node keeps "alive".
      const gc = await cni(r, 'GC', '', { CNI_CONTAINERID: '', CNI_NETNS: '', CNI_IFNAME: '' }, { 'cni.dev/valid-attachments': [{ containerID: 'alive', ifname: 'eth0' }] });
      expect(gc.exitCode, gc.stdout).to.equal(0);
      const after = JSON.parse((await ctl(r, ['ipam', 'show', '-o', 'json'])).out) as IpamShowView;
      expect(after.allocations?.filter((a) => a.node === 'node-a').map((a) => a.handle)).to.deep.equal(['alive/eth0']);

      // Releasing the last one empties the block: a GC releases it and the node stops advertising it.
      const blocksBefore = r.svc.originatedPrefixes().blocks;
      expect(blocksBefore).to.have.length(1);
      expect((await ctl(r, ['ipam', 'release', '--handle', 'alive/eth0'])).out).to.include('released 10.97.0.');
      const none = await ctl(r, ['ipam', 'release', '--handle', 'alive/eth0']);
      expect(none.code).to.equal(1);
      expect(none.err).to.include('holds no address');
      const res = await r.client.post<IpamGcResponse>('/v1/ipam/gc', { validAttachments: [] });
      expect(res.releasedBlocks).to.deep.equal(blocksBefore);
      expect(r.svc.originatedPrefixes().blocks).to.deep.equal([]);
      expect(r.originated.at(-1)).to.deep.equal({ blocks: [], borrowed: [] });
    } finally {
      await stop(r);
    }
  });

  it('a corrupt block does not stop the service: status says why, requests fail with the code, upkeep recovers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tortie-ipam-corrupt-'));
    const store = await openLocalDatastore(join(dir, 'store'));
    await store.create('blocks/10-99-0-0-30', { schema: 1, cidr: '10.99.0.0/30', pool: 'tiny', affinity: 'node-a', claimedAtMs: 0, allocations: [{ ordinal: 0, handle: '', assignedAtMs: 0, attrs: { node: 'node-a' } }], cooldown: [] });
    const r = await rig({}, 'node-a', dir);
    try {
      const st = await r.client.get<{ ready: boolean; message: string }>('/v1/ipam/status');
      expect(st.ready).to.equal(false);
      expect(st.message).to.include('has no handle');
      const add = await cni(r, 'ADD', 'c0');
      expect(JSON.parse(add.stdout)).to.include({ code: 139, details: 'ERR_IPAM_CORRUPT_BLOCK' });
      // Someone repairs the block; the next upkeep reads it and the service is ready again.
      const cur = (await store.get('blocks/10-99-0-0-30'))!;
      await store.update('blocks/10-99-0-0-30', { ...(cur.value as object), allocations: [] }, cur.revision);
      r.clock.now += 60_000;
      await r.svc.upkeep();
      expect((await r.client.get<{ ready: boolean }>('/v1/ipam/status')).ready).to.equal(true);
      expect((await cni(r, 'ADD', 'c0')).exitCode).to.equal(0);
    } finally {
      await stop(r);
    }
  });

  it('without strict affinity a node borrows from another node\'s block and advertises a host route', async () => {
    const pools = [{ name: 'tiny', cidr: '10.96.0.0/29', blockSize: 30, nodeSelector: 'all()', disabled: false }];
    const a = await rig({ pools, strictAffinity: false }, 'node-a');
    const b = await rig({ pools, strictAffinity: false }, 'node-b', a.dir.replace(/\/?$/, ''));
    try {
      // Both share one store directory ("store" under the same dir).
      for (let i = 0; i < 4; i++) expect((await cni(a, 'ADD', `a${i}`)).exitCode).to.equal(0);
      expect((await cni(b, 'ADD', 'b0')).exitCode).to.equal(0);
      // Pool is 2 blocks: one is a's, one b's. a's is full, so a borrows from b's.
      const out = await cni(a, 'ADD', 'a4');
      expect(out.exitCode, out.stdout).to.equal(0);
      const addr = (JSON.parse(out.stdout) as { ips: { address: string }[] }).ips[0].address;
      expect(a.svc.originatedPrefixes().borrowed).to.deep.equal([addr]);
      const show = JSON.parse((await ctl(a, ['ipam', 'show', '-o', 'json'])).out) as IpamShowView;
      expect(show.borrowed).to.deep.equal([{ address: addr.replace('/32', ''), block: show.blocks.find((x) => x.node === 'node-b')!.cidr, blockNode: 'node-b', node: 'node-a', handle: 'a4/eth0' }]);
      expect((await ctl(a, ['ipam', 'show'])).out).to.include('Borrowed addresses');
    } finally {
      await stop(b, false);
      await stop(a);
    }
  });
});
