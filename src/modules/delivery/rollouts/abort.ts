import type { Actor } from '../../../core/auth/roles.js';
import type { Executor } from '../../../core/db/database.js';
import { engineActor, JOB_STEP, type RolloutsContext, timerKey } from './context.js';
import { liveWeights, RuntimeRefused, runtimeCall, versionsOf } from './effects.js';
import { tenthRound } from './plan.js';
import { allActive, type FailingDecision, type Rollout } from './rollouts.store.js';
import { type RolloutWriter, transition } from './transition.js';

/** Stops the analysis runs a rollout still has going (inside its transition). */
export async function terminateRuns(w: RolloutWriter, reason: string, except?: string): Promise<void> {
  const { stepState, background } = w.state;
  for (const runId of [stepState.runId, background.runId]) {
    if (runId && runId !== except) await w.ctx.analysis.terminate(runId, reason, w.tx);
  }
  if (stepState.runId) w.state.stepState = { ...stepState, runId: undefined };
  if (background.runId) w.state.background = { runId: null, ended: background.ended };
}

/** What ROLLOUT_SUCCEEDED / ROLLOUT_ABORTED carry for pipelines and DORA. */
export function finalData(r: Rollout, now: number): Record<string, unknown> {
  return {
    deployer: r.deployer,
    startedAt: r.createdAt,
    finishedAt: now,
    commitTime: r.meta.commitTime,
    releaseCreatedAt: r.meta.releaseCreatedAt,
    pipelineRunId: r.meta.pipelineRunId,
    rollbackOf: r.rollbackOf,
  };
}

/**
 * Marks the rollout Aborted with the failing decision and publishes ROLLOUT_ABORTED; the engine
 * then takes the new version's weight to 0 at once and scales it down (settleAborted).
 */
export function abortRollout(
  ctx: RolloutsContext,
  r: Rollout,
  actor: Actor,
  decision: FailingDecision,
  options: { tx?: Executor; audit?: Record<string, unknown> } = {},
): Promise<Rollout | undefined> {
  return transition(
    ctx,
    r,
    actor,
    async (w) => {
      w.set({ phase: 'Aborted', active: false, reason: decision.reason, pauseReason: null, finishedAt: w.now, settled: false });
      if (r.progressDeadlineAt !== null) w.deadline(null);
      w.cancelTimer();
      await terminateRuns(w, `rollout aborted: ${decision.reason}`, decision.runId);
      w.state.decision = decision;
      w.state.decisionAt = decision.at;
      w.state.weightZeroAt = null;
      w.log('aborted', `Aborted: ${decision.reason}.`, { decision });
      w.publish('aborted', { ...finalData(r, w.now), reason: decision.reason, decision });
      if (options.audit) w.audit('delivery.rollout.abort', options.audit);
      w.kick();
    },
    { tx: options.tx },
  );
}

/** The split without `version`: its share goes to `to` (the stable version), other versions keep theirs. */
export function withoutVersion(weights: Record<string, number>, version: string, to: string): Record<string, number> {
  const share = weights[version] ?? 0;
  const out: Record<string, number> = {};
  for (const [v, w] of Object.entries(weights)) if (v !== version && w > 0) out[v] = w;
  out[to] = tenthRound((out[to] ?? 0) + share);
  return out;
}

/** Whether another active rollout of the service runs or replaces this version (then it is not ours to scale). */
async function usedElsewhere(ctx: RolloutsContext, r: Rollout, version: string): Promise<boolean> {
  return (await allActive(ctx.core.db)).some(
    (o) => o.id !== r.id && o.service === r.service && (o.version === version || o.stable === version),
  );
}

/**
 * After an abort: the new version's weight to 0 at once (its share back to the stable version;
 * mirroring stopped), the time from the failing decision logged, then — after
 * abortScaleDownDelaySeconds — its instances scaled to 0 (the runtime drains them).
 */
export async function settleAborted(ctx: RolloutsContext, r: Rollout): Promise<boolean> {
  if (r.settled) return false;
  const { service, version } = r;
  const actor = engineActor;
  try {
    let versions = await versionsOf(ctx, service);
    const canary = versions.find((v) => v.version === version);
    if (canary?.mirrorPercent) await runtimeCall(() => ctx.runtime.setMirror(service, null, actor));
    if (canary && canary.weight > 0 && r.stable && r.stable !== version) {
      const stable = versions.find((v) => v.version === r.stable);
      if (stable && stable.desiredInstances === 0) {
        versions = await runtimeCall(() =>
          ctx.runtime.scale({ service, version: r.stable!, instances: Math.max(1, r.state.fullInstances), actor }),
        );
      }
      await runtimeCall(() => ctx.runtime.setWeights(service, withoutVersion(liveWeights(versions), version, r.stable!), actor));
    }
    if (r.state.weightZeroAt === null) {
      await transition(ctx, r, actor, (w) => {
        const ms = Math.max(0, w.now - (r.state.decisionAt ?? w.now));
        w.state.weightZeroAt = w.now;
        w.state.weights = r.stable ? { [r.stable]: 100 } : {};
        w.state.headerRoute = null;
        w.state.mirror = null;
        w.log('restored', `${version} has no traffic: its weight reached 0 ${ms} ms after the failing decision.`, { msFromDecision: ms });
        w.publish('restored', { msFromDecision: ms, reason: r.reason });
        ctx.metrics.rollbackSeconds.observe(ms / 1000);
        ctx.logger.info({ rollout: r.id, service, version, msFromDecision: ms }, 'rollout rolled back: canary weight 0');
      });
      return true;
    }
    const at = (r.finishedAt ?? 0) + r.plan.abortScaleDownDelayMs;
    if (ctx.core.clock.now() < at) {
      await ctx.core.jobs.schedule(JOB_STEP, { rolloutId: r.id }, { dedupKey: timerKey(r.id), runAt: at });
      return false;
    }
    const scaledDown: string[] = [];
    if (!(await usedElsewhere(ctx, r, version))) {
      const now = versions.find((v) => v.version === version);
      if (now && now.desiredInstances > 0 && now.weight === 0) {
        await runtimeCall(() => ctx.runtime.scale({ service, version, instances: 0, actor }));
        scaledDown.push(version);
      }
    }
    if (r.strategy === 'rolling' && r.stable) {
      // Rolling replaced stable instances already: bring the stable version back to full size.
      const stable = versions.find((v) => v.version === r.stable);
      if (stable && stable.desiredInstances < r.state.fullInstances) {
        await runtimeCall(() => ctx.runtime.scale({ service, version: r.stable!, instances: r.state.fullInstances, actor }));
      }
    }
    await transition(ctx, r, actor, (w) => {
      w.set({ settled: true });
      w.log('settled', scaledDown.length ? `${version} scaled to 0 instances (the runtime drains them).` : `${version} runs no instances.`);
    });
    return true;
  } catch (err) {
    if (!(err instanceof RuntimeRefused)) throw err;
    await transition(ctx, r, actor, (w) => {
      w.set({ settled: true });
      w.log('settled', `Could not finish the rollback in the runtime: ${err.message}.`, { error: err.message });
    });
    return true;
  }
}

/**
 * After success: the replaced version keeps its instances for scaleDownDelaySeconds (blue-green's
 * rollback window; 0 for canary and rolling), then is scaled to 0 unless a newer rollout uses it.
 */
export async function settleSucceeded(ctx: RolloutsContext, r: Rollout): Promise<boolean> {
  if (r.settled) return false;
  const at = (r.finishedAt ?? 0) + r.plan.scaleDownDelayMs;
  if (ctx.core.clock.now() < at) {
    await ctx.core.jobs.schedule(JOB_STEP, { rolloutId: r.id }, { dedupKey: timerKey(r.id), runAt: at });
    return false;
  }
  const { service, stable } = r;
  let message = 'Nothing left to scale down.';
  try {
    const versions = await versionsOf(ctx, service);
    const canary = versions.find((v) => v.version === r.version);
    if (canary?.mirrorPercent) await runtimeCall(() => ctx.runtime.setMirror(service, null, engineActor));
    if (stable && stable !== r.version && !(await usedElsewhere(ctx, r, stable))) {
      const old = versions.find((v) => v.version === stable);
      if (old && old.desiredInstances > 0 && old.weight === 0) {
        await runtimeCall(() => ctx.runtime.scale({ service, version: stable, instances: 0, actor: engineActor }));
        message = `${stable} scaled to 0 instances (the runtime drains them).`;
      }
    }
  } catch (err) {
    if (!(err instanceof RuntimeRefused)) throw err;
    message = `Could not scale down ${stable}: ${err.message}.`;
  }
  await transition(ctx, r, engineActor, (w) => {
    w.set({ settled: true });
    w.state.headerRoute = null;
    w.state.mirror = null;
    w.log('settled', message);
  });
  return true;
}
