import type { Selectable } from 'kysely';
import type { Executor } from '../../../core/db/database.js';
import type { DoraRolloutsTable } from './dora.tables.js';
import type { IncidentFact, RolloutFact } from './metrics.js';

// SQL for DORA's read model.

export type RolloutRow = Selectable<DoraRolloutsTable>;

const num = (v: number | null) => (v === null ? null : Number(v));

/** False when the event was taken in before (the read model is idempotent by event id). */
export async function markSeen(ex: Executor, eventId: string, at: number): Promise<boolean> {
  const result = await ex
    .insertInto('dora_seen')
    .values({ event_id: eventId, at })
    .onConflict((oc) => oc.column('event_id').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function pruneSeen(ex: Executor, before: number): Promise<void> {
  await ex.deleteFrom('dora_seen').where('at', '<', before).execute();
}

export async function getRollout(ex: Executor, id: string): Promise<RolloutRow | undefined> {
  return ex.selectFrom('dora_rollouts').selectAll().where('rollout_id', '=', id).executeTakeFirst();
}

export async function putRollout(ex: Executor, row: RolloutRow): Promise<void> {
  const { rollout_id: _id, ...rest } = row;
  await ex
    .insertInto('dora_rollouts')
    .values(row)
    .onConflict((oc) => oc.column('rollout_id').doUpdateSet(rest))
    .execute();
}

/** The newest deployment of a service that finished by `at` and is not already undone (what an undo rolls back). */
export async function latestUndoable(ex: Executor, service: string, at: number, exclude: string): Promise<RolloutRow | undefined> {
  return ex
    .selectFrom('dora_rollouts')
    .selectAll()
    .where('service', '=', service)
    .where('outcome', '=', 'succeeded')
    .where('is_undo', '=', 0)
    .where('undone_at', 'is', null)
    .where('finished_at', '<=', at)
    .where('rollout_id', '!=', exclude)
    .orderBy('finished_at', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export async function putRelease(ex: Executor, service: string, version: string, at: number): Promise<void> {
  await ex
    .insertInto('dora_releases')
    .values({ service, version, created_at: at })
    .onConflict((oc) => oc.columns(['service', 'version']).doNothing())
    .execute();
}

export async function putIncident(ex: Executor, row: IncidentFact): Promise<void> {
  await ex
    .insertInto('dora_incidents')
    .values({
      incident_id: row.incidentId,
      service: row.service,
      rollout_id: row.rolloutId,
      opened_at: row.openedAt,
      resolved_at: row.resolvedAt,
    })
    .onConflict((oc) => oc.column('incident_id').doNothing())
    .execute();
}

export async function resolveIncident(ex: Executor, id: string, at: number): Promise<void> {
  await ex.updateTable('dora_incidents').set({ resolved_at: at }).where('incident_id', '=', id).where('resolved_at', 'is', null).execute();
}

/** Finished rollouts in [from, to], with their release's creation time. */
export async function finishedRollouts(ex: Executor, from: number, to: number, service?: string): Promise<RolloutFact[]> {
  let q = ex
    .selectFrom('dora_rollouts as r')
    .leftJoin('dora_releases as rel', (j) => j.onRef('rel.service', '=', 'r.service').onRef('rel.version', '=', 'r.version'))
    .selectAll('r')
    .select('rel.created_at as release_table_created_at')
    .where('r.outcome', 'in', ['succeeded', 'aborted'])
    .where('r.finished_at', '>=', from)
    .where('r.finished_at', '<=', to);
  if (service !== undefined) q = q.where('r.service', '=', service);
  const rows = await q.orderBy('r.finished_at').execute();
  return rows.map((r) => ({
    rolloutId: r.rollout_id,
    service: r.service,
    version: r.version,
    startedAt: num(r.started_at),
    finishedAt: Number(r.finished_at),
    outcome: r.outcome as 'succeeded' | 'aborted',
    isUndo: Number(r.is_undo) === 1,
    commitTime: num(r.commit_time),
    releaseCreatedAt: num(r.release_created_at) ?? num(r.release_table_created_at),
    undoneAt: num(r.undone_at),
  }));
}

/** Incidents opened in [from, to + 1 day] (a deployment's incident may come a day after it). */
export async function incidentsBetween(ex: Executor, from: number, to: number, service?: string): Promise<IncidentFact[]> {
  let q = ex
    .selectFrom('dora_incidents')
    .selectAll()
    .where('opened_at', '>=', from)
    .where('opened_at', '<=', to + 86_400_000);
  if (service !== undefined) q = q.where('service', '=', service);
  const rows = await q.execute();
  return rows.map((r) => ({
    incidentId: r.incident_id,
    service: r.service,
    rolloutId: r.rollout_id,
    openedAt: Number(r.opened_at),
    resolvedAt: num(r.resolved_at),
  }));
}
