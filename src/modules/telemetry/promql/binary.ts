import type { Labels } from '../contracts.js';
import type { Binary, BinaryOp, VectorMatching } from './ast.js';
import { isComparison } from './ast.js';
import { PromqlRuntimeError } from './errors.js';
import { dropMetricName, labelsKey, labelsString, METRIC_NAME, signature } from './labels.js';
import { keyOf, mergeSameLabels, newSeries, type Series, SeriesBuilder, type Value } from './values.js';

/** Go's math.Pow special cases that differ from JS: x^0 = 1 and 1^y = 1 even for NaN, (-1)^±Inf = 1. */
function goPow(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  if (x === -1 && !Number.isFinite(y) && !Number.isNaN(y)) return 1;
  return x ** y;
}

/** Result of `lhs op rhs` and whether a comparison keeps the sample (its value is then lhs). */
export function applyOp(op: BinaryOp, l: number, r: number): [number, boolean] {
  switch (op) {
    case '+':
      return [l + r, true];
    case '-':
      return [l - r, true];
    case '*':
      return [l * r, true];
    case '/':
      return [l / r, true];
    case '%':
      return [l % r, true];
    case '^':
      return [goPow(l, r), true];
    case '==':
      return [l, l === r];
    case '!=':
      return [l, l !== r];
    case '>':
      return [l, l > r];
    case '<':
      return [l, l < r];
    case '>=':
      return [l, l >= r];
    case '<=':
      return [l, l <= r];
    default:
      throw new Error(`operator ${op} is not arithmetic or comparison`);
  }
}

function dropsName(op: BinaryOp, bool: boolean): boolean {
  return !isComparison(op) || bool;
}

export function scalarScalar(bin: Binary, l: Float64Array, r: Float64Array): Value {
  const values = new Float64Array(l.length);
  for (let i = 0; i < l.length; i++) {
    const [v, keep] = applyOp(bin.op, l[i]!, r[i]!);
    values[i] = isComparison(bin.op) ? (keep ? 1 : 0) : v;
  }
  return { kind: 'scalar', values };
}

/** vector op scalar (or scalar op vector when `scalarLeft`); comparisons filter and keep the vector's value. */
export function vectorScalar(bin: Binary, series: Series[], scalar: Float64Array, scalarLeft: boolean): Series[] {
  const n = scalar.length;
  const drop = dropsName(bin.op, bin.bool);
  const out: Series[] = [];
  for (const s of series) {
    const r = newSeries(drop ? dropMetricName(s.labels) : s.labels, n);
    let any = false;
    for (let i = 0; i < n; i++) {
      if (!s.present[i]) continue;
      const sv = s.values[i]!;
      let [v, keep] = scalarLeft ? applyOp(bin.op, scalar[i]!, sv) : applyOp(bin.op, sv, scalar[i]!);
      if (isComparison(bin.op)) v = sv;
      if (bin.bool) {
        v = keep ? 1 : 0;
        keep = true;
      }
      if (!keep) continue;
      r.values[i] = v;
      r.present[i] = 1;
      any = true;
    }
    if (any) out.push(r);
  }
  return mergeSameLabels(out, n);
}

/** Result labels of a vector/vector operation, computed from the "many" side and the "one" side. */
function resultLabels(many: Labels, one: Labels, bin: Binary, m: VectorMatching): Labels {
  let out: Labels = dropsName(bin.op, bin.bool) ? dropMetricName(many) : { ...many };
  if (m.card === 'one-to-one') {
    if (m.on) {
      const kept: Labels = {};
      for (const l of m.labels) if (out[l] !== undefined) kept[l] = out[l];
      out = kept;
    } else {
      out = { ...out };
      for (const l of m.labels) delete out[l];
    }
  }
  for (const l of m.include) {
    const v = one[l];
    if (v !== undefined && v !== '') out[l] = v;
    else delete out[l];
  }
  return out;
}

function matchedLabelsString(labels: Labels, m: VectorMatching): string {
  const out: Labels = {};
  if (m.on) {
    for (const l of m.labels) if (labels[l] !== undefined) out[l] = labels[l];
  } else {
    for (const [k, v] of Object.entries(labels)) if (k !== METRIC_NAME && !m.labels.includes(k)) out[k] = v;
  }
  return labelsString(out);
}

/** Arithmetic and comparison between two vectors: one-to-one or many-to-one/one-to-many matching per step. */
export function vectorVector(bin: Binary, lhs: Series[], rhs: Series[], n: number): Series[] {
  const m = bin.matching!;
  const sig = (s: Series) => signature(s.labels, m.on, m.labels);
  // With group_right the right side is the "many" side: swap and remember to swap values back.
  const swapped = m.card === 'one-to-many';
  const many = swapped ? rhs : lhs;
  const one = swapped ? lhs : rhs;
  const manySigs = many.map(sig);
  const oneSigs = one.map(sig);
  const labelCache = new Map<string, { labels: Labels; key: string }>();
  const builder = new SeriesBuilder(n);
  for (let i = 0; i < n; i++) {
    const oneBySig = new Map<string, number>();
    one.forEach((s, j) => {
      if (!s.present[i]) return;
      const prev = oneBySig.get(oneSigs[j]!);
      if (prev !== undefined) {
        throw new PromqlRuntimeError(
          `found duplicate series for the match group ${matchedLabelsString(s.labels, m)} on the ${swapped ? 'left' : 'right'} hand-side of the operation: ` +
            `[${labelsString(s.labels)}, ${labelsString(one[prev]!.labels)}];many-to-many matching not allowed: matching labels must be unique on one side`,
        );
      }
      oneBySig.set(oneSigs[j]!, j);
    });
    const matched = new Map<string, Set<string> | null>();
    many.forEach((s, j) => {
      if (!s.present[i]) return;
      const sg = manySigs[j]!;
      const oj = oneBySig.get(sg);
      if (oj === undefined) return;
      const o = one[oj]!;
      const [l, r] = swapped ? [o.values[i]!, s.values[i]!] : [s.values[i]!, o.values[i]!];
      let [v, keep] = applyOp(bin.op, l, r);
      if (bin.bool) {
        v = keep ? 1 : 0;
        keep = true;
      }
      if (!keep) return;
      const cacheKey = `${j}:${oj}`;
      let res = labelCache.get(cacheKey);
      if (!res) {
        const labels = resultLabels(s.labels, o.labels, bin, m);
        res = { labels, key: labelsKey(labels) };
        labelCache.set(cacheKey, res);
      }
      const seen = matched.get(sg);
      if (m.card === 'one-to-one') {
        if (seen !== undefined)
          throw new PromqlRuntimeError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
        matched.set(sg, null);
      } else {
        const set = seen ?? new Set<string>();
        if (set.has(res.key)) throw new PromqlRuntimeError('multiple matches for labels: grouping labels must ensure unique matches');
        set.add(res.key);
        matched.set(sg, set);
      }
      builder.add(res.labels, res.key, i, v);
    });
  }
  return builder.result();
}

/** and / or / unless: filter by matching signature per step; samples keep their labels and values. */
export function setOperation(bin: Binary, lhs: Series[], rhs: Series[], n: number): Series[] {
  const m = bin.matching!;
  const sig = (s: Series) => signature(s.labels, m.on, m.labels);
  const lSigs = lhs.map(sig);
  const rSigs = rhs.map(sig);
  const builder = new SeriesBuilder(n);
  for (let i = 0; i < n; i++) {
    const rightAt = new Set<string>();
    rhs.forEach((s, j) => {
      if (s.present[i]) rightAt.add(rSigs[j]!);
    });
    const leftAt = new Set<string>();
    lhs.forEach((s, j) => {
      if (!s.present[i]) return;
      leftAt.add(lSigs[j]!);
      const inRight = rightAt.has(lSigs[j]!);
      if (bin.op === 'or' || (bin.op === 'and' && inRight) || (bin.op === 'unless' && !inRight))
        builder.add(s.labels, keyOf(s), i, s.values[i]!);
    });
    if (bin.op === 'or') {
      rhs.forEach((s, j) => {
        if (s.present[i] && !leftAt.has(rSigs[j]!)) builder.add(s.labels, keyOf(s), i, s.values[i]!);
      });
    }
  }
  return builder.result();
}
