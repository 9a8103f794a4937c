import { expect } from 'chai';
import { CniError, parseIp, parseNetConf, decodeResult } from './spec/index.js';
import { decodeTortieConf, delegateConfig, type TortieConf } from './plugin-config.js';
import { planWiring, hostMacFor } from './wiring-plan.js';
import { diffAttachment, type CheckInput } from './check-diff.js';
import { defaultRouteDeviceV4, defaultRouteDeviceV6, parseProcNetDev } from './host-links.js';
import { batchArgv, batchError, namedNetns, parseBatchFailure, parseJsonLines } from './ip-batch.js';
import { UndoStack } from './undo-stack.js';
import { failPointFrom } from './fail-points.js';

function conf(extra: Record<string, unknown> = {}, env?: Parameters<typeof decodeTortieConf>[1]): TortieConf {
  return decodeTortieConf(parseNetConf(JSON.stringify({ cniVersion: '1.1.0', name: 'net', type: 'tortie', ...extra })), env);
}

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof CniError) return err.cniCode;
    throw err;
  }
  return undefined;
}

describe('cni: plugin config', () => {
  it('applies defaults', () => {
    const c = conf();
    expect(c.ipam).to.deep.equal({ type: 'tortie-ipam' });
    expect(c.vethPrefix).to.equal('tortie');
    expect(c.routeProtocol).to.equal(201);
    expect(c.mtu).to.equal(undefined);
    expect(delegateConfig(c).ipam).to.deep.equal({ type: 'tortie-ipam' });
    expect(delegateConfig(c, '1.0.0').cniVersion).to.equal('1.0.0');
  });
  const cases: [string, Record<string, unknown>, number | undefined][] = [
    ['mtu 1400', { mtu: 1400 }, undefined],
    ['mtu 0 means uplink', { mtu: 0 }, undefined],
    ['mtu too small', { mtu: 100 }, 7],
    ['mtu not a number', { mtu: '1500' }, 7],
    ['mtu fractional', { mtu: 1400.5 }, 7],
    ['routeProtocol 0', { routeProtocol: 0 }, 7],
    ['routeProtocol 256', { routeProtocol: 256 }, 7],
    ['routeProtocol of BIRD', { routeProtocol: 12 }, 7],
    ['routeProtocol of FRR bgpd', { routeProtocol: 186 }, 7],
    ['routeProtocol 77', { routeProtocol: 77 }, undefined],
    ['vethPrefix too long', { vethPrefix: 'abcdefghij' }, 7],
    ['vethPrefix with a dot', { vethPrefix: 'ca.li' }, 7],
    ['vethPrefix cali', { vethPrefix: 'cali' }, undefined],
    ['bad runtimeConfig.mac', { runtimeConfig: { mac: '01:00:5e:00:00:01' } }, 7],
    ['good runtimeConfig.mac', { runtimeConfig: { mac: '02-AA-bb-cc-dd-ee' } }, undefined],
  ];
  for (const [name, extra, code] of cases) {
    it(`${name} → ${code ?? 'ok'}`, () => expect(codeOf(() => conf(extra))).to.equal(code));
  }
  it('takes the pod identity from CNI_ARGS over args.cni over runtimeConfig', () => {
    const c = conf(
      { args: { cni: { K8S_POD_NAMESPACE: 'a', K8S_POD_NAME: 'p1' } }, runtimeConfig: { K8S_POD_NAME: 'p0', mac: '02-AA-bb-cc-dd-ee' } },
      { k8s: { podName: 'p2' } },
    );
    expect(c.k8s).to.deep.equal({ namespace: 'a', podName: 'p2' });
    expect(c.podMac).to.equal('02:aa:bb:cc:dd:ee');
  });
});

describe('cni: wiring plan', () => {
  const base = {
    attachment: { containerId: 'c1', ifname: 'eth0', netns: '/var/run/netns/pod1' },
    addresses: [parseIp('10.1.0.5')!, parseIp('fd00::5')!],
    extraRoutes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }, { dst: '10.96.0.0/12' }],
    mtu: 1450,
    replaceStaleVeth: false,
    cniVersion: '1.1.0' as const,
  };
  it('renders the host and pod batches (golden)', () => {
    const c = conf({ routeProtocol: 77 }, { k8s: { namespace: 'default', podName: 'web-0' } });
    const plan = planWiring({ ...base, conf: c });
    const v = plan.hostVeth;
    expect(v).to.match(/^tortie[0-9a-f]{9}$/);
    expect(plan.hostLines).to.deep.equal([
      `link add name ${v} address ${plan.hostMac} mtu 1450 type veth peer name eth0 address ${plan.podMac} mtu 1450 netns /var/run/netns/pod1`,
      `link set dev ${v} alias tortie:c1:eth0 addrgenmode none`,
      `link set dev ${v} up`,
      `addr add fe80::1/64 dev ${v} nodad`,
      `route replace 10.1.0.5/32 dev ${v} proto 77 scope link`,
      `route replace fd00::5/128 dev ${v} proto 77`,
    ]);
    expect(plan.podLines).to.deep.equal([
      'addr add 10.1.0.5/32 dev eth0',
      'addr add fd00::5/128 dev eth0 nodad',
      'link set dev eth0 up',
      'route add 169.254.1.1 dev eth0 scope link',
      'route add default via 169.254.1.1 dev eth0',
      'route add default via fe80::1 dev eth0',
      'route add 10.96.0.0/12 via 169.254.1.1 dev eth0',
    ]);
    expect(plan.hostSysctls.map((s) => `${s.path}=${s.value}`)).to.deep.equal([
      `/proc/sys/net/ipv4/conf/${v}/forwarding=1`,
      `/proc/sys/net/ipv4/conf/${v}/proxy_arp=1`,
      `/proc/sys/net/ipv4/neigh/${v}/proxy_delay=0`,
      `/proc/sys/net/ipv6/conf/${v}/forwarding=1`,
    ]);
    expect(plan.globalSysctls.map((s) => s.path)).to.deep.equal(['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/ipv6/conf/all/forwarding']);
    expect(plan.result).to.deep.equal({
      cniVersion: '1.1.0',
      interfaces: [
        { name: v, mac: hostMacFor('c1', 'eth0'), mtu: 1450 },
        { name: 'eth0', mac: plan.podMac, mtu: 1450, sandbox: '/var/run/netns/pod1' },
      ],
      ips: [
        { address: '10.1.0.5/32', gateway: '169.254.1.1', interface: 1 },
        { address: 'fd00::5/128', gateway: 'fe80::1', interface: 1 },
      ],
      routes: [
        { dst: '0.0.0.0/0', gw: '169.254.1.1' },
        { dst: '::/0', gw: 'fe80::1' },
        { dst: '10.96.0.0/12', gw: '169.254.1.1' },
      ],
    });
  });
  it('IPv4 only: no IPv6 lines; a stale veth is deleted first; runtimeConfig.mac wins', () => {
    const c = conf({ runtimeConfig: { mac: '02:00:00:00:00:09' } });
    const plan = planWiring({ ...base, conf: c, addresses: [parseIp('10.1.0.5')!], extraRoutes: [], replaceStaleVeth: true });
    expect(plan.hostLines[0]).to.equal(`link del dev ${plan.hostVeth}`);
    expect(plan.hostLines.join('\n')).to.not.match(/fe80|addrgenmode|\/128/);
    expect(plan.podLines.join('\n')).to.not.include('fe80');
    expect(plan.podMac).to.equal('02:00:00:00:00:09');
    expect(plan.globalSysctls.map((s) => s.path)).to.deep.equal(['/proc/sys/net/ipv4/ip_forward']);
  });
});

describe('cni: CHECK comparison', () => {
  const c = conf();
  const plan = planWiring({
    conf: c,
    attachment: { containerId: 'c1', ifname: 'eth0', netns: '/run/netns/p' },
    addresses: [parseIp('10.1.0.5')!, parseIp('fd00::5')!],
    extraRoutes: [],
    mtu: 1500,
    replaceStaleVeth: false,
    cniVersion: '1.1.0',
  });
  const v = plan.hostVeth;
  const good = (): CheckInput => ({
    containerId: 'c1',
    ifname: 'eth0',
    netns: '/run/netns/p',
    routeProtocol: 201,
    prev: decodeResult(JSON.parse(JSON.stringify({ ...plan.result })) as unknown),
    hostVeth: v,
    hostLink: {
      ifname: v,
      flags: ['UP'],
      mtu: 1500,
      address: plan.hostMac,
      ifalias: 'tortie:c1:eth0',
      addr_info: [{ family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: '253' }],
    },
    hostRoutes: [
      { dst: '10.1.0.5', protocol: '201', scope: '253' },
      { dst: 'fd00::5', protocol: '201' },
      { dst: 'fe80::/64', protocol: '2' },
    ],
    podLink: {
      ifname: 'eth0',
      flags: ['UP'],
      mtu: 1500,
      address: plan.podMac,
      linkinfo: { info_kind: 'veth' },
      addr_info: [
        { family: 'inet', local: '10.1.0.5', prefixlen: 32, scope: '0' },
        { family: 'inet6', local: 'fd00::5', prefixlen: 128, scope: '0' },
        { family: 'inet6', local: 'fe80::5', prefixlen: 64, scope: '253' },
      ],
    },
    podRoutes: [
      { dst: 'default', gateway: '169.254.1.1', dev: 'eth0' },
      { dst: '169.254.1.1', dev: 'eth0', scope: '253' },
      { dst: 'default', gateway: 'fe80::1', dev: 'eth0' },
      { type: '2', dst: '10.1.0.5', dev: 'eth0', table: '255' },
    ],
    sysctls: new Map(plan.hostSysctls.map((s) => [s.path, s.value])),
  });
  it('finds nothing when all agrees', () => expect(diffAttachment(good())).to.deep.equal([]));
  const mutations: [string, (i: CheckInput) => void, RegExp][] = [
    ['pod link gone', (i) => delete i.podLink, /pod eth0: does not exist/],
    ['pod down', (i) => (i.podLink!.flags = []), /pod eth0: is down/],
    ['pod mac', (i) => (i.podLink!.address = '02:00:00:00:00:01'), /pod eth0: mac is 02:00:00:00:00:01/],
    ['pod mtu', (i) => (i.podLink!.mtu = 1400), /pod eth0: mtu is 1400/],
    ['pod address missing', (i) => i.podLink!.addr_info!.splice(1, 1), /address fd00::5\/128 is missing/],
    ['pod extra address', (i) => i.podLink!.addr_info!.push({ family: 'inet', local: '10.9.9.9', prefixlen: 24, scope: '0' }), /unexpected address 10.9.9.9\/24/],
    ['pod default route', (i) => i.podRoutes.splice(0, 1), /route 0.0.0.0\/0 via 169.254.1.1 is missing/],
    ['pod v6 default route', (i) => i.podRoutes.splice(2, 1), /route ::\/0 via fe80::1 is missing/],
    ['pod link route', (i) => i.podRoutes.splice(1, 1), /link route 169.254.1.1/],
    ['host gone', (i) => delete i.hostLink, /does not exist/],
    ['host alias', (i) => (i.hostLink!.ifalias = 'tortie:c2:eth0'), /ifalias is "tortie:c2:eth0"/],
    ['host mtu', (i) => (i.hostLink!.mtu = 9000), /mtu 9000 differs/],
    ['host v4 address', (i) => i.hostLink!.addr_info!.push({ family: 'inet', local: '10.0.0.1', prefixlen: 24 }), /unexpected IPv4 address/],
    ['host v6 gateway', (i) => (i.hostLink!.addr_info = []), /gateway address fe80::1\/64 is missing/],
    ['host route missing', (i) => i.hostRoutes.splice(0, 1), /route 10.1.0.5\/32 dev .* proto 201 is missing/],
    ['host route proto', (i) => (i.hostRoutes[1].protocol = '4'), /route fd00::5\/128 has proto 4, want 201/],
    ['proxy_arp', (i) => (i.sysctls = new Map([...i.sysctls, [`/proc/sys/net/ipv4/conf/${v}/proxy_arp`, '0']])), /proxy_arp is 0, want 1/],
    ['proxy_delay', (i) => (i.sysctls = new Map([...i.sysctls, [`/proc/sys/net/ipv4/neigh/${v}/proxy_delay`, '80']])), /proxy_delay is 80, want 0/],
    ['sandbox', (i) => (i.netns = '/run/netns/other'), /sandbox is \/run\/netns\/p/],
  ];
  for (const [name, mutate, want] of mutations) {
    it(`reports: ${name}`, () => {
      const input = good();
      mutate(input);
      const diffs = diffAttachment(input);
      expect(diffs.join('\n')).to.match(want);
    });
  }
});

describe('cni: procfs and ip parsing', () => {
  it('reads /proc/net/dev, /proc/net/route and /proc/net/ipv6_route', () => {
    const dev = 'Inter-|   Receive\n face |bytes\n    lo: 1 2 3\n  eth0: 4 5 6\ntortie123: 0 0\n';
    expect(parseProcNetDev(dev)).to.deep.equal(['lo', 'eth0', 'tortie123']);
    const route =
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n' +
      'eth1\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n' +
      'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n' +
      'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n';
    expect(defaultRouteDeviceV4(route)).to.equal('eth0');
    expect(defaultRouteDeviceV4('Iface\n')).to.equal(undefined);
    const v6 =
      '00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003     up0\n' +
      '00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n';
    expect(defaultRouteDeviceV6(v6)).to.equal('up0');
  });
  it('parses ip batch failures', () => {
    const lines = ['link add name x type veth peer name eth0', 'route add 10.0.0.1 dev x'];
    const f = parseBatchFailure('RTNETLINK answers: File exists\nCommand failed -:1\n', lines, false);
    expect(f).to.deep.include({ lineIndex: 0, line: lines[0], message: 'RTNETLINK answers: File exists' });
    expect(batchError('host', f).cniCode).to.equal(102);
    const g = parseBatchFailure('Error: Nexthop has invalid gateway.\nCommand failed -:2\n', lines, false);
    expect(batchError('pod', g).cniCode).to.equal(103);
    expect(parseBatchFailure("nsenter: reassociate to namespace 'ns/net' failed: Invalid argument\n", lines, true).netnsUnusable).to.be.true;
    expect(batchArgv({ ip: '/sbin/ip', nsenter: '/usr/bin/nsenter' }, { netns: '/proc/1/ns/net', json: true })).to.deep.equal([
      '/usr/bin/nsenter', '--net=/proc/1/ns/net', '/sbin/ip', '-json', '-details', '-N', '-batch', '-',
    ]);
    expect(parseBatchFailure('Cannot open network namespace "pod1": No such file or directory\n', lines, true).netnsUnusable).to.be.true;
    expect(batchArgv({ ip: '/sbin/ip', nsenter: '/usr/bin/nsenter' }, { netns: '/var/run/netns/cni-1a2b' })).to.deep.equal(['/sbin/ip', '-n', 'cni-1a2b', '-batch', '-']);
    expect(parseJsonLines('[1]\n[]\n')).to.deep.equal([[1], []]);
  });
});

describe('cni: which netns paths `ip -n` can take', () => {
  const cases: [string, string | undefined][] = [
    ['/var/run/netns/cni-1a2b', 'cni-1a2b'],
    ['/run/netns/pod1', 'pod1'],
    ['/proc/123/ns/net', undefined],
    ['/var/run/netns/a/b', undefined],
    ['/var/run/netns/..', undefined],
    ['/var/run/netns/', undefined],
    ['/tmp/run/netns/x', undefined],
  ];
  for (const [path, want] of cases) {
    it(`${path} → ${String(want)}`, () => expect(namedNetns(path)).to.equal(want));
  }
});

describe('cni: undo list and fail points', () => {
  it('undoes newest first, keeps going past a failing undo, and reports it', async () => {
    const undo = new UndoStack();
    const done: string[] = [];
    undo.push('a', () => Promise.resolve(void done.push('a')));
    undo.push('b', () => Promise.reject(new Error('boom')));
    undo.push('c', () => Promise.resolve(void done.push('c')));
    expect(await undo.unwind()).to.deep.equal(['b: boom']);
    expect(done).to.deep.equal(['c', 'a']);
    expect(await undo.unwind()).to.deep.equal([]);
  });
  it('commit forgets every step', async () => {
    const undo = new UndoStack();
    let ran = false;
    undo.push('a', () => Promise.resolve(void (ran = true)));
    undo.commit();
    await undo.unwind();
    expect(ran).to.be.false;
  });
  it('rejects an unknown fail point instead of ignoring it', () => {
    expect(failPointFrom({ TORTIE_CNI_FAIL_AT: 'after-ipam' })).to.equal('after-ipam');
    expect(failPointFrom({})).to.equal(undefined);
    expect(codeOf(() => failPointFrom({ TORTIE_CNI_FAIL_AT: 'after-everything' }))).to.equal(4);
  });
});
