// tortie CNI: every bad input gets a CNI error with the exact code, a
// message, a non-zero exit, and leaves the node exactly as it was (links,
// addresses, routes, sysctls, host-local allocations) and the pod too.

import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { buildLab, hostLocal, linkNames, tortieConf, writeScript, type CallOptions, type CniLab } from './cni-harness.js';
import type { Netns } from '../support/netns.js';

interface Case {
  name: string;
  code: number;
  command?: string;
  /** The config; default a valid 1.0.0 tortie config with host-local. */
  conf?: (lab: CniLab) => unknown;
  opts?: (lab: CniLab, pod: Netns) => CallOptions;
  /** Runs before the "before" snapshot. */
  setup?: (lab: CniLab, pod: Netns) => Promise<void>;
  /** Message check, when the code alone is not specific enough. */
  msg?: RegExp;
}

const base = (lab: CniLab): Record<string, unknown> => tortieConf(lab.ipamDir, '1.0.0');
const withIpam = (type: string) => (lab: CniLab): Record<string, unknown> => ({ ...base(lab), ipam: { type } });
const env = (over: Record<string, string | undefined>) => (lab: CniLab, pod: Netns): CallOptions => ({
  netns: lab.netnsPath(pod),
  envOverride: over,
});

const CASES: Case[] = [
  { name: 'CNI_COMMAND missing', code: 4, opts: env({ CNI_COMMAND: undefined }), msg: /CNI_COMMAND is not set/ },
  { name: 'CNI_COMMAND unknown (lower case add)', code: 4, opts: env({ CNI_COMMAND: 'add' }) },
  { name: 'CNI_CONTAINERID missing', code: 4, opts: env({ CNI_CONTAINERID: undefined }), msg: /CNI_CONTAINERID/ },
  { name: 'CNI_CONTAINERID with a leading dash', code: 4, opts: env({ CNI_CONTAINERID: '-rf' }) },
  { name: 'CNI_NETNS missing on ADD', code: 4, opts: env({ CNI_NETNS: undefined }), msg: /CNI_NETNS/ },
  { name: 'CNI_NETNS relative', code: 4, opts: env({ CNI_NETNS: 'var/run/netns/x' }) },
  { name: 'CNI_NETNS does not exist', code: 3, opts: env({ CNI_NETNS: '/var/run/netns/tortie-no-such-ns' }) },
  { name: 'CNI_NETNS is a regular file', code: 4, opts: (lab, pod) => ({ ...env({})(lab, pod), netns: `${lab.topo.tmpDir}/not-a-netns` }), msg: /not a network namespace/ },
  { name: "CNI_NETNS is the node's own netns", code: 4, opts: (lab) => ({ netns: lab.netnsPath(lab.node) }), msg: /own \(host\) network namespace/ },
  { name: 'CNI_IFNAME missing', code: 4, opts: env({ CNI_IFNAME: undefined }) },
  { name: 'CNI_IFNAME of 16 characters', code: 4, opts: env({ CNI_IFNAME: 'eth0123456789012' }), msg: /longer than 15/ },
  { name: 'CNI_IFNAME with a slash', code: 4, opts: env({ CNI_IFNAME: 'eth/0' }) },
  { name: 'CNI_PATH missing', code: 4, opts: env({ CNI_PATH: undefined }), msg: /CNI_PATH/ },
  { name: 'CNI_ARGS malformed', code: 4, opts: env({ CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME' }), msg: /CNI_ARGS/ },
  { name: 'TORTIE_CNI_FAIL_AT unknown (test hook)', code: 4, opts: env({ TORTIE_CNI_FAIL_AT: 'nowhere' }) },
  { name: 'stdin empty', code: 6, opts: (lab, pod) => ({ netns: lab.netnsPath(pod), stdin: '' }) },
  { name: 'stdin is not JSON', code: 6, opts: (lab, pod) => ({ netns: lab.netnsPath(pod), stdin: '{"cniVersion": "1.0.0",' }) },
  { name: 'stdin is a JSON array', code: 6, opts: (lab, pod) => ({ netns: lab.netnsPath(pod), stdin: '[]' }) },
  { name: 'cniVersion missing', code: 7, conf: (lab) => ({ ...base(lab), cniVersion: undefined }) },
  { name: 'cniVersion 2.0.0', code: 1, conf: (lab) => ({ ...base(lab), cniVersion: '2.0.0' }) },
  { name: 'cniVersion 0.2.0', code: 1, conf: (lab) => ({ ...base(lab), cniVersion: '0.2.0' }) },
  { name: 'name missing', code: 7, conf: (lab) => ({ ...base(lab), name: undefined }) },
  { name: 'type missing', code: 7, conf: (lab) => ({ ...base(lab), type: undefined }) },
  { name: 'ipam.type missing', code: 7, conf: (lab) => ({ ...base(lab), ipam: { ranges: [] } }) },
  { name: 'mtu 100', code: 7, conf: (lab) => ({ ...base(lab), mtu: 100 }), msg: /mtu/ },
  { name: 'routeProtocol of FRR bgpd (186)', code: 7, conf: (lab) => ({ ...base(lab), routeProtocol: 186 }), msg: /reserved/ },
  { name: 'vethPrefix too long', code: 7, conf: (lab) => ({ ...base(lab), vethPrefix: 'averylongprefix' }) },
  { name: 'runtimeConfig.mac multicast', code: 7, conf: (lab) => ({ ...base(lab), runtimeConfig: { mac: '01:00:5e:00:00:01' } }) },
  { name: 'IPAM plugin not in CNI_PATH', code: 101, conf: withIpam('no-such-ipam') },
  { name: 'host-local with an invalid range', code: 999, conf: (lab) => ({ ...base(lab), ipam: { ...hostLocal(lab.ipamDir), ranges: [[{ subnet: '10.0.0.0/33' }]] } }), msg: /^ipam host-local ADD: / },
  { name: 'IPAM plugin prints garbage', code: 100, conf: withIpam('fake-garbage') },
  { name: 'IPAM plugin returns no address', code: 100, conf: withIpam('fake-empty'), msg: /no address/ },
  { name: 'IPAM plugin says try again later (11)', code: 11, conf: withIpam('fake-busy') },
  { name: 'IPAM plugin crashes (exit 2, no output)', code: 100, conf: withIpam('fake-crash') },
  {
    name: 'pod interface name already taken',
    code: 102,
    setup: async (_lab, pod) => {
      await pod.ip(['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'taken0']);
    },
    msg: /eth0 already exists/,
  },
  {
    name: 'the same attachment ADDed twice',
    code: 102,
    setup: async (lab, pod) => {
      await lab.ok('ADD', base(lab), { containerId: 'twice', netns: lab.netnsPath(pod) });
    },
    opts: (lab, pod) => ({ containerId: 'twice', netns: lab.netnsPath(pod) }),
    msg: /already exists/,
  },
  { name: 'CHECK with cniVersion 0.3.1', code: 1, command: 'CHECK', conf: (lab) => ({ ...base(lab), cniVersion: '0.3.1' }) },
  { name: 'CHECK without prevResult', code: 7, command: 'CHECK', msg: /prevResult/ },
  { name: 'CHECK with an undecodable prevResult', code: 6, command: 'CHECK', conf: (lab) => ({ ...base(lab), prevResult: { ips: [{ address: 'x' }] } }) },
  { name: 'GC with cniVersion 1.0.0', code: 1, command: 'GC' },
  { name: 'GC without cni.dev/valid-attachments', code: 7, command: 'GC', conf: (lab) => ({ ...base(lab), cniVersion: '1.1.0' }) },
  { name: 'STATUS with cniVersion 0.4.0', code: 1, command: 'STATUS', conf: (lab) => ({ ...base(lab), cniVersion: '0.4.0' }) },
];

describe('cni: tortie bad input leaves the node unchanged (netns)', function () {
  this.timeout(120_000);
  let lab: CniLab;

  before(async function () {
    lab = await buildLab();
    writeFileSync(`${lab.topo.tmpDir}/not-a-netns`, '');
    writeScript(lab.bin, 'fake-garbage', 'echo "this is not json"');
    writeScript(lab.bin, 'fake-empty', `[ "$CNI_COMMAND" = ADD ] && echo '{"cniVersion":"1.0.0","ips":[]}'; exit 0`);
    writeScript(lab.bin, 'fake-busy', `echo '{"cniVersion":"1.0.0","code":11,"msg":"datastore busy"}'; exit 1`);
    writeScript(lab.bin, 'fake-crash', 'echo "panic: boom" >&2; exit 2');
  });
  after(async function () {
    await lab?.destroy();
  });

  it(`has at least 25 cases (${CASES.length})`, () => expect(CASES.length).to.be.at.least(25));

  for (const c of CASES) {
    it(`${c.name} → ${c.code}`, async function () {
      const pod = await lab.newPod();
      await c.setup?.(lab, pod);
      const nodeBefore = await lab.snapshot();
      const podBefore = await pod.ipJson<unknown[]>(['-d', 'link', 'show']);
      const conf = c.conf ? c.conf(lab) : base(lab);
      const opts = c.opts ? c.opts(lab, pod) : { netns: lab.netnsPath(pod) };
      const r = await lab.call(c.command ?? 'ADD', conf, { containerId: 'bad', ...opts });

      expect(r.code, `exit status; stdout ${r.stdout} stderr ${r.stderr}`).to.equal(1);
      expect(r.json, `stdout: ${r.stdout}`).to.be.an('object');
      expect(r.json!.code, String(r.json!.msg)).to.equal(c.code);
      expect(r.json!.msg).to.be.a('string').and.not.equal('');
      if (c.msg) expect(String(r.json!.msg)).to.match(c.msg);
      expect(r.json!.cniVersion).to.be.a('string');

      expect(await lab.snapshot(), 'node state').to.deep.equal(nodeBefore);
      expect(await pod.ipJson<unknown[]>(['-d', 'link', 'show']), 'pod links').to.deep.equal(podBefore);
      if (c.name.includes('twice')) await lab.ok('DEL', base(lab), { containerId: 'twice', netns: lab.netnsPath(pod) });
      if (c.name.includes('taken')) expect(await linkNames(pod)).to.include('eth0');
    });
  }
});
