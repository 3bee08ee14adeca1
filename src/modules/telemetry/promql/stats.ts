/** Statistics shared by aggregations and *_over_time, computed the way Prometheus computes them. */

/**
 * Prometheus' quantile: linear interpolation between the closest ranks, rank = q * (n - 1);
 * q < 0 gives -Inf, q > 1 gives +Inf, no values or NaN q gives NaN.
 */
export function quantile(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return Number.NaN;
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  const sorted = [...values].sort(goFloatLess);
  const n = sorted.length;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return sorted[lower]! * (1 - weight) + sorted[upper]! * weight;
}

/** Go's sort.Float64s order: NaN first, then ascending. */
function goFloatLess(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : -1;
  if (Number.isNaN(b)) return 1;
  return a - b;
}

/**
 * Running mean that tolerates infinities: once the mean is infinite it stays so unless a value
 * of the opposite infinity or NaN arrives (plain incremental updates would turn Inf - Inf into NaN).
 */
export class RunningMean {
  mean = 0;
  count = 0;

  add(v: number): void {
    this.count++;
    if (this.count === 1) {
      this.mean = v;
      return;
    }
    if (!Number.isFinite(this.mean) && !Number.isNaN(this.mean)) {
      if (!Number.isFinite(v) && !Number.isNaN(v) && this.mean > 0 === v > 0) return;
      if (Number.isFinite(v)) return;
    }
    this.mean += v / this.count - this.mean / this.count;
  }
}

/** Welford's online variance (population), as Prometheus' stdvar computes it. */
export class RunningVariance {
  private mean = 0;
  private m2 = 0;
  count = 0;

  add(v: number): void {
    this.count++;
    const delta = v - this.mean;
    this.mean += delta / this.count;
    this.m2 += delta * (v - this.mean);
  }

  get variance(): number {
    return this.m2 / this.count;
  }
}
