import { parseDuration } from '../../../core/resources/formats.js';
import { bandText, fmt, fmtDuration, type Method, type MethodOutcome, type SeriesView } from './judgement.js';
import { MIN_WINDOW_POINTS } from './robust-band.js';
import { type ChangepointSpec, DEFAULTS } from './spec.js';
import { lowerBound, type Replay, robustSigma, spreadFloor, statsOf } from './stats.js';

/**
 * Two-sided CUSUM over the recent segment against the reference window just before it. The CUSUM restarts
 * at the start of the recent segment on every evaluation, so it is a pure function of the history window
 * (a restarted rule engine gives the same answer), at the cost of forgetting shifts older than `recent`.
 * Each point's contribution is clipped so one spike cannot cross the threshold alone: it takes two points
 * at the clip, or more smaller ones, which is what tells a level shift from a spike.
 */
export function changepointMethod(spec: ChangepointSpec): Method {
  const windowMs = parseDuration(spec.window ?? DEFAULTS.changepoint.window)!;
  const recentMs = parseDuration(spec.recent ?? DEFAULTS.changepoint.recent)!;
  const threshold = spec.threshold ?? DEFAULTS.changepoint.threshold;
  const drift = spec.drift ?? DEFAULTS.changepoint.drift;
  const clip = threshold / 2 + drift;
  return {
    lookbackMs: windowMs + recentMs,
    defaultMinHistoryMs: windowMs + recentMs,
    judge(view: SeriesView, replay?: Replay): MethodOutcome {
      const last = view.end - 1;
      const now = view.t[last]!;
      // Recent segment (now − recent, now]; reference (now − recent − window, now − recent]: half-open so a
      // '30m' segment of minute data holds 30 points.
      const split = lowerBound(view.t, now - recentMs + 1, view.start, view.end);
      const from = lowerBound(view.t, now - recentMs - windowMs + 1, view.start, split);
      if (split - from < MIN_WINDOW_POINTS) {
        return {
          insufficient: `only ${split - from} points in the ${fmtDuration(windowMs)} reference window, at least ${MIN_WINDOW_POINTS} are needed`,
        };
      }
      const stats = statsOf(view.v, from, split, replay, 'reference');
      const median = stats.median;
      const sigma = spreadFloor(robustSigma(stats), median, spec.minSpread);
      let hi = 0;
      let lo = 0;
      let sum = 0;
      for (let i = split; i < view.end; i++) {
        const z = Math.max(-clip, Math.min(clip, (view.v[i]! - median) / sigma));
        hi = Math.max(0, hi + z - drift);
        lo = Math.max(0, lo - z - drift);
        sum += view.v[i]!;
      }
      const n = view.end - split;
      // The shift in the mean of the recent segment that would just reach the threshold by its end.
      const halfWidth = (drift + threshold / n) * sigma;
      const lower = median - halfWidth;
      const upper = median + halfWidth;
      const mean = sum / n;
      const basis = () => `CUSUM ${fmt(Math.max(hi, lo))}σ against threshold ${fmt(threshold)}σ, σ ${fmt(sigma)}`;
      return {
        expected: median,
        lower,
        upper,
        up: hi / threshold,
        down: lo / threshold,
        explain: (position) => {
          const where = position === 'inside' ? 'holds the level of' : `shifted ${position}`;
          return (
            `the last ${n} points (mean ${fmt(mean)}) ${where} the median ${fmt(median)} of the ${fmtDuration(windowMs)} before them, ` +
            `band ${bandText(lower, upper)} (${basis()})`
          );
        },
      };
    },
  };
}
