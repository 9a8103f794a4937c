/**
 * The local datastore across processes: four processes append to one key
 * with compare-and-swap (no append lost, none doubled); a writer killed with
 * SIGKILL mid-stream leaves the key readable and only temporary files behind,
 * which sweep() removes.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openLocalDatastore } from './store-local.js';

const REPO = resolve(import.meta.dirname, '../..');
const LOADER = pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
const WORKER = join(import.meta.dirname, 'store-local-worker.ts');

function runWorker(dir: string, key: string, name: string, count: number): { done: Promise<{ code: number | null; out: string; err: string }>; kill: () => void } {
  const child = spawn(process.execPath, ['--import', LOADER, WORKER, dir, key, name, String(count)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  const done = new Promise<{ code: number | null; out: string; err: string }>((res) => child.on('exit', (code) => res({ code, out, err })));
  return { done, kill: () => child.kill('SIGKILL') };
}

describe('ipam/datastore/store-local: several processes', function () {
  this.timeout(120_000);
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tortie-local-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('4 processes x 100 compare-and-swap appends to one key: nothing lost, nothing doubled', async () => {
    const dir = join(root, 'ipam');
    const workers = ['w0', 'w1', 'w2', 'w3'].map((n) => runWorker(dir, 'blocks/shared', n, 100));
    const results = await Promise.all(workers.map((w) => w.done));
    for (const r of results) expect(r.code, r.err).to.equal(0);
    const conflicts = results.reduce((n, r) => n + (JSON.parse(r.out) as { conflicts: number }).conflicts, 0);
    const store = await openLocalDatastore(dir);
    const list = (await store.get('blocks/shared'))?.value as string[];
    expect(list).to.have.length(400);
    expect(new Set(list).size).to.equal(400);
    expect(conflicts, 'the processes really raced').to.be.greaterThan(0);
    // Old revisions were cleaned up; no temporary file is left.
    const files = await readdir(join(dir, 'blocks', 'shared'));
    expect(files.filter((f) => f.startsWith('.tmp-'))).to.deep.equal([]);
    expect(files.length).to.be.at.most(4);
  });

  it('a writer killed with SIGKILL leaves the key readable; sweep removes its temporary files', async () => {
    const dir = join(root, 'ipam');
    const w = runWorker(dir, 'blocks/k', 'victim', 100_000);
    const other = runWorker(dir, 'blocks/k', 'other', 200);
    await new Promise((r) => setTimeout(r, 1500));
    w.kill();
    const r = await other.done;
    expect(r.code, r.err).to.equal(0);
    await w.done;
    const store = await openLocalDatastore(dir);
    const list = (await store.get('blocks/k'))?.value as string[];
    expect(list.filter((t) => t.startsWith('other-'))).to.have.length(200);
    expect(new Set(list).size).to.equal(list.length);
    // A leftover temporary file (as a kill between write and link leaves) is swept once old.
    const tmp = join(dir, 'blocks', 'k', '.tmp-999999-dead-0');
    await writeFile(tmp, '{"deleted":false,"value":["half"]}');
    const old = new Date(Date.now() - 120_000);
    await utimes(tmp, old, old);
    const tmps = async () => (await readdir(join(dir, 'blocks', 'k'))).filter((f) => f.startsWith('.tmp-'));
    expect(await store.sweep(Date.now())).to.be.at.least(1);
    expect(await tmps()).to.not.include('.tmp-999999-dead-0');
    // What the victim may have left is young: kept by default (it could be a live writer's), removed with maxAgeMs 0.
    await store.sweep(Date.now(), 0);
    expect(await tmps()).to.deep.equal([]);
    expect((await store.get('blocks/k'))?.value).to.deep.equal(list);
  });
});
