import type { Actor } from '../../../core/auth/roles.js';
import { type AppError, conflict, notFound } from '../../../core/errors.js';
import { abortRollout, terminateRuns } from './abort.js';
import type { RolloutsContext } from './context.js';
import { advanceLocked, nextStep, stepLabel } from './engine.js';
import { checkFreeze, recordOverride } from './freeze-gate.js';
import { describeStep, undoPlan } from './plan.js';
import { activeRollout, allActive, getRollout, latestRollout, type Rollout } from './rollouts.store.js';
import { activeConflict, createRollout, isUniqueViolation, requireService } from './start.js';
import { transition } from './transition.js';

// What people do to rollouts: promote, abort, retry, pause, resume, undo, abort-all. Each is one
// audited transition under the rollout's lock, then the engine runs.

function finished(r: Rollout, verb: string): AppError {
  const when = r.reason ? `: ${r.reason}` : '';
  return conflict(`cannot ${verb} rollout ${r.id} of '${r.service}' (${r.version}): it is ${r.phase}${when}`, {
    rollout: { id: r.id, phase: r.phase, reason: r.reason },
  });
}

/**
 * Runs `fn` on the service's rollout (the active one, else the latest) under its lock, retrying
 * when another writer got there first, then lets the engine act on the outcome.
 */
async function onRollout(
  ctx: RolloutsContext,
  service: string,
  fn: (r: Rollout) => Promise<Rollout | undefined>,
  which: 'active' | 'latest' = 'latest',
): Promise<Rollout> {
  await requireService(ctx, service);
  const found = (await activeRollout(ctx.core.db, service)) ?? (await latestRollout(ctx.core.db, service));
  if (!found)
    throw notFound(`Service '${service}' has had no rollouts; start one with: opsdeck deploy ${service} --version V`, { service });
  if (which === 'active' && !found.active) throw finished(found, 'change');
  return ctx.locks.run(found.id, async () => {
    for (let i = 0; i < 10; i++) {
      const r = (await getRollout(ctx.core.db, found.id))!;
      const next = await fn(r);
      if (next) {
        await advanceLocked(ctx, r.id);
        return (await getRollout(ctx.core.db, r.id))!;
      }
    }
    throw conflict(`rollout ${found.id} keeps changing; try again`);
  });
}

const why = (actor: Actor, reason?: string) => `${actor.name}${reason ? `: ${reason}` : ''}`;

export function promote(
  ctx: RolloutsContext,
  service: string,
  actor: Actor,
  body: { full?: boolean; reason?: string; overrideFreeze?: { reason: string } },
): Promise<Rollout> {
  return onRollout(ctx, service, async (r) => {
    if (!r.active) throw finished(r, 'promote');
    const override = await checkFreeze(ctx, service, actor, body.overrideFreeze);
    const step = r.plan.steps[r.step];
    const skippable = step && (step.type === 'pause' || step.type === 'analysis');
    if (!body.full && !skippable && r.phase !== 'Paused') {
      const label = step ? stepLabel(r) : 'The last step';
      throw conflict(
        `${label} of ${r.id} is in progress with nothing to skip (no pause or analysis); use --full to go to 100% as soon as ${r.version} is ready`,
        {
          rollout: { id: r.id, phase: r.phase, step: r.step },
        },
      );
    }
    return transition(ctx, r, actor, async (w) => {
      if (body.full) await terminateRuns(w, `promoted to 100% by ${actor.name}`);
      else if (skippable && w.state.stepState.runId) await terminateRuns(w, `step skipped by ${actor.name}`);
      w.set({ phase: 'Progressing', pauseReason: null });
      if (w.state.background.ended === 'Inconclusive') w.state.background = { runId: null, ended: null };
      if (body.full) {
        w.set({ step: r.plan.steps.length });
        w.state.stepState = {};
        if (r.progressDeadlineAt !== null) w.deadline(null);
        w.log('promoted', `Promoted fully by ${why(actor, body.reason)}: the remaining steps are skipped and ${r.version} goes to 100%.`, {
          skipped: r.plan.steps.slice(r.step).map((s) => describeStep(s, r.version)),
        });
      } else if (skippable) {
        nextStep(w, `skipped by ${why(actor, body.reason)}.`);
        w.log('promoted', `Promoted by ${why(actor, body.reason)}.`);
      } else {
        w.log('promoted', `Resumed by ${why(actor, body.reason)} (promote).`);
      }
      w.publish('promoted', { full: body.full === true, reason: body.reason ?? null, by: actor.name });
      w.audit('delivery.rollout.promote', { full: body.full === true, reason: body.reason ?? null, step: r.step });
      recordOverride(w, override);
      w.cancelTimer();
      w.kick();
    });
  });
}

export function abort(ctx: RolloutsContext, service: string, actor: Actor, reason?: string): Promise<Rollout> {
  return onRollout(ctx, service, async (r) => {
    if (!r.active) throw finished(r, 'abort');
    return abortRollout(
      ctx,
      r,
      actor,
      { source: 'manual', at: ctx.core.clock.now(), reason: `aborted by ${why(actor, reason)}` },
      { audit: { reason: reason ?? null } },
    );
  });
}

export function pause(ctx: RolloutsContext, service: string, actor: Actor, reason?: string): Promise<Rollout> {
  return onRollout(ctx, service, async (r) => {
    if (!r.active) throw finished(r, 'pause');
    if (r.phase === 'Paused')
      throw conflict(`rollout ${r.id} of '${service}' is already paused (${r.pauseReason})`, {
        rollout: { id: r.id, phase: r.phase, pauseReason: r.pauseReason },
      });
    return transition(ctx, r, actor, (w) => {
      w.set({ phase: 'Paused', pauseReason: 'manual' });
      if (r.progressDeadlineAt !== null) w.deadline(null);
      w.log('paused', `Paused by ${why(actor, reason)}.`);
      w.publish('paused', { pauseReason: 'manual', reason: reason ?? null, by: actor.name });
      w.audit('delivery.rollout.pause', { reason: reason ?? null });
    });
  });
}

export function resume(
  ctx: RolloutsContext,
  service: string,
  actor: Actor,
  body: { reason?: string; overrideFreeze?: { reason: string } },
): Promise<Rollout> {
  return onRollout(ctx, service, async (r) => {
    if (!r.active) throw finished(r, 'resume');
    if (r.phase !== 'Paused')
      throw conflict(`rollout ${r.id} of '${service}' is not paused: it is ${r.phase}`, { rollout: { id: r.id, phase: r.phase } });
    const override = await checkFreeze(ctx, service, actor, body.overrideFreeze);
    return transition(ctx, r, actor, (w) => {
      const was = r.pauseReason;
      const { inconclusive } = r.state.stepState;
      w.set({ phase: 'Progressing', pauseReason: null });
      if ((was === 'step' && r.plan.steps[r.step]?.type === 'pause') || (was === 'inconclusive' && inconclusive === 'inline')) {
        nextStep(w, `resumed by ${why(actor, body.reason)}.`);
      } else if (inconclusive) {
        w.state.stepState = { ...w.state.stepState, inconclusive: undefined };
      }
      if (w.state.background.ended === 'Inconclusive') w.state.background = { runId: null, ended: null };
      w.log('resumed', `Resumed by ${why(actor, body.reason)} (was paused: ${was}).`);
      w.publish('resumed', { was, reason: body.reason ?? null, by: actor.name });
      w.audit('delivery.rollout.resume', { was, reason: body.reason ?? null });
      recordOverride(w, override);
      w.kick();
    });
  });
}

export function retry(
  ctx: RolloutsContext,
  service: string,
  actor: Actor,
  body: { reason?: string; overrideFreeze?: { reason: string } },
): Promise<Rollout> {
  return onRollout(ctx, service, async (r) => {
    if (r.phase !== 'Aborted') {
      throw conflict(`only an aborted rollout can be retried; ${r.id} of '${service}' is ${r.phase}`, {
        rollout: { id: r.id, phase: r.phase },
      });
    }
    const override = await checkFreeze(ctx, service, actor, body.overrideFreeze);
    try {
      return await transition(ctx, r, actor, (w) => {
        w.set({ phase: 'Progressing', active: true, reason: null, pauseReason: null, finishedAt: null, settled: false });
        w.state.stepState = {};
        w.state.background = { runId: null, ended: null };
        w.state.decision = null;
        w.state.decisionAt = null;
        w.state.weightZeroAt = null;
        const label = r.step < r.plan.steps.length ? stepLabel(r) : 'the final promotion';
        w.log('retried', `Retried by ${why(actor, body.reason)} from ${label} (it had been aborted: ${r.reason}).`);
        w.publish('retried', { reason: body.reason ?? null, by: actor.name, previousReason: r.reason });
        w.audit('delivery.rollout.retry', { reason: body.reason ?? null, step: r.step });
        recordOverride(w, override);
        w.cancelTimer();
        w.kick();
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const other = await activeRollout(ctx.core.db, service);
      throw other ? activeConflict(other) : err;
    }
  });
}

/**
 * `undo`: an active rollout is aborted (traffic back to its stable version); otherwise the last
 * successful rollout is reverted through the fast path — its previous version scaled up if it
 * has to be, then all traffic switched back to it (no steps, no analysis).
 */
export async function undo(ctx: RolloutsContext, service: string, actor: Actor, reason?: string): Promise<Rollout> {
  await requireService(ctx, service);
  const active = await activeRollout(ctx.core.db, service);
  if (active) {
    return onRollout(ctx, service, async (r) => {
      if (!r.active) throw finished(r, 'undo');
      return abortRollout(
        ctx,
        r,
        actor,
        { source: 'manual', at: ctx.core.clock.now(), reason: `undone by ${why(actor, reason)}` },
        { audit: { reason: reason ?? null, undo: true } },
      );
    });
  }
  const last = await latestRollout(ctx.core.db, service);
  if (!last) throw notFound(`Service '${service}' has had no rollouts to undo`, { service });
  if (last.phase === 'Aborted') {
    throw conflict(
      `the last rollout of '${service}' (${last.id}, ${last.version}) was aborted: ${last.stable ?? 'the previous version'} has the traffic already`,
      {
        rollout: { id: last.id, phase: last.phase },
      },
    );
  }
  if (!last.stable || last.stable === last.version)
    throw conflict(`rollout ${last.id} of '${service}' replaced no earlier version; nothing to go back to`);
  return createRollout(ctx, {
    service,
    version: last.stable,
    stable: last.version,
    plan: undoPlan(),
    actor,
    fullInstances: last.state.fullInstances,
    rollbackOf: last.id,
    meta: { commitTime: null, releaseCreatedAt: null, releaseCreated: false, pipelineRunId: null, overrideFreeze: null },
    audit: { action: 'delivery.rollout.undo', change: { reason: reason ?? null, rollbackOf: last.id, from: last.version } },
    // The reverted rollout must not scale its old version down later: that version takes the traffic again.
    also: async (tx) => {
      if (last.settled) return;
      await transition(
        ctx,
        last,
        actor,
        (w) => {
          w.set({ settled: true });
          w.cancelTimer();
          w.log('undone', `Undone by ${why(actor, reason)}: ${last.stable} takes the traffic again.`);
        },
        { tx },
      );
    },
  });
}

/** The kill switch: aborts every active rollout. */
export async function abortAll(ctx: RolloutsContext, actor: Actor, reason: string): Promise<Rollout[]> {
  const out: Rollout[] = [];
  for (const r of await allActive(ctx.core.db)) {
    try {
      out.push(
        await onRollout(ctx, r.service, async (x) => {
          if (!x.active) return x;
          return abortRollout(
            ctx,
            x,
            actor,
            { source: 'manual', at: ctx.core.clock.now(), reason: `kill switch by ${why(actor, reason)}` },
            { audit: { reason, all: true } },
          );
        }),
      );
    } catch (err) {
      ctx.logger.error({ err, rollout: r.id }, 'abort-all could not abort a rollout');
    }
  }
  return out;
}
