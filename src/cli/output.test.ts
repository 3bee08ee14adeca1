import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cell, formatAge, formatData, formatDuration, formatRelative, formatTable, render } from './output.js';

describe('formatTable', () => {
  it('aligns every column to its widest cell and never pads the last one', () => {
    const text = formatTable(
      ['NAME', 'TIER', 'AGE'],
      [
        ['feed', '1', '5m'],
        ['payments-api', '2', '3h'],
      ],
    );
    expect(text).toBe(['NAME           TIER   AGE', 'feed           1      5m', 'payments-api   2      3h', ''].join('\n'));
  });

  it('trims trailing space when the last cells are empty', () => {
    expect(formatTable(['A', 'B'], [['x', '']])).toBe('A   B\nx\n');
  });
});

describe('relative times', () => {
  it.each([
    [0, '0s'],
    [999, '0s'],
    [59_999, '59s'],
    [60_000, '1m'],
    [5 * 60_000 + 59_000, '5m'],
    [3 * 3_600_000, '3h'],
    [23 * 3_600_000 + 3_599_000, '23h'],
    [2 * 86_400_000, '2d'],
    [400 * 86_400_000, '1y'],
  ])('%d ms reads %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('ages count back from now, and show - when there is no time', () => {
    const now = 10_000_000;
    expect(formatAge(now - 300_000, now)).toBe('5m');
    expect(formatAge(null, now)).toBe('-');
    expect(formatAge(now + 5000, now)).toBe('0s');
  });

  it('relative times say which way', () => {
    const now = 10_000_000;
    expect(formatRelative(now + 300_000, now)).toBe('in 5m');
    expect(formatRelative(now - 7_200_000, now)).toBe('2h ago');
    expect(formatRelative(now + 200, now)).toBe('now');
    expect(formatRelative(undefined, now)).toBe('-');
  });
});

describe('cell', () => {
  it('collapses whitespace, cuts long text and marks empties', () => {
    expect(cell('a\n  b')).toBe('a b');
    expect(cell('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(cell(null)).toBe('-');
    expect(cell('')).toBe('-');
    expect(cell(3)).toBe('3');
  });
});

describe('render', () => {
  const data = [{ name: 'feed', tier: 1 }];
  const table = { headers: ['NAME', 'TIER'], rows: (d: typeof data) => d.map((r) => [r.name, String(r.tier)]), empty: 'no services' };

  it('prints json and yaml that parse back to the data', () => {
    expect(JSON.parse(render('json', data, table).stdout)).toEqual(data);
    expect(parse(render('yaml', data, table).stdout)).toEqual(data);
    expect(formatData('json', { a: 1 })).toBe('{\n  "a": 1\n}\n');
  });

  it('prints a table, or a note on stderr when there are no rows', () => {
    expect(render('table', data, table)).toEqual({ stdout: 'NAME   TIER\nfeed   1\n', stderr: '' });
    expect(render('table', [], table)).toEqual({ stdout: '', stderr: 'no services\n' });
    // json of nothing is still valid json on stdout
    expect(render('json', [], table)).toEqual({ stdout: '[]\n', stderr: '' });
  });
});
