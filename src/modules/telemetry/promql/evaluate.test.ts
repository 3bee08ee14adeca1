import { describe, expect, it } from 'vitest';
import { type LabelMatcher, type RawSeries, type SeriesSource, staleMarker } from '../contracts.js';
import { PromqlRuntimeError } from './errors.js';
import { evaluateInstant, evaluateRange, selectorsOf } from './evaluate.js';
import { MemorySeriesSource } from './memory-source.js';
import { parsePromql } from './parse.js';
import { instant, range } from './test-helpers.js';

const M = 60_000;
const x = (labels: Record<string, string> = {}) => ({ __name__: 'x', ...labels });

describe('instant vector selection', () => {
  const src = new MemorySeriesSource()
    .add(x(), 0, 1)
    .add(x(), 60_000, 2)
    .add(x({ a: '1' }), 0, 5);

  it('takes the latest sample within the 5m lookback (inclusive at both ends)', async () => {
    expect(await instant(src, 'x', 30_000)).toEqual({ '{"__name__":"x"}': '1', '{"__name__":"x","a":"1"}': '5' });
    expect(await instant(src, 'x', 60_000)).toEqual({ '{"__name__":"x"}': '2', '{"__name__":"x","a":"1"}': '5' });
    expect(await instant(src, 'x', 5 * M)).toEqual({ '{"__name__":"x"}': '2', '{"__name__":"x","a":"1"}': '5' });
    expect(await instant(src, 'x', 5 * M + 1)).toEqual({ '{"__name__":"x"}': '2' });
    expect(await instant(src, 'x', 6 * M + 1)).toEqual({});
  });

  it('honours a custom lookback', async () => {
    const data = await evaluateInstant({ source: src, expr: parsePromql('x'), time: 90_000, lookbackMs: 10_000 });
    expect(data).toEqual({ resultType: 'vector', result: [] });
  });

  it('ends a series at a staleness marker', async () => {
    const s = new MemorySeriesSource().add(x(), 0, 1).add(x(), 15_000, 2).add(x(), 30_000, staleMarker()).add(x(), 90_000, 3);
    expect(await instant(s, 'x', 20_000)).toEqual({ '{"__name__":"x"}': '2' });
    expect(await instant(s, 'x', 45_000)).toEqual({});
    expect(await instant(s, 'x', 90_000)).toEqual({ '{"__name__":"x"}': '3' });
    // Range vectors skip the marker rather than stopping at it.
    expect(await instant(s, 'count_over_time(x[2m])', 90_000)).toEqual({ '{}': '3' });
  });

  it('reads markers from RawSeries.stale', async () => {
    const source: SeriesSource = {
      select: async () => [{ labels: x(), t: [0, 15_000, 60_000], v: [1, 2, 3], stale: [30_000] }],
    };
    const at = async (time: number) => (await evaluateInstant({ source, expr: parsePromql('x'), time })).result;
    expect(await at(20_000)).toHaveLength(1);
    expect(await at(30_000)).toHaveLength(0);
    expect(await at(59_999)).toHaveLength(0);
    expect(await at(60_000)).toHaveLength(1);
  });

  it('treats an ordinary NaN as a value', async () => {
    const s = new MemorySeriesSource().add(x(), 0, Number.NaN);
    expect(await instant(s, 'x', 1000)).toEqual({ '{"__name__":"x"}': 'NaN' });
  });

  it('applies offset and @', async () => {
    expect(await instant(src, 'x offset 1m', 60_000)).toEqual({ '{"__name__":"x"}': '1', '{"__name__":"x","a":"1"}': '5' });
    expect(await instant(src, 'x{a=""} @ 0', 60_000)).toEqual({ '{"__name__":"x"}': '1' });
    expect(await instant(src, 'x{a=""} @ 0 offset -1m', 0)).toEqual({ '{"__name__":"x"}': '2' });
  });

  it('returns raw samples for a range selector in an instant query', async () => {
    const data = await evaluateInstant({ source: src, expr: parsePromql('x{a=""}[1m]'), time: 60_000 });
    expect(data).toEqual({
      resultType: 'matrix',
      result: [
        {
          metric: { __name__: 'x' },
          values: [
            [0, '1'],
            [60, '2'],
          ],
        },
      ],
    });
  });

  it('returns scalars and strings in the API shape', async () => {
    expect(await evaluateInstant({ source: src, expr: parsePromql('1 + 2'), time: 1234 })).toEqual({
      resultType: 'scalar',
      result: [1.234, '3'],
    });
    expect(await evaluateInstant({ source: src, expr: parsePromql('"hi"'), time: 1000 })).toEqual({
      resultType: 'string',
      result: [1, 'hi'],
    });
  });
});

describe('range queries', () => {
  const src = new MemorySeriesSource();
  for (let t = 0; t <= 10 * M; t += 15_000) {
    src.add(x({ i: '1' }), t, t / 1000);
    if (t <= 3 * M) src.add(x({ i: '2' }), t, 1);
  }

  it('returns a matrix sorted by labels with one point per step where the series exists', async () => {
    const data = await range(src, 'x', 0, 10 * M, 2 * M);
    expect(data.resultType).toBe('matrix');
    if (data.resultType !== 'matrix') return;
    expect(data.result.map((s) => s.metric.i)).toEqual(['1', '2']);
    expect(data.result[0]!.values).toEqual([
      [0, '0'],
      [120, '120'],
      [240, '240'],
      [360, '360'],
      [480, '480'],
      [600, '600'],
    ]);
    // i=2 stops at 3m; lookback keeps it until 8m.
    expect(data.result[1]!.values.map((v) => v[0])).toEqual([0, 120, 240, 360, 480]);
  });

  it('returns a scalar as a single label-less series', async () => {
    expect(await range(src, 'time()', 0, 2 * M, M)).toEqual({
      resultType: 'matrix',
      result: [
        {
          metric: {},
          values: [
            [0, '0'],
            [60, '60'],
            [120, '120'],
          ],
        },
      ],
    });
  });

  it('pins @ start() / @ end() to the query range', async () => {
    const data = await range(src, 'x{i="1"} @ end()', 0, 2 * M, M);
    expect(data.resultType === 'matrix' && data.result[0]!.values.map((v) => v[1])).toEqual(['120', '120', '120']);
    const s = await range(src, 'rate(x{i="1"}[1m] @ start())', M, 2 * M, M);
    expect(s.resultType === 'matrix' && s.result[0]!.values.map((v) => v[1])).toEqual(['1', '1']);
  });

  it('fetches each selector once for the whole window', async () => {
    const calls: Array<[LabelMatcher[], number, number]> = [];
    const counting: SeriesSource = {
      select: (m, s, e): Promise<RawSeries[]> => {
        calls.push([m, s, e]);
        return src.select(m, s, e);
      },
    };
    await evaluateRange({ source: counting, expr: parsePromql('rate(x[2m] offset 1m) + x'), start: 5 * M, end: 10 * M, step: 15_000 });
    expect(calls.map(([, s, e]) => [s, e])).toEqual([
      [2 * M, 9 * M],
      [0, 10 * M],
    ]);
  });

  it('rejects range vectors, bad steps and too many points', async () => {
    await expect(range(src, 'x[1m]', 0, M, 1000)).rejects.toThrow('invalid expression type "range vector" for range query');
    await expect(range(src, 'x', 0, M, 0)).rejects.toThrow(PromqlRuntimeError);
    await expect(range(src, 'x', M, 0, 1000)).rejects.toThrow('end timestamp must not be before start time');
    await expect(range(src, 'x', 0, 12_000_000, 1000)).rejects.toThrow('11,000 points');
  });

  it('returns an empty result when nothing matches', async () => {
    expect(await range(src, 'nothing', 0, M, 15_000)).toEqual({ resultType: 'matrix', result: [] });
    expect(await instant(src, 'sum(nothing)', M)).toEqual({});
  });
});

describe('selectorsOf', () => {
  it('lists every vector selector, including those inside range selectors', () => {
    const sels = selectorsOf(parsePromql('sum(rate(a[5m])) / on() group_left b + histogram_quantile(0.9, c)'));
    expect(sels.map((s) => s.name)).toEqual(['a', 'b', 'c']);
  });
});
