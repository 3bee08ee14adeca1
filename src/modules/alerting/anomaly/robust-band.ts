import { parseDuration } from '../../../core/resources/formats.js';
import { bandText, fmt, fmtDuration, type Method, type MethodOutcome, type SeriesView } from './judgement.js';
import { DEFAULTS, type RobustSpec } from './spec.js';
import { lowerBound, type Replay, robustSigma, spreadFloor, statsOf } from './stats.js';

/** Below this many points in the window a median and MAD are too shaky to page on. */
export const MIN_WINDOW_POINTS = 5;

/**
 * Median ± k·σ̂ of the window before the judged point, σ̂ = 1.4826 × MAD. Median and MAD ignore the
 * outliers they are meant to find, unlike mean and standard deviation, so one earlier spike does not
 * widen the band for the next hour.
 */
export function robustMethod(spec: RobustSpec): Method {
  const windowMs = parseDuration(spec.window ?? DEFAULTS.robust.window)!;
  const k = spec.k ?? DEFAULTS.robust.k;
  return {
    lookbackMs: windowMs,
    defaultMinHistoryMs: windowMs,
    judge(view: SeriesView, replay?: Replay): MethodOutcome {
      const last = view.end - 1;
      const now = view.t[last]!;
      const from = lowerBound(view.t, now - windowMs, view.start, last);
      const n = last - from;
      if (n < MIN_WINDOW_POINTS) {
        return { insufficient: `only ${n} points in the last ${fmtDuration(windowMs)}, at least ${MIN_WINDOW_POINTS} are needed` };
      }
      const stats = statsOf(view.v, from, last, replay, 'window');
      const median = stats.median;
      const sigma = spreadFloor(robustSigma(stats), median, spec.minSpread);
      const value = view.v[last]!;
      const lower = median - k * sigma;
      const upper = median + k * sigma;
      const basis = () => `median ${fmt(median)} ± ${fmt(k)}σ, σ ${fmt(sigma)} from the MAD over the last ${fmtDuration(windowMs)}`;
      return {
        expected: median,
        lower,
        upper,
        up: (value - median) / (k * sigma),
        down: (median - value) / (k * sigma),
        explain: (position) => `value ${fmt(value)} is ${position} the band ${bandText(lower, upper)} (${basis()})`,
      };
    },
  };
}
