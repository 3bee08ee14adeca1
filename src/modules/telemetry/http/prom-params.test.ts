import { describe, expect, it } from 'vitest';
import { PromParamError, parsePromDuration, parsePromTime } from './prom-params.js';

describe('Prometheus API parameters', () => {
  it('reads durations as Prometheus does', () => {
    expect(parsePromDuration('step', '15s')).toBe(15_000);
    expect(parsePromDuration('step', '1h30m')).toBe(5_400_000);
    expect(parsePromDuration('step', '500ms')).toBe(500);
    expect(parsePromDuration('step', '15')).toBe(15_000);
    expect(parsePromDuration('step', '0.5')).toBe(500);
    expect(() => parsePromDuration('step', '15 parsecs')).toThrow(PromParamError);
    expect(() => parsePromDuration('step', '')).toThrow(/invalid parameter "step"/);
  });

  it('reads times as unix seconds or RFC 3339', () => {
    expect(parsePromTime('time', '1700000000')).toBe(1_700_000_000_000);
    expect(parsePromTime('time', '1700000000.123')).toBe(1_700_000_000_123);
    expect(parsePromTime('time', '2026-05-01T10:00:00Z')).toBe(Date.parse('2026-05-01T10:00:00Z'));
    expect(parsePromTime('time', '2026-05-01T10:00:00.5+01:00')).toBe(Date.parse('2026-05-01T09:00:00.5Z'));
    expect(() => parsePromTime('start', 'yesterday')).toThrow(/invalid parameter "start": cannot parse "yesterday"/);
  });
});
