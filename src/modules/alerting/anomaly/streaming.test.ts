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
});
