import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cookieValue, stableHash, stickyPoint } from './sticky.js';
import { BUCKETS, chooseVersion, entryAt, weightTable } from './weights.js';

const all = () => true;
/** Version index a sticky key maps to, every version available. */
const route = (weights: number[], key: string) => {
  const point = stickyPoint('feed', key);
  return chooseVersion(weightTable(weights), point.bucket, () => point.spill, all);
};
/** Weights in tenths of a percent summing to 100 %. */
const weightsArb = (n: number) =>
  fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: n - 1, maxLength: n - 1 }).map((cuts) => {
    const sorted = [0, ...cuts.sort((a, b) => a - b), 1000];
    return sorted.slice(1).map((c, i) => (c - sorted[i]) / 10);
  });

describe('weights', () => {
  it('gives each version exactly weight x 10 of the 1,000 buckets', () => {
    fc.assert(
      fc.property(weightsArb(4), (weights) => {
        const table = weightTable(weights);
        const owned = new Array(weights.length).fill(0);
        for (let b = 0; b < BUCKETS; b++) owned[table.indexes[entryAt(table, b)]]++;
        expect(owned).toEqual(weights.map((w) => Math.round(w * 10)));
      }),
    );
  });

  it('maps a key deterministically for fixed weights', () => {
    fc.assert(
      fc.property(weightsArb(3), fc.string(), (weights, key) => {
        expect(route(weights, key)).toBe(route([...weights], key));
        expect(stableHash('feed', key)).toBe(stableHash('feed', `${key}`));
      }),
    );
  });

  it('moves keys only from stable to canary when the canary weight grows', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.array(fc.string(), { maxLength: 200 }),
        (a, b, keys) => {
          const [low, high] = a <= b ? [a / 10, b / 10] : [b / 10, a / 10];
          for (const key of keys) {
            const before = route([100 - low, low], key);
            const after = route([100 - high, high], key);
            if (before === 1) expect(after).toBe(1);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('moves only the keys of an unavailable version, spreading them in proportion to the weights', () => {
    fc.assert(
      fc.property(weightsArb(3), fc.integer({ min: 0, max: 2 }), (weights, down) => {
        const table = weightTable(weights);
        const others = weights.reduce((n, w, i) => (i === down ? n : n + w), 0);
        let spilled = 0;
        const spilledTo = new Array(weights.length).fill(0);
        for (let b = 0; b < BUCKETS; b++) {
          const owner = table.indexes[entryAt(table, b)];
          // A low-discrepancy sequence stands in for the uniform secondary draw.
          const chosen = chooseVersion(
            table,
            b,
            () => (spilled * 0.6180339887) % 1,
            (i) => i !== down,
          );
          if (others === 0) {
            // Every bucket belonged to the unavailable version: nowhere to go.
            expect(chosen).toBe(-1);
            if (owner === down) spilled++;
          } else if (owner === down) {
            spilled++;
            spilledTo[chosen]++;
            expect(chosen).not.toBe(down);
          } else if (chosen !== owner) throw new Error(`bucket ${b} moved from ${owner} to ${chosen}`);
        }
        expect(spilled).toBe(Math.round(weights[down] * 10));
        if (others > 0)
          for (const [j, w] of weights.entries())
            if (j !== down) expect(Math.abs(spilledTo[j] - (spilled * w) / others)).toBeLessThanOrEqual(3);
      }),
    );
  });

  it('scales weights that do not sum to 100 and ignores zero weights', () => {
    const table = weightTable([30, 0, 30]);
    expect(table.indexes).toEqual([0, 2]);
    expect(table.indexes[entryAt(table, 499)]).toBe(0);
    expect(table.indexes[entryAt(table, 500)]).toBe(2);
    expect(entryAt(weightTable([0, 0]), 10)).toBe(-1);
    expect(chooseVersion(weightTable([0, 0]), 10, Math.random, all)).toBe(-1);
  });
});

describe('sticky hashing', () => {
  it('spreads keys evenly over the buckets', () => {
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 20_000; i++) counts[Math.floor(stickyPoint('feed', `user-${i}`).bucket / 100)]++;
    // 2,000 expected per decile; sigma ~42.
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200);
  });

  it('salts by service so one slice of users does not carry every canary', () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `u${i}`);
    const same = keys.filter((k) => stickyPoint('feed', k).bucket < 100 && stickyPoint('search', k).bucket < 100).length;
    expect(same).toBeLessThan(40);
  });

  it('reads cookies', () => {
    expect(cookieValue('a=1; uid=abc; b=2', 'uid')).toBe('abc');
    expect(cookieValue('uid="quoted"', 'uid')).toBe('quoted');
    expect(cookieValue('xuid=1', 'uid')).toBeUndefined();
    expect(cookieValue('uid=', 'uid')).toBeUndefined();
  });
});
