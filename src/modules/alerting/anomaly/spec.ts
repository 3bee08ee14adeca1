import { parseDuration } from '../../../core/resources/formats.js';

export type Direction = 'both' | 'up' | 'down';

/** Guards every method takes: they decide when a detector is allowed to page at all. */
export interface GuardOptions {
  /** Less history than this (a duration such as '2h', or a number of points) never pages. */
  minHistory?: string | number;
  /** Neither the latest value nor the expected value reaches this: too small to matter (errors going 0 → 2). */
  minValue?: number;
  /** The expected level is below this: the series is quiet, and relative jumps on it are noise. */
  minTraffic?: number;
  /** Which deviations count; 'up' suits latencies and error rates, 'down' suits throughput. */
  direction?: Direction;
  /**
   * Judge the latest deviation against this series' own recent deviations instead of the fixed band alone
   * (after NAB's "anomaly likelihood", Ahmad et al. 2017): one threshold then suits noisy and quiet series.
   */
  likelihood?: LikelihoodOptions;
}

/**
 * The method's deviation (in band half-widths, log-compressed) is averaged over the last `average` points and
 * compared with the `quantile` of the same average over the last `window`. A point pages when it is outside
 * the method's band AND that average is above the quantile, so a series whose ordinary bursts reach the band
 * keeps those bursts quiet while a calm series pages as it did. Score: the smaller of the two ratios.
 */
export interface LikelihoodOptions {
  /** How much history of deviations the average is compared with (default '7d'; at most its last 2016 points). */
  window?: string;
  /** How many of the latest points the deviation is averaged over (default 6). */
  average?: number;
  /** Which quantile of the window's averages is the edge of the ordinary (default 0.99). */
  quantile?: number;
}

/** Median ± k robust standard deviations (1.4826 × MAD) of the preceding window. */
export interface RobustSpec extends GuardOptions {
  method: 'robust';
  window?: string;
  k?: number;
  /** Floor on the robust standard deviation, in the series' unit, so a near-flat series does not page on a wiggle. */
  minSpread?: number;
}

/** The same time in the previous seasons (yesterday, last week), shifted to today's level. */
export interface SeasonalSpec extends GuardOptions {
  method: 'seasonal';
  season?: string;
  /** How many past seasons are compared. */
  seasons?: number;
  /** Band half-width in robust standard deviations of the residuals. */
  tolerance?: number;
  /** How much recent history sets the level offset and the residual spread. */
  window?: string;
  minSpread?: number;
}

/** A sustained level shift: two-sided CUSUM of the recent points against a reference window before them. */
export interface ChangepointSpec extends GuardOptions {
  method: 'changepoint';
  /** The reference window, ending where the recent segment starts. */
  window?: string;
  /** The recent segment the CUSUM runs over. */
  recent?: string;
  /** CUSUM decision threshold, in robust standard deviations. */
  threshold?: number;
  /** Slack subtracted per point, in robust standard deviations: shifts smaller than this never accumulate. */
  drift?: number;
  minSpread?: number;
}

export type MemberSpec = RobustSpec | SeasonalSpec | ChangepointSpec;

/**
 * 'any' pages when any member does (score: the largest); 'all' only when every member does (score: the
 * smallest), e.g. unusual for the last days AND for this time of day, which drops daily cron spikes.
 */
export interface EnsembleSpec extends GuardOptions {
  method: 'ensemble';
  members?: MemberSpec[];
  combine?: 'any' | 'all';
}

export type AnomalySpec = MemberSpec | EnsembleSpec;

export interface Issue {
  path: string;
  message: string;
}

export const DEFAULTS = {
  robust: { window: '1h', k: 4 },
  seasonal: { season: '1d', seasons: 3, tolerance: 4, window: '1h' },
  changepoint: { window: '2h', recent: '30m', threshold: 6, drift: 0.5 },
  likelihood: { window: '7d', average: 6, quantile: 0.99 },
} as const;

const GUARD_KEYS = ['minHistory', 'minValue', 'minTraffic', 'direction', 'likelihood'];
const METHOD_KEYS: Record<AnomalySpec['method'], string[]> = {
  robust: ['window', 'k', 'minSpread'],
  seasonal: ['season', 'seasons', 'tolerance', 'window', 'minSpread'],
  changepoint: ['window', 'recent', 'threshold', 'drift', 'minSpread'],
  ensemble: ['members', 'combine'],
};
const METHODS = Object.keys(METHOD_KEYS);

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function checkDuration(value: unknown, path: string, issues: Issue[]): void {
  if (value === undefined) return;
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined || ms <= 0) issues.push({ path, message: "must be a positive duration such as '30m', '1h' or '1d'" });
}

function checkNumber(value: unknown, path: string, issues: Issue[], opts: { min: number; exclusive?: boolean; integer?: boolean }): void {
  if (value === undefined) return;
  const bad =
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    (opts.exclusive ? value <= opts.min : value < opts.min) ||
    (opts.integer === true && !Number.isInteger(value));
  if (bad) {
    const kind = opts.integer ? 'an integer' : 'a number';
    issues.push({ path, message: `must be ${kind} ${opts.exclusive ? 'greater than' : 'at least'} ${opts.min}` });
  }
}

function checkLikelihood(value: unknown, path: string, issues: Issue[]): void {
  if (value === undefined) return;
  if (!isRecord(value)) {
    issues.push({ path, message: "must be an object such as { window: '7d', average: 6, quantile: 0.99 }" });
    return;
  }
  for (const key of Object.keys(value)) {
    if (!['window', 'average', 'quantile'].includes(key)) issues.push({ path: `${path}/${key}`, message: 'is not a likelihood setting' });
  }
  checkDuration(value.window, `${path}/window`, issues);
  checkNumber(value.average, `${path}/average`, issues, { min: 1, integer: true });
  const q = value.quantile;
  if (q !== undefined && (typeof q !== 'number' || !Number.isFinite(q) || q < 0.5 || q >= 1)) {
    issues.push({ path: `${path}/quantile`, message: 'must be a number from 0.5 up to (not including) 1' });
  }
}

function checkObject(input: unknown, base: string, issues: Issue[], allowEnsemble: boolean): void {
  if (!isRecord(input)) {
    issues.push({ path: base, message: 'must be an object with a method' });
    return;
  }
  const method = input.method;
  const allowed = allowEnsemble ? METHODS : METHODS.filter((m) => m !== 'ensemble');
  if (typeof method !== 'string' || !allowed.includes(method)) {
    issues.push({ path: `${base}/method`, message: `must be one of ${allowed.map((m) => `'${m}'`).join(', ')}` });
    return;
  }
  const known = new Set(['method', ...GUARD_KEYS, ...METHOD_KEYS[method as AnomalySpec['method']]]);
  for (const key of Object.keys(input)) {
    if (!known.has(key)) issues.push({ path: `${base}/${key}`, message: `is not a setting of the ${method} method` });
  }
  const mh = input.minHistory;
  if (typeof mh === 'number') checkNumber(mh, `${base}/minHistory`, issues, { min: 1, integer: true });
  else if (mh !== undefined) checkDuration(mh, `${base}/minHistory`, issues);
  checkNumber(input.minValue, `${base}/minValue`, issues, { min: 0 });
  checkNumber(input.minTraffic, `${base}/minTraffic`, issues, { min: 0 });
  if (input.direction !== undefined && !['both', 'up', 'down'].includes(input.direction as string)) {
    issues.push({ path: `${base}/direction`, message: "must be 'both', 'up' or 'down'" });
  }
  checkLikelihood(input.likelihood, `${base}/likelihood`, issues);
  checkNumber(input.minSpread, `${base}/minSpread`, issues, { min: 0 });
  checkDuration(input.window, `${base}/window`, issues);
  switch (method) {
    case 'robust':
      checkNumber(input.k, `${base}/k`, issues, { min: 0, exclusive: true });
      break;
    case 'seasonal':
      checkDuration(input.season, `${base}/season`, issues);
      checkNumber(input.seasons, `${base}/seasons`, issues, { min: 1, integer: true });
      checkNumber(input.tolerance, `${base}/tolerance`, issues, { min: 0, exclusive: true });
      break;
    case 'changepoint':
      checkDuration(input.recent, `${base}/recent`, issues);
      checkNumber(input.threshold, `${base}/threshold`, issues, { min: 0, exclusive: true });
      checkNumber(input.drift, `${base}/drift`, issues, { min: 0 });
      break;
    case 'ensemble': {
      if (input.combine !== undefined && input.combine !== 'any' && input.combine !== 'all') {
        issues.push({ path: `${base}/combine`, message: "must be 'any' or 'all'" });
      }
      const members = input.members;
      if (members === undefined) break;
      if (!Array.isArray(members) || members.length === 0) {
        issues.push({ path: `${base}/members`, message: 'must be a non-empty list of robust, seasonal or changepoint settings' });
        break;
      }
      members.forEach((m, i) => {
        checkObject(m, `${base}/members/${i}`, issues, false);
      });
      break;
    }
  }
}

/** Checks an `anomaly:` block; issue paths are JSON pointers relative to it ("/k", "/members/1/season"). */
export function validateAnomalySpec(input: unknown): { spec: AnomalySpec } | { issues: Issue[] } {
  const issues: Issue[] = [];
  checkObject(input, '', issues, true);
  if (issues.length > 0) return { issues };
  return { spec: input as AnomalySpec };
}
