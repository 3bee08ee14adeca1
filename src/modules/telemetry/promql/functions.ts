import type { Labels } from '../contracts.js';
import type { Expr } from './ast.js';
import { PromqlRuntimeError } from './errors.js';
import { histogramQuantile } from './histogram.js';
import { compileAnchoredRegex, dropMetricName, isValidLabelName, METRIC_NAME } from './labels.js';
import { fillScalar, mapVector, mergeSameLabels, newSeries, type Series, type Value } from './values.js';

export interface InstantCall {
  func: string;
  args: Value[];
  argExprs: Expr[];
  /** Evaluation times (ms), one per step. */
  times: number[];
}

const MATH: Record<string, (v: number) => number> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sqrt: Math.sqrt,
};

function vec(v: Value | undefined): Series[] {
  if (v?.kind !== 'vector') throw new Error('expected an instant vector argument');
  return v.series;
}

function scal(v: Value | undefined): Float64Array {
  if (v?.kind !== 'scalar') throw new Error('expected a scalar argument');
  return v.values;
}

function str(v: Value | undefined): string {
  if (v?.kind !== 'string') throw new Error('expected a string argument');
  return v.value;
}

export function evalInstantFunction(c: InstantCall): Value {
  const n = c.times.length;
  const math = MATH[c.func];
  if (math) return { kind: 'vector', series: mapVector(vec(c.args[0]), dropMetricName, math) };
  switch (c.func) {
    case 'round': {
      const to = c.args[1] ? scal(c.args[1]) : fillScalar(n, 1);
      return { kind: 'vector', series: mapVector(vec(c.args[0]), dropMetricName, (v, i) => roundTo(v, to[i]!)) };
    }
    case 'clamp': {
      const lo = scal(c.args[1]);
      const hi = scal(c.args[2]);
      // Prometheus returns an empty vector when min > max.
      const series = mapVector(vec(c.args[0]), dropMetricName, (v, i) =>
        lo[i]! > hi[i]! ? undefined : Math.max(lo[i]!, Math.min(hi[i]!, v)),
      );
      return { kind: 'vector', series };
    }
    case 'clamp_min': {
      const lo = scal(c.args[1]);
      return { kind: 'vector', series: mapVector(vec(c.args[0]), dropMetricName, (v, i) => goMax(v, lo[i]!)) };
    }
    case 'clamp_max': {
      const hi = scal(c.args[1]);
      return { kind: 'vector', series: mapVector(vec(c.args[0]), dropMetricName, (v, i) => goMin(v, hi[i]!)) };
    }
    case 'vector': {
      const s = newSeries({}, n);
      s.values.set(scal(c.args[0]));
      s.present.fill(1);
      return { kind: 'vector', series: [s] };
    }
    case 'scalar':
      return { kind: 'scalar', values: toScalar(vec(c.args[0]), n) };
    case 'time':
      return { kind: 'scalar', values: Float64Array.from(c.times, (t) => t / 1000) };
    case 'timestamp': {
      const series = vec(c.args[0]);
      // Only a selector (possibly in parentheses) yields its samples' own timestamps; any other
      // expression's samples are stamped with the evaluation time, as in Prometheus.
      const direct = unwrapParens(c.argExprs[0]!).type === 'vectorSelector';
      const out = series.map((s) => {
        const r = newSeries(dropMetricName(s.labels), n);
        r.present.set(s.present);
        for (let i = 0; i < n; i++) if (s.present[i]) r.values[i] = (direct && s.sampleTs ? s.sampleTs[i]! : c.times[i]!) / 1000;
        return r;
      });
      return { kind: 'vector', series: mergeSameLabels(out, n) };
    }
    case 'sort':
    case 'sort_desc':
      return { kind: 'vector', series: sortByValue(vec(c.args[0]), c.func === 'sort_desc') };
    case 'label_replace':
      return { kind: 'vector', series: labelReplace(vec(c.args[0]), str(c.args[1]), str(c.args[2]), str(c.args[3]), str(c.args[4]), n) };
    case 'label_join':
      return { kind: 'vector', series: labelJoin(vec(c.args[0]), str(c.args[1]), str(c.args[2]), c.args.slice(3).map(str), n) };
    case 'absent':
      return { kind: 'vector', series: absent(vec(c.args[0]), c.argExprs[0]!, n) };
    case 'histogram_quantile':
      return { kind: 'vector', series: histogramQuantile(scal(c.args[0]), vec(c.args[1])) };
    default:
      throw new Error(`unknown function ${c.func}`);
  }
}

/** Go's math.Max/Min: NaN wins. */
function goMax(a: number, b: number): number {
  return Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : Math.max(a, b);
}

function goMin(a: number, b: number): number {
  return Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : Math.min(a, b);
}

/** round(v, to): to the nearest multiple of `to`, halves up (Go's math.Floor(v*inv + 0.5) / inv). */
function roundTo(v: number, to: number): number {
  const inv = 1 / to;
  return Math.floor(v * inv + 0.5) / inv;
}

function toScalar(series: Series[], n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let count = 0;
    let value = Number.NaN;
    for (const s of series) {
      if (!s.present[i]) continue;
      count++;
      value = s.values[i]!;
    }
    out[i] = count === 1 ? value : Number.NaN;
  }
  return out;
}

/** Only an instant query's order is observable, so sort by the first step's value. NaN sorts last. */
function sortByValue(series: Series[], desc: boolean): Series[] {
  const key = (s: Series) => s.values[0]!;
  return [...series].sort((a, b) => {
    const x = key(a);
    const y = key(b);
    if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : 1;
    if (Number.isNaN(y)) return -1;
    return desc ? y - x : x - y;
  });
}

function labelReplace(series: Series[], dst: string, replacement: string, src: string, regex: string, n: number): Series[] {
  let re: RegExp;
  try {
    re = compileAnchoredRegex(regex);
  } catch (e) {
    throw new PromqlRuntimeError(`invalid regular expression in label_replace(): ${regex}: ${(e as Error).message}`);
  }
  if (!isValidLabelName(dst)) throw new PromqlRuntimeError(`invalid destination label name in label_replace(): ${dst}`);
  const out = series.map((s): Series => {
    const m = re.exec(s.labels[src] ?? '');
    return m ? relabel(s, setLabel(s.labels, dst, expandTemplate(replacement, m))) : s;
  });
  return mergeSameLabels(out, n);
}

function labelJoin(series: Series[], dst: string, sep: string, srcs: string[], n: number): Series[] {
  if (!isValidLabelName(dst)) throw new PromqlRuntimeError(`invalid destination label name in label_join(): ${dst}`);
  for (const l of srcs) if (!isValidLabelName(l)) throw new PromqlRuntimeError(`invalid source label name in label_join(): ${l}`);
  const out = series.map((s) => relabel(s, setLabel(s.labels, dst, srcs.map((l) => s.labels[l] ?? '').join(sep))));
  return mergeSameLabels(out, n);
}

/** The same samples under new labels (the cached key is dropped with the old labels). */
function relabel(s: Series, labels: Labels): Series {
  return { labels, values: s.values, present: s.present };
}

/** An empty value deletes the label, as in Prometheus. */
function setLabel(labels: Labels, name: string, value: string): Labels {
  const { [name]: _old, ...rest } = labels;
  return value === '' ? rest : { ...rest, [name]: value };
}

/**
 * Go's Regexp.Expand: `$1`, `${1}`, `$name`, `${name}`, `$$`. A bare name is the longest run of
 * word characters, so `$1x` means group "1x" (which expands to nothing), as in Go.
 */
export function expandTemplate(template: string, m: RegExpExecArray): string {
  return template.replace(/\$(?:\$|\{(\w+)\}|(\w+))/g, (whole, braced: string | undefined, bare: string | undefined) => {
    if (whole === '$$') return '$';
    const name = (braced ?? bare)!;
    if (/^\d+$/.test(name)) return m[Number(name)] ?? '';
    return m.groups?.[name] ?? '';
  });
}

/** absent(): 1 with the selector's equality-matched labels when the argument has no sample. */
function unwrapParens(e: Expr): Expr {
  return e.type === 'paren' ? unwrapParens(e.expr) : e;
}

function absent(series: Series[], argExpr: Expr, n: number): Series[] {
  const inner = unwrapParens(argExpr);
  const labels: Labels = {};
  if (inner.type === 'vectorSelector') {
    const seen = new Set<string>();
    for (const m of inner.matchers) {
      if (m.name === METRIC_NAME) continue;
      if (m.op === '=' && !seen.has(m.name)) labels[m.name] = m.value;
      else delete labels[m.name];
      seen.add(m.name);
    }
  }
  const r = newSeries(labels, n);
  for (let i = 0; i < n; i++) {
    if (series.some((s) => s.present[i])) continue;
    r.values[i] = 1;
    r.present[i] = 1;
  }
  return r.present.includes(1) ? [r] : [];
}
