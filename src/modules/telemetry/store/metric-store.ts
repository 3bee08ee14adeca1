import { createHash } from 'node:crypto';
import type { Counter } from 'prom-client';
import type { Database } from '../../../core/db/database.js';
import { isStaleMarker, type LabelMatcher, type Labels, type RawSeries, type Sample, type SeriesSource } from '../contracts.js';
import { matcherPredicate } from '../promql/labels.js';
import { chunks, ID_CHUNK } from './batching.js';
import { prune, rollup } from './maintenance.js';
import { SampleWriter } from './sample-writer.js';

export interface MetricStoreOptions {
  database: Database;
  now: () => number;
  /** Most series one metric name may have; new series beyond it are rejected. */
  maxSeriesPerMetric: number;
  /** Raw samples older than this are deleted (rollups remain). */
  retentionMs: number;
  /** One-minute rollups older than this are deleted. */
  rollupRetentionMs: number;
  rejectedSeries?: Counter<'metric'>;
}

export interface WriteResult {
  accepted: number;
  /** Samples for a (series, time) already stored: kept as first written, as Prometheus does. */
  duplicates: number;
  rejected: number;
  /** One line per metric that hit a limit, naming it. */
  errors: string[];
}

/** The store's handle on a stored series; `live` turns false when retention deletes series. */
export interface SeriesRef {
  readonly id: number;
  live: boolean;
  lastSeenWritten: number;
}

/**
 * A series as a caller holds it between writes (a parsed exposition line, a scrape target's
 * series): the store fills `ref` in on first write, so later writes of it skip the lookup.
 */
export interface SeriesHandle {
  readonly labels: Labels;
  ref?: SeriesRef;
}

/** Samples as columns: sample i is `series[i]` at `t[i]` (NaN: the default timestamp), value `v[i]`. */
export interface SampleBatch {
  length: number;
  series: ArrayLike<SeriesHandle>;
  t: ArrayLike<number>;
  v: ArrayLike<number>;
  /** 1 where sample i is a staleness marker (its value is ignored). */
  stale?: ArrayLike<number>;
}

export interface MetricStore extends SeriesSource {
  write(samples: Sample[], defaultTimestamp?: number): Promise<WriteResult>;
  /** The same as write, for callers that keep series handles between writes (push, scrape). */
  writeBatch(batch: SampleBatch, defaultTimestamp?: number): Promise<WriteResult>;
  /** Label names, or values of one label, over series matching any of the selector sets (all when none). */
  labelNames(matcherSets: LabelMatcher[][]): Promise<string[]>;
  labelValues(name: string, matcherSets: LabelMatcher[][]): Promise<string[]>;
  series(matcherSets: LabelMatcher[][]): Promise<Labels[]>;
  /** Deletes samples and rollups past retention, and series without either. */
  prune(): Promise<{ samples: number; rollups: number; series: number }>;
  /** Rolls complete minutes up; returns the minutes rolled. */
  rollup(): Promise<number>;
}

const LAST_SEEN_REFRESH_MS = 3_600_000;
const MINUTE = 60_000;

/** `name{a="1",b="2"}` with sorted label names: the in-memory key of a series. */
export function seriesKey(labels: Labels): string {
  const names = Object.keys(labels).sort();
  let key = '';
  for (const n of names) key += `${n}=${JSON.stringify(labels[n])},`;
  return key;
}

function canonicalLabels(labels: Labels): string {
  const sorted: Labels = {};
  for (const n of Object.keys(labels).sort()) sorted[n] = labels[n]!;
  return JSON.stringify(sorted);
}

/**
 * The built-in metric store over SQL: a series index and raw samples with one-minute rollups.
 * Series ids and parsed labels are cached in memory (series are append-only), and callers may keep
 * handles on series (writeBatch), so a write is a bulk insert (sample-writer.ts) and a read is one
 * range scan per 500 series.
 */
export function createMetricStore(options: MetricStoreOptions): MetricStore {
  const db = options.database.db;
  const known = new Map<string, SeriesRef>();
  const labelsById = new Map<number, Labels>();
  const seriesPerMetric = new Map<string, number>();
  const writer = new SampleWriter(options.database);

  async function countFor(metric: string): Promise<number> {
    const cached = seriesPerMetric.get(metric);
    if (cached !== undefined) return cached;
    const row = await db
      .selectFrom('telemetry_series')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('metric', '=', metric)
      .executeTakeFirst();
    const n = Number(row?.n ?? 0);
    seriesPerMetric.set(metric, n);
    return n;
  }

  /** Ids for these keys, creating series within the per-metric limit; missing keys were rejected. */
  async function resolve(wanted: Map<string, Labels>, now: number, result: WriteResult): Promise<void> {
    const fingerprints = new Map<string, { key: string; labels: Labels; canonical: string }>();
    for (const [key, labels] of wanted) {
      const canonical = canonicalLabels(labels);
      fingerprints.set(createHash('sha256').update(canonical).digest('base64url').slice(0, 32), { key, labels, canonical });
    }
    const found = async () => {
      for (const part of chunks([...fingerprints.keys()], ID_CHUNK)) {
        const rows = await db.selectFrom('telemetry_series').select(['id', 'fingerprint']).where('fingerprint', 'in', part).execute();
        for (const row of rows) {
          const f = fingerprints.get(row.fingerprint)!;
          known.set(f.key, { id: Number(row.id), live: true, lastSeenWritten: 0 });
          labelsById.set(Number(row.id), f.labels);
          fingerprints.delete(row.fingerprint);
        }
      }
    };
    await found();
    if (!fingerprints.size) return;
    const create: { metric: string; labels: string; fingerprint: string; created_at: number; last_seen: number }[] = [];
    const refused = new Map<string, number>();
    for (const [fingerprint, f] of fingerprints) {
      const metric = f.labels.__name__ ?? '';
      const n = await countFor(metric);
      if (n >= options.maxSeriesPerMetric) {
        refused.set(metric, (refused.get(metric) ?? 0) + 1);
        continue;
      }
      seriesPerMetric.set(metric, n + 1);
      create.push({ metric, labels: f.canonical, fingerprint, created_at: now, last_seen: now });
    }
    for (const part of chunks(create, 200)) {
      await db
        .insertInto('telemetry_series')
        .values(part)
        .onConflict((oc) => oc.column('fingerprint').doNothing())
        .execute();
    }
    await found();
    for (const [metric, n] of refused) {
      options.rejectedSeries?.inc({ metric }, n);
      result.errors.push(
        `metric "${metric}": ${n} new series refused: the limit of ${options.maxSeriesPerMetric} series per metric is reached (too many label combinations?)`,
      );
    }
  }

  /** Points every handle at its series, creating series within the limits; unresolved ones were refused. */
  async function resolveHandles(batch: SampleBatch, now: number, result: WriteResult): Promise<void> {
    let missing: Map<string, Labels> | undefined;
    for (let i = 0; i < batch.length; i++) {
      const h = batch.series[i]!;
      if (h.ref?.live) continue;
      const key = seriesKey(h.labels);
      const ref = known.get(key);
      if (ref) {
        h.ref = ref;
        continue;
      }
      missing ??= new Map();
      missing.set(key, h.labels);
    }
    if (!missing) return;
    await resolve(missing, now, result);
    for (let i = 0; i < batch.length; i++) {
      const h = batch.series[i]!;
      if (!h.ref?.live) h.ref = known.get(seriesKey(h.labels));
    }
  }

  async function writeBatch(batch: SampleBatch, defaultTimestamp?: number): Promise<WriteResult> {
    const now = options.now();
    const at = defaultTimestamp ?? now;
    const result: WriteResult = { accepted: 0, duplicates: 0, rejected: 0, errors: [] };
    await resolveHandles(batch, now, result);

    const n = batch.length;
    const ids: number[] = new Array(n);
    const ts: number[] = new Array(n);
    const vs: (number | null)[] = new Array(n);
    const stales: number[] = new Array(n);
    let rows = 0;
    let touched: number[] | undefined;
    for (let i = 0; i < n; i++) {
      const ref = batch.series[i]!.ref;
      if (!ref?.live) {
        result.rejected++;
        continue;
      }
      const t = batch.t[i]!;
      const v = batch.v[i]!;
      const stale = batch.stale?.[i] === 1;
      ids[rows] = ref.id;
      ts[rows] = Number.isNaN(t) ? at : Math.round(t);
      vs[rows] = stale || Number.isNaN(v) ? null : v;
      stales[rows] = stale ? 1 : 0;
      rows++;
      if (now - ref.lastSeenWritten > LAST_SEEN_REFRESH_MS) {
        ref.lastSeenWritten = now;
        touched ??= [];
        touched.push(ref.id);
      }
    }
    if (!rows) return result;
    const inserted = await writer.write({ length: rows, seriesId: ids, t: ts, v: vs, stale: stales, touched, now });
    result.accepted += inserted;
    result.duplicates += rows - inserted;
    return result;
  }

  async function write(samples: Sample[], defaultTimestamp?: number): Promise<WriteResult> {
    const n = samples.length;
    const t = new Float64Array(n);
    const v = new Float64Array(n);
    const stale = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const s = samples[i]!;
      t[i] = s.t ?? Number.NaN;
      v[i] = s.value;
      stale[i] = s.stale === true || isStaleMarker(s.value) ? 1 : 0;
    }
    const series = samples.map((s): SeriesHandle => ({ labels: s.labels }));
    return writeBatch({ length: n, series, t, v, stale }, defaultTimestamp);
  }

  /** Every series' id and labels matching all matchers. */
  async function matching(matchers: LabelMatcher[]): Promise<Array<{ id: number; labels: Labels }>> {
    const name = matchers.find((m) => m.name === '__name__' && m.op === '=');
    let q = db.selectFrom('telemetry_series').select(['id', 'labels']);
    if (name) q = q.where('metric', '=', name.value);
    // Compiled once per query; the engine's predicates translate RE2 spellings JS lacks.
    const tests = matchers.map((m) => ({ name: m.name, test: matcherPredicate(m) }));
    const out: Array<{ id: number; labels: Labels }> = [];
    for (const row of await q.execute()) {
      const id = Number(row.id);
      let labels = labelsById.get(id);
      if (!labels) {
        labels = JSON.parse(row.labels) as Labels;
        labelsById.set(id, labels);
      }
      if (tests.every((m) => m.test(labels[m.name] ?? ''))) out.push({ id, labels });
    }
    return out;
  }

  async function select(matchers: LabelMatcher[], startMs: number, endMs: number): Promise<RawSeries[]> {
    const found = await matching(matchers);
    if (!found.length) return [];
    const byId = new Map<number, RawSeries>();
    for (const f of found) byId.set(f.id, { labels: f.labels, t: [], v: [] });
    const rawFloor = options.now() - options.retentionMs;
    for (const part of chunks([...byId.keys()], ID_CHUNK)) {
      // Older than raw retention: the rollups' last value of each minute stands in for the samples.
      if (startMs < rawFloor) {
        const rows = await db
          .selectFrom('telemetry_rollups')
          .select(['series_id', 'last_t', 'last'])
          .where('series_id', 'in', part)
          .where('t', '>=', startMs - MINUTE)
          .where('t', '<', Math.min(endMs + 1, rawFloor))
          .orderBy('series_id')
          .orderBy('t')
          .execute();
        for (const r of rows) {
          if (r.last_t < startMs || r.last_t > endMs) continue;
          const s = byId.get(Number(r.series_id))!;
          s.t.push(Number(r.last_t));
          s.v.push(r.last ?? Number.NaN);
        }
      }
      const rows = await db
        .selectFrom('telemetry_samples')
        .select(['series_id', 't', 'v', 'stale'])
        .where('series_id', 'in', part)
        .where('t', '>=', Math.max(startMs, rawFloor))
        .where('t', '<=', endMs)
        .orderBy('series_id')
        .orderBy('t')
        .execute();
      for (const r of rows) {
        const s = byId.get(Number(r.series_id))!;
        const t = Number(r.t);
        if (s.t.length && s.t[s.t.length - 1]! >= t) continue;
        if (r.stale) {
          s.stale ??= [];
          s.stale.push(t);
          continue;
        }
        s.t.push(t);
        s.v.push(r.v === null ? Number.NaN : Number(r.v));
      }
    }
    return [...byId.values()];
  }

  async function seriesFor(matcherSets: LabelMatcher[][]): Promise<Labels[]> {
    const sets = matcherSets.length ? matcherSets : [[]];
    const seen = new Map<string, Labels>();
    for (const set of sets) for (const s of await matching(set)) seen.set(seriesKey(s.labels), s.labels);
    return [...seen.values()];
  }

  return {
    write,
    writeBatch,
    select,
    series: seriesFor,
    async labelNames(matcherSets) {
      const names = new Set<string>();
      for (const labels of await seriesFor(matcherSets)) for (const n of Object.keys(labels)) names.add(n);
      return [...names].sort();
    },
    async labelValues(name, matcherSets) {
      const values = new Set<string>();
      for (const labels of await seriesFor(matcherSets)) if (labels[name] !== undefined) values.add(labels[name]!);
      return [...values].sort();
    },
    async prune() {
      const pruned = await prune(options);
      // Deleted series must not be written to through a cached id (nor counted against the limit);
      // handles that callers keep see `live` turn false and look their series up again.
      if (pruned.series > 0) {
        for (const ref of known.values()) ref.live = false;
        known.clear();
        labelsById.clear();
        seriesPerMetric.clear();
      }
      return pruned;
    },
    rollup: () => rollup(options),
  };
}
