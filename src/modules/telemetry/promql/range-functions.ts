import type { RawSeries } from '../contracts.js';
import { dropMetricName } from './labels.js';
import { forEachWindow, type Window } from './selectors.js';
import { quantile, RunningMean, RunningVariance } from './stats.js';
import { mergeSameLabels, newSeries, type Series } from './values.js';

/** A function over one window of samples; undefined drops the series at that step. */
type WindowFn = (w: Window, step: number) => number | undefined;

export const RANGE_FUNCTIONS: ReadonlySet<string> = new Set([
  'rate',
  'irate',
  'increase',
  'delta',
  'idelta',
  'avg_over_time',
  'min_over_time',
  'max_over_time',
  'sum_over_time',
  'count_over_time',
  'last_over_time',
  'quantile_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'present_over_time',
]);

export interface RangeCall {
  func: string;
  raw: RawSeries[];
  times: number[];
  offsetMs: number;
  rangeMs: number;
  /** quantile_over_time's φ per step. */
  param?: Float64Array;
}

export function evalRangeFunction(c: RangeCall): Series[] {
  const fn = windowFn(c);
  const n = c.times.length;
  const out: Series[] = [];
  for (const r of c.raw) {
    // Prometheus 2.x keeps the metric name for last_over_time only (it returns samples unchanged).
    const s = newSeries(c.func === 'last_over_time' ? r.labels : dropMetricName(r.labels), n);
    let any = false;
    forEachWindow(r, c.times, c.offsetMs, c.rangeMs, (w, step) => {
      const v = fn(w, step);
      if (v === undefined) return;
      s.values[step] = v;
      s.present[step] = 1;
      any = true;
    });
    if (any) out.push(s);
  }
  return mergeSameLabels(out, n);
}

function windowFn(c: RangeCall): WindowFn {
  const rangeSec = c.rangeMs / 1000;
  switch (c.func) {
    case 'rate':
      return (w) => extrapolatedRate(w, rangeSec, true, true);
    case 'increase':
      return (w) => extrapolatedRate(w, rangeSec, true, false);
    case 'delta':
      return (w) => extrapolatedRate(w, rangeSec, false, false);
    case 'irate':
      return (w) => instantDelta(w, true);
    case 'idelta':
      return (w) => instantDelta(w, false);
    case 'avg_over_time':
      return (w) => {
        const m = new RunningMean();
        for (let i = w.lo; i < w.hi; i++) m.add(w.v[i]!);
        return m.mean;
      };
    case 'min_over_time':
      return (w) => extreme(w, (cur, v) => v < cur);
    case 'max_over_time':
      return (w) => extreme(w, (cur, v) => v > cur);
    case 'sum_over_time':
      return (w) => {
        let sum = 0;
        for (let i = w.lo; i < w.hi; i++) sum += w.v[i]!;
        return sum;
      };
    case 'count_over_time':
      return (w) => w.hi - w.lo;
    case 'last_over_time':
      return (w) => w.v[w.hi - 1]!;
    case 'present_over_time':
      return () => 1;
    case 'stddev_over_time':
      return (w) => Math.sqrt(variance(w));
    case 'stdvar_over_time':
      return (w) => variance(w);
    case 'quantile_over_time':
      return (w, step) => quantile(c.param![step]!, w.v.slice(w.lo, w.hi));
    default:
      throw new Error(`not a range function: ${c.func}`);
  }
}

/** min/max where NaN only survives if every value is NaN. */
function extreme(w: Window, better: (cur: number, v: number) => boolean): number {
  let cur = w.v[w.lo]!;
  for (let i = w.lo + 1; i < w.hi; i++) {
    const v = w.v[i]!;
    if (better(cur, v) || Number.isNaN(cur)) cur = v;
  }
  return cur;
}

function variance(w: Window): number {
  const rv = new RunningVariance();
  for (let i = w.lo; i < w.hi; i++) rv.add(w.v[i]!);
  return rv.variance;
}

/**
 * rate/increase/delta: the change between the first and last sample in the window (corrected
 * for counter resets), extrapolated towards the window edges — all the way when the gap to an
 * edge is under 1.1× the average sample interval, else by half an interval — and, for counters,
 * never past the point where the counter would have been zero.
 */
function extrapolatedRate(w: Window, rangeSec: number, isCounter: boolean, isRate: boolean): number | undefined {
  const count = w.hi - w.lo;
  if (count < 2) return undefined;
  const first = w.v[w.lo]!;
  const last = w.v[w.hi - 1]!;
  let result = last - first;
  if (isCounter) {
    let prev = first;
    for (let i = w.lo + 1; i < w.hi; i++) {
      const cur = w.v[i]!;
      if (cur < prev) result += prev;
      prev = cur;
    }
  }
  const firstT = w.t[w.lo]!;
  const lastT = w.t[w.hi - 1]!;
  let durationToStart = (firstT - w.rangeStart) / 1000;
  const durationToEnd = (w.rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const averageInterval = sampledInterval / (count - 1);
  if (isCounter && result > 0 && first >= 0) {
    const durationToZero = sampledInterval * (first / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  const threshold = averageInterval * 1.1;
  let extrapolateTo = sampledInterval;
  extrapolateTo += durationToStart < threshold ? durationToStart : averageInterval / 2;
  extrapolateTo += durationToEnd < threshold ? durationToEnd : averageInterval / 2;
  let factor = extrapolateTo / sampledInterval;
  if (isRate) factor /= rangeSec;
  return result * factor;
}

/** irate/idelta: from the last two samples only; irate treats a drop as a counter reset. */
function instantDelta(w: Window, isRate: boolean): number | undefined {
  if (w.hi - w.lo < 2) return undefined;
  const last = w.v[w.hi - 1]!;
  const prev = w.v[w.hi - 2]!;
  const result = isRate && last < prev ? last : last - prev;
  const interval = w.t[w.hi - 1]! - w.t[w.hi - 2]!;
  if (interval === 0) return undefined;
  return isRate ? result / (interval / 1000) : result;
}
