import { describe, expect, it } from 'vitest';
import { validateAnomalySpec } from './index.js';

const issues = (input: unknown) => {
  const r = validateAnomalySpec(input);
  return 'issues' in r ? r.issues : [];
};

describe('validateAnomalySpec', () => {
  it('accepts every method with its settings', () => {
    for (const spec of [
      { method: 'robust', window: '1h', k: 3.5, minHistory: '2h', minValue: 1, minTraffic: 5, direction: 'up', minSpread: 0.5 },
      { method: 'seasonal', season: '1w', seasons: 2, tolerance: 4, window: '30m', minHistory: 100 },
      { method: 'changepoint', window: '2h', recent: '15m', threshold: 5, drift: 0.5, direction: 'down' },
      { method: 'ensemble', combine: 'all', members: [{ method: 'robust' }, { method: 'seasonal', season: '1d' }] },
      { method: 'ensemble' },
    ]) {
      expect(validateAnomalySpec(spec)).toEqual({ spec });
    }
  });

  it('names the field with a JSON pointer relative to the anomaly block', () => {
    expect(issues({ method: 'robust', k: -1 })).toEqual([{ path: '/k', message: 'must be a number greater than 0' }]);
    expect(issues({ method: 'robust', window: 'soon' })[0]!.path).toBe('/window');
    expect(issues({ method: 'seasonal', season: '0s' })[0]!.path).toBe('/season');
    expect(issues({ method: 'robust', minHistory: 0 })[0]!.path).toBe('/minHistory');
    expect(issues({ method: 'robust', direction: 'sideways' })[0]).toEqual({
      path: '/direction',
      message: "must be 'both', 'up' or 'down'",
    });
    expect(issues({ method: 'robust', season: '1d' })).toEqual([{ path: '/season', message: 'is not a setting of the robust method' }]);
    expect(issues({ method: 'ensemble', members: [{ method: 'robust' }, { method: 'seasonal', seasons: 0 }] })[0]!.path).toBe(
      '/members/1/seasons',
    );
    expect(issues({ method: 'ensemble', members: [{ method: 'ensemble' }] })[0]!.path).toBe('/members/0/method');
  });

  it('rejects a missing or unknown method and non-objects', () => {
    expect(issues({})[0]!.path).toBe('/method');
    expect(issues({ method: 'magic' })[0]!.message).toMatch(/must be one of 'robust', 'seasonal', 'changepoint', 'ensemble'/);
    expect(issues('robust')).toEqual([{ path: '', message: 'must be an object with a method' }]);
  });
});
