import type { Labels } from '../contracts.js';
import type { Aggregate } from './ast.js';
import { PromqlRuntimeError } from './errors.js';
import { formatFloatF } from './format.js';
import { dropMetricName, isValidLabelName, labelsKey } from './labels.js';
import { quantile, RunningMean, RunningVariance } from './stats.js';
import { newSeries, type Series, SeriesBuilder } from './values.js';

interface Group {
  labels: Labels;
  key: string;
  members: Series[];
}

/** Output labels of a series' group: `by` keeps only the listed labels; `without` drops them and `__name__`. */
function groupLabels(labels: Labels, grouping: string[], without: boolean): Labels {
  if (without) {
    const out = dropMetricName(labels);
    if (grouping.length === 0) return out;
    const copy = { ...out };
    for (const l of grouping) delete copy[l];
    return copy;
  }
  const out: Labels = {};
  for (const l of grouping) if (labels[l] !== undefined && labels[l] !== '') out[l] = labels[l];
  return out;
}

function groupSeries(series: Series[], agg: Aggregate): Group[] {
  const groups = new Map<string, Group>();
  for (const s of series) {
    const labels = groupLabels(s.labels, agg.grouping, agg.without);
    const key = labelsKey(labels);
    let g = groups.get(key);
    if (!g) {
      g = { labels, key, members: [] };
      groups.set(key, g);
    }
    g.members.push(s);
  }
  return [...groups.values()];
}

export interface AggregateInput {
  agg: Aggregate;
  series: Series[];
  n: number;
  /** topk/bottomk/quantile parameter per step. */
  param?: Float64Array;
  /** count_values' label name. */
  label?: string;
}

export function evalAggregate(a: AggregateInput): Series[] {
  const { agg, n } = a;
  const groups = groupSeries(a.series, agg);
  if (agg.op === 'topk' || agg.op === 'bottomk') return topk(groups, a.param!, n, agg.op === 'bottomk');
  if (agg.op === 'count_values') return countValues(groups, a.label!, n);
  const out: Series[] = [];
  for (const g of groups) {
    const r = newSeries(g.labels, n, g.key);
    let any = false;
    for (let i = 0; i < n; i++) {
      const v = reduce(agg.op, g.members, i, a.param?.[i]);
      if (v === undefined) continue;
      r.values[i] = v;
      r.present[i] = 1;
      any = true;
    }
    if (any) out.push(r);
  }
  return out;
}

function reduce(op: Aggregate['op'], members: Series[], i: number, param: number | undefined): number | undefined {
  let count = 0;
  let acc = 0;
  const mean = op === 'avg' ? new RunningMean() : undefined;
  const variance = op === 'stddev' || op === 'stdvar' ? new RunningVariance() : undefined;
  const values: number[] | undefined = op === 'quantile' ? [] : undefined;
  for (const s of members) {
    if (!s.present[i]) continue;
    const v = s.values[i]!;
    count++;
    switch (op) {
      case 'sum':
        acc += v;
        break;
      case 'min':
        // NaN is replaced by any later value, so min/max are NaN only if all inputs are.
        if (count === 1 || v < acc || Number.isNaN(acc)) acc = v;
        break;
      case 'max':
        if (count === 1 || v > acc || Number.isNaN(acc)) acc = v;
        break;
      case 'avg':
        mean!.add(v);
        break;
      case 'stddev':
      case 'stdvar':
        variance!.add(v);
        break;
      case 'quantile':
        values!.push(v);
        break;
      default:
        break;
    }
  }
  if (count === 0) return undefined;
  switch (op) {
    case 'count':
      return count;
    case 'group':
      return 1;
    case 'avg':
      return mean!.mean;
    case 'stddev':
      return Math.sqrt(variance!.variance);
    case 'stdvar':
      return variance!.variance;
    case 'quantile':
      return quantile(param!, values!);
    default:
      return acc;
  }
}

/** The k largest (smallest) samples per group and step; output series keep all their labels. */
function topk(groups: Group[], param: Float64Array, n: number, bottom: boolean): Series[] {
  const builder = new SeriesBuilder(n);
  for (let i = 0; i < n; i++) {
    const kf = param[i]!;
    if (Number.isNaN(kf) || Math.abs(kf) > 2 ** 63) throw new PromqlRuntimeError(`Scalar value ${kf} overflows int64`);
    const k = Math.trunc(kf);
    if (k < 1) continue;
    for (const g of groups) {
      const present = g.members.filter((s) => s.present[i]);
      // NaN ranks below every number for both topk and bottomk, as in Prometheus.
      present.sort((x, y) => {
        const a = x.values[i]!;
        const b = y.values[i]!;
        if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
        if (Number.isNaN(b)) return -1;
        return bottom ? a - b : b - a;
      });
      for (const s of present.slice(0, k)) builder.add(s.labels, labelsKey(s.labels), i, s.values[i]!);
    }
  }
  return builder.result();
}

/** One series per distinct value (formatted like Go's %f shortest) per group, counting its samples. */
function countValues(groups: Group[], label: string, n: number): Series[] {
  if (!isValidLabelName(label)) throw new PromqlRuntimeError(`invalid label name "${label}"`);
  const builder = new SeriesBuilder(n);
  for (let i = 0; i < n; i++) {
    for (const g of groups) {
      const counts = new Map<string, number>();
      for (const s of g.members) {
        if (!s.present[i]) continue;
        const v = formatFloatF(s.values[i]!);
        counts.set(v, (counts.get(v) ?? 0) + 1);
      }
      for (const [v, c] of counts) {
        const labels = { ...g.labels, [label]: v };
        builder.add(labels, labelsKey(labels), i, c);
      }
    }
  }
  return builder.result();
}
