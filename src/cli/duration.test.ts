import { describe, expect, it } from 'vitest';
import { parseDuration, parseSince } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['30s', 30_000],
    ['10m', 600_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['0s', 0],
    [' 5m ', 300_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '5', 'm', '1x', '1h 30m', '-5m', '1hour', 'h1'])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/is not a duration/);
  });
});

describe('parseSince', () => {
  const now = Date.UTC(2026, 0, 2, 12, 0, 0);

  it('takes a duration as "that long ago"', () => {
    expect(parseSince('1h', now)).toBe(now - 3_600_000);
    expect(parseSince('7d', now)).toBe(now - 7 * 86_400_000);
  });

  it('takes an absolute ISO time', () => {
    expect(parseSince('2026-01-01T00:00:00Z', now)).toBe(Date.UTC(2026, 0, 1));
    expect(parseSince('2026-01-01', now)).toBe(Date.UTC(2026, 0, 1));
  });

  it('refuses anything else, saying what it accepts', () => {
    expect(() => parseSince('yesterday', now)).toThrow(/neither a duration .* nor an ISO-8601 time/);
    expect(() => parseSince('2026-13-45', now)).toThrow(/neither/);
  });
});
