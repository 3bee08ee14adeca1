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
} as const;

const GUARD_KEYS = ['minHistory', 'minValue', 'minTraffic', 'direction'];
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
