import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, backoffDelayMs } from './backoff.js';

const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('backoff with full jitter', () => {
  it('stays within [0, min(cap, base·2^(n-1)))', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), unit, (attempt, r) => {
        const delay = backoffDelayMs(attempt, () => r);
        const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(ceiling);
      }),
    );
  });

  it('grows with the attempt for the same draw until the cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), unit, (attempt, r) => {
        expect(backoffDelayMs(attempt + 1, () => r)).toBeGreaterThanOrEqual(backoffDelayMs(attempt, () => r));
      }),
    );
  });

  it('reaches the 5 minute cap and never passes it', () => {
    expect(backoffDelayMs(1, () => 0.999)).toBe(999);
    expect(backoffDelayMs(4, () => 0.5)).toBe(4000);
    expect(backoffDelayMs(20, () => 0.999_999)).toBe(Math.floor(0.999_999 * BACKOFF_CAP_MS));
    expect(backoffDelayMs(0, () => 0.5)).toBe(500);
  });
});
