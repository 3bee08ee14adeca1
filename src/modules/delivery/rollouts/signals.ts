import type { Actor } from '../../../core/auth/roles.js';
import type { Subscriber } from '../../../core/events/events.js';
import { ANALYSIS_COMPLETED, type AnalysisCompleted } from '../contracts.js';
import { abortRollout } from './abort.js';
import { JOB_SIGNAL, JOB_STEP, type RolloutsContext, stepKey } from './context.js';
import { versionsOf } from './effects.js';
import { advanceLocked, nextStep, stepLabel } from './engine.js';
import { pauseForFreeze, resumeAfterFreeze } from './freeze-gate.js';
import { activeRollout, getRollout, type Rollout } from './rollouts.store.js';
import { transition } from './transition.js';

// What the rollout reacts to besides its own timers: analysis verdicts and the new version's
// health. Subscribers only record the signal as a durable job (in the event's transaction);
// the job applies it under the rollout's lock, outside any transaction, so it can read the
// analysis run's measurements and move traffic right away.

export type Signal =
  | { kind: 'analysis'; rolloutId: string; runId: string; phase: AnalysisCompleted['phase']; reason: string; at: number }
  | { kind: 'health'; rolloutId: string; version: string; health: string; reason: string; at: number };

const analysisActor: Actor = { kind: 'system', name: 'analysis', role: 'admin' };
const runtimeActor: Actor = { kind: 'system', name: 'runtime', role: 'admin' };

const FAILING = new Set(['Failed', 'Error', 'High']);

export const HEALTH_EVENTS = ['runtime.version.crash-loop', 'runtime.version.failed'];

export function rolloutSubscriber(ctx: RolloutsContext): Subscriber {
  return {
    id: 'delivery.rollouts',
    types: [ANALYSIS_COMPLETED, ...HEALTH_EVENTS, 'runtime.instance.ready'],
    async handle(event, tx) {
      if (event.type === ANALYSIS_COMPLETED) {
        const d = event.data as AnalysisCompleted;
        if (!d?.rolloutId || !d.runId) return;
        const signal: Signal = { kind: 'analysis', rolloutId: d.rolloutId, runId: d.runId, phase: d.phase, reason: d.reason, at: event.at };
        await ctx.core.jobs.schedule(JOB_SIGNAL, signal, { tx });
        return;
      }
      if (!event.service) return;
      const r = await activeRollout(tx, event.service);
      if (!r) return;
      const data = (event.data ?? {}) as { version?: string; details?: { reason?: unknown } };
      if (event.type === 'runtime.instance.ready') {
        await ctx.core.jobs.schedule(JOB_STEP, { rolloutId: r.id }, { tx, dedupKey: stepKey(r.id) });
        return;
      }
      if (data.version !== r.version) return;
      const health = event.type.slice('runtime.version.'.length);
      const reason = typeof data.details?.reason === 'string' ? data.details.reason : '';
      const signal: Signal = { kind: 'health', rolloutId: r.id, version: r.version, health, reason, at: event.at };
      await ctx.core.jobs.schedule(JOB_SIGNAL, signal, { tx });
    },
  };
}

/** Applies a signal to the rollout; false when another writer got there first (try again). */
async function apply(ctx: RolloutsContext, r: Rollout, s: Signal): Promise<boolean> {
  if (r.phase === 'Succeeded' || r.phase === 'Aborted') return true;
  if (s.kind === 'health') {
    if (s.version !== r.version) return true;
    const reason = `${s.version} is ${s.health}${s.reason ? `: ${s.reason}` : ''}`;
    return (await abortRollout(ctx, r, runtimeActor, { source: 'health', at: s.at, reason, health: s.health })) !== undefined;
  }
  const inline = r.state.stepState.runId === s.runId;
  const background = r.state.background.runId === s.runId;
  if (!inline && !background) return true; // a run the rollout no longer waits for
  const run = await ctx.analysis.get(s.runId);
  const decisions = run?.decisions.slice(-10) ?? [];
  const what = inline ? `analysis run ${s.runId}` : `background analysis ${s.runId}`;
  const data = { runId: s.runId, phase: s.phase, reason: s.reason, decisions };
  if (s.phase === 'Failed' || s.phase === 'Error') {
    // The measurement that decided it: the newest one with a failing verdict.
    const failing = [...decisions].reverse().find((d) => FAILING.has(d.verdict));
    const at = failing?.at ?? decisions.at(-1)?.at ?? s.at;
    const reason = `${what} ${s.phase}: ${s.reason}`;
    const decision = { source: 'analysis', at, reason, runId: s.runId, phase: s.phase, ...(failing ? { failing } : {}), decisions };
    return (await abortRollout(ctx, r, analysisActor, decision)) !== undefined;
  }
  const done = await transition(ctx, r, analysisActor, (w) => {
    if (s.phase === 'Successful') {
      if (inline) nextStep(w, `analysis run ${s.runId} Successful: ${s.reason}`, data);
      else {
        w.state.background = { runId: null, ended: 'Successful' };
        w.log('analysis', `Background analysis ${s.runId} ended Successful: ${s.reason}.`, data);
      }
      w.kick();
      return;
    }
    // Inconclusive: a person decides.
    // The run is over: the step no longer waits for it, a person does.
    if (inline) w.state.stepState = { inconclusive: 'inline' };
    else {
      w.state.stepState = { ...w.state.stepState, inconclusive: 'background' };
      w.state.background = { runId: null, ended: 'Inconclusive' };
    }
    w.set({ phase: 'Paused', pauseReason: 'inconclusive' });
    if (r.progressDeadlineAt !== null) w.deadline(null);
    w.log(
      'paused',
      `${inline ? stepLabel(r) : 'Rollout'}: ${what} Inconclusive: ${s.reason}. Paused for a person: promote or resume to go on, abort to roll back.`,
      data,
    );
    w.publish('paused', { pauseReason: 'inconclusive', runId: s.runId, reason: s.reason });
  });
  return done !== undefined;
}

export async function handleSignal(ctx: RolloutsContext, signal: Signal): Promise<void> {
  await ctx.locks.run(signal.rolloutId, async () => {
    for (let i = 0; i < 10; i++) {
      const r = await getRollout(ctx.core.db, signal.rolloutId);
      if (!r) return;
      if (await apply(ctx, r, signal)) break;
    }
    await advanceLocked(ctx, signal.rolloutId);
  });
}

/** The progress deadline's job: still waiting for instances when it passes → abort. */
export async function handleDeadline(ctx: RolloutsContext, rolloutId: string): Promise<void> {
  await ctx.locks.run(rolloutId, async () => {
    const r = await getRollout(ctx.core.db, rolloutId);
    if (!r) return;
    const now = ctx.core.clock.now();
    if (r.phase === 'Progressing' && r.progressDeadlineAt !== null && now >= r.progressDeadlineAt) {
      let why = 'no progress';
      try {
        const v = (await versionsOf(ctx, r.service)).find((x) => x.version === r.version);
        if (v) why = `${r.version} had ${v.readyInstances} of ${v.desiredInstances} instance${v.desiredInstances === 1 ? '' : 's'} ready`;
      } catch {
        // The reason is best effort; the abort is not.
      }
      const seconds = Math.round(r.plan.progressDeadlineMs / 1000);
      await abortRollout(
        ctx,
        r,
        { kind: 'system', name: 'delivery', role: 'admin' },
        {
          source: 'deadline',
          at: r.progressDeadlineAt,
          reason: `progress deadline exceeded: ${why} after ${seconds}s`,
        },
      );
    }
    await advanceLocked(ctx, rolloutId);
  });
}

/** Topics of the freezes part (kept as strings: the rollouts part does not depend on it). */
export const FREEZE_TOPICS = { started: 'delivery.freeze.started', lifted: 'delivery.freeze.lifted' } as const;

/** A freeze that begins pauses the service's in-flight rollout; its lift resumes it (if no other freeze holds). */
export function freezeSubscriber(ctx: RolloutsContext): Subscriber {
  return {
    id: 'delivery.rollouts.freezes',
    types: [FREEZE_TOPICS.started, FREEZE_TOPICS.lifted],
    async handle(event, tx) {
      const d = (event.data ?? {}) as { service?: string; reason?: string | null; name?: string; key?: string };
      const service = d.service ?? event.service;
      if (!service) return;
      if (event.type === FREEZE_TOPICS.started) {
        const what = d.name ?? d.key ?? 'a freeze';
        await pauseForFreeze(ctx, service, `${what}${d.reason ? ` (${d.reason})` : ''}`, tx);
      } else {
        await resumeAfterFreeze(ctx, service, tx);
      }
    },
  };
}
