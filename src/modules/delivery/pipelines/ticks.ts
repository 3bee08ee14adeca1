import type { Actor } from '../../../core/auth/roles.js';
import type { Executor } from '../../../core/db/database.js';
import type { Subscriber } from '../../../core/events/events.js';
import { ROLLOUT_ABORTED, ROLLOUT_SUCCEEDED, type RolloutSummary } from '../contracts.js';
import { COMMAND_JOB, emit, type PipelinesContext, scheduleTick, systemLog } from './context.js';
import { finishStage } from './engine.js';
import type { ApprovalStage } from './pipelines.schema.js';
import { FINAL_STAGE, getRun, getStage, type RunRow, type StageRow, stageForRollout, updateStage } from './pipelines.store.js';
import { tickStaging } from './staging.js';

// The run's state machine. A tick looks at the current stage and does the next thing; ticks are
// idempotent (compare-and-set on the stage row), so a repeated or late one is harmless.

/** How often a production stage asks the rollout for its phase besides waiting for its event. */
const ROLLOUT_POLL_MS = 30_000;
/** A production stage still starting its rollout after this long was cut short by a restart. */
const START_GRACE_MS = 60_000;

async function begin(
  p: PipelinesContext,
  tx: Executor,
  run: RunRow,
  stage: StageRow,
  changes: { state: 'running' | 'waiting'; [k: string]: unknown },
): Promise<boolean> {
  const now = p.delivery.core.clock.now();
  if (!(await updateStage(tx, { runId: run.id, idx: stage.idx }, ['pending'], { started_at: now, ...changes }))) return false;
  await emit(p, tx, run, 'stage.started', { stage: stage.name, index: stage.idx, type: stage.type });
  await systemLog(p, tx, run.id, stage.idx, `stage '${stage.name}' (${stage.type}) started`);
  return true;
}

export async function tick(p: PipelinesContext, runId: string): Promise<void> {
  const { db } = p.delivery.core;
  const run = await getRun(db, runId);
  if (run?.state !== 'running') return;
  const stage = await getStage(db, runId, run.current);
  if (!stage || FINAL_STAGE.includes(stage.state)) return;
  switch (stage.type) {
    case 'run':
      if (stage.state === 'pending') {
        await db.transaction().execute(async (tx) => {
          if (await begin(p, tx, run, stage, { state: 'running' })) {
            await p.delivery.core.jobs.schedule(COMMAND_JOB, { runId, idx: stage.idx }, { tx });
          }
        });
      }
      return;
    case 'staging':
      if (stage.state === 'pending') {
        const began = await db.transaction().execute((tx) => begin(p, tx, run, stage, { state: 'running', phase: 'deploy' }));
        if (!began) return;
        return tickStaging(p, run, { ...stage, state: 'running', phase: 'deploy' });
      }
      return tickStaging(p, run, stage);
    case 'approval':
      return tickApproval(p, run, stage);
    case 'production':
      return tickProduction(p, run, stage);
  }
}

async function tickApproval(p: PipelinesContext, run: RunRow, stage: StageRow): Promise<void> {
  const { core } = p.delivery;
  const spec = (JSON.parse(stage.spec) as { approval: ApprovalStage }).approval;
  const now = core.clock.now();
  await core.db.transaction().execute(async (tx) => {
    if (stage.state === 'pending') {
      const deadline = now + spec.timeoutSeconds * 1000;
      if (await begin(p, tx, run, stage, { state: 'waiting', deadline_at: deadline })) {
        await systemLog(
          p,
          tx,
          run.id,
          stage.idx,
          `waiting for approval by a ${spec.role ?? 'deployer'} (opsdeck pipeline approve ${run.id})`,
        );
        await scheduleTick(p, run.id, { tx, runAt: deadline });
      }
      return;
    }
    const deadline = stage.deadline_at ?? now;
    if (now >= deadline) {
      await finishStage(
        p,
        tx,
        { runId: run.id, idx: stage.idx },
        { state: 'failed', reason: `not approved within ${spec.timeoutSeconds}s` },
      );
    } else {
      await scheduleTick(p, run.id, { tx, runAt: deadline });
    }
  });
}

async function settleRollout(p: PipelinesContext, run: RunRow, stage: StageRow, rollout: RolloutSummary | undefined): Promise<boolean> {
  if (!rollout || (rollout.phase !== 'Succeeded' && rollout.phase !== 'Aborted')) return false;
  await p.delivery.core.db
    .transaction()
    .execute((tx) =>
      finishStage(p, tx, { runId: run.id, idx: stage.idx }, rolloutResult(rollout.id, rollout.phase === 'Succeeded', rollout.reason)),
    );
  return true;
}

function rolloutResult(id: string, succeeded: boolean, reason: string | null | undefined) {
  return succeeded
    ? { state: 'succeeded' as const, reason: `rollout ${id} succeeded` }
    : { state: 'failed' as const, reason: `rollout ${id} aborted${reason ? `: ${reason}` : ''}` };
}

async function tickProduction(p: PipelinesContext, run: RunRow, stage: StageRow): Promise<void> {
  const { core } = p.delivery;
  const key = { runId: run.id, idx: stage.idx };
  const now = core.clock.now();
  if (stage.state === 'pending') {
    if (!(await core.db.transaction().execute((tx) => begin(p, tx, run, stage, { state: 'running' })))) return;
    let rollout: RolloutSummary;
    try {
      rollout = await p.rollouts.start({
        service: run.service,
        version: run.version,
        actor: JSON.parse(run.actor) as Actor,
        pipelineRunId: run.id,
        ...(run.commit_time !== null ? { commitTime: run.commit_time } : {}),
        ...(run.override_freeze ? { overrideFreeze: JSON.parse(run.override_freeze) as { reason: string } } : {}),
      });
    } catch (err) {
      await core.db
        .transaction()
        .execute((tx) => finishStage(p, tx, key, { state: 'failed', reason: `the rollout was refused: ${(err as Error).message}` }));
      return;
    }
    await recordRollout(p, run, stage, rollout);
    return;
  }
  if (stage.rollout_id === null) {
    // Started, but the rollout id never got recorded: the process stopped in between.
    if (stage.started_at !== null && now - stage.started_at < START_GRACE_MS) {
      await scheduleTick(p, run.id, { runAt: (stage.started_at ?? now) + START_GRACE_MS });
      return;
    }
    const active = await p.rollouts.active(run.service);
    if (active && active.version === run.version) {
      await recordRollout(p, run, stage, active);
      return;
    }
    await core.db.transaction().execute((tx) =>
      finishStage(p, tx, key, {
        state: 'failed',
        reason: 'interrupted by a restart while its rollout was being started; not started again (see opsdeck rollout status)',
      }),
    );
    return;
  }
  if (await settleRollout(p, run, stage, await p.rollouts.get(stage.rollout_id))) return;
  await scheduleTick(p, run.id, { runAt: now + ROLLOUT_POLL_MS });
}

async function recordRollout(p: PipelinesContext, run: RunRow, stage: StageRow, rollout: RolloutSummary): Promise<void> {
  const { core } = p.delivery;
  const key = { runId: run.id, idx: stage.idx };
  await core.db.transaction().execute(async (tx) => {
    await tx
      .updateTable('pipeline_stages')
      .set({ rollout_id: rollout.id })
      .where('run_id', '=', run.id)
      .where('idx', '=', stage.idx)
      .execute();
    if (await updateStage(tx, key, ['running'], { state: 'waiting' })) {
      await systemLog(
        p,
        tx,
        run.id,
        stage.idx,
        `rollout ${rollout.id} of ${run.version} started (${rollout.strategy}); waiting for it to finish`,
      );
      await scheduleTick(p, run.id, { tx, runAt: core.clock.now() + ROLLOUT_POLL_MS });
    }
  });
  // It may have finished before we listened (a fast strategy): its event may already be handled too.
  await settleRollout(
    p,
    run,
    { ...stage, rollout_id: rollout.id },
    rollout.phase === 'Succeeded' || rollout.phase === 'Aborted' ? rollout : undefined,
  );
}

/** Production stages end when their rollout's final event arrives (durable: also after a restart). */
export function rolloutSubscriber(p: PipelinesContext): Subscriber {
  return {
    id: 'delivery.pipelines.rollouts',
    types: [ROLLOUT_SUCCEEDED, ROLLOUT_ABORTED],
    async handle(event, tx) {
      const data = (event.data ?? {}) as Record<string, unknown>;
      const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
      const rolloutId = str(data.rolloutId) ?? str(data.id) ?? str(event.subject);
      const stage = await stageForRollout(tx, rolloutId, str(data.pipelineRunId));
      if (!stage || FINAL_STAGE.includes(stage.state)) return;
      const id = rolloutId ?? stage.rollout_id ?? 'unknown';
      if (stage.rollout_id === null && rolloutId) {
        await tx
          .updateTable('pipeline_stages')
          .set({ rollout_id: rolloutId })
          .where('run_id', '=', stage.run_id)
          .where('idx', '=', stage.idx)
          .execute();
      }
      const reason = str(data.reason) ?? null;
      await finishStage(p, tx, { runId: stage.run_id, idx: stage.idx }, rolloutResult(id, event.type === ROLLOUT_SUCCEEDED, reason));
    },
  };
}
