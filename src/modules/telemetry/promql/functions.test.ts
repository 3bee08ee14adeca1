import { describe, expect, it } from 'vitest';
import { MemorySeriesSource } from './memory-source.js';
import { instant } from './test-helpers.js';

const S = 1000;

/** One series `c` sampled every 15 s from t=0 with the given values. */
function counter(values: number[], labels: Record<string, string> = {}): MemorySeriesSource {
  return new MemorySeriesSource().addSeries({ __name__: 'c', ...labels }, 0, 15 * S, values);
}

describe('rate family', () => {
  it('extrapolates to the window edges and divides by the range', async () => {
    // Samples at 0..60s rising 10 per 15s; window [0, 60] covers them exactly: increase 40, rate 40/60.
    const src = counter([0, 10, 20, 30, 40]);
    expect(await instant(src, 'increase(c[1m])', 60 * S)).toEqual({ '{}': '40' });
    expect(await instant(src, 'rate(c[1m])', 60 * S)).toEqual({ '{}': String(40 / 60) });
  });

  it('extrapolates only half an interval when the edge is far from the samples', async () => {
    // Window [-60s, 60s] (2m at t=60s): the first sample is 60s from the start (> 1.1×15s), so only 7.5s added there.
    const src = counter([100, 110, 120, 130, 140]);
    expect(await instant(src, 'increase(c[2m])', 60 * S)).toEqual({ '{}': String(40 * (67.5 / 60)) });
  });

  it('never extrapolates a counter below zero', async () => {
    // From 5 at t=0 rising 10/15s; zero would be at -7.5s, closer than the 60s to the window start.
    const src = counter([5, 15, 25, 35, 45]);
    expect(await instant(src, 'increase(c[2m])', 60 * S)).toEqual({ '{}': String(40 * ((60 + 7.5) / 60)) });
  });

  it('corrects for counter resets, and delta does not', async () => {
    const src = counter([10, 20, 5, 15, 25]);
    // 20 → 5 is a reset: increase = 25 - 10 + 20 = 35.
    expect(await instant(src, 'increase(c[1m])', 60 * S)).toEqual({ '{}': '35' });
    expect(await instant(src, 'delta(c[1m])', 60 * S)).toEqual({ '{}': '15' });
  });

  it('irate and idelta use the last two samples', async () => {
    const src = counter([0, 10, 40, 5]);
    expect(await instant(src, 'irate(c[1m])', 45 * S)).toEqual({ '{}': String(5 / 15) });
    expect(await instant(src, 'idelta(c[1m])', 45 * S)).toEqual({ '{}': '-35' });
    expect(await instant(src, 'irate(c[1m])', 30 * S)).toEqual({ '{}': '2' });
  });

  it('needs two samples in the window', async () => {
    const src = counter([1]);
    expect(await instant(src, 'rate(c[1m])', 10 * S)).toEqual({});
    expect(await instant(src, 'irate(c[1m])', 10 * S)).toEqual({});
  });
});

describe('*_over_time', () => {
  const src = counter([3, 1, Number.NaN, 4, 1, 5]);
  // Windows are closed: [35s, 75s] for 40s holds the samples at 45, 60 and 75 s.
  const at = 75 * S;
  it.each([
    ['avg_over_time(c[2m])', 'NaN'],
    ['min_over_time(c[2m])', '1'],
    ['max_over_time(c[2m])', '5'],
    ['sum_over_time(c[1m])', 'NaN'],
    ['count_over_time(c[2m])', '6'],
    ['last_over_time(c[2m])', '5'],
    ['present_over_time(c[2m])', '1'],
    ['avg_over_time(c[40s])', String((4 + 1 + 5) / 3)],
    ['stdvar_over_time(c[40s])', String(((4 - 10 / 3) ** 2 + (1 - 10 / 3) ** 2 + (5 - 10 / 3) ** 2) / 3)],
    ['quantile_over_time(0.5, c[40s])', '4'],
    ['quantile_over_time(0.25, c[40s])', '2.5'],
    ['quantile_over_time(2, c[40s])', '+Inf'],
  ])('%s = %s', async (q, want) => {
    const got = await instant(src, q, at);
    expect(Object.values(got)).toHaveLength(1);
    const v = Object.values(got)[0]!;
    if (want === 'NaN' || want.endsWith('Inf')) expect(v).toBe(want);
    else expect(Number(v)).toBeCloseTo(Number(want), 12);
  });

  it('keeps the metric name only for last_over_time', async () => {
    expect(Object.keys(await instant(src, 'last_over_time(c[1m])', at))).toEqual(['{"__name__":"c"}']);
    expect(Object.keys(await instant(src, 'max_over_time(c[1m])', at))).toEqual(['{}']);
  });
});

describe('histogram_quantile', () => {
  const hist = (buckets: Record<string, number>, extra: Record<string, string> = {}) => {
    const src = new MemorySeriesSource();
    for (const [le, v] of Object.entries(buckets)) src.add({ __name__: 'h_bucket', le, ...extra }, 0, v);
    return src;
  };

  it('interpolates linearly within the bucket holding the rank', async () => {
    const src = hist({ '0.1': 10, '0.5': 30, '1': 40, '+Inf': 40 });
    // rank 20 lies in (0.1, 0.5] which holds 20 observations from 10 to 30.
    expect(Number((await instant(src, 'histogram_quantile(0.5, h_bucket)', 0))['{}'])).toBeCloseTo(0.3, 12);
    // The first bucket starts at 0: rank 2 of its 10 observations.
    expect(Number((await instant(src, 'histogram_quantile(0.05, h_bucket)', 0))['{}'])).toBeCloseTo(0.02, 12);
  });

  it('answers the highest finite bound for ranks in the +Inf bucket, NaN without +Inf or observations', async () => {
    expect(await instant(hist({ '1': 5, '2': 8, '+Inf': 10 }), 'histogram_quantile(0.95, h_bucket)', 0)).toEqual({ '{}': '2' });
    expect(await instant(hist({ '1': 5, '2': 8 }), 'histogram_quantile(0.5, h_bucket)', 0)).toEqual({ '{}': 'NaN' });
    expect(await instant(hist({ '1': 0, '+Inf': 0 }), 'histogram_quantile(0.5, h_bucket)', 0)).toEqual({ '{}': 'NaN' });
    expect(await instant(hist({ '1': 1, '+Inf': 2 }), 'histogram_quantile(-1, h_bucket)', 0)).toEqual({ '{}': '-Inf' });
  });

  it('repairs non-monotonic buckets and groups by the remaining labels', async () => {
    // 0.5 dips below 0.1; it is raised to 10, so rank 10 is satisfied by the first bucket.
    const src = hist({ '0.1': 10, '0.5': 8, '1': 20, '+Inf': 20 }, { svc: 'a' });
    src.add({ __name__: 'h_bucket', le: '1', svc: 'b' }, 0, 4).add({ __name__: 'h_bucket', le: '+Inf', svc: 'b' }, 0, 4);
    src.add({ __name__: 'h_bucket', svc: 'b' }, 0, 100); // no le: ignored
    expect(await instant(src, 'histogram_quantile(0.5, h_bucket)', 0)).toEqual({ '{"svc":"a"}': '0.1', '{"svc":"b"}': '0.5' });
  });
});

describe('instant-vector functions', () => {
  const src = new MemorySeriesSource()
    .add({ __name__: 'g', i: 'a' }, 0, -2.5)
    .add({ __name__: 'g', i: 'b' }, 0, 4)
    .add({ __name__: 'g', i: 'c' }, 0, 0.25);

  it.each([
    ['abs(g)', { a: '2.5', b: '4', c: '0.25' }],
    ['ceil(g)', { a: '-2', b: '4', c: '1' }],
    ['floor(g)', { a: '-3', b: '4', c: '0' }],
    ['round(g)', { a: '-2', b: '4', c: '0' }],
    ['round(g, 0.5)', { a: '-2.5', b: '4', c: '0.5' }],
    ['clamp(g, -1, 1)', { a: '-1', b: '1', c: '0.25' }],
    ['clamp_min(g, 0)', { a: '0', b: '4', c: '0.25' }],
    ['clamp_max(g, 0)', { a: '-2.5', b: '0', c: '0' }],
    ['sqrt(g)', { a: 'NaN', b: '2', c: '0.5' }],
    ['log2(g)', { a: 'NaN', b: '2', c: '-2' }],
    ['ln(g) > -Inf', { b: String(Math.log(4)), c: String(Math.log(0.25)) }],
    ['exp(g * 0)', { a: '1', b: '1', c: '1' }],
    ['log10(g * 25)', { b: '2', c: String(Math.log10(6.25)), a: 'NaN' }],
    ['timestamp(g)', { a: '0', b: '0', c: '0' }],
  ])('%s', async (q, want) => {
    const got = await instant(src, q, 10 * S);
    const byI = Object.fromEntries(Object.entries(got).map(([k, v]) => [JSON.parse(k).i, v]));
    expect(byI).toEqual(want);
    // Every function here drops the metric name.
    for (const k of Object.keys(got)) expect(JSON.parse(k)).not.toHaveProperty('__name__');
  });

  it('timestamp() gives sample times for selectors only', async () => {
    expect(await instant(src, 'timestamp((g{i="a"}))', 10 * S)).toEqual({ '{"i":"a"}': '0' });
    expect(await instant(src, 'timestamp(+g{i="a"})', 10 * S)).toEqual({ '{"i":"a"}': '10' });
    expect(await instant(src, 'timestamp(sort(g{i="a"}))', 10 * S)).toEqual({ '{"i":"a"}': '10' });
  });

  it('returns nothing from clamp when min > max', async () => {
    expect(await instant(src, 'clamp(g, 2, 1)', 0)).toEqual({});
  });

  it('vector, scalar and time', async () => {
    expect(await instant(src, 'vector(3)', 5 * S)).toEqual({ '{}': '3' });
    expect(await instant(src, 'scalar(g)', 0)).toEqual({ scalar: 'NaN' });
    expect(await instant(src, 'scalar(g{i="b"})', 0)).toEqual({ scalar: '4' });
    expect(await instant(src, 'time()', 5500)).toEqual({ scalar: '5.5' });
  });

  it('sorts instant results', async () => {
    const order = async (q: string) => Object.keys(await instant(src, q, 0)).map((k) => JSON.parse(k).i);
    expect(await order('sort(g)')).toEqual(['a', 'c', 'b']);
    expect(await order('sort_desc(g)')).toEqual(['b', 'c', 'a']);
  });

  it('label_replace with anchored regex, Go-style templates and label deletion', async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a PromQL replacement template, not a JS template
    expect(await instant(src, 'label_replace(g{i="a"}, "x", "$1-${1}y", "i", "(a)")', 0)).toEqual({
      '{"__name__":"g","i":"a","x":"a-ay"}': '-2.5',
    });
    // `$1y` names group "1y", which does not exist: Go expands it to "".
    expect(await instant(src, 'label_replace(g{i="a"}, "x", "$1y", "i", "(a)")', 0)).toEqual({ '{"__name__":"g","i":"a"}': '-2.5' });
    expect(await instant(src, 'label_replace(g{i="a"}, "x", "z", "i", "b")', 0)).toEqual({ '{"__name__":"g","i":"a"}': '-2.5' });
    expect(await instant(src, 'label_replace(g{i="a"}, "i", "", "i", ".*")', 0)).toEqual({ '{"__name__":"g"}': '-2.5' });
    await expect(instant(src, 'label_replace(g, "i", "", "i", ".*")', 0)).rejects.toThrow(
      'vector cannot contain metrics with the same labelset',
    );
    await expect(instant(src, 'label_replace(g, "1x", "", "i", ".*")', 0)).rejects.toThrow('invalid destination label name');
  });

  it('label_join', async () => {
    expect(await instant(src, 'label_join(g{i="b"}, "j", "-", "i", "__name__", "missing")', 0)).toEqual({
      '{"__name__":"g","i":"b","j":"b-g-"}': '4',
    });
  });

  it('absent', async () => {
    expect(await instant(src, 'absent(g)', 0)).toEqual({});
    expect(await instant(src, 'absent(nope{a="1", b=~"x", c="2", c="3"})', 0)).toEqual({ '{"a":"1"}': '1' });
    expect(await instant(src, 'absent(sum(nope))', 0)).toEqual({ '{}': '1' });
  });
});
