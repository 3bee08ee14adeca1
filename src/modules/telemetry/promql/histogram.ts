import type { Labels } from '../contracts.js';
import { dropMetricName, labelsKey } from './labels.js';
import { parseGoFloat } from './literals.js';
import { newSeries, type Series } from './values.js';

interface Bucket {
  upperBound: number;
  count: number;
}

/**
 * histogram_quantile over classic buckets: series are grouped by their labels minus `le` and
 * `__name__`; series without a parseable `le` are ignored.
 */
export function histogramQuantile(q: Float64Array, series: Series[]): Series[] {
  const n = q.length;
  const groups = new Map<string, { labels: Labels; members: Array<{ s: Series; le: number }> }>();
  for (const s of series) {
    const leText = s.labels.le;
    const le = leText === undefined ? undefined : parseGoFloat(leText);
    if (le === undefined) continue;
    const { le: _le, ...rest } = s.labels;
    const labels = dropMetricName(rest);
    const key = labelsKey(labels);
    let g = groups.get(key);
    if (!g) {
      g = { labels, members: [] };
      groups.set(key, g);
    }
    g.members.push({ s, le });
  }
  const out: Series[] = [];
  for (const g of groups.values()) {
    const r = newSeries(g.labels, n);
    let any = false;
    for (let i = 0; i < n; i++) {
      const buckets: Bucket[] = [];
      for (const m of g.members) if (m.s.present[i]) buckets.push({ upperBound: m.le, count: m.s.values[i]! });
      if (buckets.length === 0) continue;
      r.values[i] = bucketQuantile(q[i]!, buckets);
      r.present[i] = 1;
      any = true;
    }
    if (any) out.push(r);
  }
  return out;
}

/**
 * The quantile of cumulative buckets: the +Inf bucket is required; buckets with equal bounds are
 * merged; counts are forced monotonic (scrapes of separate bucket series are not atomic); the
 * answer is interpolated linearly inside the bucket that holds the rank, the first bucket
 * starting at 0 unless its bound is ≤ 0, and a rank in the +Inf bucket gives the highest finite bound.
 */
export function bucketQuantile(q: number, input: Bucket[]): number {
  if (Number.isNaN(q)) return Number.NaN;
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  const sorted = [...input].sort((a, b) => a.upperBound - b.upperBound);
  if (sorted[sorted.length - 1]!.upperBound !== Number.POSITIVE_INFINITY) return Number.NaN;
  const buckets: Bucket[] = [];
  for (const b of sorted) {
    const last = buckets[buckets.length - 1];
    if (last && last.upperBound === b.upperBound) last.count += b.count;
    else buckets.push({ ...b });
  }
  let max = Number.NEGATIVE_INFINITY;
  for (const b of buckets) {
    if (b.count > max) max = b.count;
    else if (b.count < max) b.count = max;
  }
  if (buckets.length < 2) return Number.NaN;
  const observations = buckets[buckets.length - 1]!.count;
  if (observations === 0) return Number.NaN;
  let rank = q * observations;
  let b = 0;
  while (b < buckets.length - 1 && !(buckets[b]!.count >= rank)) b++;
  if (b === buckets.length - 1) return buckets[buckets.length - 2]!.upperBound;
  if (b === 0 && buckets[0]!.upperBound <= 0) return buckets[0]!.upperBound;
  let bucketStart = 0;
  const bucketEnd = buckets[b]!.upperBound;
  let count = buckets[b]!.count;
  if (b > 0) {
    bucketStart = buckets[b - 1]!.upperBound;
    count -= buckets[b - 1]!.count;
    rank -= buckets[b - 1]!.count;
  }
  return bucketStart + (bucketEnd - bucketStart) * (rank / count);
}
