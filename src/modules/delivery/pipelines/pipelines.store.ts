import type { Selectable, Updateable } from 'kysely';
import type { Executor } from '../../../core/db/database.js';
import type { PipelineRunsTable, PipelineStagesTable, RunState, StageState } from './pipelines.tables.js';

// SQL for the pipelines part's own tables: runs, stages and their captured logs.

export type RunRow = Selectable<PipelineRunsTable>;
export type StageRow = Selectable<PipelineStagesTable>;

const num = (v: number | null) => (v === null ? null : Number(v));

const toRun = (r: RunRow): RunRow => ({
  ...r,
  commit_time: num(r.commit_time),
  current: Number(r.current),
  created_at: Number(r.created_at),
  finished_at: num(r.finished_at),
});

const toStage = (s: StageRow): StageRow => ({
  ...s,
  idx: Number(s.idx),
  started_at: num(s.started_at),
  finished_at: num(s.finished_at),
  command_started_at: num(s.command_started_at),
  heartbeat_at: num(s.heartbeat_at),
  pid: num(s.pid),
  exit_code: num(s.exit_code),
  deadline_at: num(s.deadline_at),
});

export const FINAL_RUN: RunState[] = ['succeeded', 'failed', 'cancelled'];
export const FINAL_STAGE: StageState[] = ['succeeded', 'failed', 'cancelled', 'skipped'];

export async function insertRun(ex: Executor, run: RunRow, stages: StageRow[]): Promise<void> {
  await ex.insertInto('pipeline_runs').values(run).execute();
  await ex.insertInto('pipeline_stages').values(stages).execute();
}

export async function getRun(ex: Executor, id: string): Promise<RunRow | undefined> {
  const row = await ex.selectFrom('pipeline_runs').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toRun(row);
}

export async function listRuns(ex: Executor, service: string, limit: number): Promise<RunRow[]> {
  const rows = await ex
    .selectFrom('pipeline_runs')
    .selectAll()
    .where('service', '=', service)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map(toRun);
}

export async function activeRun(ex: Executor, service: string): Promise<RunRow | undefined> {
  const row = await ex
    .selectFrom('pipeline_runs')
    .selectAll()
    .where('service', '=', service)
    .where('state', '=', 'running')
    .executeTakeFirst();
  return row && toRun(row);
}

export async function getStages(ex: Executor, runId: string): Promise<StageRow[]> {
  const rows = await ex.selectFrom('pipeline_stages').selectAll().where('run_id', '=', runId).orderBy('idx').execute();
  return rows.map(toStage);
}

export async function getStage(ex: Executor, runId: string, idx: number): Promise<StageRow | undefined> {
  const row = await ex.selectFrom('pipeline_stages').selectAll().where('run_id', '=', runId).where('idx', '=', idx).executeTakeFirst();
  return row && toStage(row);
}

/** Updates a stage only if it is still in one of `from`; returns whether it was. */
export async function updateStage(
  ex: Executor,
  key: { runId: string; idx: number },
  from: StageState[],
  changes: Updateable<PipelineStagesTable>,
): Promise<boolean> {
  const result = await ex
    .updateTable('pipeline_stages')
    .set(changes)
    .where('run_id', '=', key.runId)
    .where('idx', '=', key.idx)
    .where('state', 'in', from)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function updateRun(ex: Executor, id: string, changes: Updateable<PipelineRunsTable>): Promise<boolean> {
  const result = await ex.updateTable('pipeline_runs').set(changes).where('id', '=', id).where('state', '=', 'running').executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function skipRemaining(ex: Executor, runId: string, after: number): Promise<void> {
  await ex
    .updateTable('pipeline_stages')
    .set({ state: 'skipped' })
    .where('run_id', '=', runId)
    .where('idx', '>', after)
    .where('state', '=', 'pending')
    .execute();
}

/** Stages waiting on a rollout; by its id, or (before the id was recorded) the run's production stage. */
export async function stageForRollout(
  ex: Executor,
  rolloutId: string | undefined,
  runId: string | undefined,
): Promise<StageRow | undefined> {
  if (rolloutId) {
    const row = await ex.selectFrom('pipeline_stages').selectAll().where('rollout_id', '=', rolloutId).executeTakeFirst();
    if (row) return toStage(row);
  }
  if (runId) {
    const row = await ex
      .selectFrom('pipeline_stages')
      .selectAll()
      .where('run_id', '=', runId)
      .where('type', '=', 'production')
      .where('state', 'in', ['running', 'waiting'])
      .executeTakeFirst();
    if (row) return toStage(row);
  }
  return undefined;
}

/** Run stages whose command started but whose runner stopped beating (its process died). */
export async function staleCommands(ex: Executor, before: number): Promise<StageRow[]> {
  const rows = await ex
    .selectFrom('pipeline_stages')
    .selectAll()
    .where('type', '=', 'run')
    .where('state', '=', 'running')
    .where('command_started_at', 'is not', null)
    .where('heartbeat_at', '<', before)
    .execute();
  return rows.map(toStage);
}

export interface LogLine {
  seq: number;
  stage: string;
  index: number;
  at: number;
  stream: string;
  line: string;
}

export async function appendLogs(
  ex: Executor,
  rows: { run_id: string; idx: number; at: number; stream: string; line: string }[],
): Promise<void> {
  if (rows.length === 0) return;
  await ex.insertInto('pipeline_logs').values(rows).execute();
}

export async function readLogs(
  ex: Executor,
  runId: string,
  options: { idx?: number; afterSeq?: number; limit: number },
): Promise<Omit<LogLine, 'stage'>[]> {
  let q = ex.selectFrom('pipeline_logs').selectAll().where('run_id', '=', runId);
  if (options.idx !== undefined) q = q.where('idx', '=', options.idx);
  if (options.afterSeq !== undefined) q = q.where('seq', '>', options.afterSeq);
  const rows = await q.orderBy('seq').limit(options.limit).execute();
  return rows.map((r) => ({ seq: Number(r.seq), index: Number(r.idx), at: Number(r.at), stream: r.stream, line: r.line }));
}
