import { expect } from 'chai';
import { canonicalSelector, matchesSelector } from './selector.js';
import type { LabelSelector, Labels } from './model.js';

const L: Labels = { app: 'web', tier: 'front', env: '' };

describe('label selectors', () => {
  const rows: [string, LabelSelector, boolean][] = [
    ['empty selector matches everything', {}, true],
    ['matchLabels hit', { matchLabels: { app: 'web' } }, true],
    ['matchLabels all must hold', { matchLabels: { app: 'web', tier: 'back' } }, false],
    ['matchLabels empty value is a value', { matchLabels: { env: '' } }, true],
    ['matchLabels on a missing key', { matchLabels: { zone: 'a' } }, false],
    ['In hit', { matchExpressions: [{ key: 'app', operator: 'In', values: ['api', 'web'] }] }, true],
    ['In miss', { matchExpressions: [{ key: 'app', operator: 'In', values: ['api'] }] }, false],
    ['In on a missing key', { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, false],
    ['NotIn hit', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['api'] }] }, true],
    ['NotIn miss', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, false],
    ['NotIn on a missing key matches', { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, true],
    ['Exists', { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, true],
    ['Exists on a missing key', { matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, false],
    ['DoesNotExist', { matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, true],
    ['DoesNotExist on a present key', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, false],
    ['labels and expressions are ANDed', { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, false],
    ['an unknown operator never matches', { matchExpressions: [{ key: 'app', operator: 'Near' as 'In', values: ['web'] }] }, false],
  ];
  for (const [name, sel, want] of rows) it(name, () => expect(matchesSelector(sel, L)).to.equal(want));

  it('does not match inherited properties', () => {
    expect(matchesSelector({ matchExpressions: [{ key: 'toString', operator: 'Exists' }] }, {})).to.equal(false);
  });

  it('canonical form is order-independent and distinguishes meanings', () => {
    const a = canonicalSelector({ matchLabels: { b: '2', a: '1' }, matchExpressions: [{ key: 'x', operator: 'In', values: ['q', 'p'] }] });
    const b = canonicalSelector({ matchExpressions: [{ key: 'x', operator: 'In', values: ['p', 'q', 'p'] }], matchLabels: { a: '1', b: '2' } });
    expect(a).to.equal(b);
    expect(canonicalSelector({ matchExpressions: [{ key: 'x', operator: 'Exists' }] })).to.not.equal(canonicalSelector({ matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] }));
    expect(canonicalSelector({})).to.equal('');
  });
});
