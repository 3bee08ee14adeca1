import { parseDuration } from '../../../core/resources/formats.js';
import { fmt, fmtDuration, type Judgement, type Position } from './judgement.js';
import type { Direction, GuardOptions } from './spec.js';

export interface AnomalyResult {
  anomalous: boolean;
  /** 0..1, monotone in how far beyond the band the value is; 0.5 is the band's edge. */
  score: number;
  expected: number | null;
  lower: number | null;
  upper: number | null;
  /** One plain sentence with the numbers. */
  reason: string;
}

/** What the guards need to know about the whole history, not just the method's window. */
export interface HistoryStats {
  /** Finite points seen, the judged one included. */
  count: number;
  /** Time of the first finite point. */
  firstT: number;
}

export function quiet(reason: string, judgement?: Judgement): AnomalyResult {
  return {
    anomalous: false,
    score: 0,
    expected: judgement?.expected ?? null,
    lower: judgement?.lower ?? null,
    upper: judgement?.upper ?? null,
    reason,
  };
}

export const MISSING_REASON = 'the latest value is missing (not a finite number), so there is nothing to judge';

/** The minimum-history guard; a sentence when it holds the detector back, else null. */
export function historyShortfall(guards: GuardOptions, defaultMs: number, now: number, stats: HistoryStats): string | null {
  const min = guards.minHistory;
  if (typeof min === 'number') {
    return stats.count < min ? `only ${stats.count} points of history, at least ${min} are needed before this detector pages` : null;
  }
  const ms = min === undefined ? defaultMs : parseDuration(min)!;
  const span = now - stats.firstT;
  return span < ms
    ? `only ${fmtDuration(Math.max(0, span))} of history, at least ${fmtDuration(ms)} is needed before this detector pages`
    : null;
}

/** Score in 0..1 from a deviation measured in band half-widths: 0.5 at the band's edge, never saturating. */
export function scoreOf(ratio: number): number {
  return ratio > 0 ? ratio / (1 + ratio) : 0;
}

export function directionalRatio(j: Judgement, direction: Direction): number {
  if (direction === 'up') return j.up;
  if (direction === 'down') return j.down;
  return Math.max(j.up, j.down);
}

/** The series' typical level, for the minimum-traffic guard: the median of the lookback before the judged point. */
export interface TrafficLevel {
  median: number;
  lookbackMs: number;
}

/** The value guards (minTraffic, minValue): a quiet result saying which one held the page back, else null. */
export function valueGuard(j: Judgement, value: number, guards: GuardOptions, traffic: TrafficLevel | null): AnomalyResult | null {
  const sentence = () => j.explain(positionOf(j));
  // Judged on the series' usual level, not on what the method expected now: a quiet series with a burst at
  // the same minute yesterday is still a quiet series.
  if (guards.minTraffic !== undefined && traffic && Math.abs(traffic.median) < guards.minTraffic) {
    return quiet(
      `the series is quiet (median ${fmt(traffic.median)} over the last ${fmtDuration(traffic.lookbackMs)} is below minTraffic ` +
        `${fmt(guards.minTraffic)}), so it does not page: ${sentence()}`,
      j,
    );
  }
  if (guards.minValue !== undefined && Math.abs(value) < guards.minValue && Math.abs(j.expected) < guards.minValue) {
    return quiet(
      `value ${fmt(value)} and expected ${fmt(j.expected)} are both below minValue ${fmt(guards.minValue)}, too small to page on: ${sentence()}`,
      j,
    );
  }
  return null;
}

export function positionOf(j: Judgement): Position {
  return j.up >= 1 ? 'above' : j.down >= 1 ? 'below' : 'inside';
}

/** Applies the value guards and the direction to a method's judgement of the latest value. */
export function conclude(j: Judgement, value: number, guards: GuardOptions, traffic: TrafficLevel | null): AnomalyResult {
  const blocked = valueGuard(j, value, guards, traffic);
  if (blocked) return blocked;
  const position = positionOf(j);
  const sentence = j.explain(position);
  const direction = guards.direction ?? 'both';
  const ratio = directionalRatio(j, direction);
  const anomalous = ratio >= 1;
  const ignored = !anomalous && position !== 'inside';
  return {
    anomalous,
    score: scoreOf(ratio),
    expected: j.expected,
    lower: j.lower,
    upper: j.upper,
    reason: ignored ? `${sentence}, but only ${direction === 'up' ? 'rises' : 'drops'} page (direction '${direction}')` : sentence,
  };
}
