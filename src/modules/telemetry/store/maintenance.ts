import type { Db } from '../../../core/db/database.js';
import type { TelemetryRollupsTable } from '../telemetry.tables.js';
import { chunks, ID_CHUNK } from './batching.js';
import type { MetricStoreOptions } from './metric-store.js';

const MINUTE = 60_000;
/** Rollups leave the newest minutes alone: late samples may still arrive for them. */
const ROLLUP_LAG_MS = 2 * MINUTE;
const ROLLUP_MAX_MINUTES_PER_RUN = 60;

async function allSeriesIds(db: Db): Promise<number[]> {
  return (await db.selectFrom('telemetry_series').select('id').orderBy('id').execute()).map((r) => Number(r.id));
}

/** Deletes samples and rollups past retention, and series without either. */
export async function prune(options: MetricStoreOptions) {
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

/** Rolls complete minutes up into one-minute aggregates; returns the minutes rolled. */
export async function rollup(options: MetricStoreOptions): Promise<number> {
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
