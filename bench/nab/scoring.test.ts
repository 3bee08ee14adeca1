import { describe, expect, it } from 'vitest';
import { parseCsv, parseNabTime, windowIndices } from './load.js';
import {
  normalise,
  nullScore,
  onsets,
  optimiseOnsetThreshold,
  optimiseThreshold,
  PROFILES,
  perfectScore,
  pointRoles,
  probationLength,
  scaledSigmoid,
  scoreFile,
} from './scoring.js';

// Hand-sized files: 100 points, probation = first 15, one window [40, 49] (10 points).
const [standard, lowFp, lowFn] = PROFILES as [(typeof PROFILES)[0], (typeof PROFILES)[0], (typeof PROFILES)[0]];
const file = pointRoles({ name: 'a', length: 100, windows: [[40, 49]] });
const sig = (y: number) => 2 / (1 + Math.exp(5 * y)) - 1;

describe('NAB scoring', () => {
  it('uses the published profile weights', () => {
    expect(PROFILES.map((p) => [p.name, p.tp, p.fp, p.fn, p.tn])).toEqual([
      ['standard', 1, 0.11, 1, 1],
      ['reward_low_FP_rate', 1, 0.22, 1, 1],
      ['reward_low_FN_rate', 1, 0.11, 2, 1],
    ]);
  });

  it('has the scaled sigmoid at ≈1 at the window start, 0 at its end and → −1 after', () => {
    expect(scaledSigmoid(-1)).toBeCloseTo(0.98661, 5);
    expect(scaledSigmoid(0)).toBe(0);
    expect(scaledSigmoid(5)).toBeCloseTo(-1, 5);
  });

  it('scores a detection at the window start close to A_TP', () => {
    expect(scoreFile(file, [40], standard)).toBeCloseTo(0.98661, 5);
    expect(scoreFile(file, [40], standard)).toBeGreaterThan(0.98);
  });

  it('gives a later detection in the window less credit, and counts only the earliest', () => {
    // Index 49 is the window's last point: relative position −1/10.
    expect(scoreFile(file, [49], standard)).toBeCloseTo(sig(-0.1), 10);
    expect(scoreFile(file, [49, 45, 44], standard)).toBeCloseTo(sig(-0.6), 10);
    expect(scoreFile(file, [44, 45, 49], standard)).toBeCloseTo(scoreFile(file, [44], standard), 12);
  });

  it('charges a missed window A_FN', () => {
    expect(scoreFile(file, [], standard)).toBe(-1);
    expect(scoreFile(file, [], lowFn)).toBe(-2);
  });

  it('charges a false positive A_FP, less just after a window', () => {
    // Before any window: the full cost.
    expect(scoreFile(file, [20, 40], standard) - scoreFile(file, [40], standard)).toBeCloseTo(-0.11, 12);
    expect(scoreFile(file, [20, 40], lowFp) - scoreFile(file, [40], lowFp)).toBeCloseTo(-0.22, 12);
    // Long after the window (50 points = 5 window lengths): practically the full cost.
    expect(scoreFile(file, [99, 40], standard) - scoreFile(file, [40], standard)).toBeCloseTo(-0.11, 5);
    // One point after the window (y = 1/10): 0.11 × (1 − 2/(1 + e^0.5)) ≈ 0.0269.
    expect(scoreFile(file, [50, 40], standard) - scoreFile(file, [40], standard)).toBeCloseTo(-0.11 * -sig(0.1), 12);
    expect(-0.11 * -sig(0.1)).toBeCloseTo(-0.02694, 4);
  });

  it('ignores detections in the probationary period', () => {
    expect(probationLength(100)).toBe(15);
    expect(scoreFile(file, [0, 5, 14], standard)).toBe(-1);
    expect(scoreFile(file, [14, 15], standard)).toBeCloseTo(-1.11, 12);
  });

  it('normalises the null detector to 0 and the perfect one to 100', () => {
    const files = [
      file,
      pointRoles({
        name: 'b',
        length: 200,
        windows: [
          [60, 79],
          [150, 169],
        ],
      }),
    ];
    for (const p of PROFILES) {
      expect(normalise(nullScore(files, p), files, p)).toBe(0);
      expect(normalise(perfectScore(files, p), files, p)).toBeCloseTo(100, 10);
      const perfect = scoreFile(files[0]!, [40], p) + scoreFile(files[1]!, [60, 150], p);
      expect(normalise(perfect, files, p)).toBeCloseTo(100, 10);
    }
    // One window found at its start plus one FP, out of one window: 100 · (0.9866 − 0.11 + 1) / (0.9866 + 1).
    expect(normalise(scoreFile(file, [20, 40], standard), [file], standard)).toBeCloseTo((100 * (sig(-1) - 0.11 + 1)) / (sig(-1) + 1), 10);
  });

  it('finds the best threshold over the whole corpus', () => {
    const scores = new Float64Array(100);
    scores[40] = 0.9; // the anomaly, at the window start
    scores[70] = 0.6; // a false positive after the window
    scores[20] = 0.3; // another, before it
    const best = optimiseThreshold([file], [scores], standard);
    expect(best.threshold).toBe(0.9);
    expect(best.normalised).toBeCloseTo(100, 10);
    // A detector that never rises above its noise cannot beat the null detector.
    expect(optimiseThreshold([file], [new Float64Array(100)], standard).normalised).toBe(0);
    // When the anomaly scores lower than one false positive, taking both beats taking neither.
    scores[40] = 0.5;
    const both = optimiseThreshold([file], [scores], standard);
    expect(both.threshold).toBe(0.5);
    expect(both.raw).toBeCloseTo(sig(-1) - 0.11 * -sig(2.1), 10);
  });

  it('agrees with scoreFile at the chosen threshold', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const files = [
      file,
      pointRoles({
        name: 'b',
        length: 300,
        windows: [
          [100, 129],
          [200, 229],
        ],
      }),
    ];
    const scores = files.map((f) => Float64Array.from({ length: f.window.length }, () => Math.round(rand() * 50) / 50));
    for (const p of PROFILES) {
      const best = optimiseThreshold(files, scores, p);
      const raw = files.reduce((sum, f, k) => {
        const hits: number[] = [];
        scores[k]!.forEach((s, i) => {
          if (s >= best.threshold) hits.push(i);
        });
        return sum + scoreFile(f, hits, p);
      }, 0);
      expect(raw).toBeCloseTo(best.raw, 10);
    }
  });
});

describe('NAB data loading', () => {
  it('parses timestamps as UTC and maps windows to inclusive index ranges', () => {
    expect(parseNabTime('2014-04-10 07:15:00.000000')).toBe(Date.UTC(2014, 3, 10, 7, 15));
    const { t, v } = parseCsv('timestamp,value\n2014-04-10 07:10:00,1\n2014-04-10 07:15:00,2.5\n2014-04-10 07:20:00,3\n');
    expect(v).toEqual([1, 2.5, 3]);
    expect(windowIndices(t, parseNabTime('2014-04-10 07:12:00'), parseNabTime('2014-04-10 07:20:00'))).toEqual([1, 2]);
  });
});

describe('alert onsets', () => {
  it('counts a firing period once, from where it starts, after probation', () => {
    const scores = [0.9, 0.9, 0.1, 0.6, 0.7, 0.2, 0.8];
    expect(onsets(scores, 0.5)).toEqual([0, 3, 6]);
    // Firing since before index 1 is not a new page at index 1.
    expect(onsets(scores, 0.5, 1)).toEqual([3, 6]);
    expect(onsets(scores, 0.95)).toEqual([]);
  });

  it('optimises the onset threshold to the perfect score on a clean case', () => {
    const scores = new Float64Array(100);
    for (let i = 40; i < 60; i++) scores[i] = 0.9; // fires through the window and past it: still one page
    scores[80] = 0.4;
    const best = optimiseOnsetThreshold([file], [scores], standard);
    expect(best.normalised).toBeCloseTo(100, 10);
    expect(best.threshold).toBeGreaterThan(0.4);
  });
});
