import { createHash } from 'node:crypto';
import { expect } from 'chai';
import {
  CniError,
  CniErrorCode,
  asCniError,
  canonicalCidr,
  canonicalIp,
  compareVersions,
  convertResult,
  decodeResult,
  encodeResult,
  interfaceNameProblem,
  isCniErrorResult,
  parseAttachmentAlias,
  attachmentAlias,
  parseCniArgs,
  parseCniEnv,
  parseConfList,
  parseNetConf,
  pluginConfig,
  podMac,
  prefixContains,
  parseCidr,
  parseIp,
  requireVersion,
  sha1Hex,
  tortieCodeFor,
  versionResult,
  vethKey,
  vethName,
  vethPrefixProblem,
  type CniCommand,
  type EnvMap,
} from './index.js';

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof CniError) return err.cniCode;
    throw err;
  }
  return undefined;
}

const baseEnv: EnvMap = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'abc123',
  CNI_NETNS: '/var/run/netns/x',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
};

describe('cni/spec: errors', () => {
  it('names codes stably and renders the wire form', () => {
    expect(tortieCodeFor(7)).to.equal('ERR_CNI_INVALID_NETWORK_CONFIG');
    expect(tortieCodeFor(4)).to.equal('ERR_CNI_INVALID_ENVIRONMENT_VARIABLES');
    expect(tortieCodeFor(123)).to.equal('ERR_CNI_CODE_123');
    const e = new CniError(CniErrorCode.TryAgainLater, 'busy', 'lock held');
    expect(e.code).to.equal('ERR_CNI_TRY_AGAIN_LATER');
    expect(e.toResult('1.0.0')).to.deep.equal({ cniVersion: '1.0.0', code: 11, msg: 'busy', details: 'lock held' });
    expect(new CniError(3, 'gone').toResult('0.4.0')).to.deep.equal({ cniVersion: '0.4.0', code: 3, msg: 'gone' });
    expect(asCniError(new Error('x')).cniCode).to.equal(999);
    expect(isCniErrorResult({ code: 7, msg: 'x' })).to.be.true;
    expect(isCniErrorResult({ code: '7', msg: 'x' })).to.be.false;
    expect(CniError.fromResult({ cniVersion: '1.0.0', code: 11, msg: 'm', details: 'd' }, 'ipam: ').message).to.equal('ipam: m');
  });
});

describe('cni/spec: versions', () => {
  const cases: { v: unknown; command?: CniCommand; code?: number }[] = [
    { v: '1.1.0' },
    { v: '1.0.0' },
    { v: '0.4.0' },
    { v: '0.3.1' },
    { v: undefined, code: 7 },
    { v: 11, code: 7 },
    { v: '0.2.0', code: 1 },
    { v: '2.0.0', code: 1 },
    { v: '1.1', code: 1 },
    { v: '0.3.1', command: 'CHECK', code: 1 },
    { v: '0.4.0', command: 'CHECK' },
    { v: '1.0.0', command: 'GC', code: 1 },
    { v: '1.0.0', command: 'STATUS', code: 1 },
    { v: '1.1.0', command: 'GC' },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.v)} ${c.command ?? ''} → ${c.code ?? 'ok'}`, () => {
      expect(codeOf(() => requireVersion(c.v, c.command))).to.equal(c.code);
    });
  }
  it('compares numerically and answers VERSION', () => {
    expect(compareVersions('0.10.0', '0.4.0')).to.be.greaterThan(0);
    expect(compareVersions('1.0.0', '1.0.0')).to.equal(0);
    expect(versionResult('0.4.0').cniVersion).to.equal('0.4.0');
    expect(versionResult('9.9.9').cniVersion).to.equal('1.1.0');
    expect(versionResult().supportedVersions).to.deep.equal(['0.3.1', '0.4.0', '1.0.0', '1.1.0']);
  });
});

describe('cni/spec: environment', () => {
  const cases: { name: string; env: EnvMap; code?: number; detail?: RegExp }[] = [
    { name: 'valid ADD', env: baseEnv },
    { name: 'no command', env: { ...baseEnv, CNI_COMMAND: undefined }, code: 4, detail: /CNI_COMMAND/ },
    { name: 'unknown command', env: { ...baseEnv, CNI_COMMAND: 'add' }, code: 4, detail: /CNI_COMMAND/ },
    { name: 'ADD without container id', env: { ...baseEnv, CNI_CONTAINERID: '' }, code: 4, detail: /CNI_CONTAINERID/ },
    { name: 'bad container id', env: { ...baseEnv, CNI_CONTAINERID: '-abc' }, code: 4, detail: /CNI_CONTAINERID/ },
    { name: 'container id with slash', env: { ...baseEnv, CNI_CONTAINERID: 'a/b' }, code: 4 },
    { name: 'ADD without netns', env: { ...baseEnv, CNI_NETNS: undefined }, code: 4, detail: /CNI_NETNS/ },
    { name: 'relative netns', env: { ...baseEnv, CNI_NETNS: 'netns/x' }, code: 4, detail: /CNI_NETNS/ },
    { name: 'ADD without ifname', env: { ...baseEnv, CNI_IFNAME: undefined }, code: 4, detail: /CNI_IFNAME/ },
    { name: 'ifname too long', env: { ...baseEnv, CNI_IFNAME: 'abcdefghijklmnop' }, code: 4 },
    { name: 'ifname with colon', env: { ...baseEnv, CNI_IFNAME: 'eth0:1' }, code: 4 },
    { name: 'ifname ..', env: { ...baseEnv, CNI_IFNAME: '..' }, code: 4 },
    { name: 'no path', env: { ...baseEnv, CNI_PATH: undefined }, code: 4, detail: /CNI_PATH/ },
    { name: 'path of colons', env: { ...baseEnv, CNI_PATH: ':::' }, code: 4, detail: /CNI_PATH/ },
    { name: 'bad CNI_ARGS', env: { ...baseEnv, CNI_ARGS: 'A=1;B' }, code: 4, detail: /CNI_ARGS/ },
    { name: 'DEL without netns', env: { ...baseEnv, CNI_COMMAND: 'DEL', CNI_NETNS: '' } },
    { name: 'DEL without container id', env: { ...baseEnv, CNI_COMMAND: 'DEL', CNI_CONTAINERID: undefined }, code: 4 },
    { name: 'VERSION alone', env: { CNI_COMMAND: 'VERSION' } },
    { name: 'GC needs only a path', env: { CNI_COMMAND: 'GC', CNI_PATH: '/x' } },
    { name: 'STATUS without a path', env: { CNI_COMMAND: 'STATUS' }, code: 4 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      try {
        parseCniEnv(c.env);
        expect(c.code, 'expected an error').to.equal(undefined);
      } catch (err) {
        if (!(err instanceof CniError)) throw err;
        expect(err.cniCode).to.equal(c.code);
        if (c.detail) expect(err.details).to.match(c.detail);
      }
    });
  }
  it('parses CNI_ARGS and the Kubernetes identity', () => {
    const env = parseCniEnv({
      ...baseEnv,
      CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc123;K8S_POD_UID=u-1',
    });
    expect(env.k8s).to.deep.equal({ namespace: 'ns1', podName: 'web-0', infraContainerId: 'abc123', podUid: 'u-1' });
    expect(env.path).to.deep.equal(['/opt/cni/bin', '/usr/lib/cni']);
    expect(parseCniArgs('A=b=c;;D=')).to.deep.equal({ A: 'b=c', D: '' });
    expect(interfaceNameProblem('eth0')).to.equal(undefined);
    expect(interfaceNameProblem('a b')).to.be.a('string');
  });
});

describe('cni/spec: network config', () => {
  const ok = { cniVersion: '1.0.0', name: 'net1', type: 'tortie', ipam: { type: 'host-local' } };
  const cases: { name: string; text: string; code?: number; opts?: Parameters<typeof parseNetConf>[1] }[] = [
    { name: 'valid', text: JSON.stringify(ok) },
    { name: 'empty', text: '  ', code: 6 },
    { name: 'not JSON', text: '{"cniVersion":', code: 6 },
    { name: 'array', text: '[]', code: 6 },
    { name: 'no version', text: JSON.stringify({ ...ok, cniVersion: undefined }), code: 7 },
    { name: 'unknown version', text: JSON.stringify({ ...ok, cniVersion: '3.0.0' }), code: 1 },
    { name: 'no name', text: JSON.stringify({ ...ok, name: undefined }), code: 7 },
    { name: 'bad name', text: JSON.stringify({ ...ok, name: 'a b' }), code: 7 },
    { name: 'no type', text: JSON.stringify({ ...ok, type: '' }), code: 7 },
    { name: 'type with a path', text: JSON.stringify({ ...ok, type: '../x' }), code: 7 },
    { name: 'ipam not an object', text: JSON.stringify({ ...ok, ipam: 'host-local' }), code: 7 },
    { name: 'ipam without type', text: JSON.stringify({ ...ok, ipam: {} }), code: 7 },
    { name: 'required ipam missing', text: JSON.stringify({ ...ok, ipam: undefined }), code: 7, opts: { requireIpam: true } },
    { name: 'bad capabilities', text: JSON.stringify({ ...ok, capabilities: { mac: 'yes' } }), code: 7 },
    { name: 'bad dns', text: JSON.stringify({ ...ok, dns: { nameservers: 'x' } }), code: 7 },
    { name: 'bad prevResult', text: JSON.stringify({ ...ok, prevResult: { ips: [{ address: 'nope' }] } }), code: 6 },
    { name: 'CHECK on 0.3.1', text: JSON.stringify({ ...ok, cniVersion: '0.3.1' }), code: 1, opts: { command: 'CHECK' } },
    { name: 'bad attachments', text: JSON.stringify({ ...ok, cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 1 }] }), code: 7 },
  ];
  for (const c of cases) {
    it(`${c.name} → ${c.code ?? 'ok'}`, () => {
      expect(codeOf(() => parseNetConf(c.text, c.opts))).to.equal(c.code);
    });
  }
  it('decodes prevResult in the config version and keeps raw keys', () => {
    const conf = parseNetConf(
      JSON.stringify({
        ...ok,
        cniVersion: '0.4.0',
        mtu: 1400,
        prevResult: { interfaces: [{ name: 'eth0', sandbox: '/x' }], ips: [{ version: '4', address: '10.0.0.5/32', interface: 0 }] },
        'cni.dev/valid-attachments': [{ containerID: 'c1', ifname: 'eth0' }],
      }),
    );
    expect(conf.prevResult?.ips?.[0]?.address).to.equal('10.0.0.5/32');
    expect(conf.raw.mtu).to.equal(1400);
    expect(conf.validAttachments).to.deep.equal([{ containerID: 'c1', ifname: 'eth0' }]);
  });
  it('builds per-plugin configs of a conflist the way libcni does', () => {
    const list = parseConfList(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'chain',
        plugins: [
          { type: 'tortie', ipam: { type: 'host-local' } },
          { type: 'portmap', capabilities: { portMappings: true } },
        ],
      }),
    );
    const prev = decodeResult({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.5/32' }] });
    const first = pluginConfig(list, 0, { runtimeConfig: { portMappings: [] } });
    expect(first).to.deep.include({ name: 'chain', cniVersion: '1.0.0', type: 'tortie' });
    expect(first.runtimeConfig).to.equal(undefined);
    const second = pluginConfig(list, 1, { prevResult: prev, runtimeConfig: { portMappings: [{ hostPort: 1 }] } });
    expect(second.runtimeConfig).to.deep.equal({ portMappings: [{ hostPort: 1 }] });
    expect(second.prevResult).to.deep.equal({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.5/32' }] });
    expect(codeOf(() => parseConfList(JSON.stringify({ cniVersion: '1.0.0', name: 'x', plugins: [] })))).to.equal(7);
  });
});

describe('cni/spec: results', () => {
  const full = {
    cniVersion: '1.1.0',
    interfaces: [
      { name: 'tortie0123', mac: '02:00:00:00:00:01', mtu: 1500 },
      { name: 'eth0', mac: '02:00:00:00:00:02', sandbox: '/var/run/netns/x', mtu: 1500, pciID: '0000:00:01.0' },
    ],
    ips: [
      { interface: 1, address: '10.0.0.5/32', gateway: '169.254.1.1' },
      { interface: 1, address: 'fd00::5/128', gateway: 'fe80::1' },
    ],
    routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1', mtu: 1400, scope: 0, table: 254 }],
    dns: { nameservers: ['10.96.0.10'] },
  };
  it('1.1.0 → 1.0.0 drops the 1.1-only fields', () => {
    const out = convertResult(full, '1.0.0');
    expect(out.cniVersion).to.equal('1.0.0');
    expect(out.interfaces).to.deep.equal([
      { name: 'tortie0123', mac: '02:00:00:00:00:01' },
      { name: 'eth0', mac: '02:00:00:00:00:02', sandbox: '/var/run/netns/x' },
    ]);
    expect(out.routes).to.deep.equal([{ dst: '0.0.0.0/0', gw: '169.254.1.1' }]);
  });
  it('1.x → 0.4.0 / 0.3.1 adds ips[].version', () => {
    for (const v of ['0.4.0', '0.3.1'] as const) {
      const out = convertResult(full, v);
      expect(out.ips).to.deep.equal([
        { version: '4', interface: 1, address: '10.0.0.5/32', gateway: '169.254.1.1' },
        { version: '6', interface: 1, address: 'fd00::5/128', gateway: 'fe80::1' },
      ]);
    }
  });
  it('0.3.1 → 1.1.0 removes ips[].version and round-trips', () => {
    const legacy = convertResult(full, '0.3.1');
    const up = convertResult(legacy, '1.1.0');
    expect(up.ips).to.deep.equal([
      { interface: 1, address: '10.0.0.5/32', gateway: '169.254.1.1' },
      { interface: 1, address: 'fd00::5/128', gateway: 'fe80::1' },
    ]);
    expect(encodeResult(decodeResult(full), '1.1.0')).to.deep.equal(full);
  });
  const badResults: { name: string; value: unknown; code: number }[] = [
    { name: 'not an object', value: 'x', code: 6 },
    { name: 'unknown version', value: { cniVersion: '0.2.0' }, code: 1 },
    { name: 'bad address', value: { cniVersion: '1.0.0', ips: [{ address: '10.0.0.500/32' }] }, code: 6 },
    { name: 'interface out of range', value: { cniVersion: '1.0.0', ips: [{ address: '10.0.0.5/32', interface: 0 }] }, code: 6 },
    { name: 'version mismatch', value: { cniVersion: '0.4.0', ips: [{ version: '6', address: '10.0.0.5/32' }] }, code: 6 },
    { name: 'bad route', value: { cniVersion: '1.0.0', routes: [{ dst: 'default' }] }, code: 6 },
    { name: 'bad gw', value: { cniVersion: '1.0.0', routes: [{ dst: '0.0.0.0/0', gw: 'x' }] }, code: 6 },
    { name: 'nameless interface', value: { cniVersion: '1.0.0', interfaces: [{ mac: 'x' }] }, code: 6 },
  ];
  for (const c of badResults) {
    it(`rejects a result: ${c.name}`, () => {
      expect(codeOf(() => decodeResult(c.value))).to.equal(c.code);
    });
  }
});

describe('cni/spec: addresses', () => {
  const cases: [string, string | undefined][] = [
    ['10.1.2.3', '10.1.2.3'],
    ['010.1.2.3', undefined],
    ['256.1.2.3', undefined],
    ['FD00:0:0:0:0:0:0:5', 'fd00::5'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::', '::'],
    ['::ffff:1.2.3.4', '::ffff:102:304'],
    ['1::2::3', undefined],
    ['1:2:3:4:5:6:7:8:9', undefined],
    ['fe80::1%eth0', undefined],
  ];
  for (const [text, want] of cases) {
    it(`${text} → ${want ?? 'invalid'}`, () => expect(canonicalIp(text)).to.equal(want));
  }
  it('handles prefixes', () => {
    expect(canonicalCidr('fd00:0::5/128')).to.equal('fd00::5/128');
    expect(canonicalCidr('10.0.0.1/33')).to.equal(undefined);
    expect(prefixContains(parseCidr('10.0.0.0/24')!, parseIp('10.0.0.77')!)).to.be.true;
    expect(prefixContains(parseCidr('10.0.0.0/24')!, parseIp('10.0.1.77')!)).to.be.false;
  });
});

describe('cni/spec: names', () => {
  it('SHA-1 matches the FIPS vectors and node:crypto', () => {
    expect(sha1Hex('abc')).to.equal('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(sha1Hex('')).to.equal('da39a3ee5e6b4b0d3255bfef95601890afd80709');
    for (const s of ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', 'x'.repeat(1000), 'naïve.pod-☃']) {
      expect(sha1Hex(s)).to.equal(createHash('sha1').update(s, 'utf8').digest('hex'));
    }
  });
  it('derives veth names from the pod identity, else the container id', () => {
    const k8s = { namespace: 'default', podName: 'web-0' };
    expect(vethKey('c1', 'eth0', k8s)).to.equal('default.web-0');
    expect(vethKey('c1', 'net1', k8s)).to.equal('default.web-0.net1');
    expect(vethKey('c1', 'eth0')).to.equal('c1');
    const name = vethName('tortie', 'default.web-0');
    expect(name).to.have.length(15);
    expect(name).to.equal(`tortie${sha1Hex('default.web-0').slice(0, 9)}`);
    expect(vethName('tortie', 'default.web-1')).to.not.equal(name);
    expect(vethPrefixProblem('tortie')).to.equal(undefined);
    expect(vethPrefixProblem('toolongprefix')).to.be.a('string');
    expect(vethPrefixProblem('1x')).to.be.a('string');
  });
  it('gives stable locally administered unicast MACs', () => {
    const mac = podMac('c1', 'eth0');
    expect(mac).to.match(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    expect(parseInt(mac.slice(0, 2), 16) & 3).to.equal(2);
    expect(podMac('c1', 'eth0')).to.equal(mac);
    expect(podMac('c2', 'eth0')).to.not.equal(mac);
  });
  it('round-trips the attachment alias', () => {
    expect(parseAttachmentAlias(attachmentAlias('c1', 'eth0'))).to.deep.equal({ containerId: 'c1', ifname: 'eth0' });
    expect(parseAttachmentAlias('something else')).to.equal(undefined);
  });
});
