import { seededRandom } from '../../../testing/random.js';

/** Seeded series for the detector tests: deterministic, so a failure reproduces. */
export const rng = seededRandom;

/** Standard normal samples (Box–Muller). */
export function normal(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
export const T0 = Date.UTC(2025, 0, 6);

/** `count` points every `stepMs` from T0, valued by `f(t, i)`. */
export function series(count: number, stepMs: number, f: (t: number, i: number) => number): { t: number[]; v: number[] } {
  const t: number[] = [];
  const v: number[] = [];
  for (let i = 0; i < count; i++) {
    t.push(T0 + i * stepMs);
    v.push(f(T0 + i * stepMs, i));
  }
  return { t, v };
}

/** Indices the streaming detector flags over the whole series. */
export function flagged(push: (t: number, v: number) => { anomalous: boolean }, s: { t: number[]; v: number[] }): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.t.length; i++) if (push(s.t[i]!, s.v[i]!).anomalous) out.push(i);
  return out;
}
