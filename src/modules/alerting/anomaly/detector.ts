import { changepointMethod } from './change-point.js';
import {
  type AnomalyResult,
  conclude,
  type HistoryStats,
  historyShortfall,
  MISSING_REASON,
  quiet,
  type TrafficLevel,
  valueGuard,
} from './guards.js';
import type { Method, SeriesView } from './judgement.js';
import { type DeviationCache, likelihoodLayer } from './likelihood.js';
import { robustMethod } from './robust-band.js';
import { seasonalMethod } from './seasonal.js';
import { type AnomalySpec, type GuardOptions, type MemberSpec, validateAnomalySpec } from './spec.js';
import { lowerBound, windowStats } from './stats.js';

/** A spec turned into something that judges the latest point of a view; built once per rule or stream. */
export interface CompiledDetector {
  /** Points older than this before the judged one are never read. */
  lookbackMs: number;
  /** `cache` (streaming only) remembers per-point work between calls; results are the same without it. */
  judgeLatest(view: SeriesView, stats: HistoryStats, cache?: DeviationCache): AnomalyResult;
}

const GUARD_KEYS = ['minHistory', 'minValue', 'minTraffic', 'direction', 'likelihood'] as const;

function methodFor(spec: MemberSpec): Method {
  switch (spec.method) {
    case 'robust':
      return robustMethod(spec);
    case 'seasonal':
      return seasonalMethod(spec);
    case 'changepoint':
      return changepointMethod(spec);
  }
}

function compileMember(spec: MemberSpec): CompiledDetector {
  const method = methodFor(spec);
  const layer = spec.likelihood ? likelihoodLayer(method, spec.likelihood, spec.direction ?? 'both') : null;
  return {
    lookbackMs: layer ? layer.lookbackMs : method.lookbackMs,
    judgeLatest(view, stats, cache) {
      const now = view.t[view.end - 1]!;
      const shortfall = historyShortfall(spec, method.defaultMinHistoryMs, now, stats);
      if (shortfall) return quiet(shortfall);
      const outcome = method.judge(view);
      if ('insufficient' in outcome) return quiet(outcome.insufficient);
      let traffic: TrafficLevel | null = null;
      if (spec.minTraffic !== undefined) {
        const from = lowerBound(view.t, now - method.lookbackMs, view.start, view.end - 1);
        const level = windowStats(view.v, from, view.end - 1).median;
        if (!Number.isNaN(level)) traffic = { median: level, lookbackMs: method.lookbackMs };
      }
      if (!layer) return conclude(outcome, view.v[view.end - 1]!, spec, traffic);
      return valueGuard(outcome, view.v[view.end - 1]!, spec, traffic) ?? layer.judge(view, outcome, cache);
    },
  };
}

/** Members inherit the ensemble's guards unless they set their own. */
function withGuards(member: MemberSpec, guards: GuardOptions): MemberSpec {
  const merged: MemberSpec = { ...member };
  for (const key of GUARD_KEYS) {
    if (merged[key] === undefined && guards[key] !== undefined) Object.assign(merged, { [key]: guards[key] });
  }
  return merged;
}

export const DEFAULT_ENSEMBLE: MemberSpec[] = [{ method: 'robust' }, { method: 'seasonal' }, { method: 'changepoint' }];

export function compile(spec: AnomalySpec): CompiledDetector {
  const checked = validateAnomalySpec(spec);
  if ('issues' in checked) {
    const first = checked.issues[0]!;
    throw new TypeError(`invalid anomaly spec: ${first.path || '/'} ${first.message}`);
  }
  if (spec.method !== 'ensemble') return compileMember(spec);
  const members = (spec.members ?? DEFAULT_ENSEMBLE).map((m) => compileMember(withGuards(m, spec)));
  return {
    lookbackMs: Math.max(...members.map((m) => m.lookbackMs)),
    judgeLatest(view, stats, cache) {
      // 'any': the most alarming member speaks for the ensemble, so a page quotes the reason that caused it.
      // 'all': the least alarming one does, so a quiet result says which member held the page back.
      const all = spec.combine === 'all';
      let pick: AnomalyResult | null = null;
      for (const m of members) {
        const r = m.judgeLatest(view, stats, cache);
        if (pick === null || (all ? r.score < pick.score : r.score > pick.score)) pick = r;
      }
      return pick!;
    },
  };
}

/** How far back a detector reads before the judged point: the history a caller should fetch (likelihood included). */
export function lookbackMs(spec: AnomalySpec): number {
  return compile(spec).lookbackMs;
}

/** Judges the last point of `history` (ms timestamps, ascending). Missing (non-finite) points are skipped. */
export function detect(spec: AnomalySpec, history: { t: number[]; v: number[] }): AnomalyResult {
  const detector = compile(spec);
  const n = Math.min(history.t.length, history.v.length);
  if (n === 0 || !Number.isFinite(history.v[n - 1]!) || !Number.isFinite(history.t[n - 1]!)) return quiet(MISSING_REASON);
  const t: number[] = [];
  const v: number[] = [];
  for (let i = 0; i < n; i++) {
    if (Number.isFinite(history.t[i]!) && Number.isFinite(history.v[i]!)) {
      t.push(history.t[i]!);
      v.push(history.v[i]!);
    }
  }
  return detector.judgeLatest({ t, v, start: 0, end: t.length }, { count: t.length, firstT: t[0]! });
}

/**
 * The same detector fed point by point. It keeps only the points within the detector's lookback (plus the
 * count and first time the history guard needs), so it agrees with `detect` over the full history.
 */
export function createStreamingDetector(spec: AnomalySpec): { push(t: number, v: number): AnomalyResult } {
  const detector = compile(spec);
  let ts: number[] = [];
  let vs: number[] = [];
  const cache: DeviationCache = new Map();
  let head = 0;
  let count = 0;
  let firstT = Number.NaN;
  return {
    push(t: number, v: number): AnomalyResult {
      if (!Number.isFinite(t) || !Number.isFinite(v)) return quiet(MISSING_REASON);
      ts.push(t);
      vs.push(v);
      count++;
      if (count === 1) firstT = t;
      while (ts[head]! < t - detector.lookbackMs) head++;
      // Compact now and then rather than shifting on every point: amortised O(1) per push.
      if (head > 1024 && head * 2 > ts.length) {
        ts = ts.slice(head);
        vs = vs.slice(head);
        for (const [key, remembered] of cache) cache.set(key, remembered.slice(head));
        head = 0;
      }
      return detector.judgeLatest({ t: ts, v: vs, start: head, end: ts.length }, { count, firstT }, cache);
    },
  };
}
