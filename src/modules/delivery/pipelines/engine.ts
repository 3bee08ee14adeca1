import type { Updateable } from 'kysely';
import { type Actor, roleAtLeast } from '../../../core/auth/roles.js';
import type { Executor } from '../../../core/db/database.js';
import { lockForTransaction } from '../../../core/db/locks.js';
import { AppError, conflict, forbidden, notFound, validationFailed } from '../../../core/errors.js';
import { newId } from '../../../core/ids.js';
import { emit, type PipelinesContext, runKey, scheduleTick, systemLog, TEARDOWN_JOB, TICK_JOB } from './context.js';
import { type ApprovalStage, type PipelineSpec, type StageSpec, type StartRunBody, stageType } from './pipelines.schema.js';
import {
  activeRun,
  FINAL_RUN,
  getRun,
  getStage,
  getStages,
  insertRun,
  type RunRow,
  type StageRow,
  skipRemaining,
  updateRun,
  updateStage,
} from './pipelines.store.js';
import type { PipelineStagesTable, RunState, StageState } from './pipelines.tables.js';

export interface StageView {
  index: number;
  name: string;
  type: string;
  state: StageState;
  phase: string | null;
  reason: string | null;
  startedAt: number | null;
  finishedAt: number | null;
  exitCode: number | null;
  deadlineAt: number | null;
  rolloutId: string | null;
  approvedBy: string | null;
  details: unknown;
}

export interface RunView {
  id: string;
  service: string;
  pipeline: string;
  version: string;
  commitTime: number | null;
  state: RunState;
  /** Name of the stage in progress, or the one the run ended in. */
  stage: string | null;
  reason: string | null;
  createdAt: number;
  createdBy: string;
  finishedAt: number | null;
  stages: StageView[];
}

export function runView(run: RunRow, stages: StageRow[]): RunView {
  const actor = JSON.parse(run.actor) as Actor;
  return {
    id: run.id,
    service: run.service,
    pipeline: run.pipeline,
    version: run.version,
    commitTime: run.commit_time,
    state: run.state,
    stage: stages[run.current]?.name ?? null,
    reason: run.reason,
    createdAt: run.created_at,
    createdBy: actor.name,
    finishedAt: run.finished_at,
    stages: stages.map((s) => ({
      index: s.idx,
      name: s.name,
      type: s.type,
      state: s.state,
      phase: s.phase,
      reason: s.reason,
      startedAt: s.started_at,
      finishedAt: s.finished_at,
      exitCode: s.exit_code,
      deadlineAt: s.deadline_at,
      rolloutId: s.rollout_id,
      approvedBy: s.approved_by,
      details: s.details ? JSON.parse(s.details) : null,
    })),
  };
}

export async function requireRun(p: PipelinesContext, id: string, ex?: Executor): Promise<RunRow> {
  const run = await getRun(ex ?? p.delivery.core.db, id);
  if (!run) throw notFound(`pipeline run '${id}' does not exist`, { run: id });
  return run;
}

export async function loadRunView(p: PipelinesContext, id: string): Promise<RunView> {
  const run = await requireRun(p, id);
  return runView(run, await getStages(p.delivery.core.db, id));
}

/**
 * Ends a stage that is still pending, running or waiting, and moves the run on in the same
 * transaction: the next stage's tick, or the run's end. False when the stage had already ended
 * (a cancel, a timeout and an exit can race; the first one wins).
 */
export async function finishStage(
  p: PipelinesContext,
  tx: Executor,
  key: { runId: string; idx: number },
  result: { state: 'succeeded' | 'failed'; reason: string | null; changes?: Updateable<PipelineStagesTable> },
): Promise<boolean> {
  const now = p.delivery.core.clock.now();
  const ended = await updateStage(tx, key, ['pending', 'running', 'waiting'], {
    ...result.changes,
    state: result.state,
    reason: result.reason,
    finished_at: now,
  });
  if (!ended) return false;
  const run = await getRun(tx, key.runId);
  if (run?.state !== 'running') return true;
  const stages = await getStages(tx, key.runId);
  const stage = stages[key.idx]!;
  await emit(p, tx, run, `stage.${result.state}`, { stage: stage.name, index: key.idx, type: stage.type, reason: result.reason });
  await systemLog(p, tx, key.runId, key.idx, `stage ${result.state}${result.reason ? `: ${result.reason}` : ''}`);
  if (result.state === 'succeeded') {
    const next = key.idx + 1;
    if (next < stages.length) {
      await updateRun(tx, run.id, { current: next });
      await scheduleTick(p, run.id, { tx });
    } else {
      await updateRun(tx, run.id, { state: 'succeeded', finished_at: now });
      await emit(p, tx, run, 'succeeded', { pipeline: run.pipeline });
    }
    return true;
  }
  const reason = `stage '${stage.name}' failed: ${result.reason ?? 'no reason given'}`;
  await skipRemaining(tx, run.id, key.idx);
  await updateRun(tx, run.id, { state: 'failed', reason, finished_at: now });
  await emit(p, tx, run, 'failed', { pipeline: run.pipeline, stage: stage.name, reason });
  return true;
}

/** The Pipeline a run uses: named in the request, else by the Service's spec.delivery.pipeline. */
async function resolvePipeline(p: PipelinesContext, service: string, requested?: string): Promise<{ name: string; spec: PipelineSpec }> {
  const { core, catalog } = p.delivery;
  const svc = await catalog.getService(service);
  if (!svc) {
    const known = (await catalog.listServices()).map((s) => s.metadata.name);
    throw notFound(`Service '${service}' does not exist; known services: ${known.join(', ') || 'none'}`, { service, knownServices: known });
  }
  const named = (svc.spec as { delivery?: { pipeline?: unknown } }).delivery?.pipeline;
  const name = requested ?? (typeof named === 'string' ? named : undefined);
  if (!name) {
    throw conflict(`Service '${service}' names no pipeline: set spec.delivery.pipeline to a Pipeline, or pass one`, { service });
  }
  const pipeline = await core.resources.get<PipelineSpec>('Pipeline', name);
  if (!pipeline) {
    const known = (await core.resources.list('Pipeline')).map((d) => d.metadata.name);
    throw notFound(`Pipeline '${name}' does not exist; known pipelines: ${known.join(', ') || 'none'}`, {
      pipeline: name,
      knownPipelines: known,
    });
  }
  return { name, spec: pipeline.spec };
}

async function activeConflict(ex: Executor, active: RunRow): Promise<AppError> {
  const at = (await getStage(ex, active.id, active.current))?.name;
  return conflict(
    `pipeline run ${active.id} of '${active.service}' (version ${active.version}) is still running at stage '${at}'; cancel it first`,
    {
      service: active.service,
      activeRun: active.id,
    },
  );
}

function parseCommitTime(value: number | string | undefined): number | null {
  if (value === undefined) return null;
  const at = typeof value === 'number' ? value : /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(at)) {
    const message = `must be an ISO-8601 time or epoch milliseconds (got '${value}')`;
    throw validationFailed(`commitTime ${message}`, [{ pointer: '/commitTime', message }]);
  }
  return at;
}

/** Starts a run: checks service, version and pipeline, snapshots the stages, and schedules the first tick. */
export async function startRun(p: PipelinesContext, input: StartRunBody & { service: string; actor: Actor }): Promise<RunView> {
  const { core, runtime } = p.delivery;
  const { service, version, actor } = input;
  const pipeline = await resolvePipeline(p, service, input.pipeline);
  const commitTime = parseCommitTime(input.commitTime);
  const running = await activeRun(core.db, service);
  if (running) throw await activeConflict(core.db, running);
  // As `deploy` does: a version without a release gets one from the service's runtime spec.
  let release = (await runtime.listReleases(service)).find((r) => r.version === version);
  if (!release) {
    try {
      release = await runtime.createRelease({ service, version, actor });
    } catch (err) {
      if (!(err instanceof AppError && err.status === 409)) throw err;
      release = (await runtime.listReleases(service)).find((r) => r.version === version);
      if (!release) throw err;
    }
  }
  if (release.state === 'retired') throw conflict(`version '${version}' of '${service}' is retired and cannot be run through a pipeline`);
  const now = core.clock.now();
  const id = newId('pip', now);
  const actorJson: Actor = { kind: actor.kind, name: actor.name, role: actor.role, ...(actor.tokenId ? { tokenId: actor.tokenId } : {}) };
  const run: RunRow = {
    id,
    service,
    pipeline: pipeline.name,
    version,
    commit_time: commitTime,
    state: 'running',
    current: 0,
    reason: null,
    actor: JSON.stringify(actorJson),
    override_freeze: input.overrideFreeze ? JSON.stringify(input.overrideFreeze) : null,
    created_at: now,
    finished_at: null,
  };
  const stages: StageRow[] = pipeline.spec.stages.map((s: StageSpec, idx) => ({
    run_id: id,
    idx,
    name: s.name,
    type: stageType(s),
    spec: JSON.stringify(s),
    state: 'pending',
    phase: null,
    reason: null,
    started_at: null,
    finished_at: null,
    command_started_at: null,
    heartbeat_at: null,
    pid: null,
    exit_code: null,
    deadline_at: null,
    rollout_id: null,
    approved_by: null,
    details: null,
  }));
  await core.db.transaction().execute(async (tx) => {
    // One run per service at a time, also across replicas.
    await lockForTransaction(tx, core.database, `pipelines:${service}`);
    const active = await activeRun(tx, service);
    if (active) throw await activeConflict(tx, active);
    await insertRun(tx, run, stages);
    const change = { pipeline: pipeline.name, stages: stages.map((s) => s.name), commitTime, overrideFreeze: input.overrideFreeze ?? null };
    await emit(p, tx, run, 'started', change, actor.name);
    await core.audit.record(tx, {
      actor,
      action: 'delivery.pipeline.start',
      target: `${service}@${version}`,
      change: { runId: id, ...change },
    });
    await scheduleTick(p, id, { tx });
  });
  return runView(run, stages);
}

/** Cancels a running run: its stage is cancelled, a running command killed, a staging copy taken down. */
export async function cancelRun(p: PipelinesContext, id: string, actor: Actor, reason?: string): Promise<RunView> {
  const { core } = p.delivery;
  let killKey: string | undefined;
  await core.db.transaction().execute(async (tx) => {
    const run = await requireRun(p, id, tx);
    if (FINAL_RUN.includes(run.state))
      throw conflict(`pipeline run ${id} has already ${run.state === 'cancelled' ? 'been cancelled' : run.state}`, { state: run.state });
    const now = core.clock.now();
    const why = `cancelled by ${actor.name}${reason ? `: ${reason}` : ''}`;
    const stage = await getStage(tx, id, run.current);
    if (stage) {
      await updateStage(tx, { runId: id, idx: stage.idx }, ['pending', 'running', 'waiting'], {
        state: 'cancelled',
        reason: why,
        finished_at: now,
      });
      await systemLog(p, tx, id, stage.idx, `stage ${why}`);
      if (stage.type === 'run' && stage.state === 'running') killKey = runKey(id, stage.idx);
      if (stage.type === 'staging' && stage.state === 'running') {
        await core.jobs.schedule(TEARDOWN_JOB, { service: run.service, runId: id }, { tx });
      }
    }
    await skipRemaining(tx, id, run.current);
    await updateRun(tx, id, { state: 'cancelled', reason: why, finished_at: now });
    await core.jobs.cancel(`${TICK_JOB}:${id}`, { tx });
    await emit(p, tx, run, 'cancelled', { stage: stage?.name ?? null, reason: why }, actor.name);
    await core.audit.record(tx, {
      actor,
      action: 'delivery.pipeline.cancel',
      target: `${run.service}@${run.version}`,
      change: { runId: id, reason: why },
    });
  });
  // Another replica's command notices at its next heartbeat.
  if (killKey) p.running.get(killKey)?.();
  return loadRunView(p, id);
}

/** Approves the approval stage a run waits at; the caller's role must reach the stage's. */
export async function approveRun(p: PipelinesContext, id: string, actor: Actor): Promise<RunView> {
  const { core } = p.delivery;
  await core.db.transaction().execute(async (tx) => {
    const run = await requireRun(p, id, tx);
    const stage = await getStage(tx, id, run.current);
    if (run.state !== 'running' || !stage || stage.type !== 'approval' || stage.state !== 'waiting') {
      const at = stage ? ` at stage '${stage.name}' (${stage.type}, ${stage.state})` : '';
      throw conflict(`pipeline run ${id} is ${run.state}${at}: nothing waits for approval`, {
        state: run.state,
        stage: stage?.name ?? null,
      });
    }
    const role = (JSON.parse(stage.spec) as { approval: ApprovalStage }).approval.role ?? 'deployer';
    if (!roleAtLeast(actor.role, role)) {
      throw forbidden(`approving stage '${stage.name}' needs the ${role} role or higher; token '${actor.name}' has ${actor.role}`);
    }
    await finishStage(
      p,
      tx,
      { runId: id, idx: stage.idx },
      { state: 'succeeded', reason: `approved by ${actor.name}`, changes: { approved_by: actor.name } },
    );
    await emit(p, tx, run, 'approved', { stage: stage.name, by: actor.name }, actor.name);
    await core.audit.record(tx, {
      actor,
      action: 'delivery.pipeline.approve',
      target: `${run.service}@${run.version}`,
      change: { runId: id, stage: stage.name },
    });
  });
  return loadRunView(p, id);
}
