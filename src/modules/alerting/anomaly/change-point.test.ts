import { describe, expect, it } from 'vitest';
import { createStreamingDetector, detect } from './index.js';
import { flagged, MINUTE, normal, rng, series } from './synthetic.test-support.js';

const SHIFT_AT = 240;

describe('changepoint', () => {
  const noise = normal(rng(5));
  const shifted = series(300, MINUTE, (_t, i) => (i < SHIFT_AT ? 100 : 120) + 2 * noise());

  it('catches a level shift within a few points, and nothing before it', () => {
    const hits = flagged(createStreamingDetector({ method: 'changepoint' }).push, shifted);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits[0]!).toBeGreaterThanOrEqual(SHIFT_AT);
    expect(hits[0]!).toBeLessThan(SHIFT_AT + 4);
  });

  it('explains the shift', () => {
    const r = detect({ method: 'changepoint' }, { t: shifted.t.slice(0, SHIFT_AT + 5), v: shifted.v.slice(0, SHIFT_AT + 5) });
    expect(r.anomalous).toBe(true);
    expect(r.expected).toBeCloseTo(100, 0);
    expect(r.reason).toMatch(/^the last 30 points \(mean [\d.]+\) shifted above the median [\d.]+ of the 2h before them, band/);
  });

  it('does not take a lone spike for a shift', () => {
    const s = series(200, MINUTE, (_t, i) => (i === 199 ? 400 : 100 + 2 * noise()));
    expect(detect({ method: 'changepoint' }, s).anomalous).toBe(false);
    expect(detect({ method: 'robust' }, s).anomalous).toBe(true);
  });

  it('only pages on drops when asked to', () => {
    expect(flagged(createStreamingDetector({ method: 'changepoint', direction: 'down' }).push, shifted)).toEqual([]);
  });
});
