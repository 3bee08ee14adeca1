import type { Replay } from './stats.js';

/**
 * The points a method may look at: t/v are ascending, finite, and the judged point is at `end - 1`.
 * `start` lets the streaming detector trim its buffer without copying.
 */
export interface SeriesView {
  t: ArrayLike<number>;
  v: ArrayLike<number>;
  start: number;
  end: number;
}

/** Where the judged value sits relative to what the method expected. */
export type Position = 'above' | 'below' | 'inside';

/** What a method concludes about the latest point, before guards and direction are applied. */
export interface Judgement {
  expected: number;
  lower: number;
  upper: number;
  /** Upward and downward deviation in units of the band's half-width: ≥ 1 is beyond the band. */
  up: number;
  down: number;
  /** The sentence for this judgement, e.g. "value 912 is above the band 120–480 (median 300 ± …)". */
  explain(position: Position): string;
}

/** A method that cannot judge yet (too few points in its window) says why instead. */
export type MethodOutcome = Judgement | { insufficient: string };

export interface Method {
  /** How far back from the judged point the method reads; the streaming detector keeps exactly this much. */
  lookbackMs: number;
  /** Default minimum history when the spec does not set one. */
  defaultMinHistoryMs: number;
  /**
   * `replay` (optional) is shared by the judgements of consecutive points of one view (the likelihood layer):
   * it keeps per-index values and sliding windows, so each point costs a step rather than a fresh pass. The
   * outcome is the same with or without it.
   */
  judge(view: SeriesView, replay?: Replay): MethodOutcome;
}

/** Numbers in reasons: few significant digits, no exponent for everyday magnitudes. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return String(Math.round(x));
  if (a === 0) return '0';
  return String(Number(x.toPrecision(3)));
}

/** '1h', '90m' → a human duration for sentences. */
export function fmtDuration(ms: number): string {
  const units: Array<[number, string]> = [
    [604_800_000, 'w'],
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1_000, 's'],
  ];
  for (const [size, unit] of units) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${Math.round(ms / 1000)}s`;
}

export function bandText(lower: number, upper: number): string {
  return `${fmt(lower)}–${fmt(upper)}`;
}
