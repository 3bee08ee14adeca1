import { describe, expect, it } from 'vitest';
import { formatFloatF, formatValue } from './format.js';

describe('formatValue (Prometheus API number strings)', () => {
  it.each([
    [1, '1'],
    [0.5, '0.5'],
    [-2.25, '-2.25'],
    [1e-7, '1e-07'],
    [1.5e-10, '1.5e-10'],
    [1e21, '1e+21'],
    [1.234e300, '1.234e+300'],
    [123456789012345680000, '123456789012345680000'],
    [0.000001, '0.000001'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, '+Inf'],
    [Number.NEGATIVE_INFINITY, '-Inf'],
    [-0, '-0'],
  ])('%s → %s', (v, s) => {
    expect(formatValue(v)).toBe(s);
  });
});

describe('formatFloatF (count_values labels)', () => {
  it.each([
    [1e-7, '0.0000001'],
    [1e21, '1000000000000000000000'],
    [-1.5e-8, '-0.000000015'],
    [2.5, '2.5'],
    [Number.POSITIVE_INFINITY, '+Inf'],
  ])('%s → %s', (v, s) => {
    expect(formatFloatF(v)).toBe(s);
  });
});
