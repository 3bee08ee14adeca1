import { describe, expect, it } from 'vitest';
import { createStreamingDetector, detect } from './index.js';
import { DAY, flagged, MINUTE, normal, rng, series } from './synthetic.test-support.js';

const STEP = 5 * MINUTE;
const PER_DAY = DAY / STEP;

/** Five days of a daily cycle 100 ± 50 peaking at 06:00, with normal noise σ 3. */
function daily(seed: number) {
  const noise = normal(rng(seed));
  return series(5 * PER_DAY, STEP, (t) => 100 + 50 * Math.sin((2 * Math.PI * (t % DAY)) / DAY) + 3 * noise());
}

describe('seasonal', () => {
  it('raises no anomaly over several days of a noisy daily cycle', () => {
    expect(flagged(createStreamingDetector({ method: 'seasonal' }).push, daily(2))).toEqual([]);
  });

  it('catches a drop at peak time that a plain band would miss', () => {
    const s = daily(3);
    const peak = 4 * PER_DAY + PER_DAY / 4; // 06:00 on day 5
    const history = { t: s.t.slice(0, peak + 1), v: s.v.slice(0, peak + 1) };
    history.v[peak] = 80; // the trough is 50, so 80 is ordinary for the day, not for 06:00
    const r = detect({ method: 'seasonal' }, history);
    expect(r.anomalous).toBe(true);
    expect(r.expected!).toBeGreaterThan(140);
    expect(r.lower!).toBeGreaterThan(80);
    expect(r.reason).toMatch(/^value 80 is below the band [\d.]+–[\d.]+ \(same time over the last 3 × 1d /);
    expect(detect({ method: 'robust', window: '1d' }, history).anomalous).toBe(false);
  });

  it('waits for a full season of history', () => {
    const s = daily(4);
    const r = detect({ method: 'seasonal' }, { t: s.t.slice(0, PER_DAY / 2), v: s.v.slice(0, PER_DAY / 2) });
    expect(r.anomalous).toBe(false);
    expect(r.reason).toMatch(/of history, at least 1d1h is needed|at least 25h is needed/);
  });
});
