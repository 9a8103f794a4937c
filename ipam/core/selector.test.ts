import { expect } from 'chai';
import { parseSelector, selectorMatches } from './selector.js';

describe('ipam/core/selector: node selectors', () => {
  const labels = { zone: 'a', 'kubernetes.io/hostname': 'node-a', gpu: '' };
  const table: [string, boolean][] = [
    ['all()', true],
    ['!all()', false],
    ['has(zone)', true],
    ['has(rack)', false],
    ['!has(rack)', true],
    ['zone == "a"', true],
    ["zone == 'b'", false],
    ['zone != "b"', true],
    ['rack != "b"', true], // absent is "not equal"
    ['rack == "b"', false],
    ['zone in {"a", "b"}', true],
    ['zone in {}', false],
    ['zone not in {"a"}', false],
    ['rack not in {"a"}', true],
    ['kubernetes.io/hostname == "node-a" && zone == "a"', true],
    ['zone == "b" || has(gpu)', true],
    ['zone == "b" || zone == "c" && has(gpu)', false], // && binds tighter
    ['(zone == "b" || zone == "a") && has(gpu)', true],
    ['!(zone == "a")', false],
  ];
  for (const [sel, want] of table) {
    it(`${sel} -> ${want}`, () => {
      const p = parseSelector(sel);
      if (!p.ok) throw new Error(p.reason);
      expect(selectorMatches(p.selector, labels)).to.equal(want);
    });
  }

  const bad: [string, string][] = [
    ['', 'is empty'],
    ['zone = "a"', 'unexpected character "="'],
    ['zone == a', 'expected a quoted value at column 9'],
    ['zone == "a', 'unterminated string'],
    ['all(', 'expected ")" at the end'],
    ['(zone == "a"', 'expected ")" at the end'],
    ['zone == "a" zone', 'expected &&, || or the end at column 13'],
    ['zone not {"a"}', 'expected "in"'],
    ['has()', 'expected a label key'],
  ];
  for (const [sel, why] of bad) {
    it(`refuses ${JSON.stringify(sel)}: ${why}`, () => {
      const p = parseSelector(sel);
      expect(p.ok).to.equal(false);
      if (!p.ok) expect(p.reason).to.include(why);
    });
  }
});
