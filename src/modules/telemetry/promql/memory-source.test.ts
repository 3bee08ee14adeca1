import { describe, expect, it } from 'vitest';
import { staleMarker } from '../contracts.js';
import { MemorySeriesSource } from './memory-source.js';

describe('MemorySeriesSource', () => {
  const src = new MemorySeriesSource()
    .add({ __name__: 'x', job: 'api', env: 'prod' }, 1000, 1)
    .add({ __name__: 'x', job: 'api', env: 'prod' }, 3000, 3)
    .add({ __name__: 'x', job: 'api', env: 'prod' }, 2000, 2)
    .add({ __name__: 'x', job: 'apiserver' }, 1000, 10)
    .add({ __name__: 'y', job: 'db' }, 1000, 20);

  const names = async (matchers: Parameters<MemorySeriesSource['select']>[0]) =>
    (await src.select(matchers, 0, 10_000)).map((s) => `${s.labels.__name__}/${s.labels.job}`).sort();

  it('matches = != =~ !~ with fully anchored regexes', async () => {
    expect(await names([{ name: 'job', op: '=', value: 'api' }])).toEqual(['x/api']);
    expect(await names([{ name: 'job', op: '=~', value: 'api' }])).toEqual(['x/api']);
    expect(await names([{ name: 'job', op: '=~', value: 'api.*' }])).toEqual(['x/api', 'x/apiserver']);
    expect(await names([{ name: 'job', op: '!~', value: 'api|db' }])).toEqual(['x/apiserver']);
    expect(await names([{ name: '__name__', op: '!=', value: 'x' }])).toEqual(['y/db']);
  });

  it('treats a missing label as the empty string', async () => {
    expect(await names([{ name: 'env', op: '=', value: '' }])).toEqual(['x/apiserver', 'y/db']);
    expect(await names([{ name: 'env', op: '=~', value: 'prod|' }])).toEqual(['x/api', 'x/apiserver', 'y/db']);
  });

  it('returns samples in time order within the inclusive window', async () => {
    const [s] = await src.select([{ name: 'env', op: '=', value: 'prod' }], 2000, 3000);
    expect(s!.labels).toEqual({ __name__: 'x', job: 'api', env: 'prod' });
    expect(s!.t).toEqual([2000, 3000]);
    expect(Array.from(s!.v)).toEqual([2, 3]);
    expect(await src.select([{ name: 'env', op: '=', value: 'prod' }], 4000, 5000)).toEqual([]);
  });

  it('hands staleness markers over as times in `stale`, apart from the samples', async () => {
    const s = new MemorySeriesSource().add({ __name__: 'z' }, 1, 1).add({ __name__: 'z' }, 2, staleMarker()).addStale({ __name__: 'z' }, 4);
    s.add({ __name__: 'z' }, 3, Number.NaN);
    const [r] = await s.select([{ name: '__name__', op: '=', value: 'z' }], 0, 10);
    expect(r!.t).toEqual([1, 3]);
    expect(r!.v).toEqual([1, Number.NaN]);
    expect(r!.stale).toEqual([2, 4]);
  });

  it('supports RE2 named groups and leading flags', async () => {
    expect(await names([{ name: 'job', op: '=~', value: '(?i)API' }])).toEqual(['x/api']);
    expect(await names([{ name: 'job', op: '=~', value: '(?P<n>db)' }])).toEqual(['y/db']);
  });
});
