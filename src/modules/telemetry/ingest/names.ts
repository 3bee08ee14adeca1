/**
 * Prometheus name rules (the classic, non-UTF-8 ones the rest of opsdeck and PromQL assume) and the
 * OpenTelemetry → Prometheus name translation.
 */

const Ch = { Zero: 48, Nine: 57, Colon: 58, UpperA: 65, UpperZ: 90, Underscore: 95, LowerA: 97, LowerZ: 122 } as const;

export function isLetterOrUnderscore(c: number): boolean {
  return (c >= Ch.LowerA && c <= Ch.LowerZ) || (c >= Ch.UpperA && c <= Ch.UpperZ) || c === Ch.Underscore;
}

export function isDigit(c: number): boolean {
  return c >= Ch.Zero && c <= Ch.Nine;
}

/** `[a-zA-Z_:]` — a metric name may start with a colon (recording rules), a label name may not. */
export function isMetricNameStart(c: number): boolean {
  return isLetterOrUnderscore(c) || c === Ch.Colon;
}

export function isMetricNameChar(c: number): boolean {
  return isLetterOrUnderscore(c) || isDigit(c) || c === Ch.Colon;
}

export function isLabelNameStart(c: number): boolean {
  return isLetterOrUnderscore(c);
}

export function isLabelNameChar(c: number): boolean {
  return isLetterOrUnderscore(c) || isDigit(c);
}

export function isValidMetricName(name: string): boolean {
  if (name.length === 0 || !isMetricNameStart(name.charCodeAt(0))) return false;
  for (let i = 1; i < name.length; i++) if (!isMetricNameChar(name.charCodeAt(i))) return false;
  return true;
}

export function isValidLabelName(name: string): boolean {
  if (name.length === 0 || !isLabelNameStart(name.charCodeAt(0))) return false;
  for (let i = 1; i < name.length; i++) if (!isLabelNameChar(name.charCodeAt(i))) return false;
  return true;
}

/**
 * Replaces every run of characters that `allowed` rejects, and every run of underscores, with one
 * underscore. The spec asks for both, and collapsing also means an attribute can never become a
 * reserved `__…` label.
 */
function collapseInvalid(input: string, allowed: (c: number) => boolean): string {
  let out = '';
  let lastUnderscore = false;
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c !== Ch.Underscore && allowed(c)) {
      out += input[i];
      lastUnderscore = false;
    } else if (!lastUnderscore) {
      out += '_';
      lastUnderscore = true;
    }
  }
  return out;
}

/** OTel metric name → Prometheus metric name, before unit and type suffixes. */
export function sanitizeMetricName(name: string): string {
  const out = collapseInvalid(name, isMetricNameChar);
  if (out.length === 0) return '_';
  return isDigit(out.charCodeAt(0)) ? `_${out}` : out;
}

/** OTel attribute key → Prometheus label name. Keys starting with a digit get a `key_` prefix. */
export function sanitizeLabelName(key: string): string {
  const out = collapseInvalid(key, isLabelNameChar);
  if (out.length === 0) return 'key_';
  return isDigit(out.charCodeAt(0)) ? `key_${out}` : out;
}

// UCUM units OTel instrumentation commonly uses, in the words Prometheus naming expects.
const UNIT_WORDS: Record<string, string> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tebibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '%': 'percent',
};

const PER_UNIT_WORDS: Record<string, string> = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', mo: 'month', y: 'year' };

/**
 * The Prometheus unit suffix for an OTel unit, or '' when there is none: `{packets}` annotations
 * are dropped (a count of things is unitless), `1` becomes `ratio` for gauges only (a counter of
 * ratios makes no sense), `a/b` becomes `a_per_b`.
 */
export function unitSuffix(unit: string, isGauge: boolean): string {
  const bare = unit.replace(/\{[^}]*\}/g, '').trim();
  if (bare === '') return '';
  if (bare === '1') return isGauge ? 'ratio' : '';
  const slash = bare.indexOf('/');
  if (slash >= 0) {
    const main = bare.slice(0, slash);
    const per = bare.slice(slash + 1);
    const mainWord = main === '' ? '' : cleanUnitWord(UNIT_WORDS[main] ?? main);
    const perWord = cleanUnitWord(PER_UNIT_WORDS[per] ?? UNIT_WORDS[per] ?? per);
    if (perWord === '') return mainWord;
    return mainWord === '' ? `per_${perWord}` : `${mainWord}_per_${perWord}`;
  }
  return cleanUnitWord(UNIT_WORDS[bare] ?? bare);
}

function cleanUnitWord(word: string): string {
  return collapseInvalid(word, isLabelNameChar).replace(/^_+|_+$/g, '');
}

/**
 * Full OTel → Prometheus family name: sanitised, unit appended unless the name already carries it,
 * and `_total` for counters. Histogram/summary suffixes are added by the converter per series.
 */
export function prometheusMetricName(options: { name: string; unit: string; kind: 'counter' | 'gauge' | 'histogram' | 'summary' }): string {
  let name = sanitizeMetricName(options.name);
  const suffix = unitSuffix(options.unit, options.kind === 'gauge');
  if (options.kind === 'counter' && name.endsWith('_total')) name = name.slice(0, -'_total'.length);
  if (suffix !== '' && !name.endsWith(`_${suffix}`) && name !== suffix) name = `${name}_${suffix}`;
  if (options.kind === 'counter') name = `${name}_total`;
  return name;
}
