/**
 * deploy/install-cni.sh (the DaemonSet's init container), run against temp
 * directories standing in for the host's /opt/cni/bin, /etc/cni/net.d and
 * /opt/tortie: installs a runtime directory per version and launchers that
 * work, upgrades by rename, is idempotent, and keeps one older version.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'chai';

const SCRIPT = resolve(import.meta.dirname, '../../deploy/install-cni.sh');

describe('k8s deploy/install-cni.sh', function () {
  this.timeout(30_000);
  let dir: string;
  let env: NodeJS.ProcessEnv;

  /** An "image" with VERSION and two plugin bundles that print their name and arguments. */
  function image(version: string): string {
    const img = join(dir, `image-${version}`);
    mkdirSync(join(img, 'cni'), { recursive: true });
    writeFileSync(join(img, 'VERSION'), `${version}\n`);
    for (const p of ['tortie', 'tortie-ipam']) {
      writeFileSync(join(img, 'cni', p), `process.stdout.write(JSON.stringify({ plugin: ${JSON.stringify(`${p}@${version}`)}, args: process.argv.slice(2) }));\n`);
    }
    return img;
  }

  function install(version: string): string {
    return execFileSync('sh', [SCRIPT], { env: { ...env, TORTIE_IMAGE_DIR: image(version) }, encoding: 'utf8' });
  }

  function runPlugin(name: string): { plugin: string; args: string[] } {
    return JSON.parse(execFileSync(join(dir, 'host/opt/cni/bin', name), ['a', 'b c'], { encoding: 'utf8' })) as { plugin: string; args: string[] };
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tt-install-cni-'));
    const conflist = join(dir, 'conflist');
    writeFileSync(conflist, '{"cniVersion":"1.0.0","name":"k8s-pod-network","plugins":[{"type":"tortie"}]}\n');
    // The "host" sees /opt/tortie at dir/host/opt/tortie too, so launchers resolve here.
    env = {
      PATH: process.env.PATH,
      TORTIE_HOST_CNI_BIN: join(dir, 'host/opt/cni/bin'),
      TORTIE_HOST_CNI_NET: join(dir, 'host/etc/cni/net.d'),
      TORTIE_HOST_RUNTIME: join(dir, 'host/opt/tortie'),
      TORTIE_HOST_RUNTIME_PATH: join(dir, 'host/opt/tortie'),
      TORTIE_CONFLIST: conflist,
      TORTIE_NODE_BIN: process.execPath,
    };
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('installs the runtime, working launchers and the conflist', () => {
    install('1.0.0-aaa');
    expect(runPlugin('tortie')).to.deep.equal({ plugin: 'tortie@1.0.0-aaa', args: ['a', 'b c'] });
    expect(runPlugin('tortie-ipam').plugin).to.equal('tortie-ipam@1.0.0-aaa');
    expect(statSync(join(dir, 'host/opt/cni/bin/tortie')).mode & 0o777).to.equal(0o755);
    expect(readFileSync(join(dir, 'host/etc/cni/net.d/10-tortie.conflist'), 'utf8')).to.include('k8s-pod-network');
    expect(existsSync(join(dir, 'host/opt/tortie/1.0.0-aaa/.complete'))).to.equal(true);
  });

  it('is idempotent: a second run changes nothing and says nothing', () => {
    install('1.0.0-aaa');
    const launcher = join(dir, 'host/opt/cni/bin/tortie');
    const before = statSync(launcher).ino;
    expect(install('1.0.0-aaa').trim()).to.equal('');
    expect(statSync(launcher).ino).to.equal(before);
  });

  it('upgrades by replacing the launchers, keeping the previous version for plugins still running', () => {
    install('1.0.0-aaa');
    install('1.0.1-bbb');
    expect(runPlugin('tortie').plugin).to.equal('tortie@1.0.1-bbb');
    expect(readdirSync(join(dir, 'host/opt/tortie')).sort()).to.deep.equal(['1.0.0-aaa', '1.0.1-bbb']);
    install('1.0.2-ccc');
    expect(readdirSync(join(dir, 'host/opt/tortie')).sort()).to.deep.equal(['1.0.1-bbb', '1.0.2-ccc']);
    // No temporary files are left beside the targets.
    expect(readdirSync(join(dir, 'host/opt/cni/bin')).sort()).to.deep.equal(['tortie', 'tortie-ipam']);
    expect(readdirSync(join(dir, 'host/etc/cni/net.d'))).to.deep.equal(['10-tortie.conflist']);
  });

  it('redoes a version directory that an interrupted run left incomplete', () => {
    const half = join(dir, 'host/opt/tortie/1.0.0-aaa');
    mkdirSync(half, { recursive: true });
    writeFileSync(join(half, 'tortie'), 'garbage');
    chmodSync(join(half, 'tortie'), 0o755);
    install('1.0.0-aaa');
    expect(runPlugin('tortie').plugin).to.equal('tortie@1.0.0-aaa');
  });

  it('refuses a VERSION that is not a plain name', () => {
    const img = image('x');
    writeFileSync(join(img, 'VERSION'), '../evil\n');
    expect(() => execFileSync('sh', [SCRIPT], { env: { ...env, TORTIE_IMAGE_DIR: img }, stdio: 'pipe' })).to.throw(/bad VERSION/);
  });
});
