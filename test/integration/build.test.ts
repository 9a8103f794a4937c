// The build pipeline: `scripts/build.mjs` must produce four single-file,
// executable bundles that run with nothing but a Node runtime on PATH, from
// anywhere they are copied to.

import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { execFile, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { access, constants, copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const binDir = join(root, 'dist', 'bin');
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };

const BUNDLES = ['tortie-agent', 'tortiectl', 'tortie', 'tortie-ipam'] as const;

/** The environment a container runtime would give a plugin: PATH with our Node, nothing else. */
function bareEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, ...extra };
}

function run(file: string, args: string[], cwd: string, extra: Record<string, string> = {}): SpawnSyncReturns<string> {
  const r = spawnSync(file, args, { cwd, env: bareEnv(extra), encoding: 'utf8', timeout: 10_000 });
  if (r.error) throw r.error;
  return r;
}

describe('build: dist/bin bundles', function () {
  this.timeout(60_000);
  let cwd: string;
  let copies: string;

  before(async function () {
    await execFileP(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root });
    cwd = await mkdtemp(join(tmpdir(), 'tortie-build-cwd-'));
    // A second copy outside the repository: no package.json and no
    // node_modules anywhere above it, as in /opt/cni/bin on a host.
    copies = await mkdtemp(join(tmpdir(), 'tortie-build-copy-'));
    for (const name of BUNDLES) await copyFile(join(binDir, name), join(copies, name));
  });

  after(async function () {
    await rm(cwd, { recursive: true, force: true });
    await rm(copies, { recursive: true, force: true });
  });

  for (const name of BUNDLES) {
    it(`${name}: exists, is a regular executable file with a node shebang`, async function () {
      const file = join(binDir, name);
      const st = await stat(file);
      expect(st.isFile(), 'regular file').to.equal(true);
      expect(st.mode & 0o777).to.equal(0o755);
      await access(file, constants.X_OK);
      const text = await readFile(file, 'utf8');
      // Plain node, or node with V8 flags through `env -S` (the agent caps its young generation).
      const first = text.split('\n', 1)[0];
      if (name === 'tortie-agent') expect(first).to.equal('#!/usr/bin/env -S node --max-semi-space-size=8');
      else expect(first).to.equal('#!/usr/bin/env node');
    });

    it(`${name}: is self-contained (requires nothing but Node built-ins)`, async function () {
      const text = await readFile(join(binDir, name), 'utf8');
      const required = [...text.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1] ?? '');
      const foreign = required.filter((spec) => !isBuiltin(spec));
      expect(foreign, 'modules the bundle would load from disk').to.deep.equal([]);
    });

    for (const where of ['in place', 'copied out of the repository'] as const) {
      it(`${name} --version (${where}, bare environment, foreign cwd) prints the version`, function () {
        const file = where === 'in place' ? join(binDir, name) : join(copies, name);
        const r = run(file, ['--version'], cwd);
        expect(r.stderr).to.equal('');
        expect(r.status).to.equal(0);
        // Real programs print "NAME VERSION"; placeholders add "(placeholder: see issue N)".
        expect(r.stdout).to.match(new RegExp(`^${name} ${escapeRe(pkg.version)}( \\(placeholder: see issue \\d+\\))?\\n$`));
      });
    }
  }

  describe('tortie-ipam (CNI IPAM plugin), copied out, bare environment', function () {
    const ipam = (env: Record<string, string>): SpawnSyncReturns<string> => run(join(copies, 'tortie-ipam'), [], cwd, env);

    it('answers VERSION with a CNI version result', function () {
      const r = ipam({ CNI_COMMAND: 'VERSION' });
      expect(r.status).to.equal(0);
      expect(JSON.parse(r.stdout)).to.deep.include({ supportedVersions: ['0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
    });

    const errorCases: { env: Record<string, string>; names: string }[] = [
      { env: {}, names: 'CNI_COMMAND' },
      { env: { CNI_COMMAND: 'BOGUS' }, names: 'CNI_COMMAND' },
      { env: { CNI_COMMAND: 'ADD' }, names: 'CNI_CONTAINERID' },
      { env: { CNI_COMMAND: 'DEL' }, names: 'CNI_CONTAINERID' },
    ];
    for (const { env, names } of errorCases) {
      it(`answers ${env.CNI_COMMAND ?? 'a missing CNI_COMMAND'} without its variables with CNI error 4 naming ${names}, exit 1`, function () {
        const r = ipam(env);
        expect(r.status).to.equal(1);
        const result = JSON.parse(r.stdout) as Record<string, unknown>;
        expect(result).to.include({ code: 4 });
        expect(result['msg']).to.be.a('string').and.include(names);
      });
    }
  });

  it('tortie-agent refuses to run without a configuration, with usage on stderr (exit 2)', function () {
    const r = run(join(binDir, 'tortie-agent'), [], cwd);
    expect(r.status).to.equal(2);
    expect(r.stderr).to.include('usage: tortie-agent --config FILE');
  });

  it('tortie-agent --check-config reports a broken file with its line (exit 1)', function () {
    const bad = join(copies, 'bad.yaml');
    writeFileSync(bad, 'node:\n  asn: 70000000000\n');
    const r = run(join(binDir, 'tortie-agent'), ['--check-config', bad], cwd);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.match(/bad\.yaml:2:8: node\.asn: /);
  });

  it('tortiectl says the agent is not running (exit 3)', function () {
    const r = run(join(binDir, 'tortiectl'), ['bgp', 'sessions', '--socket', join(copies, 'none.sock')], cwd);
    expect(r.status).to.equal(3);
    expect(r.stderr).to.include('tortie-agent is not running');
  });

  describe('tortie (CNI plugin)', function () {
    const cni = (command: string | undefined): SpawnSyncReturns<string> =>
      run(join(copies, 'tortie'), [], cwd, command === undefined ? {} : { CNI_COMMAND: command });

    it('answers VERSION with a CNI version result', function () {
      const r = cni('VERSION');
      expect(r.status).to.equal(0);
      expect(JSON.parse(r.stdout)).to.deep.equal({
        cniVersion: '1.1.0',
        supportedVersions: ['0.3.1', '0.4.0', '1.0.0', '1.1.0'],
      });
    });

    // Each command without its variables: error 4 (invalid environment) naming the first missing one.
    const errorCases: { command: string | undefined; names: string }[] = [
      { command: 'ADD', names: 'CNI_CONTAINERID' },
      { command: 'DEL', names: 'CNI_CONTAINERID' },
      { command: 'CHECK', names: 'CNI_NETNS' },
      { command: 'GC', names: 'CNI_PATH' },
      { command: 'STATUS', names: 'CNI_PATH' },
      { command: 'BOGUS', names: 'CNI_COMMAND' },
      { command: undefined, names: 'CNI_COMMAND' },
    ];
    for (const { command, names } of errorCases) {
      it(`answers ${command ?? 'a missing CNI_COMMAND'} without its variables with CNI error 4 naming ${names}, exit 1`, function () {
        const r = cni(command);
        expect(r.status).to.equal(1);
        const result = JSON.parse(r.stdout) as Record<string, unknown>;
        expect(result).to.include({ cniVersion: '1.1.0', code: 4 });
        expect(result['msg']).to.be.a('string').and.include(names);
      });
    }
  });
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
