/**
 * The netns runner (lab/) on real namespaces: topology (4), two nodes and a
 * BIRD route reflector (test/topologies/rr.clab.yml), brought up under a
 * name unique to this process, with a pod per node through the CNI plugin;
 * its CLI; teardown after a crash; and an `up` that fails half-way. Needs
 * root and the dist/bin bundles (npm run build).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allEstablished, bgpRoutesOf, ownBlocks, sessionsOf } from '../../lab/bgp-views.js';
import { addPod } from '../../lab/pods.js';
import { pingOnce } from '../../lab/probes.js';
import { waitFor } from '../../lab/command.js';
import { NODE24, REPO_ROOT } from '../../lab/daemons.js';
import { Lab, listLabNamespaces } from '../../lab/lab.js';
import { isAlive } from '../../lab/procs.js';
import { kernelRoutes } from '../../lab/tools.js';
import { hasCode } from '../../lib/errors.js';

const RR = join(REPO_ROOT, 'test/topologies/rr.clab.yml');
const NAME = `rr-i${process.pid.toString(36)}`;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(NODE24, ['--import', 'tsx', join(REPO_ROOT, 'lab/cli.ts'), ...args], { cwd: REPO_ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('lab runner (netns)', function () {
  this.timeout(120_000);
  let lab: Lab;

  before(function () {
    if (process.getuid?.() !== 0) throw new Error('the lab runner tests need root (network namespaces)');
    lab = Lab.load(RR, { name: NAME });
  });

  after(async () => {
    await lab?.down();
  });

  it('builds topology (4): both nodes peer with the route reflector, which reflects each block with its next hop unchanged', async () => {
    await lab.up();
    await waitFor('sessions', async () => ((await allEstablished(lab)) ? true : undefined), 30_000, 200);
    expect((await sessionsOf(lab, 'rr')).map((s) => `${s.peer}/${s.peerAsn}/${s.state}`).sort())
      .to.deep.equal(['192.0.2.11/65001/Established', '192.0.2.12/65001/Established']);
    // Blocks come from IPAM: node-a claims one when its first pod arrives (through the CNI plugin).
    const podA = await addPod(lab, 'node-a', 'p1');
    const podB = await addPod(lab, 'node-b', 'p1');
    const [blockA] = await ownBlocks(lab, 'node-a');
    expect(blockA, 'node-a\'s block').to.be.a('string');
    await waitFor('node-b to learn node-a\'s block', async () => {
      const r = (await kernelRoutes(lab, 'node-b')).find((x) => x.dst === blockA);
      return r?.gateway === '192.0.2.11' ? true : undefined;
    }, 20_000, 200);
    const rib = await bgpRoutesOf(lab, 'node-b');
    expect(rib.find((r) => r.prefix === blockA)?.paths.find((p) => p.best)).to.deep.include({ asPath: [], nextHops: ['192.0.2.11'] });
    expect((await pingOnce(podB, podA)).ok, 'node-b\'s pod reaches node-a\'s').to.equal(true);
    // The namespaces and the state directory are where docs/lab.md says.
    expect(await listLabNamespaces(NAME)).to.deep.equal([`tl.${NAME}.node-a`, `tl.${NAME}.node-a.p1`, `tl.${NAME}.node-b`, `tl.${NAME}.node-b.p1`, `tl.${NAME}.rr`]);
    expect(existsSync(`/run/tortie-lab/${NAME}/state.json`)).to.equal(true);
  });

  it('refuses a second up of the same lab', async () => {
    try {
      await lab.up();
      expect.fail('up succeeded twice');
    } catch (err) {
      expect(hasCode(err, 'ERR_LAB_ALREADY_UP')).to.equal(true);
    }
  });

  it('the CLI: status -o json, exec with the node\'s own tools, down', async () => {
    const st = await cli(['status', RR, '--name', NAME, '-o', 'json']);
    expect(st.code, st.stderr).to.equal(0);
    const status = JSON.parse(st.stdout) as { up: boolean; nodes: { name: string; processes: { alive: boolean }[]; sessions?: { state: string }[] }[] };
    expect(status.up).to.equal(true);
    for (const n of status.nodes) {
      expect(n.processes.every((p) => p.alive), n.name).to.equal(true);
      expect(n.sessions?.every((s) => s.state === 'Established'), n.name).to.equal(true);
    }
    const bird = await cli(['exec', RR, 'rr', '--name', NAME, '--', 'birdc', 'show', 'protocols']);
    expect(bird.stdout).to.match(/node_a\s+BGP.*Established/);
    const ctl = await cli(['exec', RR, 'node-a', '--name', NAME, '--', 'tortiectl', 'bgp', 'sessions', '-o', 'json']);
    expect((JSON.parse(ctl.stdout) as { peer: string }[]).map((s) => s.peer)).to.deep.equal(['192.0.2.1']);
    const ip = await cli(['exec', RR, 'node-b', '--name', NAME, '--', 'ip', '-br', 'addr', 'show', 'dev', 'eth1']);
    expect(ip.stdout).to.contain('192.0.2.12/24');
    const down = await cli(['down', RR, '--name', NAME]);
    expect(down.code, down.stderr).to.equal(0);
    expect(await listLabNamespaces(NAME)).to.deep.equal([]);
    expect(existsSync(`/run/tortie-lab/${NAME}`)).to.equal(false);
    // Idempotent.
    expect((await cli(['down', RR, '--name', NAME])).stdout).to.contain('0 processes stopped, 0 namespaces deleted');
  });

  it('down after a crash that lost state.json still removes every namespace and process of the lab', async () => {
    await lab.up();
    const procs = lab.state()!.processes;
    expect(procs.length).to.equal(3);
    unlinkSync(`/run/tortie-lab/${NAME}/state.json`);
    const r = await lab.down();
    expect(r.namespaces.sort()).to.deep.equal([`tl.${NAME}.node-a`, `tl.${NAME}.node-b`, `tl.${NAME}.rr`]);
    for (const p of procs) expect(isAlive(p), `${p.name} ${p.pid}`).to.equal(false);
    expect(await listLabNamespaces(NAME)).to.deep.equal([]);
    expect(existsSync(`/run/tortie-lab/${NAME}`)).to.equal(false);
  });

  it('an up that fails half-way (a router with a broken config) leaves nothing behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tortie-lab-bad-'));
    try {
      cpSync(join(REPO_ROOT, 'test/topologies/rr'), join(dir, 'rr'), { recursive: true });
      writeFileSync(join(dir, 'rr/rr/bird.conf'), `${readFileSync(join(dir, 'rr/rr/bird.conf'), 'utf8')}\nthis is not bird syntax;\n`);
      writeFileSync(join(dir, 'rr.clab.yml'), readFileSync(RR, 'utf8'));
      const bad = Lab.load(join(dir, 'rr.clab.yml'), { name: `${NAME}b` });
      try {
        await bad.up();
        expect.fail('up succeeded');
      } catch (err) {
        expect(hasCode(err, 'ERR_LAB_DAEMON_START'), String(err)).to.equal(true);
        expect((err as Error).message).to.contain('bird.log');
      }
      expect(await listLabNamespaces(`${NAME}b`)).to.deep.equal([]);
      expect(existsSync(`/run/tortie-lab/${NAME}b`)).to.equal(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
