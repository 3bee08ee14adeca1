import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../core/clock.js';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../../testing/databases.js';
import { type Sample, staleMarker } from '../contracts.js';
import { telemetryMigrations } from '../telemetry.migrations.js';
import { createMetricStore, type MetricStoreOptions, type SeriesHandle } from './metric-store.js';

const HOUR = 3_600_000;

describe.each(DIALECTS)('metric store on %s', (dialect) => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.destroy();
    database = undefined;
  });

  async function open(clock: FakeClock, overrides: Partial<MetricStoreOptions> = {}) {
    database = await openTestDatabase(dialect, [{ module: 'telemetry', migrations: telemetryMigrations }]);
    return createMetricStore({
      database: database!,
      now: () => clock.now(),
      maxSeriesPerMetric: 100,
      retentionMs: 15 * 24 * HOUR,
      rollupRetentionMs: 90 * 24 * HOUR,
      ...overrides,
    });
  }

  const s = (name: string, labels: Record<string, string>, value: number, t?: number): Sample => ({
    labels: { __name__: name, ...labels },
    value,
    ...(t === undefined ? {} : { t }),
  });

  it('stores samples by series and reads them back by matchers in time order', async () => {
    const clock = new FakeClock('2026-05-01T10:00:00Z');
    const store = await open(clock);
    const t0 = clock.now();
    const written = await store.write([
      s('http_requests_total', { version: '1.0.0', code: '200' }, 10, t0),
      s('http_requests_total', { version: '1.1.0', code: '200' }, 3, t0),
      s('http_requests_total', { version: '1.0.0', code: '500' }, 1, t0),
      s('up', { job: 'feed' }, 1, t0),
    ]);
    expect(written).toEqual({ accepted: 4, duplicates: 0, rejected: 0, errors: [] });
    await store.write([s('http_requests_total', { version: '1.0.0', code: '200' }, 25, t0 + 15_000)]);
    // Out of order is accepted; a repeat of (series, t) keeps the first value.
    const again = await store.write([
      s('http_requests_total', { version: '1.0.0', code: '200' }, 99, t0),
      s('http_requests_total', { version: '1.0.0', code: '200' }, 5, t0 - 15_000),
    ]);
    expect(again).toMatchObject({ accepted: 1, duplicates: 1 });

    const all = await store.select([{ name: '__name__', op: '=', value: 'http_requests_total' }], t0 - HOUR, t0 + HOUR);
    expect(all).toHaveLength(3);
    const ok = all.find((x) => x.labels.version === '1.0.0' && x.labels.code === '200')!;
    expect(ok.t).toEqual([t0 - 15_000, t0, t0 + 15_000]);
    expect(ok.v).toEqual([5, 10, 25]);

    const regex = await store.select(
      [
        { name: '__name__', op: '=', value: 'http_requests_total' },
        { name: 'code', op: '=~', value: '5..' },
      ],
      t0 - HOUR,
      t0 + HOUR,
    );
    expect(regex.map((x) => x.labels)).toEqual([{ __name__: 'http_requests_total', version: '1.0.0', code: '500' }]);
    // RE2 spellings work as in Prometheus (named groups written (?P<name>...)).
    const named = await store.select([{ name: 'version', op: '=~', value: '(?P<major>1)\\.1\\.0' }], t0 - HOUR, t0 + HOUR);
    expect(named.map((x) => x.labels.version)).toEqual(['1.1.0']);
    // Anchored: "1" does not match "1.0.0"; a missing label matches "".
    expect(await store.select([{ name: 'version', op: '=~', value: '1' }], 0, t0 + HOUR)).toEqual([]);
    const noVersion = await store.select([{ name: 'version', op: '=', value: '' }], 0, t0 + HOUR);
    expect(noVersion.map((x) => x.labels.__name__)).toEqual(['up']);
    // The window is inclusive at both ends.
    expect((await store.select([{ name: '__name__', op: '=', value: 'up' }], t0, t0))[0]?.v).toEqual([1]);
    expect(await store.labelValues('version', [])).toEqual(['1.0.0', '1.1.0']);
    expect(await store.labelNames([[{ name: '__name__', op: '=', value: 'up' }]])).toEqual(['__name__', 'job']);
  });

  it('keeps NaN and the staleness marker apart', async () => {
    const clock = new FakeClock('2026-05-01T10:00:00Z');
    const store = await open(clock);
    const t0 = clock.now();
    await store.write([
      s('q', { quantile: '0.5' }, Number.NaN, t0),
      s('q', { quantile: '0.5' }, staleMarker(), t0 + 1000), // as decoded from the wire
      s('q', { quantile: '0.5' }, 2, t0 + 2000),
      { ...s('q', { quantile: '0.5' }, Number.NaN, t0 + 3000), stale: true }, // as the scraper flags it
    ]);
    const [series] = await store.select([{ name: '__name__', op: '=', value: 'q' }], t0, t0 + 3000);
    expect(series!.t).toEqual([t0, t0 + 2000]);
    expect(Number.isNaN(series!.v[0])).toBe(true);
    expect(series!.v[1]).toBe(2);
    expect(series!.stale).toEqual([t0 + 1000, t0 + 3000]);
  });

  it('refuses new series beyond the per-metric limit, naming the metric, and keeps writing known ones', async () => {
    const clock = new FakeClock('2026-05-01T10:00:00Z');
    const store = await open(clock, { maxSeriesPerMetric: 3 });
    const batch = Array.from({ length: 5 }, (_, i) => s('user_requests', { user: `u${i}` }, i));
    const result = await store.write([...batch, s('other', {}, 1)]);
    expect(result.accepted).toBe(4);
    expect(result.rejected).toBe(2);
    expect(result.errors).toEqual([expect.stringContaining('metric "user_requests": 2 new series refused: the limit of 3')]);
    clock.advance(1000);
    const next = await store.write([s('user_requests', { user: 'u0' }, 7)]);
    expect(next).toMatchObject({ accepted: 1, rejected: 0 });
    expect(await store.series([[{ name: '__name__', op: '=', value: 'user_requests' }]])).toHaveLength(3);
  });

  it('rolls complete minutes up, serves old ranges from rollups and prunes past retention', async () => {
    const clock = new FakeClock('2026-05-01T10:00:00Z');
    const store = await open(clock, { retentionMs: HOUR, rollupRetentionMs: 24 * HOUR });
    const start = clock.now();
    expect(await store.rollup()).toBe(0); // a new store starts rolling up from now
    // Three hours of a counter every 15 s.
    for (let i = 0; i < 3 * 240; i++) {
      await store.write([s('c_total', { job: 'a' }, i, start + i * 15_000)]);
      if (i % 40 === 39) {
        clock.set(start + i * 15_000);
        while ((await store.rollup()) > 0) {}
      }
    }
    clock.set(start + 3 * HOUR);
    while ((await store.rollup()) > 0) {}
    const pruned = await store.prune();
    expect(pruned.samples).toBeGreaterThan(0);
    // Raw samples are back to the last hour; older minutes come from rollups (their last value).
    const [series] = await store.select([{ name: '__name__', op: '=', value: 'c_total' }], start, start + 3 * HOUR);
    const rawFrom = start + 2 * HOUR;
    const raw = series!.t.filter((t) => t >= rawFrom);
    const old = series!.t.filter((t) => t < rawFrom);
    expect(raw.length).toBe(240);
    expect(old.length).toBe(120); // one per minute for two hours
    const i = series!.t.indexOf(start + 45_000);
    expect(series!.v[i]).toBe(3); // minute 0's last sample is the 4th
    expect(series!.t).toEqual([...series!.t].sort((a, b) => a - b));
    // Past the rollup retention the series goes too.
    clock.set(start + 30 * HOUR);
    const later = await store.prune();
    expect(later.series).toBe(1);
    expect(await store.select([{ name: '__name__', op: '=', value: 'c_total' }], 0, clock.now())).toEqual([]);
    // The same series coming back later is a new series, stored and readable again.
    await store.write([s('c_total', { job: 'a' }, 1, clock.now())]);
    const [back] = await store.select([{ name: '__name__', op: '=', value: 'c_total' }], 0, clock.now());
    expect(back?.v).toEqual([1]);
  });

  it('writes batches through handles that keep their series across writes, until retention deletes it', async () => {
    const clock = new FakeClock('2026-05-01T10:00:00Z');
    const store = await open(clock, { retentionMs: HOUR, rollupRetentionMs: 2 * HOUR, maxSeriesPerMetric: 2 });
    const t0 = clock.now();
    const handles: SeriesHandle[] = ['a', 'b', 'c'].map((x) => ({ labels: { __name__: 'h', x } }));
    const batch = (t: number, v: number) => ({
      length: 4,
      series: [...handles, handles[0]!],
      t: new Float64Array([t, t, Number.NaN, t]),
      v: new Float64Array([v, Number.NaN, v, v + 1]),
      stale: new Uint8Array([0, 0, 0, 0]),
    });
    // c is over the limit; the second sample of a at the same time is a duplicate; NaN t is "now".
    expect(await store.writeBatch(batch(t0 - 1000, 1))).toMatchObject({ accepted: 2, duplicates: 1, rejected: 1 });
    const first = handles[0]!.ref;
    expect(first?.live).toBe(true);
    expect(handles[2]!.ref).toBeUndefined();
    expect(await store.writeBatch(batch(t0, 2), t0)).toMatchObject({ accepted: 2, duplicates: 1, rejected: 1 });
    expect(handles[0]!.ref).toBe(first);
    const [a, b] = await store.select([{ name: '__name__', op: '=', value: 'h' }], 0, t0);
    expect([a!.labels.x, a!.t, a!.v]).toEqual(['a', [t0 - 1000, t0], [1, 2]]);
    expect(Number.isNaN(b!.v[0])).toBe(true);
    // Retention deletes both series: the handles notice and the next write creates them anew.
    clock.set(t0 + 3 * HOUR);
    expect((await store.prune()).series).toBe(2);
    expect(first!.live).toBe(false);
    expect(await store.writeBatch(batch(clock.now(), 3))).toMatchObject({ accepted: 2, rejected: 1 });
    expect(handles[0]!.ref?.live).toBe(true);
    expect(handles[0]!.ref?.id).not.toBe(first!.id);
    const again = await store.select([{ name: 'x', op: '=', value: 'a' }], t0 + HOUR, clock.now());
    expect(again.map((x) => x.v)).toEqual([[3]]);
  });

  it('commits concurrent writes together, each with its own counts', async () => {
    const clock = new FakeClock('2026-05-01T10:00:00Z');
    const store = await open(clock);
    const t0 = clock.now();
    await store.write([s('g', { i: '0' }, 0, t0)]);
    const results = await Promise.all([
      store.write([s('g', { i: '0' }, 1, t0 + 1000), s('g', { i: '1' }, 1, t0 + 1000)]),
      store.write([s('g', { i: '0' }, 9, t0), s('g', { i: '0' }, 2, t0 + 2000)]),
      store.write([s('g', { i: '1' }, 3, t0 + 3000)]),
    ]);
    expect(results.map((r) => [r.accepted, r.duplicates])).toEqual([
      [2, 0],
      [1, 1],
      [1, 0],
    ]);
    const read = await store.select([{ name: '__name__', op: '=', value: 'g' }], t0, t0 + 3000);
    expect(read.map((x) => [x.labels.i, x.v])).toEqual([
      ['0', [0, 1, 2]],
      ['1', [1, 3]],
    ]);
  });
});
