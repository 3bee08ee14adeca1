/** Consistency constant: 1.4826 × MAD estimates the standard deviation of normal data. */
export const MAD_TO_SIGMA = 1.4826;

// One growable scratch buffer: detectors run once per point in the benchmark, so allocation per call shows up.
let scratch = new Float64Array(1024);

function ensure(n: number): Float64Array {
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, scratch.length * 2));
  return scratch;
}

/** k-th smallest of a[0..n) (0-based), reordering a in place; Hoare-style quickselect. */
function select(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const tmp = a[i]!;
        a[i] = a[j]!;
        a[j] = tmp;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

function medianOfScratch(a: Float64Array, n: number): number {
  const upper = select(a, n, n >> 1);
  if (n % 2 === 1) return upper;
  // After selecting n/2 every element left of it is ≤ it, so the lower middle is the maximum of that part.
  let lower = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n >> 1; i++) if (a[i]! > lower) lower = a[i]!;
  return (lower + upper) / 2;
}

export interface WindowStats {
  median: number;
  mad: number;
  /** Mean absolute deviation from the median. */
  meanAbs: number;
  /** About the 1st and 99th percentiles (at least the 4th smallest and largest value). */
  low: number;
  high: number;
  /** Points in the window and how many were skipped below `low` (and above `high`). */
  n: number;
  trim: number;
}

/** Median, MAD, mean absolute deviation and tail percentiles of values[from..to). Does not modify `values`. */
export function windowStats(values: ArrayLike<number>, from: number, to: number): WindowStats {
  const n = to - from;
  if (n <= 0) return { median: Number.NaN, mad: Number.NaN, meanAbs: Number.NaN, low: Number.NaN, high: Number.NaN, n: 0, trim: 0 };
  const a = ensure(n);
  for (let i = 0; i < n; i++) a[i] = values[from + i]!;
  const median = medianOfScratch(a, n);
  // select() is correct from any starting order, so the tails reuse the same buffer.
  // Tails skip at least 3 points per side: in a short window the 1st percentile would be the extreme itself,
  // and one earlier spike would then widen the band for the whole window.
  const trim = Math.min(Math.max(3, Math.ceil(0.01 * n)), Math.max(0, (n >> 1) - 1));
  const low = select(a, n, trim);
  const high = select(a, n, n - 1 - trim);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    a[i] = Math.abs(values[from + i]! - median);
    sum += a[i]!;
  }
  return { median, mad: medianOfScratch(a, n), meanAbs: sum / n, low, high, n, trim };
}

/** 1.2533 × mean absolute deviation also estimates σ for normal data. */
export const MEAN_ABS_TO_SIGMA = 1.2533;

/** Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/**
 * σ of a window from estimates that agree on normal data. The MAD ignores outliers but understates a heavy
 * tail, which the (trimmed) 1–99% range sees, and the MAD alone is noisy on short windows (one hour in 70 comes
 * out a third low, and pages). The larger of the two trades some sensitivity for not paging on a series'
 * ordinary bursts. When both are 0 (most of the window is one value: idle disks, zero error counts) the
 * mean absolute deviation still sees the blips.
 */
export function robustSigma(stats: WindowStats): number {
  // The tails sit at rank `trim` of n: for normal data their distance is 2·z(1 − (trim + ½)/n)·σ.
  const tailSigma = stats.n < 4 ? 0 : (stats.high - stats.low) / (2 * normalQuantile(1 - (stats.trim + 0.5) / stats.n));
  const sigma = Math.max(MAD_TO_SIGMA * stats.mad, tailSigma);
  return sigma > 0 ? sigma : MEAN_ABS_TO_SIGMA * stats.meanAbs;
}

/** Median of values[from..to) (the same number windowStats gives); does not modify `values`. */
export function medianOfRange(values: ArrayLike<number>, from: number, to: number): number {
  const n = to - from;
  if (n <= 0) return Number.NaN;
  const a = ensure(n);
  for (let i = 0; i < n; i++) a[i] = values[from + i]!;
  return medianOfScratch(a, n);
}

/** Median of a plain list (seasonal neighbourhoods and residuals); selection, not a sort: it runs per point. */
export function median(values: number[]): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  const a = ensure(n);
  for (let i = 0; i < n; i++) a[i] = values[i]!;
  return medianOfScratch(a, n);
}

/** First index i in [lo, hi) with t[i] >= x (t ascending); hi if none. */
export function lowerBound(t: ArrayLike<number>, x: number, lo: number, hi: number): number {
  let a = lo;
  let b = hi;
  while (a < b) {
    const m = (a + b) >> 1;
    if (t[m]! < x) a = m + 1;
    else b = m;
  }
  return a;
}

/**
 * The spread a band is built on: robust σ, floored so that a flat or quantised series (MAD 0) does not make
 * every change infinitely surprising. The relative floor is 1% of the level; `minSpread` is the user's absolute one.
 */
export function spreadFloor(sigma: number, level: number, minSpread: number | undefined): number {
  return Math.max(sigma, 0.01 * Math.abs(level), minSpread ?? 0, 1e-9);
}

/** The q-quantile (0 ≤ q < 1) of values[from..to) by rank ⌊q·n⌋ of the sorted values. Does not modify `values`. */
export function quantileOf(values: ArrayLike<number>, from: number, to: number, q: number): number {
  const n = to - from;
  if (n <= 0) return Number.NaN;
  const a = ensure(n);
  for (let i = 0; i < n; i++) a[i] = values[from + i]!;
  return select(a, n, Math.min(n - 1, Math.floor(q * n)));
}

/**
 * windowStats of a window that slides forward over one array, kept sorted so each step costs a binary search
 * and a move instead of a fresh selection. For replaying a method over many consecutive points; its stats are
 * exactly windowStats' (the same elements at the same ranks, the mean absolute deviation summed in the same order).
 */
export class SlidingWindow {
  private sorted = new Float64Array(256);
  private n = 0;
  private from = 0;
  private to = 0;

  constructor(private readonly values: ArrayLike<number>) {}

  private rank(x: number): number {
    let a = 0;
    let b = this.n;
    while (a < b) {
      const m = (a + b) >> 1;
      if (this.sorted[m]! < x) a = m + 1;
      else b = m;
    }
    return a;
  }

  private insert(x: number): void {
    if (this.n === this.sorted.length) {
      const grown = new Float64Array(this.sorted.length * 2);
      grown.set(this.sorted);
      this.sorted = grown;
    }
    const at = this.rank(x);
    this.sorted.copyWithin(at + 1, at, this.n);
    this.sorted[at] = x;
    this.n++;
  }

  private remove(x: number): void {
    const at = this.rank(x);
    this.sorted.copyWithin(at, at + 1, this.n);
    this.n--;
  }

  /** The stats of values[from..to); moving backwards, or past the current window, starts afresh. */
  stats(from: number, to: number): WindowStats {
    if (from < this.from || from >= this.to || to < this.to) {
      this.n = 0;
      this.from = from;
      this.to = from;
    }
    for (; this.from < from; this.from++) this.remove(this.values[this.from]!);
    for (; this.to < to; this.to++) this.insert(this.values[this.to]!);
    const n = this.n;
    if (n <= 0) return windowStats(this.values, from, to);
    const s = this.sorted;
    const median = n % 2 === 1 ? s[n >> 1]! : (s[(n >> 1) - 1]! + s[n >> 1]!) / 2;
    const trim = Math.min(Math.max(3, Math.ceil(0.01 * n)), Math.max(0, (n >> 1) - 1));
    // Absolute deviations in ascending order come from walking outwards from the median on both sides.
    let left = this.rank(median) - 1;
    let right = left + 1;
    const want = n >> 1;
    let previous = 0;
    let current = 0;
    for (let k = 0; k <= want; k++) {
      previous = current;
      const dl = left >= 0 ? Math.abs(s[left]! - median) : Number.POSITIVE_INFINITY;
      const dr = right < n ? Math.abs(s[right]! - median) : Number.POSITIVE_INFINITY;
      if (dl <= dr) {
        current = dl;
        left--;
      } else {
        current = dr;
        right++;
      }
    }
    const mad = n % 2 === 1 ? current : (previous + current) / 2;
    let sum = 0;
    for (let i = from; i < to; i++) sum += Math.abs(this.values[i]! - median);
    return { median, mad, meanAbs: sum / n, low: s[trim]!, high: s[n - 1 - trim]!, n, trim };
  }
}

/** Per-replay memory (see Method.judge): index-keyed values and sliding windows, valid for one view's arrays. */
export interface Replay {
  phases: Map<number, number>;
  windows: Map<string, SlidingWindow>;
}

export function newReplay(): Replay {
  return { phases: new Map(), windows: new Map() };
}

/** windowStats, from the replay's sliding window named `key` when replaying. */
export function statsOf(values: ArrayLike<number>, from: number, to: number, replay: Replay | undefined, key: string): WindowStats {
  if (!replay) return windowStats(values, from, to);
  let window = replay.windows.get(key);
  if (!window) {
    window = new SlidingWindow(values);
    replay.windows.set(key, window);
  }
  return window.stats(from, to);
}
