import type { LabelMatcher, Labels } from '../contracts.js';

const compiled = new Map<string, RegExp>();

/** Prometheus regexes are fully anchored. Compiled once per pattern. */
export function anchored(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    re = new RegExp(`^(?:${pattern})$`, 's');
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(pattern, re);
  }
  return re;
}

/** A missing label matches as the empty string, as in Prometheus. */
export function matches(labels: Labels, m: LabelMatcher): boolean {
  const value = labels[m.name] ?? '';
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return anchored(m.value).test(value);
    case '!~':
      return !anchored(m.value).test(value);
  }
}

export function matchesAll(labels: Labels, matchers: LabelMatcher[]): boolean {
  for (const m of matchers) if (!matches(labels, m)) return false;
  return true;
}
