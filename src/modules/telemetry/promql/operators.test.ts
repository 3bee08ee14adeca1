import { describe, expect, it } from 'vitest';
import { MemorySeriesSource } from './memory-source.js';
import { instant } from './test-helpers.js';

const src = new MemorySeriesSource()
  .add({ __name__: 'req', job: 'api', instance: 'a', version: 'v1' }, 0, 10)
  .add({ __name__: 'req', job: 'api', instance: 'b', version: 'v1' }, 0, 20)
  .add({ __name__: 'req', job: 'api', instance: 'c', version: 'v2' }, 0, 30)
  .add({ __name__: 'req', job: 'db', instance: 'd', version: 'v2' }, 0, Number.NaN)
  .add({ __name__: 'err', job: 'api', instance: 'a', version: 'v1' }, 0, 1)
  .add({ __name__: 'err', job: 'api', instance: 'b', version: 'v1' }, 0, 4)
  .add({ __name__: 'info', instance: 'a', owner: 'team-x' }, 0, 1)
  .add({ __name__: 'info', instance: 'b', owner: 'team-y' }, 0, 1)
  .add({ __name__: 'limit', job: 'api' }, 0, 25);

const q = (query: string) => instant(src, query, 1000);

describe('aggregations', () => {
  it.each([
    ['sum(req{job="api"})', { '{}': '60' }],
    ['sum by (version) (req{job="api"})', { '{"version":"v1"}': '30', '{"version":"v2"}': '30' }],
    ['sum without (instance, job) (req{job="api"})', { '{"version":"v1"}': '30', '{"version":"v2"}': '30' }],
    ['avg(req{job="api"})', { '{}': '20' }],
    ['count(req)', { '{}': '4' }],
    ['max(req)', { '{}': '30' }],
    ['min(req)', { '{}': '10' }],
    ['sum(req)', { '{}': 'NaN' }],
    ['group by (job) (req)', { '{"job":"api"}': '1', '{"job":"db"}': '1' }],
    ['stddev(req{job="api"})', { '{}': String(Math.sqrt(200 / 3)) }],
    ['stdvar(req{job="api"})', { '{}': String(200 / 3) }],
    ['quantile(0.5, req{job="api"})', { '{}': '20' }],
    ['quantile(0.75, req{job="api"})', { '{}': '25' }],
    ['sum by (nonexistent) (req{job="api"})', { '{}': '60' }],
    ['sum by (__name__) (req{job="api"})', { '{"__name__":"req"}': '60' }],
    ['count_values("v", req{job="api"} / 10)', { '{"v":"1"}': '1', '{"v":"2"}': '1', '{"v":"3"}': '1' }],
    [
      'count_values by (version) ("version", req{job="api"})',
      { '{"version":"10"}': '1', '{"version":"20"}': '1', '{"version":"30"}': '1' },
    ],
  ])('%s', async (query, want) => {
    const got = await q(query);
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    for (const [k, v] of Object.entries(want)) {
      if (Number.isNaN(Number(v))) expect(got[k]).toBe(v);
      else expect(Number(got[k])).toBeCloseTo(Number(v), 12);
    }
  });

  it('topk / bottomk keep full labels and rank NaN last', async () => {
    expect(await q('topk(2, req)')).toEqual({
      '{"__name__":"req","job":"api","instance":"c","version":"v2"}': '30',
      '{"__name__":"req","job":"api","instance":"b","version":"v1"}': '20',
    });
    expect(Object.values(await q('bottomk(1, req) by (version)')).sort()).toEqual(['10', '30']);
    expect(await q('topk(0, req)')).toEqual({});
    expect(Object.keys(await q('topk(10, req)'))).toHaveLength(4);
  });
});

describe('binary operators', () => {
  it('scalar/scalar arithmetic and bool comparisons', async () => {
    expect(await q('1 + 2 * 3 - 4 / 2')).toEqual({ scalar: '5' });
    expect(await q('7 % 3')).toEqual({ scalar: '1' });
    expect(await q('-7 % 3')).toEqual({ scalar: '-1' });
    expect(await q('2 ^ 0.5 ^ 2')).toEqual({ scalar: String(2 ** 0.25) });
    expect(await q('NaN ^ 0')).toEqual({ scalar: '1' });
    expect(await q('1 / 0')).toEqual({ scalar: '+Inf' });
    expect(await q('3 > bool 2')).toEqual({ scalar: '1' });
    expect(await q('NaN == bool NaN')).toEqual({ scalar: '0' });
  });

  it('vector/scalar arithmetic drops the name; comparisons filter and keep the vector value', async () => {
    expect(await q('req{instance="a"} * 2')).toEqual({ '{"job":"api","instance":"a","version":"v1"}': '20' });
    expect(await q('100 - req{instance="a"}')).toEqual({ '{"job":"api","instance":"a","version":"v1"}': '90' });
    expect(await q('req > 15')).toEqual({
      '{"__name__":"req","job":"api","instance":"b","version":"v1"}': '20',
      '{"__name__":"req","job":"api","instance":"c","version":"v2"}': '30',
    });
    expect(await q('15 < req{instance="b"}')).toEqual({ '{"__name__":"req","job":"api","instance":"b","version":"v1"}': '20' });
    expect(Object.values(await q('req > bool 15')).sort()).toEqual(['0', '0', '1', '1']);
    expect(Object.keys(await q('req > bool 15')).every((k) => !k.includes('__name__'))).toBe(true);
  });

  it('one-to-one matching on all labels but the name, or on/ignoring', async () => {
    expect(await q('err / req')).toEqual({
      '{"job":"api","instance":"a","version":"v1"}': '0.1',
      '{"job":"api","instance":"b","version":"v1"}': '0.2',
    });
    expect(await q('err + on(instance) req')).toEqual({ '{"instance":"a"}': '11', '{"instance":"b"}': '24' });
    expect(await q('err + ignoring(version) req')).toEqual({ '{"job":"api","instance":"a"}': '11', '{"job":"api","instance":"b"}': '24' });
    expect(await q('err > req')).toEqual({});
    expect(await q('req > on(instance) err')).toEqual({ '{"instance":"a"}': '10', '{"instance":"b"}': '20' });
  });

  it('many-to-one with group_left / group_right copies labels from the one side', async () => {
    expect(await q('req * on(instance) group_left(owner) info')).toEqual({
      '{"job":"api","instance":"a","version":"v1","owner":"team-x"}': '10',
      '{"job":"api","instance":"b","version":"v1","owner":"team-y"}': '20',
    });
    expect(await q('info * on(instance) group_right req')).toEqual({
      '{"job":"api","instance":"a","version":"v1"}': '10',
      '{"job":"api","instance":"b","version":"v1"}': '20',
    });
    expect(await q('req / on(job) group_left limit')).toEqual({
      '{"job":"api","instance":"a","version":"v1"}': '0.4',
      '{"job":"api","instance":"b","version":"v1"}': '0.8',
      '{"job":"api","instance":"c","version":"v2"}': '1.2',
    });
  });

  it('reports matching errors as Prometheus words them', async () => {
    await expect(q('req + on(version) req')).rejects.toThrow(
      'found duplicate series for the match group {version="v1"} on the right hand-side of the operation: ' +
        '[{__name__="req", instance="b", job="api", version="v1"}, {__name__="req", instance="a", job="api", version="v1"}];' +
        'many-to-many matching not allowed: matching labels must be unique on one side',
    );
    await expect(q('limit + on(job) req')).rejects.toThrow('found duplicate series for the match group {job="api"} on the right hand-side');
    await expect(q('info * on(job) group_left req')).rejects.toThrow('found duplicate series');
    await expect(q('{__name__=~"req|err"} * 1')).rejects.toThrow('vector cannot contain metrics with the same labelset');
    await expect(q('sum by (job) (req) + on(job) group_left req')).rejects.toThrow('found duplicate series');
  });

  it('set operators and / or / unless', async () => {
    expect(Object.keys(await q('req and err')).map((k) => JSON.parse(k).instance)).toEqual(['a', 'b']);
    expect(Object.keys(await q('req unless err')).map((k) => JSON.parse(k).instance)).toEqual(['c', 'd']);
    expect(Object.keys(await q('req and on(version) err')).map((k) => JSON.parse(k).instance)).toEqual(['a', 'b']);
    const or = await q('err or req');
    expect(Object.keys(or)).toHaveLength(4);
    expect(or['{"__name__":"err","job":"api","instance":"a","version":"v1"}']).toBe('1');
    expect(or['{"__name__":"req","job":"api","instance":"c","version":"v2"}']).toBe('30');
    expect(Object.keys(await q('err or on(job) req'))).toHaveLength(3);
  });

  it('unary minus drops the name; unary plus keeps everything', async () => {
    expect(await q('-req{instance="a"}')).toEqual({ '{"job":"api","instance":"a","version":"v1"}': '-10' });
    expect(await q('+req{instance="a"}')).toEqual({ '{"__name__":"req","job":"api","instance":"a","version":"v1"}': '10' });
  });
});
