import { expect } from 'chai';
import { formatCommunity, parseCommunity } from '../../../bgp/codec/index.js';

describe('codec: community text', () => {
  const cases: [string, number | undefined][] = [
    ['65000:100', 0xfde80064], ['0:0', 0], ['65535:65535', 0xffffffff], ['no-export', 0xffffff01], ['blackhole', 0xffff029a],
    ['65536:1', undefined], ['1:65536', undefined], ['1', undefined], ['a:b', undefined], ['', undefined],
    // Regression: names inherited from Object.prototype were taken for well-known communities.
    ['toString', undefined], ['constructor', undefined], ['__proto__', undefined],
  ];
  for (const [text, want] of cases) it(`parses ${JSON.stringify(text)} as ${String(want)}`, () => expect(parseCommunity(text)).to.equal(want));
  it('formats as asn:value', () => expect(formatCommunity(0xfde80064)).to.equal('65000:100'));
});
