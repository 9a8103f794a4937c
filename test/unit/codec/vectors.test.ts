import { expect } from 'chai';
import {
  BgpError, DEFAULT_CODEC_OPTIONS, decodeMessage, encodeMessage, errorActionName, MessageFramer, toHex,
  type CodecOptions, type UpdateMessage,
} from '../../../bgp/codec/index.js';
import { bytes } from './hex.js';
import { MALFORMED_VECTORS } from './malformed-vectors.js';
import { VALID_VECTORS } from './valid-vectors.js';

function options(partial?: Partial<CodecOptions>): CodecOptions {
  return { ...DEFAULT_CODEC_OPTIONS, ...partial };
}

describe('codec: valid vectors round-trip byte-identically', () => {
  for (const v of VALID_VECTORS) {
    it(v.name, () => {
      const wire = bytes(v.hex);
      const opts = options(v.opts);
      const m = decodeMessage(wire, opts);
      v.check(m);
      expect(toHex(encodeMessage(m, opts))).to.equal(toHex(wire));
      // Through the framer, split into small chunks, the same message comes out.
      const framer = new MessageFramer({ extendedMessage: opts.extendedMessage });
      const frames: Uint8Array[] = [];
      for (let i = 0; i < wire.length; i += 7) frames.push(...framer.push(wire.subarray(i, i + 7)));
      expect(frames.map(toHex)).to.deep.equal([toHex(wire)]);
    });
  }
});

describe('codec: malformed vectors give the exact {code, subcode, action}', () => {
  it('has at least 40 vectors covering every RFC 7606 action', () => {
    expect(MALFORMED_VECTORS.length).to.be.at.least(40);
    const actions = new Set(MALFORMED_VECTORS.map((v) => v.action));
    expect([...actions].map(errorActionName).sort()).to.deep.equal(
      ['afi-safi-disable', 'attribute-discard', 'session-reset', 'treat-as-withdraw']);
  });

  for (const v of MALFORMED_VECTORS) {
    it(`${v.name} -> ${v.code}/${v.subcode} ${errorActionName(v.action)} (RFC ${v.rfc})`, () => {
      const wire = bytes(v.hex);
      const opts = options(v.opts);
      let outcome: { code: number; subcode: number; action: number } | undefined;
      let update: UpdateMessage | undefined;
      try {
        if (v.frame) {
          const framer = new MessageFramer({ extendedMessage: opts.extendedMessage });
          for (const f of framer.push(wire)) decodeMessage(f, opts);
        } else {
          update = decodeMessage(wire, opts) as UpdateMessage;
        }
      } catch (err) {
        expect(err).to.be.instanceOf(BgpError);
        outcome = (err as BgpError).outcome();
      }
      if (!outcome) {
        expect(update?.errors, 'expected RFC 7606 problems').to.not.equal(undefined);
        const errors = update!.errors!;
        expect(errors.action).to.equal(v.action);
        const worst = errors.problems.find((p) => p.action === errors.action)!;
        outcome = { code: worst.code, subcode: worst.subcode, action: errors.action };
        if (v.attrType !== undefined) expect(worst.attrType).to.equal(v.attrType);
        if (v.family !== undefined) expect(worst.family).to.equal(v.family);
      }
      expect(outcome).to.deep.equal({ code: v.code, subcode: v.subcode, action: v.action });
    });
  }
});
