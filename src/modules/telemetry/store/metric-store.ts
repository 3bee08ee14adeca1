import { createHash } from 'node:crypto';
import type { Counter } from 'prom-client';
import { bulkInsertIgnore } from '../../../core/db/bulk.js';
import { type Database, type Db, transaction } from '../../../core/db/database.js';
import { isStaleMarker, type LabelMatcher, type Labels, type RawSeries, type Sample, type SeriesSource } from '../contracts.js';
import { matcherPredicate } from '../promql/labels.js';
import type { TelemetryRollupsTable } from '../telemetry.tables.js';

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

export interface MetricStore extends SeriesSource {
  write(samples: Sample[], defaultTimestamp?: number): Promise<WriteResult>;
  /** Label names, or values of one label, over series matching any of the selector sets (all when none). */
  labelNames(matcherSets: LabelMatcher[][]): Promise<string[]>;
  labelValues(name: string, matcherSets: LabelMatcher[][]): Promise<string[]>;
  series(matcherSets: LabelMatcher[][]): Promise<Labels[]>;
  /** Deletes samples and rollups past retention, and series without either. */
  prune(): Promise<{ samples: number; rollups: number; series: number }>;
  /** Rolls complete minutes up; returns the minutes rolled. */
  rollup(): Promise<number>;
}

const SAMPLES_BULK = {
  table: 'telemetry_samples',
  columns: [
    { name: 'series_id', type: 'bigint' },
    { name: 't', type: 'bigint' },
    { name: 'v', type: 'double precision' },
    { name: 'stale', type: 'smallint' },
  ],
  conflict: ['series_id', 't'],
} as const satisfies Parameters<typeof bulkInsertIgnore>[2];
const ID_CHUNK = 500;
const LAST_SEEN_REFRESH_MS = 3_600_000;
const MINUTE = 60_000;
/** Rollups leave the newest minutes alone: late samples may still arrive for them. */
const ROLLUP_LAG_MS = 2 * MINUTE;
const ROLLUP_MAX_MINUTES_PER_RUN = 60;

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

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

interface KnownSeries {
  id: number;
  lastSeenWritten: number;
}

/**
 * The built-in metric store over SQL: a series index and raw samples with one-minute rollups.
 * Series ids and parsed labels are cached in memory (series are append-only), so a write is one
 * multi-row insert per 500 samples and a read is one range scan per 500 series.
 */
export function createMetricStore(options: MetricStoreOptions): MetricStore {
  const db = options.database.db;
  const known = new Map<string, KnownSeries>();
  const labelsById = new Map<number, Labels>();
  const seriesPerMetric = new Map<string, number>();

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
          known.set(f.key, { id: Number(row.id), lastSeenWritten: 0 });
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

  async function write(samples: Sample[], defaultTimestamp?: number): Promise<WriteResult> {
    const now = options.now();
    const at = defaultTimestamp ?? now;
    const result: WriteResult = { accepted: 0, duplicates: 0, rejected: 0, errors: [] };
    const keys = samples.map((s) => seriesKey(s.labels));
    const missing = new Map<string, Labels>();
    for (let i = 0; i < samples.length; i++) if (!known.has(keys[i]!)) missing.set(keys[i]!, samples[i]!.labels);
    if (missing.size) await resolve(missing, now, result);

    const rows: [number, number, number | null, number][] = [];
    const touched: number[] = [];
    for (let i = 0; i < samples.length; i++) {
      const series = known.get(keys[i]!);
      if (!series) {
        result.rejected++;
        continue;
      }
      const { value } = samples[i]!;
      const stale = samples[i]!.stale === true || isStaleMarker(value);
      rows.push([series.id, Math.round(samples[i]!.t ?? at), Number.isNaN(value) ? null : value, stale ? 1 : 0]);
      if (now - series.lastSeenWritten > LAST_SEEN_REFRESH_MS) {
        series.lastSeenWritten = now;
        touched.push(series.id);
      }
    }
    if (!rows.length) return result;
    await transaction(db, async (tx) => {
      const inserted = await bulkInsertIgnore(options.database, tx, SAMPLES_BULK, rows);
      result.accepted += inserted;
      result.duplicates += rows.length - inserted;
      for (const part of chunks([...new Set(touched)], ID_CHUNK)) {
        await tx.updateTable('telemetry_series').set({ last_seen: now }).where('id', 'in', part).execute();
      }
    });
    return result;
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
      // Deleted series must not be written to through a cached id (nor counted against the limit).
      if (pruned.series > 0) {
        known.clear();
        labelsById.clear();
        seriesPerMetric.clear();
      }
      return pruned;
    },
    rollup: () => rollup(options),
  };
}

async function allSeriesIds(db: Db): Promise<number[]> {
  return (await db.selectFrom('telemetry_series').select('id').orderBy('id').execute()).map((r) => Number(r.id));
}

async function prune(options: MetricStoreOptions) {
  const db = options.database.db;
  const now = options.now();
  const sampleCutoff = now - options.retentionMs;
  const rollupCutoff = now - options.rollupRetentionMs;
  let samples = 0;
  let rollups = 0;
  for (const part of chunks(await allSeriesIds(db), ID_CHUNK)) {
    const s = await db.deleteFrom('telemetry_samples').where('series_id', 'in', part).where('t', '<', sampleCutoff).executeTakeFirst();
    samples += Number(s.numDeletedRows);
    const r = await db.deleteFrom('telemetry_rollups').where('series_id', 'in', part).where('t', '<', rollupCutoff).executeTakeFirst();
    rollups += Number(r.numDeletedRows);
  }
  const gone = await db.deleteFrom('telemetry_series').where('last_seen', '<', rollupCutoff).executeTakeFirst();
  return { samples, rollups, series: Number(gone.numDeletedRows) };
}

async function rollup(options: MetricStoreOptions): Promise<number> {
  const db = options.database.db;
  const upTo = Math.floor((options.now() - ROLLUP_LAG_MS) / MINUTE) * MINUTE;
  const state = await db.selectFrom('telemetry_rollup_state').select('rolled_until').where('id', '=', 1).executeTakeFirstOrThrow();
  // A new store starts rolling up from now on; history older than that stays raw until pruned.
  const from = Number(state.rolled_until) || upTo;
  const to = Math.min(upTo, from + ROLLUP_MAX_MINUTES_PER_RUN * MINUTE);
  if (to <= from) {
    if (!Number(state.rolled_until))
      await db.updateTable('telemetry_rollup_state').set({ rolled_until: from }).where('id', '=', 1).execute();
    return 0;
  }
  for (const part of chunks(await allSeriesIds(db), ID_CHUNK)) {
    const rows = await db
      .selectFrom('telemetry_samples')
      .select(['series_id', 't', 'v', 'stale'])
      .where('series_id', 'in', part)
      .where('t', '>=', from)
      .where('t', '<', to)
      .orderBy('series_id')
      .orderBy('t')
      .execute();
    const out: TelemetryRollupsTable[] = [];
    for (const r of rows) {
      if (r.stale) continue;
      const id = Number(r.series_id);
      const minute = Math.floor(Number(r.t) / MINUTE) * MINUTE;
      let agg = out[out.length - 1];
      if (!agg || agg.series_id !== id || agg.t !== minute) {
        agg = { series_id: id, t: minute, count: 0, sum: null, min: null, max: null, last: null, last_t: Number(r.t) };
        out.push(agg);
      }
      const v = r.v === null ? null : Number(r.v);
      agg.count++;
      agg.last = v;
      agg.last_t = Number(r.t);
      if (v !== null) {
        agg.sum = (agg.sum ?? 0) + v;
        agg.min = agg.min === null ? v : Math.min(agg.min, v);
        agg.max = agg.max === null ? v : Math.max(agg.max, v);
      }
    }
    for (const c of chunks(out, 200)) {
      await db
        .insertInto('telemetry_rollups')
        .values(c)
        .onConflict((oc) => oc.columns(['series_id', 't']).doNothing())
        .execute();
    }
  }
  await db.updateTable('telemetry_rollup_state').set({ rolled_until: to }).where('id', '=', 1).execute();
  return Math.round((to - from) / MINUTE);
}
