import { AppError } from '../../../core/errors.js';
import { abortRollout, finalData, settleAborted, settleSucceeded, terminateRuns } from './abort.js';
import { engineActor, JOB_STEP, READY_POLL_MS, type RolloutsContext, stepKey, timerKey } from './context.js';
import { type ConvergeResult, canaryInstances, converge, RuntimeRefused, runtimeCall } from './effects.js';
import { BUILTIN, describeStep, formatMs, type PlanStep, VERSION_HEADER, weightBefore } from './plan.js';
import { rollingStep } from './rolling.js';
import { getRollout, type Rollout } from './rollouts.store.js';
import { type RolloutWriter, transition } from './transition.js';

// The rollout state machine. Every run reads the rollout, performs the current step's runtime
// effects (idempotent), and commits the transition with a compare-and-set; it is driven by
// durable jobs (kicks, timers, the progress deadline) and by signals (analysis verdicts,
// version health), so a restart anywhere resumes where the table says.

const MAX_ITERATIONS = 50;

/** Runs the rollout's state machine until it has to wait (for time, readiness, a verdict or a person). */
export function advance(ctx: RolloutsContext, id: string): Promise<void> {
  return ctx.locks.run(id, () => advanceLocked(ctx, id));
}

/** `advance` for callers that hold the rollout's lock already. */
export async function advanceLocked(ctx: RolloutsContext, id: string): Promise<void> {
  for (let i = 0; i < MAX_ITERATIONS; i++) {
    const r = await getRollout(ctx.core.db, id);
    if (!r) return;
    let again: boolean;
    try {
      again = await stepOnce(ctx, r);
    } catch (err) {
      if (!(err instanceof RuntimeRefused)) throw err;
      const at = ctx.core.clock.now();
      await abortRollout(ctx, r, engineActor, { source: 'runtime', at, reason: `the runtime refused: ${err.reason}` });
      again = true;
    }
    if (!again) return;
  }
  // Something keeps changing under us: look again shortly rather than spin.
  await ctx.core.jobs.schedule(JOB_STEP, { rolloutId: id }, { dedupKey: stepKey(id), delayMs: 1000 });
}

/** Starts an analysis run in a transition; a run that cannot start (bad arguments, a deleted template) aborts the rollout. */
async function startingAnalysis(ctx: RolloutsContext, r: Rollout, start: () => Promise<unknown>): Promise<void> {
  try {
    await start();
  } catch (err) {
    if (!(err instanceof AppError) || err.status >= 500) throw err;
    await abortRollout(ctx, r, engineActor, {
      source: 'analysis',
      at: ctx.core.clock.now(),
      reason: `analysis could not start: ${err.message}`,
    });
  }
}

/** One decision; true when the rollout changed (read it again and go on). */
async function stepOnce(ctx: RolloutsContext, r: Rollout): Promise<boolean> {
  if (r.phase === 'Aborted') return settleAborted(ctx, r);
  if (r.phase === 'Succeeded') return settleSucceeded(ctx, r);
  if (r.phase === 'Paused') return false;
  const bg = r.plan.background;
  if (bg && !r.state.background.runId && !r.state.background.ended && r.step >= bg.startingStep) {
    await startingAnalysis(ctx, r, () =>
      transition(ctx, r, engineActor, async (w) => {
        const run = await ctx.analysis.start(
          {
            rolloutId: r.id,
            service: r.service,
            canary: r.version,
            stable: r.stable ?? r.version,
            mode: 'background',
            templates: bg.templates,
            ...(bg.args ? { args: bg.args } : {}),
          },
          w.tx,
        );
        w.state.background = { runId: run.id, ended: null };
        const what = bg.templates === BUILTIN ? 'the built-in baseline judge' : bg.templates.join(', ');
        w.log('analysis', `Background analysis ${run.id} started (${what}); it runs until the rollout ends.`, { runId: run.id });
      }),
    );
    return true;
  }
  if (r.step >= r.plan.steps.length) return complete(ctx, r);
  const step = r.plan.steps[r.step]!;
  if (step.type !== 'setWeight' && step.type !== 'switch' && step.type !== 'rolling' && step.type !== 'scaleUp') {
    const restored = await restoreWeight(ctx, r);
    if (restored !== undefined) return restored;
  }
  return runStep(ctx, r, step);
}

/** `Step 3/7 (setWeight 10%)`. */
export function stepLabel(r: Rollout, index = r.step): string {
  const step = r.plan.steps[index];
  return `Step ${index + 1}/${r.plan.steps.length}${step ? ` (${describeStep(step, r.version)})` : ''}`;
}

/** Moves to the next step: logged, published, deadline disarmed. */
export function nextStep(w: RolloutWriter, message: string, data: Record<string, unknown> = {}): void {
  const r = w.rollout;
  const done = w.step;
  // Logged against the step it completes.
  w.log('step', `${stepLabel(r, done)} done: ${message}`, data);
  w.set({ step: done + 1 });
  w.state.stepState = {};
  if (r.progressDeadlineAt !== null) w.deadline(null);
  w.publish('step', { completed: done + 1, description: describeStep(r.plan.steps[done]!, r.version), message, ...data });
}

/** Waiting for readiness: arms the progress deadline once, polls, and aborts when the deadline has passed. */
async function waitOrAbort(ctx: RolloutsContext, r: Rollout, result: Exclude<ConvergeResult, { status: 'done' }>): Promise<boolean> {
  const now = ctx.core.clock.now();
  if (result.status === 'unhealthy') {
    await abortRollout(ctx, r, engineActor, { source: 'health', at: now, reason: result.reason, health: result.health });
    return true;
  }
  if (r.progressDeadlineAt !== null && now >= r.progressDeadlineAt) {
    const seconds = Math.round(r.plan.progressDeadlineMs / 1000);
    await abortRollout(ctx, r, engineActor, {
      source: 'deadline',
      at: r.progressDeadlineAt,
      reason: `progress deadline exceeded: ${r.version} had ${result.ready} of ${result.want} instance${result.want === 1 ? '' : 's'} ready after ${seconds}s`,
    });
    return true;
  }
  if (r.progressDeadlineAt === null) {
    await transition(ctx, r, engineActor, (w) => {
      w.deadline(now + r.plan.progressDeadlineMs);
      w.log('waiting', `Waiting: ${result.why}; the rollout aborts if that takes past ${formatMs(r.plan.progressDeadlineMs)}.`, {
        ready: result.ready,
        want: result.want,
      });
    });
  }
  await ctx.core.jobs.schedule(JOB_STEP, { rolloutId: r.id }, { dedupKey: timerKey(r.id), runAt: now + READY_POLL_MS });
  return false;
}

/** Before a step that moves no traffic: the weight the steps so far set is in force (again, after a retry). */
async function restoreWeight(ctx: RolloutsContext, r: Rollout): Promise<boolean | undefined> {
  const weight = weightBefore(r.plan, r.step);
  if (Math.abs((r.state.weights[r.version] ?? 0) - weight) < 1e-9) return undefined;
  const result = await converge(ctx, r, { weight, instances: canaryInstances(r, weight) });
  if (result.status !== 'done') return waitOrAbort(ctx, r, result);
  await transition(ctx, r, engineActor, (w) => {
    w.state.weights = result.weights;
    if (r.progressDeadlineAt !== null) w.deadline(null);
    w.log('weights', `${r.version} takes ${weight}% of the traffic again.`, { weights: result.weights });
  });
  return true;
}

async function runStep(ctx: RolloutsContext, r: Rollout, step: PlanStep): Promise<boolean> {
  const now = ctx.core.clock.now();
  const weight = weightBefore(r.plan, r.step);
  switch (step.type) {
    case 'setWeight':
    case 'switch': {
      const target = step.type === 'switch' ? 100 : step.weight;
      const instances = canaryInstances(r, target, { final: step.type === 'switch' });
      const result = await converge(ctx, r, { weight: target, instances });
      if (result.status !== 'done') return waitOrAbort(ctx, r, result);
      await transition(ctx, r, engineActor, (w) => {
        w.state.weights = result.weights;
        if (step.type === 'switch') {
          w.state.switchedAt = w.now;
          const keep = r.stable ? `; ${r.stable} keeps its instances for ${formatMs(r.plan.scaleDownDelayMs)}` : '';
          nextStep(w, `all traffic switched to ${r.version}${keep}.`, { weights: result.weights });
        } else {
          nextStep(w, `${r.version} takes ${target}% of the traffic on ${instances} instance${instances === 1 ? '' : 's'}.`, {
            weights: result.weights,
          });
        }
      });
      return true;
    }
    case 'scaleUp': {
      const full = r.state.fullInstances;
      const result = await converge(ctx, r, { weight: 0, instances: full, requireReady: true });
      if (result.status !== 'done') return waitOrAbort(ctx, r, result);
      await transition(ctx, r, engineActor, (w) => {
        w.state.weights = result.weights;
        nextStep(w, `${r.version} runs at full size (${full} instance${full === 1 ? '' : 's'} ready) beside ${r.stable ?? 'nothing'}.`);
      });
      return true;
    }
    case 'pause': {
      if (step.durationMs === null) {
        await transition(ctx, r, engineActor, (w) => {
          w.set({ phase: 'Paused', pauseReason: 'step' });
          w.log('paused', `${stepLabel(r)}: paused until someone promotes the rollout.`);
          w.publish('paused', { pauseReason: 'step' });
        });
        return true;
      }
      const until = r.state.stepState.pauseUntil;
      if (until === undefined) {
        await transition(ctx, r, engineActor, (w) => {
          const end = w.now + step.durationMs!;
          w.state.stepState = { pauseUntil: end };
          w.timer(end);
          w.log('pause', `${stepLabel(r)}: pausing until ${new Date(end).toISOString()}.`, { until: end });
        });
        return true;
      }
      if (now < until) {
        await ctx.core.jobs.schedule(JOB_STEP, { rolloutId: r.id }, { dedupKey: timerKey(r.id), runAt: until });
        return false;
      }
      await transition(ctx, r, engineActor, (w) => nextStep(w, `paused ${formatMs(step.durationMs!)}.`));
      return true;
    }
    case 'analysis': {
      if (r.state.stepState.runId) return false; // its verdict arrives as a signal
      await startingAnalysis(ctx, r, () =>
        transition(ctx, r, engineActor, async (w) => {
          const run = await ctx.analysis.start(
            {
              rolloutId: r.id,
              service: r.service,
              canary: r.version,
              stable: r.stable ?? r.version,
              mode: step.mode,
              step: r.step,
              templates: step.templates,
              ...(step.args ? { args: step.args } : {}),
            },
            w.tx,
          );
          w.state.stepState = { runId: run.id };
          w.log('analysis', `${stepLabel(r)}: analysis run ${run.id} started; the rollout waits for its verdict.`, { runId: run.id });
        }),
      );
      return true;
    }
    case 'setHeaderRoute': {
      const result = await converge(ctx, r, { weight, instances: Math.max(1, canaryInstances(r, weight)), requireReady: true });
      if (result.status !== 'done') return waitOrAbort(ctx, r, result);
      await transition(ctx, r, engineActor, (w) => {
        w.state.headerRoute = { ...(step.name ? { name: step.name } : {}), header: VERSION_HEADER, value: r.version };
        nextStep(w, `requests with the header ${VERSION_HEADER}: ${r.version} reach ${r.version}.`, { headerRoute: w.state.headerRoute });
      });
      return true;
    }
    case 'setMirror': {
      if (step.percent > 0) {
        const result = await converge(ctx, r, { weight, instances: Math.max(1, canaryInstances(r, weight)), requireReady: true });
        if (result.status !== 'done') return waitOrAbort(ctx, r, result);
        await runtimeCall(() => ctx.runtime.setMirror(r.service, { version: r.version, percent: step.percent }, engineActor));
      } else {
        await runtimeCall(() => ctx.runtime.setMirror(r.service, null, engineActor));
      }
      await transition(ctx, r, engineActor, (w) => {
        w.state.mirror = step.percent > 0 ? step.percent : null;
        nextStep(w, step.percent > 0 ? `${step.percent}% of requests are copied to ${r.version}.` : 'mirroring stopped.');
      });
      return true;
    }
    case 'setCanaryScale': {
      const canaryScale = step.matchTrafficWeight
        ? null
        : step.instances !== undefined
          ? { instances: step.instances }
          : { percent: step.percent ?? 0 };
      const next: Rollout = { ...r, state: { ...r.state, canaryScale } };
      const instances = canaryInstances(next, weight);
      const result = await converge(ctx, next, { weight, instances });
      if (result.status !== 'done') return waitOrAbort(ctx, r, result);
      await transition(ctx, r, engineActor, (w) => {
        w.state.canaryScale = canaryScale;
        nextStep(w, `${r.version} runs ${instances} instance${instances === 1 ? '' : 's'}.`);
      });
      return true;
    }
    case 'rolling': {
      const outcome = await rollingStep(ctx, r);
      if (outcome.status === 'waiting' || outcome.status === 'unhealthy') return waitOrAbort(ctx, r, outcome);
      await transition(ctx, r, engineActor, (w) => {
        w.state.weights = outcome.weights;
        if (outcome.status === 'done') {
          nextStep(w, outcome.message, { weights: outcome.weights });
        } else {
          const batch = (r.state.stepState.batch ?? 0) + 1;
          w.state.stepState = { batch };
          if (r.progressDeadlineAt !== null) w.deadline(null);
          w.log('batch', `Batch ${batch}: ${outcome.message}`, { weights: outcome.weights, ...outcome.counts });
          w.publish('step', { batch, message: outcome.message, weights: outcome.weights });
        }
      });
      return true;
    }
  }
}

/** All steps done: the new version at full size with all traffic, then Succeeded. */
async function complete(ctx: RolloutsContext, r: Rollout): Promise<boolean> {
  const instances = canaryInstances(r, 100, { final: true });
  const result = await converge(ctx, r, { weight: 100, instances });
  if (result.status !== 'done') return waitOrAbort(ctx, r, result);
  await transition(ctx, r, engineActor, async (w) => {
    w.state.weights = result.weights;
    await terminateRuns(w, 'rollout succeeded');
    w.set({ phase: 'Succeeded', active: false, reason: null, pauseReason: null, finishedAt: w.now, settled: false });
    if (r.progressDeadlineAt !== null) w.deadline(null);
    const keep =
      r.plan.scaleDownDelayMs > 0 && r.stable ? `; ${r.stable} keeps its instances for ${formatMs(r.plan.scaleDownDelayMs)}` : '';
    w.log('succeeded', `Succeeded: ${r.version} takes all the traffic on ${instances} instance${instances === 1 ? '' : 's'}${keep}.`, {
      weights: result.weights,
    });
    w.publish('succeeded', { ...finalData(r, w.now), weights: result.weights });
    w.kick();
  });
  return true;
}
