import type { Selectable } from 'kysely';
import type { Executor } from '../../../core/db/database.js';
import type { AnalysisPhase, RolloutPhase } from '../contracts.js';
import type { RolloutPlan } from './plan.js';
import type { DeliveryRolloutLogTable, DeliveryRolloutsTable } from './rollouts.tables.js';

// SQL for the rollouts tables only.

export type PauseReason = 'manual' | 'step' | 'inconclusive' | 'freeze';

/** The decision that failed a rollout, as the abort event and the log carry it. */
export interface FailingDecision {
  /** `analysis`, `health` (crash-loop, failed), `deadline`, `manual`, `runtime`. */
  source: string;
  at: number;
  reason: string;
  runId?: string;
  phase?: string;
  /** The measurements behind it (from the analysis run), newest last. */
  decisions?: unknown[];
  [key: string]: unknown;
}

export interface StepState {
  /** A timed pause ends then. */
  pauseUntil?: number;
  /** The analysis run the step waits for. */
  runId?: string;
  /** Which run turned out Inconclusive (the rollout is Paused for a human). */
  inconclusive?: 'inline' | 'background';
  /** Rolling: batches done. */
  batch?: number;
}

export interface RolloutState {
  /** The instance count of the stable version at start: the canary's full size. */
  fullInstances: number;
  /** The split this rollout last applied, percent by version. */
  weights: Record<string, number>;
  stepState: StepState;
  background: { runId: string | null; ended: Exclude<AnalysisPhase, 'Running'> | null };
  headerRoute: { name?: string; header: string; value: string } | null;
  /** Percent mirrored to the new version. */
  mirror: number | null;
  canaryScale: { instances?: number; percent?: number } | null;
  switchedAt: number | null;
  decision: FailingDecision | null;
  /** When the failing decision was made, and when the new version's weight reached 0 after it. */
  decisionAt: number | null;
  weightZeroAt: number | null;
}

export interface RolloutMeta {
  commitTime: number | null;
  releaseCreatedAt: number | null;
  releaseCreated: boolean;
  pipelineRunId: string | null;
  overrideFreeze: { reason: string; freezes: { name: string; reason: string }[] } | null;
}

export interface Rollout {
  id: string;
  service: string;
  version: string;
  stable: string | null;
  strategy: RolloutPlan['strategy'];
  plan: RolloutPlan;
  phase: RolloutPhase;
  step: number;
  reason: string | null;
  pauseReason: PauseReason | null;
  deployer: string;
  active: boolean;
  progressDeadlineAt: number | null;
  settled: boolean;
  rollbackOf: string | null;
  state: RolloutState;
  meta: RolloutMeta;
  revision: number;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

export interface LogEntry {
  seq: number;
  at: number;
  actor: string;
  type: string;
  step: number | null;
  message: string;
  data: Record<string, unknown>;
}

type Row = Selectable<DeliveryRolloutsTable>;
const num = (v: number | null) => (v === null ? null : Number(v));

export function toRollout(row: Row): Rollout {
  return {
    id: row.id,
    service: row.service,
    version: row.version,
    stable: row.stable,
    strategy: row.strategy,
    plan: JSON.parse(row.plan) as RolloutPlan,
    phase: row.phase,
    step: row.step,
    reason: row.reason,
    pauseReason: row.pause_reason as PauseReason | null,
    deployer: row.deployer,
    active: row.active_service !== null,
    progressDeadlineAt: num(row.progress_deadline_at),
    settled: row.settled === 1,
    rollbackOf: row.rollback_of,
    state: JSON.parse(row.state) as RolloutState,
    meta: JSON.parse(row.meta) as RolloutMeta,
    revision: row.revision,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    finishedAt: num(row.finished_at),
  };
}

/** What a transition may change. */
export interface RolloutPatch {
  phase?: RolloutPhase;
  step?: number;
  reason?: string | null;
  pauseReason?: PauseReason | null;
  active?: boolean;
  progressDeadlineAt?: number | null;
  settled?: boolean;
  state?: RolloutState;
  finishedAt?: number | null;
}

export async function insertRollout(ex: Executor, r: Rollout): Promise<void> {
  await ex
    .insertInto('delivery_rollouts')
    .values({
      id: r.id,
      service: r.service,
      version: r.version,
      stable: r.stable,
      strategy: r.strategy,
      plan: JSON.stringify(r.plan),
      phase: r.phase,
      step: r.step,
      reason: r.reason,
      pause_reason: r.pauseReason,
      deployer: r.deployer,
      active_service: r.active ? r.service : null,
      progress_deadline_at: r.progressDeadlineAt,
      settled: r.settled ? 1 : 0,
      rollback_of: r.rollbackOf,
      state: JSON.stringify(r.state),
      meta: JSON.stringify(r.meta),
      revision: r.revision,
      created_at: r.createdAt,
      updated_at: r.updatedAt,
      finished_at: r.finishedAt,
    })
    .execute();
}

/** Compare-and-set: bumps the revision only if it is still `revision`; false when another writer got there first. */
export async function claimRevision(tx: Executor, id: string, revision: number, now: number): Promise<boolean> {
  const result = await tx
    .updateTable('delivery_rollouts')
    .set({ revision: revision + 1, updated_at: now })
    .where('id', '=', id)
    .where('revision', '=', revision)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function patchRollout(tx: Executor, r: Rollout, patch: RolloutPatch): Promise<void> {
  const set: Partial<Record<keyof DeliveryRolloutsTable, unknown>> = {};
  if (patch.phase !== undefined) set.phase = patch.phase;
  if (patch.step !== undefined) set.step = patch.step;
  if (patch.reason !== undefined) set.reason = patch.reason;
  if (patch.pauseReason !== undefined) set.pause_reason = patch.pauseReason;
  if (patch.active !== undefined) set.active_service = patch.active ? r.service : null;
  if (patch.progressDeadlineAt !== undefined) set.progress_deadline_at = patch.progressDeadlineAt;
  if (patch.settled !== undefined) set.settled = patch.settled ? 1 : 0;
  if (patch.state !== undefined) set.state = JSON.stringify(patch.state);
  if (patch.finishedAt !== undefined) set.finished_at = patch.finishedAt;
  if (Object.keys(set).length === 0) return;
  await tx
    .updateTable('delivery_rollouts')
    .set(set as Partial<DeliveryRolloutsTable>)
    .where('id', '=', r.id)
    .execute();
}

export async function getRollout(ex: Executor, id: string): Promise<Rollout | undefined> {
  const row = await ex.selectFrom('delivery_rollouts').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toRollout(row) : undefined;
}

export async function activeRollout(ex: Executor, service: string): Promise<Rollout | undefined> {
  const row = await ex.selectFrom('delivery_rollouts').selectAll().where('active_service', '=', service).executeTakeFirst();
  return row ? toRollout(row) : undefined;
}

export async function allActive(ex: Executor): Promise<Rollout[]> {
  const rows = await ex.selectFrom('delivery_rollouts').selectAll().where('active_service', 'is not', null).orderBy('created_at').execute();
  return rows.map(toRollout);
}

/** The newest rollout of a service (active or not). */
export async function latestRollout(ex: Executor, service: string): Promise<Rollout | undefined> {
  const row = await ex
    .selectFrom('delivery_rollouts')
    .selectAll()
    .where('service', '=', service)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? toRollout(row) : undefined;
}

export async function listRollouts(ex: Executor, filter: { service?: string; phase?: string; limit?: number }): Promise<Rollout[]> {
  let q = ex.selectFrom('delivery_rollouts').selectAll();
  if (filter.service) q = q.where('service', '=', filter.service);
  if (filter.phase) q = q.where('phase', '=', filter.phase as RolloutPhase);
  const rows = await q
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(filter.limit ?? 100)
    .execute();
  return rows.map(toRollout);
}

/** Rollouts that still have runtime work to do: active, or finished and not settled (restart recovery). */
export async function unsettledRollouts(ex: Executor): Promise<Rollout[]> {
  const rows = await ex
    .selectFrom('delivery_rollouts')
    .selectAll()
    .where((eb) => eb.or([eb('active_service', 'is not', null), eb('settled', '=', 0)]))
    .execute();
  return rows.map(toRollout);
}

export async function appendLog(ex: Executor, entry: Omit<LogEntry, 'seq'> & { rolloutId: string }): Promise<void> {
  await ex
    .insertInto('delivery_rollout_log')
    .values({
      rollout_id: entry.rolloutId,
      at: entry.at,
      actor: entry.actor,
      type: entry.type,
      step: entry.step,
      message: entry.message,
      data: JSON.stringify(entry.data),
    })
    .execute();
}

type LogRow = Selectable<DeliveryRolloutLogTable>;

export async function readLog(ex: Executor, rolloutId: string, limit = 500): Promise<LogEntry[]> {
  const rows: LogRow[] = await ex
    .selectFrom('delivery_rollout_log')
    .selectAll()
    .where('rollout_id', '=', rolloutId)
    .orderBy('seq', 'desc')
    .limit(limit)
    .execute();
  return rows.reverse().map((r) => ({
    seq: Number(r.seq),
    at: Number(r.at),
    actor: r.actor,
    type: r.type,
    step: r.step,
    message: r.message,
    data: JSON.parse(r.data) as Record<string, unknown>,
  }));
}
