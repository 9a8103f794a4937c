/** tortie-ipam's protocol logic against a fake agent: every command, every result version, every error mapping. */
import { expect } from 'chai';
import { AgentUnreachable, type AgentApi, type AgentReply } from './agent-client.js';
import { runPlugin, type TortieIpamConf } from './plugin.js';

interface Call {
  method: string;
  path: string;
  body?: unknown;
}

function fakeAgent(reply: (c: Call) => AgentReply | 'unreachable'): { connect: (conf: TortieIpamConf) => AgentApi; calls: Call[]; confs: TortieIpamConf[] } {
  const calls: Call[] = [];
  const confs: TortieIpamConf[] = [];
  return {
    calls, confs,
    connect: (conf) => {
      confs.push(conf);
      return {
        call: (method, path, body) => {
          const c = { method, path, ...(body !== undefined ? { body } : {}) };
          calls.push(c);
          const r = reply(c);
          return r === 'unreachable' ? Promise.reject(new AgentUnreachable('cannot reach tortie-agent on /x.sock: connect ENOENT', 'ENOENT')) : Promise.resolve(r);
        },
      };
    },
  };
}

const ENV = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/var/run/netns/c1', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };
const conf = (v = '1.1.0', extra: Record<string, unknown> = {}): string => JSON.stringify({ cniVersion: v, name: 'podnet', type: 'tortie', ipam: { type: 'tortie-ipam' }, ...extra });

const ASSIGNED: AgentReply = {
  status: 200,
  body: {
    handle: 'c1/eth0',
    ips: [
      { address: '10.244.0.5', family: 'ipv4', cidr: '10.244.0.5/32', block: '10.244.0.0/26', pool: 'v4', borrowed: false },
      { address: 'fd00::5', family: 'ipv6', cidr: 'fd00::5/128', block: 'fd00::/122', pool: 'v6', borrowed: false },
    ],
  },
};

function parse(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('tortie-ipam: the plugin against a fake agent', () => {
  describe('ADD', () => {
    const versions: [string, unknown][] = [
      ['1.1.0', [{ address: '10.244.0.5/32' }, { address: 'fd00::5/128' }]],
      ['1.0.0', [{ address: '10.244.0.5/32' }, { address: 'fd00::5/128' }]],
      ['0.4.0', [{ version: '4', address: '10.244.0.5/32' }, { version: '6', address: 'fd00::5/128' }]],
      ['0.3.1', [{ version: '4', address: '10.244.0.5/32' }, { version: '6', address: 'fd00::5/128' }]],
    ];
    for (const [v, ips] of versions) {
      it(`prints ips and routes as a ${v} result`, async () => {
        const a = fakeAgent(() => ASSIGNED);
        const out = await runPlugin(ENV, conf(v), a.connect);
        expect(out.exitCode).to.equal(0);
        expect(parse(out.stdout)).to.deep.equal({ cniVersion: v, ips, routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }] });
      });
    }

    it('sends the handle parts, netns, network, pod identity, families and pools', async () => {
      const a = fakeAgent(() => ASSIGNED);
      await runPlugin({ ...ENV, CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0' },
        conf('1.1.0', { ipam: { type: 'tortie-ipam', socket: '/run/x.sock', families: ['ipv4'], pools: ['v4'] } }), a.connect);
      expect(a.confs[0]).to.deep.include({ socket: '/run/x.sock' });
      expect(a.calls).to.deep.equal([{
        method: 'POST', path: '/v1/ipam/assign',
        body: { containerId: 'c1', ifname: 'eth0', network: 'podnet', netns: '/var/run/netns/c1', namespace: 'default', pod: 'web-0', families: ['ipv4'], pools: ['v4'] },
      }]);
    });

    it('gathers requested addresses from runtimeConfig.ips, args.cni.ips and CNI_ARGS IP=', async () => {
      const a = fakeAgent(() => ASSIGNED);
      await runPlugin({ ...ENV, CNI_ARGS: 'IP=10.244.0.9,FD00::9' }, conf('1.1.0', { runtimeConfig: { ips: ['10.244.0.5/24'] }, args: { cni: { ips: ['10.244.0.5', 'fd00::0:9'] } } }), a.connect);
      expect((a.calls[0].body as { ips: string[] }).ips).to.deep.equal(['10.244.0.5', 'fd00::9', '10.244.0.9']);
    });

    it('keeps only the configured routes of the families it got', async () => {
      const a = fakeAgent(() => ({ status: 200, body: { handle: 'c1/eth0', ips: [(ASSIGNED.body as { ips: unknown[] }).ips[0]] } }));
      const out = await runPlugin(ENV, conf('1.1.0', { ipam: { type: 'tortie-ipam', routes: [{ dst: '10.0.0.0/8' }, { dst: '::/0' }] } }), a.connect);
      expect(parse(out.stdout).routes).to.deep.equal([{ dst: '10.0.0.0/8' }]);
    });

    const errors: { name: string; reply: AgentReply | 'unreachable'; code: number; details?: string; msg?: string }[] = [
      {
        name: 'exhaustion: 120, with the agent\'s words and code',
        reply: { status: 500, body: { code: 'ERR_IPAM_POOL_EXHAUSTED', error: 'no IPv4 address left for node n: pool tiny (10.0.0.0/30, /30 blocks): no free block (...), and borrowing from other nodes\' blocks is disabled (ipam.strictAffinity is true)' } },
        code: 120, details: 'ERR_IPAM_POOL_EXHAUSTED', msg: 'pool tiny',
      },
      { name: 'no pool: 121', reply: { status: 500, body: { code: 'ERR_IPAM_NO_POOL', error: 'no IPv4 pool' } }, code: 121 },
      { name: 'address in use: 122', reply: { status: 500, body: { code: 'ERR_IPAM_ADDRESS_IN_USE', error: 'taken' } }, code: 122 },
      { name: 'reserved address: 123', reply: { status: 500, body: { code: 'ERR_IPAM_ADDRESS_RESERVED', error: 'reserved' } }, code: 123 },
      { name: 'retries exhausted: try again later (11)', reply: { status: 500, body: { code: 'ERR_IPAM_RETRIES_EXHAUSTED', error: 'busy' } }, code: 11 },
      { name: 'agent not running: try again later (11)', reply: 'unreachable', code: 11, msg: 'is tortie-agent running' },
      {
        name: 'malformed pod annotation: 7', reply: { status: 400, body: { code: 'ERR_IPAM_ANNOTATION_BAD_REQUEST', error: 'annotation tortie.io/ip-addrs of pod a/b is not JSON' } },
        code: 7, details: 'ERR_IPAM_ANNOTATION_BAD_REQUEST', msg: 'tortie.io/ip-addrs',
      },
      { name: 'pod annotations unreadable: try again later (11)', reply: { status: 500, body: { code: 'ERR_IPAM_ANNOTATIONS_UNAVAILABLE', error: 'not synced' } }, code: 11 },
      { name: 'anything else: 139', reply: { status: 500, body: { code: 'ERR_SOMETHING', error: 'boom' } }, code: 139, details: 'ERR_SOMETHING' },
    ];
    for (const e of errors) {
      it(`error: ${e.name}`, async () => {
        const out = await runPlugin(ENV, conf('1.0.0'), fakeAgent(() => e.reply).connect);
        expect(out.exitCode).to.equal(1);
        const r = parse(out.stdout);
        expect(r).to.include({ cniVersion: '1.0.0', code: e.code });
        if (e.details !== undefined) expect(r.details).to.equal(e.details);
        if (e.msg !== undefined) expect(r.msg).to.include(e.msg);
      });
    }
  });

  describe('DEL', () => {
    const cases: [string, AgentReply | 'unreachable', number, number?][] = [
      ['released', { status: 200, body: { released: [] } }, 0],
      ['not found is success', { status: 404, body: { code: 'ERR_IPAM_HANDLE_NOT_FOUND', error: 'nothing' } }, 0],
      ['agent down: try again later', 'unreachable', 1, 11],
      ['agent error', { status: 500, body: { code: 'ERR_X', error: 'x' } }, 1, 139],
    ];
    for (const [name, reply, exit, code] of cases) {
      it(name, async () => {
        const a = fakeAgent(() => reply);
        const out = await runPlugin({ ...ENV, CNI_COMMAND: 'DEL', CNI_NETNS: '' }, conf(), a.connect);
        expect(out.exitCode).to.equal(exit);
        expect(a.calls[0]).to.deep.equal({ method: 'POST', path: '/v1/ipam/release', body: { containerId: 'c1', ifname: 'eth0' } });
        if (code !== undefined) expect(parse(out.stdout).code).to.equal(code);
        else expect(out.stdout).to.equal('');
      });
    }
  });

  describe('CHECK', () => {
    const held = (addrs: string[]): AgentReply => ({ status: 200, body: { allocations: addrs.map((address) => ({ address })) } });
    const prev = (ips: string[]) => ({ prevResult: { cniVersion: '1.1.0', ips: ips.map((address) => ({ address })) } });
    const cases: { name: string; reply: AgentReply; prev: string[]; exit: number; code?: number; has?: string }[] = [
      { name: 'matches', reply: held(['10.244.0.5', 'fd00::5']), prev: ['10.244.0.5/32', 'fd00::5/128'], exit: 0 },
      { name: 'prevResult lacks an address', reply: held(['10.244.0.5', 'fd00::5']), prev: ['10.244.0.5/32'], exit: 1, code: 124, has: 'prevResult lacks fd00::5' },
      { name: 'prevResult has one we do not hold', reply: held(['10.244.0.5']), prev: ['10.244.0.6/32', '10.244.0.5/32'], exit: 1, code: 124, has: 'does not hold' },
      { name: 'allocation missing', reply: { status: 404, body: { code: 'ERR_IPAM_HANDLE_NOT_FOUND', error: 'no' } }, prev: ['10.244.0.5/32'], exit: 1, code: 124, has: 'holds no address' },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const a = fakeAgent(() => c.reply);
        const out = await runPlugin({ ...ENV, CNI_COMMAND: 'CHECK' }, conf('1.1.0', prev(c.prev)), a.connect);
        expect(a.calls[0].path).to.equal('/v1/ipam/allocations?handle=c1%2Feth0');
        expect(out.exitCode, out.stdout).to.equal(c.exit);
        if (c.code !== undefined) expect(parse(out.stdout).code).to.equal(c.code);
        if (c.has !== undefined) expect(parse(out.stdout).msg).to.include(c.has);
      });
    }

    it('is refused for 0.3.1 (CHECK came with 0.4.0)', async () => {
      const out = await runPlugin({ ...ENV, CNI_COMMAND: 'CHECK' }, conf('0.3.1'), fakeAgent(() => held([])).connect);
      expect(parse(out.stdout).code).to.equal(1);
    });
  });

  it('GC sends the valid attachments and the network', async () => {
    const a = fakeAgent(() => ({ status: 200, body: { released: [], releasedBlocks: [], kept: 1 } }));
    const out = await runPlugin({ CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin' }, conf('1.1.0', { 'cni.dev/valid-attachments': [{ containerID: 'c1', ifname: 'eth0' }] }), a.connect);
    expect(out).to.deep.equal({ stdout: '', exitCode: 0 });
    expect(a.calls).to.deep.equal([{ method: 'POST', path: '/v1/ipam/gc', body: { validAttachments: [{ containerId: 'c1', ifname: 'eth0' }], network: 'podnet' } }]);
  });

  describe('STATUS', () => {
    const cases: [string, AgentReply | 'unreachable', number, string?][] = [
      ['ready', { status: 200, body: { ready: true, families: ['ipv4'], message: 'ready' } }, 0],
      ['no pool: 50', { status: 200, body: { ready: false, families: [], message: 'no IP pools are configured (ipam.pools)' } }, 1, 'no IP pools'],
      ['agent down: 50', 'unreachable', 1, 'cannot reach tortie-agent'],
    ];
    for (const [name, reply, exit, has] of cases) {
      it(name, async () => {
        const out = await runPlugin({ CNI_COMMAND: 'STATUS', CNI_PATH: '/opt/cni/bin' }, conf(), fakeAgent(() => reply).connect);
        expect(out.exitCode).to.equal(exit);
        if (has !== undefined) expect(parse(out.stdout)).to.include({ code: 50 }).and.to.have.property('msg').that.includes(has);
      });
    }
  });

  it('VERSION answers without the agent, in the requested version when it is one we speak', async () => {
    const a = fakeAgent(() => 'unreachable');
    const out = await runPlugin({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}', a.connect);
    expect(parse(out.stdout)).to.deep.equal({ cniVersion: '1.0.0', supportedVersions: ['0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
    expect(a.calls).to.deep.equal([]);
  });

  const bad: [string, Record<string, string>, string, number][] = [
    ['no CNI_COMMAND', {}, conf(), 4],
    ['ADD without CNI_NETNS', { ...ENV, CNI_NETNS: '' }, conf(), 4],
    ['stdin not JSON', ENV, '{', 6],
    ['unsupported version', ENV, conf('0.2.0'), 1],
    ['a bad requested address', { ...ENV, CNI_ARGS: 'IP=10.0.0.300' }, conf(), 4],
    ['a bad ipam.socket', ENV, conf('1.1.0', { ipam: { type: 'tortie-ipam', socket: 'relative' } }), 7],
    // Regression: a misspelt key used to be ignored, so the default socket was used without a word.
    ['an unknown ipam key (controlSocket)', ENV, conf('1.1.0', { ipam: { type: 'tortie-ipam', controlSocket: '/x.sock' } }), 7],
    ['an unknown ipam key (ranges, host-local\'s)', ENV, conf('1.1.0', { ipam: { type: 'tortie-ipam', ranges: [] } }), 7],
  ];
  for (const [name, env, stdin, code] of bad) {
    it(`refuses ${name} with CNI error ${code}`, async () => {
      const a = fakeAgent(() => ASSIGNED);
      const out = await runPlugin(env, stdin, a.connect);
      expect(out.exitCode).to.equal(1);
      expect(parse(out.stdout).code).to.equal(code);
      expect(a.calls).to.deep.equal([]);
    });
  }

  describe('the ipam section\'s keys', () => {
    const cases: { name: string; ipam: Record<string, unknown>; field?: string; hint?: string }[] = [
      { name: 'every known key is accepted', ipam: { type: 'tortie-ipam', socket: '/x.sock', timeoutMs: 500, families: ['ipv4'], pools: ['p'], routes: [{ dst: '0.0.0.0/0' }] } },
      { name: 'controlSocket is refused, pointing at socket', ipam: { type: 'tortie-ipam', controlSocket: '/x.sock' }, field: 'ipam.controlSocket', hint: 'ipam.socket' },
      { name: 'Socket (wrong case) is refused, pointing at socket', ipam: { type: 'tortie-ipam', Socket: '/x.sock' }, field: 'ipam.Socket', hint: 'ipam.socket' },
      { name: 'timeout is refused, pointing at timeoutMs', ipam: { type: 'tortie-ipam', timeout: 500 }, field: 'ipam.timeout', hint: 'ipam.timeoutMs' },
      { name: 'pool is refused, pointing at pools', ipam: { type: 'tortie-ipam', pool: 'p' }, field: 'ipam.pool', hint: 'ipam.pools' },
      { name: 'subnet (nothing close) is refused without a hint', ipam: { type: 'tortie-ipam', subnet: '10.0.0.0/8' }, field: 'ipam.subnet' },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const a = fakeAgent(() => ASSIGNED);
        const out = await runPlugin(ENV, conf('1.1.0', { ipam: c.ipam }), a.connect);
        if (c.field === undefined) {
          expect(out.exitCode, out.stdout).to.equal(0);
          return;
        }
        expect(out.exitCode).to.equal(1);
        const e = parse(out.stdout);
        expect(e.code).to.equal(7);
        expect(e.details).to.equal(`field: ${c.field}`);
        expect(String(e.msg)).to.include(c.field);
        if (c.hint !== undefined) expect(String(e.msg)).to.include(`did you mean ${c.hint}?`);
        else expect(String(e.msg)).to.not.include('did you mean');
        expect(a.calls).to.deep.equal([]);
      });
    }
  });
});
