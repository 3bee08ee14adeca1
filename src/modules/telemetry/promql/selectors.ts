import { isStaleMarker, type RawSeries } from '../contracts.js';
import type { Series } from './values.js';

/**
 * Instant-vector selection at every evaluation time: the latest sample in the lookback window,
 * unless a staleness marker came at or after it. Prometheus 2.x (the version Debian ships, 2.42)
 * uses the closed window [t - lookback, t]; Prometheus 3 made it left-open.
 */
export function selectInstant(raw: RawSeries[], times: number[], offsetMs: number, lookbackMs: number): Series[] {
  const n = times.length;
  const out: Series[] = [];
  for (const input of raw) {
    const r = withoutStale(input);
    const stale = staleTimes(input);
    const values = new Float64Array(n);
    const present = new Uint8Array(n);
    const sampleTs = new Float64Array(n);
    let any = false;
    let j = 0;
    let k = 0;
    for (let i = 0; i < n; i++) {
      const ref = times[i]! - offsetMs;
      while (j < r.t.length && r.t[j]! <= ref) j++;
      while (k < stale.length && stale[k]! <= ref) k++;
      const idx = j - 1;
      if (idx < 0 || r.t[idx]! < ref - lookbackMs) continue;
      if (k > 0 && stale[k - 1]! >= r.t[idx]!) continue;
      values[i] = r.v[idx]!;
      sampleTs[i] = r.t[idx]!;
      present[i] = 1;
      any = true;
    }
    if (any) out.push({ labels: input.labels, values, present, sampleTs });
  }
  return out;
}

/**
 * Marker times: the contract's `stale` list, plus any marker still carried in `v` by a source
 * written against the older contract (only a Float64Array keeps the marker's bits).
 */
function staleTimes(r: RawSeries): number[] {
  const inline: number[] = [];
  for (let i = 0; i < r.t.length; i++) if (isStaleMarker(r.v[i]!)) inline.push(r.t[i]!);
  if (inline.length === 0) return r.stale ?? [];
  return [...(r.stale ?? []), ...inline].sort((a, b) => a - b);
}

/** Samples of one series without inline staleness markers: range vectors never contain them. */
export function withoutStale(r: RawSeries): RawSeries {
  // Index loops only: a source may hand over a Float64Array (the only array that keeps the marker's bits).
  let stale = 0;
  for (let i = 0; i < r.t.length; i++) if (isStaleMarker(r.v[i]!)) stale++;
  if (stale === 0) return r;
  const t: number[] = [];
  const v: number[] = [];
  for (let i = 0; i < r.t.length; i++) {
    const x = r.v[i]!;
    if (isStaleMarker(x)) continue;
    t.push(r.t[i]!);
    v.push(x);
  }
  return { labels: r.labels, t, v, ...(r.stale ? { stale: r.stale } : {}) };
}

/** A window of samples [lo, hi) of a series for one evaluation time. */
export interface Window {
  t: number[];
  v: number[];
  lo: number;
  hi: number;
  /** Evaluation time (ms), before offset. */
  evalT: number;
  rangeStart: number;
  rangeEnd: number;
}

/**
 * Slides the range window over sorted samples: for each time, samples in the closed range
 * [t - offset - range, t - offset] (Prometheus 2.x; Prometheus 3 excludes the left edge).
 * Times ascend, so both edges only move forward.
 */
export function forEachWindow(
  r: RawSeries,
  times: number[],
  offsetMs: number,
  rangeMs: number,
  fn: (w: Window, step: number) => void,
): void {
  const s = withoutStale(r);
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < times.length; i++) {
    const rangeEnd = times[i]! - offsetMs;
    const rangeStart = rangeEnd - rangeMs;
    while (lo < s.t.length && s.t[lo]! < rangeStart) lo++;
    if (hi < lo) hi = lo;
    while (hi < s.t.length && s.t[hi]! <= rangeEnd) hi++;
    if (hi > lo) fn({ t: s.t, v: s.v, lo, hi, evalT: times[i]!, rangeStart, rangeEnd }, i);
  }
}

/** Raw samples of a range selector at one time, as an instant query returns them. */
export function rangeSlice(r: RawSeries, t: number, offsetMs: number, rangeMs: number): RawSeries {
  const s = withoutStale(r);
  const end = t - offsetMs;
  const start = end - rangeMs;
  const ts: number[] = [];
  const vs: number[] = [];
  for (let i = 0; i < s.t.length; i++) {
    if (s.t[i]! < start || s.t[i]! > end) continue;
    ts.push(s.t[i]!);
    vs.push(s.v[i]!);
  }
  return { labels: r.labels, t: ts, v: vs };
}
