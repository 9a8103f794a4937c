/**
 * Fixed addresses from the pod annotation tortie.io/ip-addrs, through the
 * service's podAnnotations hook (memory store, no socket): taken when the
 * request names its pod and asks for no address itself; the request's own
 * addresses win; malformed annotations and refused addresses are clear
 * errors that name the annotation.
 */
import { expect } from 'chai';
import { TortieError } from '../lib/errors.js';
import { silentLogger } from '../lib/log.js';
import { MemoryDatastore } from './datastore/store-memory.js';
import { IpamService, POD_IPS_ANNOTATION } from './service.js';

const PODS: Record<string, Record<string, string>> = {
  'default/fixed': { [POD_IPS_ANNOTATION]: '["10.96.0.5","fd00:96::5"]' },
  'default/fixed-v4': { [POD_IPS_ANNOTATION]: '["10.96.0.6/24"]' },
  'default/taken': { [POD_IPS_ANNOTATION]: '["10.96.0.5"]' },
  'default/outside': { [POD_IPS_ANNOTATION]: '["192.0.2.7"]' },
  'default/reserved': { [POD_IPS_ANNOTATION]: '["10.96.0.200"]' },
  'default/not-json': { [POD_IPS_ANNOTATION]: '10.96.0.9' },
  'default/not-list': { [POD_IPS_ANNOTATION]: '{"ip":"10.96.0.9"}' },
  'default/empty': { [POD_IPS_ANNOTATION]: '[]' },
  'default/not-ip': { [POD_IPS_ANNOTATION]: '["10.96.0.300"]' },
  'default/two-v4': { [POD_IPS_ANNOTATION]: '["10.96.0.8","10.96.0.9"]' },
  'default/other-annotations': { 'example.com/x': '1' },
};

async function service(hook?: (ns: string, name: string) => Readonly<Record<string, string>> | undefined): Promise<IpamService> {
  const svc = new IpamService({
    node: 'node-a', labels: {},
    config: {
      pools: [
        { name: 'v4', cidr: '10.96.0.0/24', blockSize: 26, nodeSelector: 'all()', disabled: false },
        { name: 'v6', cidr: 'fd00:96::/120', blockSize: 122, nodeSelector: 'all()', disabled: false },
      ],
      reservations: ['10.96.0.200'], strictAffinity: true, releaseCooldownSec: 0, gcGraceSec: 0,
    },
    store: new MemoryDatastore(), log: silentLogger, now: () => 1_700_000_000_000, upkeepMs: 3_600_000,
    podAnnotations: hook ?? ((ns, name) => PODS[`${ns}/${name}`]),
  });
  await svc.start();
  return svc;
}

async function codeOf(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await p;
    return { message: 'no error' };
  } catch (err) {
    return { code: err instanceof TortieError ? err.code : undefined, message: (err as Error).message };
  }
}

const req = (id: string, pod?: string, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ containerId: id, ifname: 'eth0', ...(pod !== undefined ? { namespace: 'default', pod } : {}), ...extra });

describe('ipam/service: fixed addresses from the pod annotation ' + POD_IPS_ANNOTATION, () => {
  // AUTO: an address the allocator chose (the node's first block, which starts at a per-node offset).
  const AUTO = ['10.96.0.192', 'fd00:96::c0'];
  const ok: { name: string; body: Record<string, unknown>; want: string[] }[] = [
    { name: 'both families from the annotation', body: req('c1', 'fixed'), want: ['10.96.0.5', 'fd00:96::5'] },
    { name: 'one family fixed (prefix length ignored), the other assigned', body: req('c1', 'fixed-v4'), want: ['10.96.0.6', AUTO[1]] },
    { name: 'the request\'s own ips win over the annotation', body: req('c1', 'fixed', { ips: ['10.96.0.50'] }), want: ['10.96.0.50', AUTO[1]] },
    { name: 'a pod without the annotation gets addresses as usual', body: req('c1', 'other-annotations'), want: AUTO },
    { name: 'a pod the hook does not know gets addresses as usual', body: req('c1', 'unknown'), want: AUTO },
    { name: 'a request without a pod identity does not ask the hook', body: req('c1'), want: AUTO },
  ];
  for (const c of ok) {
    it(c.name, async () => {
      const asked: string[] = [];
      const svc = await service((ns, name) => {
        asked.push(`${ns}/${name}`);
        return PODS[`${ns}/${name}`];
      });
      try {
        const r = await svc.assign(c.body);
        expect(r.ips.map((a) => a.address)).to.deep.equal(c.want);
        const pod = typeof c.body.pod === 'string' ? [`default/${c.body.pod}`] : [];
        expect(asked, 'the hook is asked only when the request names its pod and asks for no address').to.deep.equal(c.body.ips !== undefined ? [] : pod);
      } finally {
        await svc.stop();
      }
    });
  }

  const refused: { name: string; pod: string; code: string; says: string[] }[] = [
    { name: 'not JSON', pod: 'not-json', code: 'ERR_IPAM_ANNOTATION_BAD_REQUEST', says: ['annotation tortie.io/ip-addrs of pod default/not-json', 'is not JSON'] },
    { name: 'not a list', pod: 'not-list', code: 'ERR_IPAM_ANNOTATION_BAD_REQUEST', says: ['tortie.io/ip-addrs', 'not a non-empty list'] },
    { name: 'an empty list', pod: 'empty', code: 'ERR_IPAM_ANNOTATION_BAD_REQUEST', says: ['tortie.io/ip-addrs', 'not a non-empty list'] },
    { name: 'not an address', pod: 'not-ip', code: 'ERR_IPAM_ANNOTATION_BAD_REQUEST', says: ['tortie.io/ip-addrs', '"10.96.0.300", which is not an IP address'] },
    { name: 'two of one family', pod: 'two-v4', code: 'ERR_IPAM_ANNOTATION_BAD_REQUEST', says: ['tortie.io/ip-addrs', 'two IPv4 addresses (10.96.0.8 and 10.96.0.9)'] },
    { name: 'outside every pool', pod: 'outside', code: 'ERR_IPAM_ADDRESS_NOT_IN_POOL', says: ['annotation tortie.io/ip-addrs of pod default/outside: 192.0.2.7 is not in any IP pool'] },
    { name: 'reserved', pod: 'reserved', code: 'ERR_IPAM_ADDRESS_RESERVED', says: ['tortie.io/ip-addrs', '10.96.0.200 is reserved'] },
  ];
  for (const c of refused) {
    it(`refuses an annotation that is ${c.name} (${c.code})`, async () => {
      const svc = await service();
      try {
        const e = await codeOf(svc.assign(req('c1', c.pod)));
        expect(e.code, e.message).to.equal(c.code);
        for (const s of c.says) expect(e.message).to.include(s);
        // Nothing was allocated.
        expect((await svc.show(true)).allocations).to.deep.equal([]);
      } finally {
        await svc.stop();
      }
    });
  }

  it('refuses an address another pod holds, naming the holder and the annotation', async () => {
    const svc = await service();
    try {
      await svc.assign(req('c1', 'fixed'));
      const e = await codeOf(svc.assign(req('c2', 'taken')));
      expect(e.code).to.equal('ERR_IPAM_ADDRESS_IN_USE');
      expect(e.message).to.include('tortie.io/ip-addrs of pod default/taken').and.include('10.96.0.5 is already allocated to c1/eth0');
    } finally {
      await svc.stop();
    }
  });

  it('a retried ADD of an annotated pod gets the same addresses', async () => {
    const svc = await service();
    try {
      const a = await svc.assign(req('c1', 'fixed'));
      const b = await svc.assign(req('c1', 'fixed'));
      expect(b.ips.map((x) => x.address)).to.deep.equal(a.ips.map((x) => x.address));
    } finally {
      await svc.stop();
    }
  });

  it('a hook that fails is ERR_IPAM_ANNOTATIONS_UNAVAILABLE (try again), and nothing is allocated', async () => {
    const svc = await service(() => {
      throw new Error('the pod cache is not synced yet');
    });
    try {
      const e = await codeOf(svc.assign(req('c1', 'fixed')));
      expect(e.code).to.equal('ERR_IPAM_ANNOTATIONS_UNAVAILABLE');
      expect(e.message).to.include('default/fixed').and.include('not synced');
      expect((await svc.show(true)).allocations).to.deep.equal([]);
    } finally {
      await svc.stop();
    }
  });
});
