import { describe, expect, it } from 'vitest';
import { createStreamingDetector, detect } from './index.js';
import { flagged, MINUTE, normal, rng, series } from './synthetic.test-support.js';

describe('robust band', () => {
  const noise = normal(rng(1));
  const flat = series(24 * 60, MINUTE, () => 300 + 10 * noise());

  it('raises nothing on days of noisy flat data', () => {
    for (const seed of [11, 12, 13]) {
      const random = normal(rng(seed));
      const day = series(24 * 60, MINUTE, () => 300 + 10 * random());
      expect(flagged(createStreamingDetector({ method: 'robust' }).push, day)).toEqual([]);
    }
  });

  it('catches a spike and explains it with the numbers', () => {
    const v = [...flat.v];
    v[v.length - 1] = 420;
    const r = detect({ method: 'robust' }, { t: flat.t, v });
    expect(r.anomalous).toBe(true);
    expect(r.score).toBeGreaterThan(0.5);
    expect(r.expected).toBeCloseTo(300, -1);
    expect(r.upper!).toBeLessThan(420);
    expect(r.reason).toMatch(/^value 420 is above the band \d+–\d+ \(median \d+ ± 4σ, σ [\d.]+ from the MAD over the last 1h\)$/);
  });

  it('keeps the band after the spike: one outlier does not widen it', () => {
    const v = [...flat.v];
    v[v.length - 30] = 5000;
    v[v.length - 1] = 420;
    expect(detect({ method: 'robust' }, { t: flat.t, v }).anomalous).toBe(true);
  });

  it('respects direction', () => {
    const v = [...flat.v];
    v[v.length - 1] = 180;
    expect(detect({ method: 'robust' }, { t: flat.t, v }).anomalous).toBe(true);
    const up = detect({ method: 'robust', direction: 'up' }, { t: flat.t, v });
    expect(up.anomalous).toBe(false);
    expect(up.score).toBe(0);
    expect(up.reason).toMatch(/is below the band .*, but only rises page \(direction 'up'\)$/);
  });

  it('does not page on a wiggle of a flat series (MAD 0)', () => {
    const quiet = series(120, MINUTE, (_t, i) => (i % 40 === 0 ? 101 : 100));
    expect(detect({ method: 'robust' }, quiet).anomalous).toBe(false);
    const v = [...quiet.v];
    v[v.length - 1] = 100.5;
    expect(detect({ method: 'robust' }, { t: quiet.t, v }).anomalous).toBe(false);
    v[v.length - 1] = 130;
    expect(detect({ method: 'robust' }, { t: quiet.t, v }).anomalous).toBe(true);
  });
});
