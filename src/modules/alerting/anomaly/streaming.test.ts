import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AnomalySpec, createStreamingDetector, detect } from './index.js';
import { MINUTE } from './synthetic.test-support.js';

// Short windows so a few hundred points cross several lookbacks and the streaming buffer really trims.
const SPECS: AnomalySpec[] = [
  { method: 'robust', window: '20m' },
  { method: 'robust', window: '10m', direction: 'down', minTraffic: 2 },
  { method: 'seasonal', season: '1h', seasons: 2, window: '10m' },
  { method: 'changepoint', window: '30m', recent: '10m' },
  { method: 'ensemble', combine: 'all', minHistory: 40 },
];

// Likelihood layers need 100 deviations before they judge, and the stream compacts its buffer (and the
// deviation memory with it) only past 1024 trimmed points: longer series, fewer runs.
const LIKELIHOOD_SPECS: AnomalySpec[] = [
  { method: 'robust', window: '10m', likelihood: { window: '4h', average: 3, quantile: 0.9 } },
  { method: 'seasonal', season: '1h', seasons: 2, window: '10m', likelihood: { window: '4h' } },
  { method: 'ensemble', combine: 'any', likelihood: { window: '4h', average: 2 }, minHistory: 20 },
];

const point = fc.record({
  gap: fc.integer({ min: 1, max: 5 }).map((g) => g * MINUTE),
  value: fc.oneof(
    { weight: 20, arbitrary: fc.double({ min: 0, max: 10, noNaN: true }) },
    { weight: 1, arbitrary: fc.constantFrom(Number.NaN, 100, 0) },
  ),
});

describe('streaming and windowed detection agree', () => {
  it('detect over a history equals the streaming detector fed the same points', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SPECS), fc.array(point, { minLength: 1, maxLength: 250 }), (spec, points) => {
        const stream = createStreamingDetector(spec);
        const t: number[] = [];
        const v: number[] = [];
        let now = Date.UTC(2025, 0, 1);
        for (const p of points) {
          now += p.gap;
          t.push(now);
          v.push(p.value);
          expect(stream.push(now, p.value)).toEqual(detect(spec, { t, v }));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('also with a likelihood layer, whose deviations the stream remembers and detect replays', () => {
    const steady = fc.record({
      gap: fc.integer({ min: 1, max: 2 }).map((g) => g * MINUTE),
      value: fc.oneof(
        { weight: 40, arbitrary: fc.double({ min: 0, max: 10, noNaN: true }) },
        { weight: 1, arbitrary: fc.constantFrom(Number.NaN, 100, 0) },
      ),
    });
    fc.assert(
      fc.property(fc.constantFrom(...LIKELIHOOD_SPECS), fc.array(steady, { minLength: 1300, maxLength: 1500 }), (spec, points) => {
        const stream = createStreamingDetector(spec);
        const t: number[] = [];
        const v: number[] = [];
        let now = Date.UTC(2025, 0, 1);
        let judged = 0;
        for (const p of points) {
          now += p.gap;
          t.push(now);
          v.push(p.value);
          const streamed = stream.push(now, p.value);
          expect(streamed).toEqual(detect(spec, { t, v }));
          if (/ordinary for this series/.test(streamed.reason)) judged++;
        }
        expect(judged).toBeGreaterThan(0);
      }),
      { numRuns: 6 },
    );
  });
});
