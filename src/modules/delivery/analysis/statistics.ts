/**
 * The statistics of the built-in judge. See docs/analysis.md for the formulas and why.
 *
 * - An always-valid confidence sequence from the normal-mixture mSPRT (Johari, Pekelis & Walsh,
 *   "Always valid inference", 2017/2022): for an asymptotically normal estimate θ̂ with variance V
 *   and a N(θ0, τ²) mixing distribution over alternatives, the mixture likelihood ratio is
 *       Λ(θ0) = sqrt(V / (V + τ²)) · exp( τ² (θ̂ − θ0)² / (2 V (V + τ²)) ).
 *   Rejecting θ0 once Λ(θ0) ≥ 1/α, at any of arbitrarily many looks, errs with probability ≤ α;
 *   the θ0 not rejected form the interval θ̂ ± sqrt( V (V + τ²)/τ² · (ln((V + τ²)/V) + 2 ln(1/α)) ).
 * - Two proportions (error ratios), with Agresti–Caffo adjusted estimates so zero counts keep a variance.
 * - Mann–Whitney U over two histograms on the same bucket bounds: each bucket is one tie group.
 */

/**
 * Standard normal CDF Φ(z): Hart's double-precision algorithm 5666 as given by West (2005),
 * "Better approximations to cumulative normal functions"; absolute error below 1e-14.
 */
export function normalCdf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  const x = Math.abs(z);
  let tail: number;
  if (x > 37) {
    tail = 0;
  } else if (x < 7.07106781186547) {
    const e = Math.exp((-x * x) / 2);
    const num =
      (((((0.0352624965998911 * x + 0.700383064443688) * x + 6.37396220353165) * x + 33.912866078383) * x + 112.079291497871) * x +
        221.213596169931) *
        x +
      220.206867912376;
    const den =
      ((((((0.0883883476483184 * x + 1.75566716318264) * x + 16.064177579207) * x + 86.7807322029461) * x + 296.564248779674) * x +
        637.333633378831) *
        x +
        793.826512519948) *
        x +
      440.413735824752;
    tail = (e * num) / den;
  } else {
    const e = Math.exp((-x * x) / 2);
    tail = e / (x + 1 / (x + 2 / (x + 3 / (x + 4 / (x + 0.65))))) / 2.506628274631;
  }
  return z > 0 ? 1 - tail : tail;
}

/** Two-sided fixed-sample p-value of a z statistic: valid for one look only. */
export function twoSidedP(z: number): number {
  return Math.min(1, 2 * (1 - normalCdf(Math.abs(z))));
}

export interface MixtureOptions {
  /** Error probability over all looks, e.g. 0.05. */
  alpha: number;
  /** Standard deviation of the normal mixing distribution, on the scale of θ. */
  tau: number;
}

/** Half-width of the always-valid interval around an estimate with variance `variance`. */
export function mixtureHalfWidth(variance: number, { alpha, tau }: MixtureOptions): number {
  if (!(variance > 0)) return variance === 0 ? 0 : Number.POSITIVE_INFINITY;
  const t2 = tau * tau;
  return Math.sqrt(((variance * (variance + t2)) / t2) * (Math.log((variance + t2) / variance) + 2 * Math.log(1 / alpha)));
}

/** ln Λ(θ0): the mixture log-likelihood ratio against θ0; θ0 is rejected once it reaches ln(1/α). */
export function mixtureLogLikelihoodRatio(estimate: number, variance: number, theta0: number, tau: number): number {
  if (!(variance > 0)) return estimate === theta0 ? 0 : Number.POSITIVE_INFINITY;
  const t2 = tau * tau;
  return 0.5 * Math.log(variance / (variance + t2)) + (t2 * (estimate - theta0) ** 2) / (2 * variance * (variance + t2));
}

export interface Interval {
  estimate: number;
  variance: number;
  lower: number;
  upper: number;
}

/** An always-valid interval for θ from an estimate and its variance. */
export function confidenceSequence(estimate: number, variance: number, options: MixtureOptions): Interval {
  const half = mixtureHalfWidth(variance, options);
  return { estimate, variance, lower: estimate - half, upper: estimate + half };
}

export interface Proportions {
  /** Canary: errors and requests. */
  x1: number;
  n1: number;
  /** Stable (baseline). */
  x0: number;
  n0: number;
}

/**
 * The difference of two proportions p1 − p0 with Agresti–Caffo adjusted estimates
 * p̃ = (x + 1)/(n + 2) and V = p̃1(1 − p̃1)/(n1 + 2) + p̃0(1 − p̃0)/(n0 + 2).
 */
export function proportionDifference({ x1, n1, x0, n0 }: Proportions): { estimate: number; variance: number } {
  const p1 = (x1 + 1) / (n1 + 2);
  const p0 = (x0 + 1) / (n0 + 2);
  return { estimate: p1 - p0, variance: (p1 * (1 - p1)) / (n1 + 2) + (p0 * (1 - p0)) / (n0 + 2) };
}

/** Always-valid interval for the difference of two proportions. */
export function proportionDifferenceSequence(counts: Proportions, options: MixtureOptions): Interval {
  const { estimate, variance } = proportionDifference(counts);
  return confidenceSequence(estimate, variance, options);
}

/** Fixed-sample two-proportion z statistic (pooled variance), for comparison only. */
export function pooledZ({ x1, n1, x0, n0 }: Proportions): number {
  if (n1 === 0 || n0 === 0) return 0;
  const pooled = (x1 + x0) / (n1 + n0);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0));
  return se > 0 ? (x1 / n1 - x0 / n0) / se : 0;
}

export interface MannWhitney {
  /** U of the first sample: pairs (a, b) with a > b, plus half the ties. */
  u: number;
  n1: number;
  n0: number;
  /** Sum of the first sample's mid-ranks. */
  rankSum: number;
  /** Under H0: E[U] = n1·n0/2 and the tie-corrected variance. */
  mean: number;
  variance: number;
  /** (U − mean)/sqrt(variance), 0 without variance. */
  z: number;
  /** 2U/(n1·n0) − 1 = P(a > b) − P(a < b), in [−1, 1]; positive: the first sample is larger (slower). */
  rankBiserial: number;
  /** Variance of the rank-biserial estimate under H0: 4·variance/(n1·n0)². */
  rankBiserialVariance: number;
}

/**
 * Mann–Whitney U from two histograms over the same buckets: bucket i holds a[i] and b[i]
 * observations that tie with each other. Each bucket gets the mid-rank of its tie group and the
 * variance is corrected for ties: n1·n0/12 · ((N + 1) − Σ(t³ − t)/(N(N − 1))).
 */
export function mannWhitneyHistograms(a: readonly number[], b: readonly number[]): MannWhitney {
  const buckets = Math.max(a.length, b.length);
  let n1 = 0;
  let n0 = 0;
  for (let i = 0; i < buckets; i++) {
    n1 += a[i] ?? 0;
    n0 += b[i] ?? 0;
  }
  const total = n1 + n0;
  let below = 0;
  let rankSum = 0;
  let ties = 0;
  for (let i = 0; i < buckets; i++) {
    const t = (a[i] ?? 0) + (b[i] ?? 0);
    if (t === 0) continue;
    const midRank = below + (t + 1) / 2;
    rankSum += (a[i] ?? 0) * midRank;
    ties += t * t * t - t;
    below += t;
  }
  const u = rankSum - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n0) / 2;
  const variance = total > 1 ? ((n1 * n0) / 12) * (total + 1 - ties / (total * (total - 1))) : 0;
  const pairs = n1 * n0;
  return {
    u,
    n1,
    n0,
    rankSum,
    mean,
    variance,
    z: variance > 0 ? (u - mean) / Math.sqrt(variance) : 0,
    rankBiserial: pairs > 0 ? (2 * u) / pairs - 1 : 0,
    rankBiserialVariance: pairs > 0 ? (4 * variance) / (pairs * pairs) : 0,
  };
}
