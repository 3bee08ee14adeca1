import type { Selectable } from 'kysely';
import type { DialectName, Executor } from '../../../core/db/database.js';
import type { AnalysisPhase, AnalysisRunView, Decision } from '../contracts.js';
import type { AnalysisRunsTable } from './analysis.tables.js';
import type { ResolvedMetric } from './metrics.js';
import type { MeasurementOutcome, MetricState } from './phase.js';

// SQL for the analysis tables only.

export interface RunRecord {
  id: string;
  rolloutId: string;
  service: string;
  canary: string;
  stable: string;
  mode: AnalysisRunView['mode'];
  step: number | null;
  templates: string[] | 'builtin';
  metrics: ResolvedMetric[];
  state: Record<string, MetricState>;
  phase: AnalysisPhase;
  reason: string | null;
  startedAt: number;
  finishedAt: number | null;
}

export interface MeasurementRecord {
  runId: string;
  metric: string;
  seq: number;
  at: number;
  outcome: MeasurementOutcome;
  decision: Decision;
}

function toRun(row: Selectable<AnalysisRunsTable>): RunRecord {
  return {
    id: row.id,
    rolloutId: row.rollout_id,
    service: row.service,
    canary: row.canary,
    stable: row.stable,
    mode: row.mode,
    step: row.step === null ? null : Number(row.step),
    templates: JSON.parse(row.templates) as RunRecord['templates'],
    metrics: JSON.parse(row.metrics) as ResolvedMetric[],
    state: JSON.parse(row.state) as Record<string, MetricState>,
    phase: row.phase,
    reason: row.reason,
    startedAt: Number(row.started_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
  };
}

export async function insertRun(ex: Executor, run: RunRecord): Promise<void> {
  await ex
    .insertInto('analysis_runs')
    .values({
      id: run.id,
      rollout_id: run.rolloutId,
      service: run.service,
      canary: run.canary,
      stable: run.stable,
      mode: run.mode,
      step: run.step,
      templates: JSON.stringify(run.templates),
      metrics: JSON.stringify(run.metrics),
      state: JSON.stringify(run.state),
      phase: run.phase,
      reason: run.reason,
      started_at: run.startedAt,
      finished_at: run.finishedAt,
      updated_at: run.startedAt,
    })
    .execute();
}

/**
 * A run; `lock` holds its row until the transaction ends (PostgreSQL), so measurements of
 * different metrics and a terminate never interleave their read-decide-write. SQLite has one writer.
 */
export async function getRun(ex: Executor, id: string, lock?: DialectName): Promise<RunRecord | undefined> {
  const query = ex.selectFrom('analysis_runs').selectAll().where('id', '=', id);
  const row = await (lock === 'postgres' ? query.forUpdate() : query).executeTakeFirst();
  return row ? toRun(row) : undefined;
}

/** Oldest first. */
export async function runsOfRollout(ex: Executor, rolloutId: string): Promise<RunRecord[]> {
  const rows = await ex
    .selectFrom('analysis_runs')
    .selectAll()
    .where('rollout_id', '=', rolloutId)
    .orderBy('started_at')
    .orderBy('id')
    .execute();
  return rows.map(toRun);
}

export async function updateRun(
  ex: Executor,
  id: string,
  change: { state: Record<string, MetricState>; phase: AnalysisPhase; reason: string | null; finishedAt: number | null; now: number },
): Promise<void> {
  await ex
    .updateTable('analysis_runs')
    .set({
      state: JSON.stringify(change.state),
      phase: change.phase,
      reason: change.reason,
      finished_at: change.finishedAt,
      updated_at: change.now,
    })
    .where('id', '=', id)
    .execute();
}

export async function insertMeasurement(ex: Executor, m: MeasurementRecord): Promise<void> {
  await ex
    .insertInto('analysis_measurements')
    .values({ run_id: m.runId, metric: m.metric, seq: m.seq, at: m.at, outcome: m.outcome, decision: JSON.stringify(m.decision) })
    .execute();
}

/** Measurements of the given runs in the order they were taken. */
export async function measurementsOf(ex: Executor, runIds: string[]): Promise<MeasurementRecord[]> {
  if (runIds.length === 0) return [];
  const rows = await ex
    .selectFrom('analysis_measurements')
    .selectAll()
    .where('run_id', 'in', runIds)
    .orderBy('at')
    .orderBy('metric')
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({
    runId: r.run_id,
    metric: r.metric,
    seq: Number(r.seq),
    at: Number(r.at),
    outcome: r.outcome,
    decision: JSON.parse(r.decision) as Decision,
  }));
}
