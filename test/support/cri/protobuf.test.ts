/**
 * The hand-written protobuf codec and gRPC framing behind the runtime
 * tests' CRI client. Vectors are worked out from the protobuf encoding spec
 * and api.proto's field numbers; a wrong field number or wire type here would
 * make containerd reject (or silently misread) every request.
 */
import { expect } from 'chai';
import { hasCode } from '../../../lib/errors.js';
import { frameMessage, unframeMessages } from './grpc-unary.js';
import { decodeFields, encodeVarint, ProtoMessage, ProtoWriter } from './protobuf.js';
import {
  decodeListPodSandboxResponse,
  decodePodSandboxStatusResponse,
  encodeListPodSandboxRequest,
  encodePodSandboxStatusRequest,
  encodeRunPodSandboxRequest,
  encodeVersionRequest,
  PodSandboxState,
} from './runtime-v1.js';

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function fromHex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}

describe('cri protobuf: varints', function () {
  const cases: [bigint, string][] = [
    [0n, '00'],
    [1n, '01'],
    [127n, '7f'],
    [128n, '8001'],
    [300n, 'ac02'],
    [2n ** 63n, '80808080808080808001'],
  ];
  for (const [value, expected] of cases) {
    it(`${value} <-> ${expected}`, function () {
      expect(hex(encodeVarint(value))).to.equal(expected);
      // field 1, varint
      expect(new ProtoMessage(fromHex(`08${expected}`)).varint(1)).to.equal(value);
    });
  }

  it('negative int64 is written as its 10-byte two\'s complement', function () {
    expect(hex(new ProtoWriter().varint(1, -1).finish())).to.equal('08ffffffffffffffffff01');
  });
});

describe('cri protobuf: runtime.v1 requests', function () {
  const cases: { name: string; bytes: Uint8Array; expected: string }[] = [
    // VersionRequest{version=1:"v1"}
    { name: 'VersionRequest', bytes: encodeVersionRequest('v1'), expected: '0a 02 7631' },
    // PodSandboxStatusRequest{pod_sandbox_id=1:"ab", verbose=2:true}
    { name: 'PodSandboxStatusRequest verbose', bytes: encodePodSandboxStatusRequest('ab', true), expected: '0a 02 6162  10 01' },
    // verbose=false is the default: left out
    { name: 'PodSandboxStatusRequest', bytes: encodePodSandboxStatusRequest('ab', false), expected: '0a 02 6162' },
    // ListPodSandboxRequest{} (no filter)
    { name: 'ListPodSandboxRequest, no filter', bytes: encodeListPodSandboxRequest(), expected: '' },
    // filter=1{state=2{state=1: 0 (READY)}}: the wrapper is present even though its value is the default
    { name: 'ListPodSandboxRequest, READY', bytes: encodeListPodSandboxRequest({ state: PodSandboxState.SandboxReady }), expected: '0a 02 1200' },
    {
      name: 'RunPodSandboxRequest',
      bytes: encodeRunPodSandboxRequest({
        metadata: { name: 'p', uid: 'u', namespace: 'n', attempt: 1 },
        hostname: 'h',
        labels: { b: '2', a: '1' },
        linux: { cgroupParent: '/c' },
      }),
      // config=1{ metadata=1{name=1 "p", uid=2 "u", namespace=3 "n", attempt=4 1}, hostname=2 "h",
      //           labels=6 {key=1 "a", value=2 "1"} {key "b", value "2"} (sorted),
      //           linux=8{ cgroup_parent=1 "/c", security_context=2{ namespace_options=1{} } } }
      expected:
        '0a 2a' +
        ' 0a 0b 0a0170 120175 1a016e 2001' +
        ' 12 01 68' +
        ' 32 06 0a0161 120131' +
        ' 32 06 0a0162 120132' +
        ' 42 08 0a022f63 1202 0a00',
    },
  ];
  for (const c of cases) {
    it(c.name, function () {
      expect(hex(c.bytes)).to.equal(c.expected.replace(/\s+/g, ''));
    });
  }
});

describe('cri protobuf: runtime.v1 responses', function () {
  it('PodSandboxStatusResponse: status, network, nested metadata, info map, unknown fields skipped', function () {
    const bytes = new ProtoWriter()
      .message(1, (s) =>
        s
          .string(1, 'id1')
          .message(2, (m) => m.string(1, 'pod').string(3, 'ns'))
          .varint(3, 1)
          .varint(4, 1_700_000_000_123_456_789n)
          .message(5, (n) => n.string(1, '10.0.0.5').message(2, (p) => p.string(1, 'fd00::5')))
          .varint(99, 7),
      )
      .stringMap(2, { info: '{"pid":1}' })
      .varint(4, 42)
      .finish();
    const r = decodePodSandboxStatusResponse(bytes);
    expect(r.status?.id).to.equal('id1');
    expect(r.status?.metadata).to.deep.equal({ name: 'pod', uid: '', namespace: 'ns', attempt: 0 });
    expect(r.status?.state).to.equal(PodSandboxState.SandboxNotReady);
    expect(r.status?.createdAtNs).to.equal(1_700_000_000_123_456_789n);
    expect(r.status?.ip).to.equal('10.0.0.5');
    expect(r.status?.additionalIps).to.deep.equal(['fd00::5']);
    expect(r.info).to.deep.equal({ info: '{"pid":1}' });
  });

  it('ListPodSandboxResponse: repeated items', function () {
    const bytes = new ProtoWriter()
      .message(1, (p) => p.string(1, 'a').stringMap(5, { k: 'v' }))
      .message(1, (p) => p.string(1, 'b').varint(3, 1))
      .finish();
    const items = decodeListPodSandboxResponse(bytes);
    expect(items.map((i) => [i.id, i.state, i.labels])).to.deep.equal([
      ['a', PodSandboxState.SandboxReady, { k: 'v' }],
      ['b', PodSandboxState.SandboxNotReady, {}],
    ]);
  });
});

describe('cri protobuf: malformed input is a typed error', function () {
  const cases: [string, string][] = [
    ['truncated varint', '08 80'],
    ['length past the end', '0a 05 6162'],
    ['field number 0', '00 01'],
    ['wire type 3 (group)', '0b'],
    ['varint longer than 10 bytes', '08 ffffffffffffffffffff01'],
  ];
  for (const [name, bytes] of cases) {
    it(name, function () {
      let caught: unknown;
      try {
        decodeFields(fromHex(bytes));
      } catch (err) {
        caught = err;
      }
      expect(hasCode(caught, 'ERR_PROTO_DECODE'), String(caught)).to.equal(true);
    });
  }

  it('a field read with the wrong wire type', function () {
    let caught: unknown;
    try {
      new ProtoMessage(fromHex('08 01')).string(1);
    } catch (err) {
      caught = err;
    }
    expect(hasCode(caught, 'ERR_PROTO_DECODE'), String(caught)).to.equal(true);
  });
});

describe('cri grpc: length-prefixed framing', function () {
  it('frames and unframes messages', function () {
    const framed = Buffer.concat([frameMessage(fromHex('0a0161')), frameMessage(new Uint8Array())]);
    expect(framed.toString('hex')).to.equal('00000000030a0161' + '0000000000');
    expect(unframeMessages(framed).map(hex)).to.deep.equal(['0a0161', '']);
  });

  const bad: [string, string, string][] = [
    ['a compressed message', '0100000000', 'ERR_GRPC_FRAME'],
    ['a truncated header', '000000', 'ERR_GRPC_FRAME'],
    ['a truncated body', '00000000050a', 'ERR_GRPC_FRAME'],
  ];
  for (const [name, bytes, code] of bad) {
    it(`rejects ${name}`, function () {
      let caught: unknown;
      try {
        unframeMessages(Buffer.from(bytes, 'hex'));
      } catch (err) {
        caught = err;
      }
      expect(hasCode(caught, code), String(caught)).to.equal(true);
    });
  }
});
