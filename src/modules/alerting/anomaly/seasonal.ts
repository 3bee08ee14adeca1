import { parseDuration } from '../../../core/resources/formats.js';
import { bandText, fmt, fmtDuration, type Method, type MethodOutcome, type SeriesView } from './judgement.js';
import { MIN_WINDOW_POINTS } from './robust-band.js';
import { DEFAULTS, type SeasonalSpec } from './spec.js';
import { lowerBound, median, medianOfRange, type Replay, robustSigma, spreadFloor, statsOf, windowStats } from './stats.js';

/**
 * Same time in past seasons: the expected value is the median, over the last `seasons` seasons, of the
 * values around the same phase (± 1/192 of a season: 7.5 minutes for a day), shifted by how far the recent
 * window sits from its own seasonal profile (a day that runs 10% hot overall is not an anomaly at every point).
 * The band's spread pools the recent residuals with the scatter of the past seasons around the phase, so a
 * noisy hour of the day gets a wider band than a quiet one.
 *
 * Why not Holt–Winters: its level/trend/season state is built point by point, so judging from a history window
 * would have to replay the whole window on each evaluation, and a restart with a short window gives different
 * answers. The same-phase median is a pure function of the window and is robust to last week's incident.
 */
export function seasonalMethod(spec: SeasonalSpec): Method {
  const seasonMs = parseDuration(spec.season ?? DEFAULTS.seasonal.season)!;
  const seasons = spec.seasons ?? DEFAULTS.seasonal.seasons;
  const tolerance = spec.tolerance ?? DEFAULTS.seasonal.tolerance;
  const windowMs = parseDuration(spec.window ?? DEFAULTS.seasonal.window)!;
  const halfWidth = Math.max(1, Math.floor(seasonMs / 192));

  /** Median of each past season's neighbourhood of time `at`, plus the values' deviations from it. */
  function phase(view: SeriesView, at: number, upTo: number, deviations: number[] | null): number {
    const perSeason: number[] = [];
    for (let j = 1; j <= seasons; j++) {
      const centre = at - j * seasonMs;
      const a = lowerBound(view.t, centre - halfWidth, view.start, upTo);
      const b = lowerBound(view.t, centre + halfWidth + 1, a, upTo);
      if (b <= a) continue;
      const m = medianOfRange(view.v, a, b);
      perSeason.push(m);
      if (deviations) for (let i = a; i < b; i++) deviations.push(view.v[i]! - m);
    }
    return perSeason.length === 0 ? Number.NaN : median(perSeason);
  }

  return {
    lookbackMs: seasons * seasonMs + halfWidth + windowMs,
    defaultMinHistoryMs: seasonMs + windowMs,
    judge(view: SeriesView, replay?: Replay): MethodOutcome {
      const last = view.end - 1;
      const now = view.t[last]!;
      const deviations: number[] = [];
      const profile = phase(view, now, last, deviations);
      if (Number.isNaN(profile)) {
        return { insufficient: `no data around the same time ${fmtDuration(seasonMs)} earlier` };
      }
      // Residuals of the recent window against their own seasonal profile give the level offset.
      const from = lowerBound(view.t, now - windowMs, view.start, last);
      const residuals: number[] = [];
      for (let i = from; i < last; i++) {
        let p = replay?.phases.get(i);
        if (p === undefined) {
          p = phase(view, view.t[i]!, i, null);
          replay?.phases.set(i, p);
        }
        if (!Number.isNaN(p)) residuals.push(view.v[i]! - p);
      }
      const offset = residuals.length > 0 ? median(residuals) : 0;
      for (const r of residuals) deviations.push(r - offset);
      const spread = deviations.length > 0 ? windowStats(deviations, 0, deviations.length) : null;
      const expected = profile + offset;
      // The phase neighbourhoods hold few points; on a series with weak or irregular seasonality their scatter
      // understates the noise. A third of the last season's overall spread keeps the band honest there.
      const seasonFrom = lowerBound(view.t, now - seasonMs, view.start, last);
      const overall = last - seasonFrom >= MIN_WINDOW_POINTS ? robustSigma(statsOf(view.v, seasonFrom, last, replay, 'season')) / 3 : 0;
      const sigma = spreadFloor(Math.max(spread ? robustSigma(spread) : 0, overall), expected, spec.minSpread);
      const value = view.v[last]!;
      const lower = expected - tolerance * sigma;
      const upper = expected + tolerance * sigma;
      const basis = () =>
        `same time over the last ${seasons} × ${fmtDuration(seasonMs)} ${fmt(profile)}` +
        `${offset === 0 ? '' : `, shifted ${offset > 0 ? '+' : ''}${fmt(offset)} to the last ${fmtDuration(windowMs)}`}` +
        ` ± ${fmt(tolerance)}σ, σ ${fmt(sigma)}`;
      return {
        expected,
        lower,
        upper,
        up: (value - expected) / (tolerance * sigma),
        down: (expected - value) / (tolerance * sigma),
        explain: (position) => `value ${fmt(value)} is ${position} the band ${bandText(lower, upper)} (${basis()})`,
      };
    },
  };
}
