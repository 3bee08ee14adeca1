import type { Labels, RawSeries } from '../contracts.js';
import { PromqlRuntimeError } from './errors.js';
import { labelsKey } from './labels.js';

/**
 * An instant vector evaluated over every step of the query at once: dense per-step arrays.
 * A series is "in the vector" at step i when present[i] is 1.
 */
export interface Series {
  labels: Labels;
  values: Float64Array;
  present: Uint8Array;
  /** Sample timestamps (ms) for selector output; timestamp() reads them. */
  sampleTs?: Float64Array;
  /** Cached labelsKey(labels). */
  key?: string;
}

export type Value =
  | { kind: 'scalar'; values: Float64Array }
  | { kind: 'vector'; series: Series[] }
  | { kind: 'string'; value: string }
  /** Raw samples of a range selector; only an instant query can return one. */
  | { kind: 'matrix'; series: RawSeries[] };

export function keyOf(s: Series): string {
  if (s.key === undefined) s.key = labelsKey(s.labels);
  return s.key;
}

export function newSeries(labels: Labels, n: number, key?: string): Series {
  return { labels, values: new Float64Array(n), present: new Uint8Array(n), ...(key !== undefined ? { key } : {}) };
}

export const DUPLICATE_LABELSET = 'vector cannot contain metrics with the same labelset';

/** Collects per-step samples into series keyed by label set, rejecting two samples for one series at one step. */
export class SeriesBuilder {
  private readonly byKey = new Map<string, Series>();

  constructor(private readonly n: number) {}

  add(labels: Labels, key: string, step: number, value: number): void {
    let s = this.byKey.get(key);
    if (!s) {
      s = newSeries(labels, this.n, key);
      this.byKey.set(key, s);
    }
    if (s.present[step]) throw new PromqlRuntimeError(DUPLICATE_LABELSET);
    s.present[step] = 1;
    s.values[step] = value;
  }

  result(): Series[] {
    return [...this.byKey.values()];
  }
}

/**
 * Series whose labels became equal (e.g. after dropping `__name__`) are one series in the output;
 * that is only an error where both have a sample at the same step.
 */
export function mergeSameLabels(list: Series[], n: number): Series[] {
  const byKey = new Map<string, Series>();
  let collided = false;
  for (const s of list) {
    const k = keyOf(s);
    if (byKey.has(k)) collided = true;
    else byKey.set(k, s);
  }
  if (!collided) return list;
  const builder = new SeriesBuilder(n);
  for (const s of list) {
    for (let i = 0; i < n; i++) if (s.present[i]) builder.add(s.labels, keyOf(s), i, s.values[i]!);
  }
  return builder.result();
}

/** Maps a vector's values step by step, keeping only steps where `fn` returns a number. */
export function mapVector(
  series: Series[],
  labelsFn: (l: Labels) => Labels,
  fn: (v: number, step: number) => number | undefined,
): Series[] {
  const n = series[0]?.values.length ?? 0;
  const out: Series[] = [];
  for (const s of series) {
    const r = newSeries(labelsFn(s.labels), n);
    let any = false;
    for (let i = 0; i < n; i++) {
      if (!s.present[i]) continue;
      const v = fn(s.values[i]!, i);
      if (v === undefined) continue;
      r.values[i] = v;
      r.present[i] = 1;
      any = true;
    }
    if (any) out.push(r);
  }
  return mergeSameLabels(out, n);
}

export function fillScalar(n: number, v: number): Float64Array {
  return new Float64Array(n).fill(v);
}
