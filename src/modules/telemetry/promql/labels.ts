import type { LabelMatcher, Labels } from '../contracts.js';

export const METRIC_NAME = '__name__';

const SEP = '\xff';

/** A stable identity for a label set (names sorted), used as a map key. */
export function labelsKey(labels: Labels): string {
  const names = Object.keys(labels).sort();
  let key = '';
  for (const n of names) key += `${n}${SEP}${labels[n]}${SEP}`;
  return key;
}

/** Key over only the given label names (`on(...)`), or over all but them and `__name__` (`ignoring(...)`). */
export function signature(labels: Labels, on: boolean, names: string[]): string {
  if (on) {
    let key = '';
    for (const n of [...names].sort()) key += `${n}${SEP}${labels[n] ?? ''}${SEP}`;
    return key;
  }
  const skip = new Set(names);
  skip.add(METRIC_NAME);
  let key = '';
  for (const n of Object.keys(labels).sort()) if (!skip.has(n)) key += `${n}${SEP}${labels[n]}${SEP}`;
  return key;
}

export function dropMetricName(labels: Labels): Labels {
  if (!(METRIC_NAME in labels)) return labels;
  const { [METRIC_NAME]: _dropped, ...rest } = labels;
  return rest;
}

/** Prometheus' labels.Compare: pairwise by name then value over sorted names; shorter first. */
export function compareLabels(a: Labels, b: Labels): number {
  const an = Object.keys(a).sort();
  const bn = Object.keys(b).sort();
  const n = Math.min(an.length, bn.length);
  for (let i = 0; i < n; i++) {
    const x = an[i]!;
    const y = bn[i]!;
    if (x !== y) return x < y ? -1 : 1;
    const xv = a[x]!;
    const yv = b[y]!;
    if (xv !== yv) return xv < yv ? -1 : 1;
  }
  return an.length - bn.length;
}

/** Go's labels.String(): `{a="b", c="d"}` with names sorted. */
export function labelsString(labels: Labels): string {
  const parts = Object.keys(labels)
    .sort()
    .map((n) => `${n}=${JSON.stringify(labels[n])}`);
  return `{${parts.join(', ')}}`;
}

const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function isValidLabelName(name: string): boolean {
  return LABEL_NAME_RE.test(name);
}

/**
 * Compiles a Go RE2 pattern as a fully anchored JS regex, as Prometheus anchors label regexes.
 * Translates the few RE2 spellings JS lacks: `(?P<name>` groups and leading inline flags.
 */
export function compileAnchoredRegex(pattern: string): RegExp {
  let source = pattern.replace(/\(\?P</g, '(?<');
  let flags = '';
  const lead = /^\(\?([imsU]+)\)/.exec(source);
  if (lead) {
    if (lead[1]!.includes('i')) flags += 'i';
    if (lead[1]!.includes('s')) flags += 's';
    if (lead[1]!.includes('m')) flags += 'm';
    source = source.slice(lead[0].length);
  }
  return new RegExp(`^(?:${source})$`, flags);
}

/** A matcher as a predicate on a label value (absent labels match as the empty string). */
export function matcherPredicate(m: LabelMatcher): (value: string) => boolean {
  switch (m.op) {
    case '=':
      return (v) => v === m.value;
    case '!=':
      return (v) => v !== m.value;
    case '=~': {
      const re = compileAnchoredRegex(m.value);
      return (v) => re.test(v);
    }
    case '!~': {
      const re = compileAnchoredRegex(m.value);
      return (v) => !re.test(v);
    }
  }
}
