/**
 * The pure capture helpers behind tools/capture-vectors.ts: TCP reassembly
 * (retransmissions, overlaps, holes), cutting streams into BGP messages,
 * and the per-direction options negotiated from two OPENs.
 */
import { expect } from 'chai';
import {
  type OpenSummary,
  type TcpPayloadRecord,
  negotiateDirection,
  parseTsharkFields,
  readOpen,
  reassemble,
  splitMessages,
  hexToBytes,
} from '../support/bgp-capture.js';

const KEEPALIVE = 'ff'.repeat(16) + '001304';
const bytes = (hex: string): Uint8Array => hexToBytes(hex);

function rec(frame: number, seq: number, hex: string, src = '192.0.2.1'): TcpPayloadRecord {
  return { frame, timeSec: frame, stream: 0, src, srcPort: 179, dst: '192.0.2.2', dstPort: 40000, seq, payload: bytes(hex) };
}

describe('bgp-capture: reassembly', () => {
  const whole = KEEPALIVE + KEEPALIVE; // 38 octets
  const cases: { name: string; records: TcpPayloadRecord[]; data: string; missing: number }[] = [
    { name: 'in order', records: [rec(1, 1, whole.slice(0, 20)), rec(2, 11, whole.slice(20))], data: whole, missing: 0 },
    { name: 'out of order', records: [rec(2, 11, whole.slice(20)), rec(1, 1, whole.slice(0, 20))], data: whole, missing: 0 },
    { name: 'retransmitted segment', records: [rec(1, 1, whole.slice(0, 20)), rec(2, 1, whole.slice(0, 20)), rec(3, 11, whole.slice(20))], data: whole, missing: 0 },
    { name: 'overlapping retransmission', records: [rec(1, 1, whole.slice(0, 20)), rec(2, 6, whole.slice(10))], data: whole, missing: 0 },
    { name: 'hole', records: [rec(1, 1, whole.slice(0, 20)), rec(2, 16, whole.slice(30))], data: whole.slice(0, 20) + whole.slice(30), missing: 5 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const [s, ...rest] = reassemble(c.records);
      expect(rest).to.deep.equal([]);
      expect(Buffer.from(s.data).toString('hex')).to.equal(c.data);
      expect(s.missing).to.equal(c.missing);
    });
  }

  it('keeps the two directions of a stream apart', () => {
    const out = reassemble([rec(1, 1, KEEPALIVE), rec(2, 1, KEEPALIVE, '192.0.2.2')]);
    expect(out.map((s) => s.src).sort()).to.deep.equal(['192.0.2.1', '192.0.2.2']);
  });

  it('parses tshark field lines and skips segments without payload', () => {
    const line = (payload: string): string => ['7', '1.5', '3', '', '2001:db8::1', '179', '', '2001:db8::2', '40000', '1', payload].join('\t');
    const out = parseTsharkFields(`${line(KEEPALIVE)}\n${line('')}\n`);
    expect(out).to.have.length(1);
    expect(out[0]).to.include({ frame: 7, stream: 3, src: '2001:db8::1', dst: '2001:db8::2', seq: 1 });
  });
});

describe('bgp-capture: splitting messages', () => {
  const stream = (hex: string) => reassemble([rec(1, 1, hex)])[0];
  const cases: { name: string; hex: string; count: number; trailing: number; error?: RegExp }[] = [
    { name: 'two messages', hex: KEEPALIVE + KEEPALIVE, count: 2, trailing: 0 },
    { name: 'a partial message at the end', hex: KEEPALIVE + KEEPALIVE.slice(0, 30), count: 1, trailing: 15 },
    { name: 'a bad marker', hex: KEEPALIVE + '00' + KEEPALIVE.slice(2), count: 1, trailing: 19, error: /marker/ },
    { name: 'a length below the header', hex: 'ff'.repeat(16) + '001204', count: 0, trailing: 19, error: /length 18/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const out = splitMessages(stream(c.hex));
      expect(out.messages).to.have.length(c.count);
      expect(out.trailing).to.equal(c.trailing);
      if (c.error) expect(out.error).to.match(c.error);
      else expect(out.error).to.equal(undefined);
    });
  }
});

describe('bgp-capture: negotiated options per direction', () => {
  /** An OPEN with the given capabilities (code, value hex). */
  function open(myAs: number, caps: [number, string][]): OpenSummary {
    const capBytes = caps.map(([code, v]) => code.toString(16).padStart(2, '0') + (v.length / 2).toString(16).padStart(2, '0') + v).join('');
    const param = '02' + (capBytes.length / 2).toString(16).padStart(2, '0') + capBytes;
    const body = '04' + myAs.toString(16).padStart(4, '0') + '005a' + 'c0000201' + (param.length / 2).toString(16).padStart(2, '0') + param;
    const len = 19 + body.length / 2;
    return readOpen(bytes('ff'.repeat(16) + len.toString(16).padStart(4, '0') + '01' + body));
  }
  const as4 = (asn: number): [number, string] => [65, asn.toString(16).padStart(8, '0')];
  const addPath = (mode: number): [number, string] => [69, '000101' + mode.toString(16).padStart(2, '0')];

  const cases: { name: string; sender: OpenSummary; receiver: OpenSummary; want: object }[] = [
    {
      name: 'both 4-octet, eBGP',
      sender: open(65001, [as4(65001)]),
      receiver: open(23456, [as4(4200000003)]),
      want: { fourOctetAs: true, extendedMessage: false, addPath: [], external: true },
    },
    {
      name: 'one side without 4-octet AS',
      sender: open(65001, []),
      receiver: open(65002, [as4(65002)]),
      want: { fourOctetAs: false, extendedMessage: false, addPath: [], external: true },
    },
    {
      name: 'extended message needs both',
      sender: open(65000, [as4(65000), [6, '']]),
      receiver: open(65000, [as4(65000), [6, '']]),
      want: { fourOctetAs: true, extendedMessage: true, addPath: [], external: false },
    },
    {
      name: 'add-path: sender sends, receiver receives',
      sender: open(65000, [as4(65000), addPath(2)]),
      receiver: open(65000, [as4(65000), addPath(1)]),
      want: { fourOctetAs: true, extendedMessage: false, addPath: [{ afi: 1, safi: 1 }], external: false },
    },
    {
      name: 'add-path: receiver only receives, so the reverse direction has none',
      sender: open(65000, [as4(65000), addPath(1)]),
      receiver: open(65000, [as4(65000), addPath(3)]),
      want: { fourOctetAs: true, extendedMessage: false, addPath: [], external: false },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(negotiateDirection(c.sender, c.receiver)).to.deep.equal(c.want);
    });
  }
});
