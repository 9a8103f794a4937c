/**
 * The manifest directory source on a real temporary directory: the first
 * snapshot, a change seen within a second, a syntax error keeping the
 * last good file, duplicates, and removal.
 */
import { expect } from 'chai';
import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManifestDirectorySource, type ManifestSnapshot } from './manifest-source.js';

const NS = (name: string, team: string): string => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${name}, labels: {team: ${team}}}\n`;
const POLICY = (name: string): string => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ${name}, namespace: x}\nspec:\n  podSelector: {}\n`;

describe('manifest directory source', () => {
  let dir: string;
  let src: ManifestDirectorySource | undefined;
  const snaps: ManifestSnapshot[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tortie-manifests-'));
    snaps.length = 0;
  });
  afterEach(() => {
    src?.stop();
    src = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function until(pred: (s: ManifestSnapshot) => boolean, ms: number): Promise<number> {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      const s = snaps.at(-1);
      if (s && pred(s)) return Date.now() - t0;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no matching snapshot within ${ms} ms; last: ${JSON.stringify(snaps.at(-1))}`);
  }

  it('emits the initial state, then each change within a second', async () => {
    writeFileSync(join(dir, '10-ns.yaml'), NS('x', 'red'));
    writeFileSync(join(dir, 'notes.txt'), 'not a manifest');
    writeFileSync(join(dir, '.swap.yaml'), POLICY('hidden'));
    src = new ManifestDirectorySource({ dir, onChange: (s) => snaps.push(s) });
    const first = await src.start();
    expect(first.files).to.deep.equal(['10-ns.yaml']);
    expect(first.namespaces).to.deep.equal([{ name: 'x', labels: { team: 'red' } }]);
    expect(snaps).to.have.length(1);

    const t0 = Date.now();
    writeFileSync(join(dir, '20-policy.yaml'), POLICY('deny'));
    await until((s) => s.policies.length === 1, 1000);
    expect(Date.now() - t0).to.be.lessThan(1000);

    // Atomic replace (as editors and ConfigMap volumes do).
    writeFileSync(join(dir, '.tmp'), NS('x', 'blue'));
    renameSync(join(dir, '.tmp'), join(dir, '10-ns.yaml'));
    await until((s) => s.namespaces[0]?.labels?.team === 'blue', 1000);

    unlinkSync(join(dir, '20-policy.yaml'));
    await until((s) => s.policies.length === 0, 1000);
  });

  it('keeps the last good version of a file that stops parsing, and reports it', async () => {
    writeFileSync(join(dir, 'p.yaml'), POLICY('deny'));
    src = new ManifestDirectorySource({ dir, onChange: (s) => snaps.push(s) });
    await src.start();
    writeFileSync(join(dir, 'p.yaml'), 'kind: NetworkPolicy\nmetadata: {name: [\n');
    const s = snaps.at(-1);
    await until((x) => x !== s && x.issues.length > 0, 1000);
    const last = snaps.at(-1);
    expect(last?.policies.map((p) => p.name)).to.deep.equal(['deny']);
    expect(last?.issues.map((i) => i.message).join('\n')).to.match(/YAML[\s\S]*keeping the last version/);
  });

  it('unchanged files keep their objects (identity), duplicates are reported', async () => {
    writeFileSync(join(dir, 'a.yaml'), NS('x', 'red'));
    writeFileSync(join(dir, 'b.yaml'), NS('x', 'blue'));
    src = new ManifestDirectorySource({ dir, onChange: (s) => snaps.push(s) });
    const first = await src.start();
    expect(first.namespaces).to.have.length(1);
    expect(first.namespaces[0].labels).to.deep.equal({ team: 'red' });
    expect(first.issues[0].message).to.match(/defined again/);
    writeFileSync(join(dir, 'c.yaml'), POLICY('p'));
    await until((s) => s.policies.length === 1, 1000);
    expect(snaps.at(-1)?.namespaces[0]).to.equal(first.namespaces[0]);
  });

  it('a missing directory is empty until it appears', async () => {
    const missing = join(dir, 'later');
    src = new ManifestDirectorySource({ dir: missing, onChange: (s) => snaps.push(s), pollMs: 100 });
    const first = await src.start();
    expect(first.files).to.deep.equal([]);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(missing);
    writeFileSync(join(missing, 'p.yaml'), POLICY('late'));
    await until((s) => s.policies.length === 1, 1500);
  });
});
