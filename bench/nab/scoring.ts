// NAB scoring, re-implemented from Lavin & Ahmad 2015 ("Evaluating Real-time Anomaly Detection Algorithms —
// the Numenta Anomaly Benchmark") and Ahmad et al. 2017 (Neurocomputing 262):
// - each labelled anomaly has a window; only the earliest detection inside a window counts, weighted by a
//   scaled sigmoid of its position so earlier detections earn more (≈ A_TP at the window start, 0 at its end);
// - a window without a detection costs A_FN;
// - a detection outside every window is a false positive costing A_FP times the sigmoid of its distance past
//   the preceding window (cheap just after a window, the full A_FP further on or before any window);
// - detections in the probationary period (the first 15% of each file) are not scored;
// - true negatives earn nothing (A_TN is listed in the profiles but, as in the papers' results, unused);
// - per-file scores are summed and normalised: 100 · (S − S_null) / (S_perfect − S_null).

export interface Profile {
  name: string;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

/** The published application profiles (magnitudes; FP and FN are costs). */
export const PROFILES: Profile[] = [
  { name: 'standard', tp: 1, fp: 0.11, fn: 1, tn: 1 },
  { name: 'reward_low_FP_rate', tp: 1, fp: 0.22, fn: 1, tn: 1 },
  { name: 'reward_low_FN_rate', tp: 1, fp: 0.11, fn: 2, tn: 1 },
];

export const PROBATION_FRACTION = 0.15;

/** σ(y) = 2/(1 + e^{5y}) − 1: ≈ 0.987 at y = −1 (window start), 0 at the window end, → −1 after it. */
export function scaledSigmoid(y: number): number {
  return 2 / (1 + Math.exp(5 * y)) - 1;
}

/** One labelled file, windows as inclusive index ranges into its points. */
export interface LabelledSeries {
  name: string;
  length: number;
  windows: Array<[number, number]>;
}

/** Where each point sits relative to the windows; computed once per file, used for every threshold. */
export interface PointRoles {
  probation: number;
  /** Window index the point is in, or −1. */
  window: Int32Array;
  /** For window points: TP credit per A_TP. Outside: FP cost per A_FP (a positive number, up to 1). */
  weight: Float64Array;
  windowCount: number;
}

export function probationLength(length: number): number {
  return Math.floor(PROBATION_FRACTION * length);
}

export function pointRoles(series: LabelledSeries): PointRoles {
  const n = series.length;
  const window = new Int32Array(n).fill(-1);
  const weight = new Float64Array(n);
  const sorted = [...series.windows].sort((a, b) => a[0] - b[0]);
  let next = 0;
  let previous: [number, number] | null = null;
  for (let i = 0; i < n; i++) {
    while (next < sorted.length && sorted[next]![1] < i) previous = sorted[next++]!;
    const w = sorted[next];
    if (w && w[0] <= i && i <= w[1]) {
      const length = w[1] - w[0] + 1;
      window[i] = next;
      // Relative position: −1 at the first point of the window, approaching 0 at its last.
      weight[i] = scaledSigmoid(-(w[1] - i + 1) / length);
    } else if (previous) {
      const length = previous[1] - previous[0] + 1;
      weight[i] = -scaledSigmoid((i - previous[1]) / length);
    } else {
      weight[i] = 1;
    }
  }
  return { probation: probationLength(n), window, weight, windowCount: sorted.length };
}

/** Raw NAB score of one file for a set of detections (indices, any order). */
export function scoreFile(roles: PointRoles, detections: Iterable<number>, profile: Profile): number {
  const earliest = new Array<number>(roles.windowCount).fill(-1);
  let total = 0;
  for (const i of detections) {
    if (i < roles.probation || i >= roles.window.length) continue;
    const w = roles.window[i]!;
    if (w < 0) total -= profile.fp * roles.weight[i]!;
    else if (earliest[w] === -1 || i < earliest[w]!) earliest[w] = i;
  }
  for (const e of earliest) total += e === -1 ? -profile.fn : profile.tp * roles.weight[e]!;
  return total;
}

export function nullScore(files: PointRoles[], profile: Profile): number {
  return -profile.fn * files.reduce((s, f) => s + f.windowCount, 0);
}

/** The perfect detector fires once, at the first point of every window. */
export function perfectScore(files: PointRoles[], profile: Profile): number {
  return profile.tp * scaledSigmoid(-1) * files.reduce((s, f) => s + f.windowCount, 0);
}

export function normalise(raw: number, files: PointRoles[], profile: Profile): number {
  const lo = nullScore(files, profile);
  const hi = perfectScore(files, profile);
  return (100 * (raw - lo)) / (hi - lo);
}

export interface SweepResult {
  threshold: number;
  raw: number;
  normalised: number;
}

/**
 * The threshold that maximises the summed score over all files, one threshold for the whole corpus (as NAB
 * does). Exact: points are activated in descending score order, and the total is updated incrementally —
 * a point in a window only changes the total if it is earlier than the window's current earliest detection.
 */
export function optimiseThreshold(files: PointRoles[], scores: ArrayLike<number>[], profile: Profile): SweepResult {
  const events: Array<{ file: number; i: number; s: number }> = [];
  files.forEach((f, file) => {
    for (let i = f.probation; i < f.window.length; i++) events.push({ file, i, s: scores[file]![i]! });
  });
  events.sort((a, b) => b.s - a.s);
  const earliest = files.map((f) => new Array<number>(f.windowCount).fill(-1));
  let total = nullScore(files, profile);
  let best: { threshold: number; raw: number } = { threshold: Number.POSITIVE_INFINITY, raw: total };
  for (let k = 0; k < events.length; k++) {
    const { file, i, s } = events[k]!;
    const roles = files[file]!;
    const w = roles.window[i]!;
    if (w < 0) total -= profile.fp * roles.weight[i]!;
    else {
      const e = earliest[file]![w]!;
      if (e === -1) total += profile.fn + profile.tp * roles.weight[i]!;
      else if (i < e) total += profile.tp * (roles.weight[i]! - roles.weight[e]!);
      if (e === -1 || i < e) earliest[file]![w] = i;
    }
    // Points with equal scores switch on together: only evaluate after the last of a tie.
    const tieContinues = k + 1 < events.length && events[k + 1]!.s === s;
    if (!tieContinues && total > best.raw) best = { threshold: s, raw: total };
  }
  return { ...best, normalised: normalise(best.raw, files, profile) };
}

/** Indices where the score rises to θ or above: the moments an alert starts firing (a firing alert does not re-page). */
export function onsets(scores: ArrayLike<number>, threshold: number, from = 0): number[] {
  const hits: number[] = [];
  let firing = false;
  for (let i = 0; i < scores.length; i++) {
    const on = scores[i]! >= threshold;
    if (on && !firing && i >= from) hits.push(i);
    firing = on;
  }
  return hits;
}

/**
 * The threshold sweep for an alerting detector: a detection is the onset of a firing period, not every point
 * above θ. Onsets are not monotone in θ, so this evaluates each candidate (the distinct score quantiles) in full.
 */
export function optimiseOnsetThreshold(files: PointRoles[], scores: ArrayLike<number>[], profile: Profile, candidates = 400): SweepResult {
  const pooled: number[] = [];
  files.forEach((f, k) => {
    const s = scores[k]!;
    for (let i = f.probation; i < s.length; i++) if (s[i]! > 0) pooled.push(s[i]!);
  });
  pooled.sort((a, b) => a - b);
  const thresholds = new Set<number>();
  // Denser near the top, where good thresholds live: quantiles 1 − 0.5^(x) spread over the sorted scores.
  for (let c = 0; c < candidates; c++) {
    const q = 1 - 0.5 ** ((c / candidates) * 16);
    const s = pooled[Math.min(pooled.length - 1, Math.floor(q * pooled.length))];
    if (s !== undefined) thresholds.add(s);
  }
  let best: { threshold: number; raw: number } = { threshold: Number.POSITIVE_INFINITY, raw: nullScore(files, profile) };
  for (const threshold of thresholds) {
    let raw = 0;
    files.forEach((f, k) => {
      raw += scoreFile(f, onsets(scores[k]!, threshold, f.probation), profile);
    });
    if (raw > best.raw) best = { threshold, raw };
  }
  return { ...best, normalised: normalise(best.raw, files, profile) };
}
