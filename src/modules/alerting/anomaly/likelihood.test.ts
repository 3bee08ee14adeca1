import { describe, expect, it } from 'vitest';
import { type AnomalySpec, createStreamingDetector, detect, lookbackMs, validateAnomalySpec } from './index.js';
import { flagged, HOUR, MINUTE, normal, rng, series } from './synthetic.test-support.js';

const STEP = 5 * MINUTE;

/** Two days of 5-minute points: a calm series, and one with bursts of the same size every 2 hours. */
function calm(seed: number) {
  const noise = normal(rng(seed));
  return series(576, STEP, () => 100 + 2 * noise());
}
function bursty(seed: number) {
  const noise = normal(rng(seed));
  return series(576, STEP, (_t, i) => 100 + 2 * noise() + (i % 24 === 0 ? 40 : 0));
}

const ROBUST: AnomalySpec = { method: 'robust', window: '2h', likelihood: { window: '1d' } };

describe('likelihood', () => {
  it('pages on a step of a calm series and explains it against the series’ own deviations', () => {
    const s = calm(21);
    s.v[s.v.length - 1] = 130;
    const r = detect(ROBUST, s);
    expect(r.anomalous).toBe(true);
    expect(r.score).toBeGreaterThan(0.5);
    expect(r.expected).toBeCloseTo(100, -1);
    expect(r.reason).toMatch(
      /^value 130 is above the band .*; over the last 6 points it deviates [\d.]+ band half-widths \(log-mean\), beyond what is ordinary for this series: [\d.]+ at the 99th percentile of the last 1d$/,
    );
  });

  it('stays quiet on a series whose ordinary bursts cross the band, where the plain band pages on each', () => {
    const s = bursty(22);
    const plain = flagged(createStreamingDetector({ method: 'robust', window: '2h' }).push, s);
    expect(plain.length).toBeGreaterThan(10);
    // After the first day (the likelihood's window has filled) the recurring burst is ordinary.
    const judged = flagged(createStreamingDetector(ROBUST).push, s).filter((i) => i >= 288);
    expect(judged).toEqual([]);
  });

  it('raises nothing over days of calm noise, though its own top 1% is always beyond the quantile', () => {
    for (const seed of [26, 27]) expect(flagged(createStreamingDetector(ROBUST).push, calm(seed))).toEqual([]);
  });

  it('still pages when the burst is far larger than the usual ones', () => {
    const s = bursty(23);
    const last = s.v.length - 1;
    s.v[last] = 100 + 400;
    expect(detect(ROBUST, s).anomalous).toBe(true);
  });

  it('waits for enough deviations to compare with', () => {
    const s = calm(24);
    const short = { t: s.t.slice(0, 80), v: s.v.slice(0, 80) };
    short.v[79] = 500;
    const r = detect(ROBUST, short);
    expect(r.anomalous).toBe(false);
    expect(r.reason).toMatch(/^only \d+ deviations in the last 1d to compare with, at least 100 are needed: value 500 is above/);
  });

  it('keeps the value guards and the direction', () => {
    const s = calm(25);
    s.v[s.v.length - 1] = 60;
    expect(detect(ROBUST, s).anomalous).toBe(true);
    expect(detect({ ...ROBUST, direction: 'up' }, s).anomalous).toBe(false);
    expect(detect({ ...ROBUST, minTraffic: 1000 }, s).reason).toMatch(/^the series is quiet/);
  });

  it('compares with at most the last 2016 points of its window, so dense histories cost the same', () => {
    const noise = normal(rng(28));
    const dense = series(4000, MINUTE, () => 100 + 2 * noise());
    dense.v[3999] = 140;
    const spec: AnomalySpec = { method: 'robust', window: '30m', likelihood: { window: '7d' } };
    const full = detect(spec, dense);
    // Dropping points older than the 2016 replayed ones (and their own 30-minute windows) changes nothing.
    const keep = 4000 - 2017 - 30;
    expect(detect(spec, { t: dense.t.slice(keep), v: dense.v.slice(keep) })).toEqual(full);
    expect(full.anomalous).toBe(true);
  });

  it('reads the likelihood window on top of the method’s lookback', () => {
    expect(lookbackMs(ROBUST)).toBe(2 * HOUR + 24 * HOUR);
    expect(lookbackMs({ method: 'robust', window: '2h' })).toBe(2 * HOUR);
  });

  it('validates its settings by JSON pointer, members included', () => {
    const bad = validateAnomalySpec({
      method: 'ensemble',
      likelihood: { window: 'soon', average: 0, quantile: 1, extra: true },
      members: [{ method: 'robust', likelihood: 'yes' }],
    });
    expect('issues' in bad && bad.issues.map((i) => i.path)).toEqual([
      '/likelihood/extra',
      '/likelihood/window',
      '/likelihood/average',
      '/likelihood/quantile',
      '/members/0/likelihood',
    ]);
    expect(validateAnomalySpec({ method: 'seasonal', likelihood: {} })).toEqual({ spec: { method: 'seasonal', likelihood: {} } });
  });
});
