import { expect } from 'chai';
import { CniError, parseCniEnv, parseNetConf } from './spec/index.js';
import type { ExecOptions, ExecResult, FileIdentity, Host } from './host.js';
import { execIpam, findPlugin, ipamSupports11 } from './ipam-exec.js';
import { decodeTortieConf } from './plugin-config.js';

/** A Host whose only executables are the scripted plugins. */
class FakeHost implements Host {
  readonly env = { PATH: '/usr/bin', CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/p', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };
  readonly calls: { file: string; input: string; command: string | undefined }[] = [];
  constructor(private readonly plugins: Record<string, (input: Record<string, unknown>, env: Readonly<Record<string, string>>) => ExecResult>) {}
  exec(file: string, _args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const input = opts.input ?? '';
    this.calls.push({ file, input, command: opts.env?.CNI_COMMAND });
    const fn = this.plugins[file];
    if (!fn) return Promise.resolve({ code: null, stdout: '', stderr: '', spawnError: 'ENOENT' });
    return Promise.resolve(fn(JSON.parse(input) as Record<string, unknown>, opts.env ?? {}));
  }
  readFile(): string | undefined {
    return undefined;
  }
  writeFile(): void {}
  listDir(): string[] | undefined {
    return undefined;
  }
  stat(): FileIdentity | undefined {
    return undefined;
  }
  isExecutable(path: string): boolean {
    return path in this.plugins;
  }
}

const ok = (stdout: string): ExecResult => ({ code: 0, stdout, stderr: '' });
const fail = (stdout: string, stderr = ''): ExecResult => ({ code: 1, stdout, stderr });

function setup(host: FakeHost, cniVersion = '1.1.0', type = 'fake'): Parameters<typeof execIpam>[0] {
  const env = parseCniEnv(host.env);
  const net = parseNetConf(JSON.stringify({ cniVersion, name: 'n', type: 'tortie', ipam: { type } }));
  return { host, env, conf: decodeTortieConf(net, env) };
}

async function codeOf(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CniError) return err.cniCode;
    throw err;
  }
  return undefined;
}

describe('cni: IPAM delegation (exec protocol)', () => {
  it('passes our config (ipam filled in) and CNI_COMMAND, and decodes the result', async () => {
    const host = new FakeHost({
      '/opt/cni/bin/fake': (input, env) => {
        expect(env.CNI_COMMAND).to.equal('ADD');
        expect(input.ipam).to.deep.equal({ type: 'fake' });
        return ok(JSON.stringify({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.5/24' }] }));
      },
    });
    const r = await execIpam(setup(host), 'ADD');
    expect(r?.ips).to.deep.equal([{ address: '10.0.0.5/24' }]);
  });

  it('retries a 1.1.0 ADD once as 1.0.0 when the plugin says "incompatible version" (host-local 1.1.1)', async () => {
    const host = new FakeHost({
      '/opt/cni/bin/fake': (input) =>
        input.cniVersion === '1.1.0'
          ? fail(JSON.stringify({ code: 1, msg: 'incompatible CNI versions' }))
          : ok(JSON.stringify({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.6/24' }] })),
    });
    const r = await execIpam(setup(host), 'ADD');
    expect(r?.cniVersion).to.equal('1.0.0');
    expect(host.calls.map((c) => (JSON.parse(c.input) as { cniVersion: string }).cniVersion)).to.deep.equal(['1.1.0', '1.0.0']);
  });

  it('does not retry other errors, and passes their code and details through', async () => {
    const host = new FakeHost({ '/opt/cni/bin/fake': () => fail(JSON.stringify({ code: 11, msg: 'busy', details: 'lock' })) });
    try {
      await execIpam(setup(host), 'ADD');
      expect.fail('should throw');
    } catch (err) {
      expect(err).to.be.instanceOf(CniError);
      expect((err as CniError).cniCode).to.equal(11);
      expect((err as CniError).message).to.equal('ipam fake ADD: busy');
      expect((err as CniError).details).to.equal('lock');
    }
    expect(host.calls).to.have.length(1);
  });

  const cases: [string, ExecResult, number][] = [
    ['a crash without output', { code: 2, stdout: '', stderr: 'panic' }, 100],
    ['garbage on stdout', ok('not json'), 100],
    ['an undecodable result', ok(JSON.stringify({ cniVersion: '1.1.0', ips: [{ address: 'x' }] })), 6],
    ['a timeout', { code: null, stdout: '', stderr: '', timedOut: true }, 100],
  ];
  for (const [name, result, code] of cases) {
    it(`maps ${name} to ${code}`, async () => {
      const host = new FakeHost({ '/opt/cni/bin/fake': () => result });
      expect(await codeOf(execIpam(setup(host), 'ADD'))).to.equal(code);
    });
  }

  it('says 101 when the plugin is not in CNI_PATH', async () => {
    const host = new FakeHost({});
    expect(findPlugin(host, ['/opt/cni/bin'], 'fake')).to.equal(undefined);
    expect(await codeOf(execIpam(setup(host), 'ADD'))).to.equal(101);
  });

  it('asks VERSION whether the plugin speaks 1.1.0', async () => {
    const speaks = new FakeHost({ '/opt/cni/bin/fake': () => ok('{"cniVersion":"1.1.0","supportedVersions":["1.0.0","1.1.0"]}') });
    const old = new FakeHost({ '/opt/cni/bin/fake': () => ok('{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}') });
    expect(await ipamSupports11(setup(speaks), '/opt/cni/bin/fake')).to.be.true;
    expect(await ipamSupports11(setup(old), '/opt/cni/bin/fake')).to.be.false;
  });
});
