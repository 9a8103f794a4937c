/**
 * Label selectors (metav1.LabelSelector): matching and a canonical text form.
 *
 * The terms are ANDed: every matchLabels pair and every matchExpressions
 * requirement must hold. An empty selector matches everything.
 *   In            the key is present and its value is one of `values`
 *   NotIn         the key is absent, or its value is none of `values`
 *   Exists        the key is present
 *   DoesNotExist  the key is absent
 */
import type { LabelSelector, Labels } from './model.js';

export function matchesSelector(selector: LabelSelector, labels: Labels): boolean {
  const ml = selector.matchLabels;
  if (ml) {
    for (const key of Object.keys(ml)) {
      if (!Object.hasOwn(labels, key) || labels[key] !== ml[key]) return false;
    }
  }
  for (const req of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, req.key);
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In':
        if (!has || !values.includes(labels[req.key])) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[req.key])) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        // Unknown operators never validate (see validate.ts); be safe if one slips through.
        return false;
    }
  }
  return true;
}

/** True when the selector has no terms at all (selects everything). */
export function isEmptySelector(selector: LabelSelector): boolean {
  return Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
}

/**
 * A canonical, order-independent text for a selector: equal selectors give
 * equal text, so sets built from them can be shared. `x=1,y in (a,b)`.
 */
export function canonicalSelector(selector: LabelSelector): string {
  const terms: string[] = [];
  const ml = selector.matchLabels ?? {};
  for (const key of Object.keys(ml).sort()) terms.push(`${key}=${ml[key]}`);
  for (const req of selector.matchExpressions ?? []) {
    const values = [...new Set(req.values ?? [])].sort();
    switch (req.operator) {
      case 'In':
        terms.push(`${req.key} in (${values.join(',')})`);
        break;
      case 'NotIn':
        terms.push(`${req.key} notin (${values.join(',')})`);
        break;
      case 'Exists':
        terms.push(req.key);
        break;
      case 'DoesNotExist':
        terms.push(`!${req.key}`);
        break;
      default:
        terms.push(`?${String(req.operator)}:${req.key}`);
    }
  }
  return [...new Set(terms)].sort().join(',');
}

/** Human-readable form for `show`: `{}` for the empty selector. */
export function describeSelector(selector: LabelSelector): string {
  const text = canonicalSelector(selector);
  return text === '' ? '{}' : text;
}
