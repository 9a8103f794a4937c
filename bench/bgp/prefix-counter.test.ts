import { expect } from 'chai';
import {
  AttrType, DEFAULT_CODEC_OPTIONS, decodeMessage, encodeMessage, MessageFramer, MessageType, packWithdrawals, IPV4_UNICAST,
  type UpdateMessage,
} from '../../bgp/codec/index.js';
import { hasCode } from '../../lib/errors.js';
import { buildAnnouncement } from './announcement.js';
import { PrefixCounter } from './prefix-counter.js';

const opts = DEFAULT_CODEC_OPTIONS;

function frames(bytes: Uint8Array): Uint8Array[] {
  return new MessageFramer().push(bytes);
}

function update(u: Partial<UpdateMessage>): Uint8Array {
  return encodeMessage({ type: MessageType.Update, withdrawn: [], attributes: [], nlri: [], ...u }, opts);
}

const nh = { type: AttrType.NextHop, flags: 0x40, nextHop: '192.0.2.2' } as const;

describe('bench/bgp PrefixCounter', () => {
  const cases: { name: string; messages: Uint8Array[]; count: number; entries: number }[] = [
    {
      name: 'counts distinct announced prefixes',
      messages: [update({ attributes: [nh], nlri: [{ prefix: '10.0.0.0/24' }, { prefix: '10.0.1.0/24' }, { prefix: '0.0.0.0/0' }] })],
      count: 3,
      entries: 3,
    },
    {
      name: 'an implicit replacement is not counted twice',
      messages: [
        update({ attributes: [nh], nlri: [{ prefix: '10.0.0.0/24' }] }),
        update({ attributes: [nh], nlri: [{ prefix: '10.0.0.0/24' }, { prefix: '10.0.0.0/25' }] }),
      ],
      count: 2,
      entries: 3,
    },
    {
      name: 'withdrawals subtract, withdrawing the unknown does not',
      messages: [
        update({ attributes: [nh], nlri: [{ prefix: '10.0.0.0/24' }, { prefix: '10.0.0.1/32' }, { prefix: '10.0.0.2/32' }] }),
        update({ withdrawn: [{ prefix: '10.0.0.0/24' }, { prefix: '10.0.0.1/32' }, { prefix: '172.16.0.0/12' }] }),
      ],
      count: 1,
      entries: 6,
    },
    {
      name: 'IPv4 unicast in MP_REACH_NLRI and MP_UNREACH_NLRI',
      messages: [
        update({
          attributes: [
            { type: AttrType.MpReachNlri, flags: 0x90, afi: 1, safi: 1, nextHops: ['192.0.2.2'], nlri: [{ prefix: '10.1.0.0/16' }, { prefix: '10.2.0.0/16' }] },
          ],
        }),
        update({ attributes: [{ type: AttrType.MpUnreachNlri, flags: 0x90, afi: 1, safi: 1, withdrawn: [{ prefix: '10.1.0.0/16' }] }] }),
      ],
      count: 1,
      entries: 3,
    },
    {
      name: 'End-of-RIB changes nothing',
      messages: [update({})],
      count: 0,
      entries: 0,
    },
    {
      name: 'a packed table of 5000 /24s followed by packed withdrawals of 2000',
      messages: [
        ...frames(buildAnnouncement({ count: 5000, asn: 65101, nextHop: '192.0.2.2' }).bytes),
        // The announcement's first 2000 prefixes: 16.0.0.0/24, 16.0.1.0/24, …
        ...packWithdrawals(IPV4_UNICAST, Array.from({ length: 2000 }, (_, i) => ({ prefix: `16.${i >> 8}.${i & 255}.0/24` })), opts),
      ],
      count: 3000,
      entries: 7000,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const counter = new PrefixCounter();
      for (const m of c.messages) counter.applyUpdate(m);
      expect(counter.count).to.equal(c.count);
      expect(counter.entries).to.equal(c.entries);
    });
  }

  it('gives the same result after prepare()', () => {
    const counter = new PrefixCounter();
    counter.prepare();
    counter.applyUpdate(update({ attributes: [nh], nlri: [{ prefix: '10.0.0.0/8' }, { prefix: '10.0.0.0/8' }] }));
    expect(counter.count).to.equal(1);
  });

  const malformed: { name: string; frame: Uint8Array }[] = [
    { name: 'prefix length above 32', frame: patch(update({ attributes: [nh], nlri: [{ prefix: '10.0.0.0/24' }] }), -4, 33) },
    { name: 'prefix overruns the message', frame: patch(update({ attributes: [nh], nlri: [{ prefix: '10.0.0.0/24' }] }), -4, 32) },
    { name: 'withdrawn length overruns the message', frame: patch(update({}), 20, 200) },
    { name: 'not an UPDATE', frame: encodeMessage({ type: MessageType.Keepalive }, opts) },
  ];
  for (const m of malformed) {
    it(`rejects a malformed UPDATE: ${m.name}`, () => {
      expect(() => new PrefixCounter().applyUpdate(m.frame)).to.throw().that.satisfies((e: unknown) => hasCode(e, 'ERR_BENCH_BAD_UPDATE'));
    });
  }
});

describe('bench/bgp buildAnnouncement', () => {
  for (const count of [1, 1000, 20_000]) {
    it(`${count} prefixes decode with the codec to the same table`, () => {
      const { bytes, messages } = buildAnnouncement({ count, asn: 65101, nextHop: '192.0.2.2' });
      const all = frames(bytes);
      expect(all).to.have.length(messages);
      const prefixes = new Set<string>();
      for (const f of all) {
        expect(f.length).to.be.at.most(4096);
        const m = decodeMessage(f, opts);
        if (m.type !== MessageType.Update) throw new Error('not an UPDATE');
        expect(m.errors).to.equal(undefined);
        for (const n of m.nlri) prefixes.add(n.prefix);
      }
      expect(prefixes.size).to.equal(count);
      expect(prefixes.has('16.0.0.0/24')).to.equal(true);
      // The last message is End-of-RIB: no attributes, no NLRI.
      expect(all[all.length - 1].length).to.equal(23);
      const counter = new PrefixCounter();
      for (const f of all) counter.applyUpdate(f);
      expect(counter.count).to.equal(count);
    });
  }

  it('rejects a table that does not fit the address space', () => {
    expect(() => buildAnnouncement({ count: 257, asn: 65101, nextHop: '192.0.2.2', prefixBase: '255.255.0.0' })).to.throw()
      .that.satisfies((e: unknown) => hasCode(e, 'ERR_BENCH_USAGE'));
  });
});

/** A copy of `frame` with the octet at `at` (negative: from the end) set to `value`. */
function patch(frame: Uint8Array, at: number, value: number): Uint8Array {
  const out = frame.slice();
  out[at < 0 ? out.length + at : at] = value;
  return out;
}
