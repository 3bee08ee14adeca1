import { type Actor, roleAtLeast } from '../../../core/auth/roles.js';
import type { Executor } from '../../../core/db/database.js';
import { AppError, forbidden } from '../../../core/errors.js';
import type { RolloutsContext } from './context.js';
import { activeRollout, allActive, getRollout, type Rollout, type RolloutMeta } from './rollouts.store.js';
import { type RolloutWriter, transition } from './transition.js';

// Freezes and rollouts: a frozen service refuses deploys (unless a deployer overrides, audited),
// and a freeze that begins pauses the service's rollout until it is lifted.

const freezeActor: Actor = { kind: 'system', name: 'freeze', role: 'admin' };

/** 423 naming the freezes, unless the deployer overrides them (then they are recorded for the audit log). */
export async function checkFreeze(
  ctx: RolloutsContext,
  service: string,
  actor: Actor,
  override: { reason: string } | undefined,
): Promise<RolloutMeta['overrideFreeze']> {
  const freezes = await ctx.freezes.active(service, ctx.core.clock.now());
  if (freezes.length === 0) return null;
  const named = freezes.map((f) => `${f.name} (${f.reason})`).join(', ');
  if (!override) {
    throw new AppError(
      423,
      'frozen',
      `Service '${service}' is frozen by ${named}; a deployer may override with --override-freeze --reason`,
      {
        service,
        freezes,
      },
    );
  }
  if (!roleAtLeast(actor.role, 'deployer'))
    throw forbidden(`overriding a freeze needs the deployer role or higher; token '${actor.name}' has ${actor.role}`);
  return { reason: override.reason, freezes: freezes.map((f) => ({ name: f.name, reason: f.reason })) };
}

export function recordOverride(w: RolloutWriter, override: RolloutMeta['overrideFreeze']): void {
  if (!override) return;
  w.audit('delivery.freeze.override', { reason: override.reason, freezes: override.freezes });
  w.log(
    'freeze-override',
    `Freeze overridden by ${w.actor.name}: ${override.reason} (frozen by ${override.freezes.map((f) => f.name).join(', ')}).`,
    {
      ...override,
    },
  );
}

/** A freeze began: every in-flight rollout of the service ('*': all) pauses until resumed. */
export async function pauseForFreeze(ctx: RolloutsContext, service: string, reason: string, tx?: Executor): Promise<void> {
  const pauseIn = async (ex: Executor) => {
    const targets = service === '*' ? await allActive(ex) : [await activeRollout(ex, service)].filter((r) => r !== undefined);
    for (const target of targets) {
      let r: Rollout | undefined = target;
      for (let i = 0; i < 5 && r && r.phase === 'Progressing'; i++) {
        const current: Rollout = r;
        const done = await transition(
          ctx,
          current,
          freezeActor,
          (w) => {
            w.set({ phase: 'Paused', pauseReason: 'freeze' });
            if (current.progressDeadlineAt !== null) w.deadline(null);
            w.log('paused', `Paused by a freeze: ${reason}.`, { reason });
            w.publish('paused', { pauseReason: 'freeze', reason });
          },
          { tx: ex },
        );
        r = done ? undefined : await getRollout(ex, current.id);
      }
    }
  };
  if (tx) await pauseIn(tx);
  else await ctx.core.db.transaction().execute(pauseIn);
}

/** A freeze was lifted: rollouts it paused go on, unless another freeze still holds their service. */
export async function resumeAfterFreeze(ctx: RolloutsContext, service: string, tx: Executor): Promise<void> {
  const targets = service === '*' ? await allActive(tx) : [await activeRollout(tx, service)].filter((r) => r !== undefined);
  for (const r of targets) {
    if (r.phase !== 'Paused' || r.pauseReason !== 'freeze') continue;
    if ((await ctx.freezes.active(r.service, ctx.core.clock.now(), tx)).length > 0) continue;
    await transition(
      ctx,
      r,
      freezeActor,
      (w) => {
        w.set({ phase: 'Progressing', pauseReason: null });
        w.log('resumed', 'Resumed: the freeze was lifted.');
        w.publish('resumed', { was: 'freeze' });
        w.kick();
      },
      { tx },
    );
  }
}
