import { parseDuration } from '../../../core/resources/formats.js';
import { type AnomalyResult, directionalRatio, positionOf, quiet, scoreOf } from './guards.js';
import { fmt, fmtDuration, type Judgement, type Method, type SeriesView } from './judgement.js';
import { DEFAULTS, type Direction, type LikelihoodOptions } from './spec.js';
import { lowerBound, newReplay, quantileOf } from './stats.js';

/**
 * A stream's memory of each point's deviation, one array per likelihood layer, aligned with the stream's
 * buffer. A point's deviation depends only on the points before it, so remembering it gives the same number
 * `detect` gets by replaying the method over the window.
 */
export type DeviationCache = Map<object, number[]>;

/** Fewer averaged deviations than this in the window: too few to say what is ordinary for the series. */
export const MIN_DEVIATIONS = 100;

/**
 * At most this many of the latest points are replayed (a week of 5-minute points): every evaluation replays the
 * method over them, so this bounds its cost whatever the query step.
 */
export const MAX_DEVIATIONS = 2016;

/**
 * Deviations (log(1 + band half-widths)) below this are noise: without a floor a flat series, whose deviations
 * are all near 0, would page on its first wiggle. 0.25 is about a quarter of a band half-width.
 */
export const DEVIATION_FLOOR = 0.25;

export interface LikelihoodLayer {
  lookbackMs: number;
  /** Judges the latest point of `view` (whose method judgement is `latest`) against the window's deviations. */
  judge(view: SeriesView, latest: Judgement, cache: DeviationCache | undefined): AnomalyResult;
}

/**
 * NAB's "anomaly likelihood" idea (Ahmad et al. 2017) on top of any method: the method's deviation at each
 * point of the window is replayed (a pure function of the history, as every detector here), averaged over the
 * last few points, and the latest average is compared with a high quantile of the window's averages; a point
 * pages when it is outside the method's band and that average is above the quantile. Unlike
 * the paper's Gaussian tail probability the quantile does not assume the deviations are normal: on NAB they
 * are heavy-tailed, and a Gaussian fitted to them turns every larger burst into a 10⁻¹² event.
 */
export function likelihoodLayer(method: Method, options: LikelihoodOptions, direction: Direction): LikelihoodLayer {
  const windowMs = parseDuration(options.window ?? DEFAULTS.likelihood.window)!;
  const average = options.average ?? DEFAULTS.likelihood.average;
  const quantile = options.quantile ?? DEFAULTS.likelihood.quantile;
  const key = {};
  const deviationOf = (j: Judgement) => Math.log1p(Math.max(0, directionalRatio(j, direction)));
  const percentile = `${fmt(quantile * 100)}th percentile`;

  return {
    lookbackMs: method.lookbackMs + windowMs,
    judge(view, latest, cache) {
      const last = view.end - 1;
      const now = view.t[last]!;
      const from = Math.max(lowerBound(view.t, now - windowMs, view.start, last), last - MAX_DEVIATIONS);
      let remembered = cache?.get(key);
      if (cache && !remembered) {
        remembered = [];
        cache.set(key, remembered);
      }
      const replay = newReplay();
      // Deviations of the window's points that the method could judge, oldest first.
      const deviations = new Float64Array(last - from + 1);
      let n = 0;
      for (let i = from; i <= last; i++) {
        let d = remembered?.[i];
        if (d === undefined) {
          if (i === last) d = deviationOf(latest);
          else {
            const j = method.judge({ t: view.t, v: view.v, start: view.start, end: i + 1 }, replay);
            d = 'insufficient' in j ? Number.NaN : deviationOf(j);
          }
          if (remembered) remembered[i] = d;
        }
        if (!Number.isNaN(d)) deviations[n++] = d;
      }
      // Trailing means of `average` deviations, each summed afresh so the result does not depend on how
      // far back a running sum started.
      const means = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let sum = 0;
        const a = Math.max(0, i - average + 1);
        for (let k = a; k <= i; k++) sum += deviations[k]!;
        means[i] = sum / (i - a + 1);
      }
      const sentence = latest.explain(positionOf(latest));
      if (n - 1 < MIN_DEVIATIONS) {
        return quiet(
          `only ${n - 1} deviations in the last ${fmtDuration(windowMs)} to compare with, at least ${MIN_DEVIATIONS} are needed: ${sentence}`,
          latest,
        );
      }
      const mean = means[n - 1]!;
      const edge = Math.max(DEVIATION_FLOOR, quantileOf(means, 0, n - 1, quantile));
      const ratio = mean / edge;
      const band = (x: number) => fmt(Math.expm1(x));
      const verdict = ratio >= 1 ? 'beyond' : 'within';
      // Both have to hold: the value is outside the method's band, and the recent deviation is unusual for
      // this series. The quantile alone would flag the top 1% of even a calm, stationary series.
      const both = Math.min(ratio, directionalRatio(latest, direction));
      return {
        anomalous: both >= 1,
        score: scoreOf(both),
        expected: latest.expected,
        lower: latest.lower,
        upper: latest.upper,
        reason:
          `${sentence}; over the last ${Math.min(average, n)} points it deviates ${band(mean)} band half-widths (log-mean), ` +
          `${verdict} what is ordinary for this series: ${band(edge)} at the ${percentile} of the last ${fmtDuration(windowMs)}`,
      };
    },
  };
}
