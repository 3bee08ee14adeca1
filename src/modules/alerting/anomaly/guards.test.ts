import { describe, expect, it } from 'vitest';
import { type AnomalySpec, createStreamingDetector, detect } from './index.js';
import { flagged, MINUTE, normal, rng, series } from './synthetic.test-support.js';

const SPECS: AnomalySpec[] = [
  { method: 'robust' },
  { method: 'seasonal', season: '1h' },
  { method: 'changepoint' },
  { method: 'ensemble' },
];

describe('guards', () => {
  it('never flags a quiet series below minTraffic, and says why', () => {
    const random = rng(6);
    // Mostly 0.2 requests/s with bursts to 3 and a sustained rise: dramatic in relative terms, nothing in absolute ones.
    const s = series(6 * 60, MINUTE, (_t, i) => (i > 300 ? 0.8 : random() < 0.05 ? 3 : 0.2));
    for (const spec of SPECS) {
      expect(flagged(createStreamingDetector({ ...spec, minTraffic: 1 }).push, s)).toEqual([]);
      expect(flagged(createStreamingDetector(spec).push, s).length).toBeGreaterThan(0);
    }
    const v = [...s.v];
    v[v.length - 1] = 3;
    expect(detect({ method: 'robust', minTraffic: 1 }, { t: s.t, v }).reason).toMatch(
      /^the series is quiet \(median [\d.]+ over the last 1h is below minTraffic 1\), so it does not page: value 3 is above the band/,
    );
  });

  it('never flags values below minValue', () => {
    const s = series(120, MINUTE, (_t, i) => (i === 119 ? 4 : 0));
    expect(detect({ method: 'robust' }, s).anomalous).toBe(true);
    const r = detect({ method: 'robust', minValue: 5 }, s);
    expect(r.anomalous).toBe(false);
    expect(r.reason).toMatch(/^value 4 and expected 0 are both below minValue 5/);
  });

  it('never flags a new series before minHistory', () => {
    const noise = normal(rng(7));
    const s = series(50, MINUTE, (_t, i) => (i === 49 ? 1000 : 100 + noise()));
    const byDefault = detect({ method: 'robust' }, s);
    expect(byDefault.anomalous).toBe(false);
    expect(byDefault.reason).toBe('only 49m of history, at least 1h is needed before this detector pages');
    expect(detect({ method: 'robust', minHistory: '30m' }, s).anomalous).toBe(true);
    expect(detect({ method: 'robust', minHistory: 60 }, s).reason).toBe(
      'only 50 points of history, at least 60 are needed before this detector pages',
    );
    for (const spec of SPECS) expect(flagged(createStreamingDetector(spec).push, s)).toEqual([]);
  });

  it('skips missing points and does not judge a missing latest value', () => {
    const noise = normal(rng(8));
    const s = series(120, MINUTE, (_t, i) => (i === 119 ? 400 : 100 + 2 * noise()));
    const gappy = { t: [...s.t], v: s.v.map((x, i) => (i % 7 === 3 ? Number.NaN : x)) };
    const clean = { t: s.t.filter((_t, i) => i % 7 !== 3), v: s.v.filter((_v, i) => i % 7 !== 3) };
    expect(detect({ method: 'robust' }, gappy)).toEqual(detect({ method: 'robust' }, clean));
    expect(detect({ method: 'robust' }, gappy).anomalous).toBe(true);
    const last = detect({ method: 'robust' }, { t: [...s.t, s.t.at(-1)! + MINUTE], v: [...s.v, Number.NaN] });
    expect(last.anomalous).toBe(false);
    expect(last.reason).toMatch(/latest value is missing/);
    expect(detect({ method: 'robust' }, { t: [], v: [] }).anomalous).toBe(false);
    expect(createStreamingDetector({ method: 'robust' }).push(s.t[0]!, Number.NaN).reason).toMatch(/missing/);
  });

  it('needs enough points in the window, not only enough time', () => {
    const s = { t: [0, 10 * MINUTE, 70 * MINUTE, 71 * MINUTE, 72 * MINUTE], v: [1, 1, 1, 1, 50] };
    const r = detect({ method: 'robust' }, s);
    expect(r.anomalous).toBe(false);
    expect(r.reason).toBe('only 2 points in the last 1h, at least 5 are needed');
  });
});
