import { engineActor, type RolloutsContext } from './context.js';
import { liveWeights, RuntimeRefused, runtimeCall, UNHEALTHY, versionsOf } from './effects.js';
import { instancesOf, tenthRound } from './plan.js';
import type { Rollout } from './rollouts.store.js';

export type RollingOutcome =
  | { status: 'waiting'; why: string; ready: number; want: number }
  | { status: 'unhealthy'; reason: string; health: string }
  | { status: 'batch' | 'done'; message: string; weights: Record<string, number>; counts: Record<string, number> };

/** Surge and unavailability budgets of a rolling step for `total` instances (never both 0). */
export function rollingBudget(maxSurge: number | string, maxUnavailable: number | string, total: number) {
  let surge = instancesOf(maxSurge, total, 'up');
  const unavailable = instancesOf(maxUnavailable, total, 'down');
  if (surge === 0 && unavailable === 0) surge = 1;
  return { surge, unavailable };
}

export interface RollingState {
  total: number;
  surge: number;
  unavailable: number;
  newDesired: number;
  /** Ready instances of the new version (at most its desired count). */
  newReady: number;
  oldDesired: number;
}

/**
 * The next batch of a rolling replacement, as a Deployment controller computes it: start new
 * instances as far as maxSurge allows, keep enough old ones that ready new plus old stay at
 * least total − maxUnavailable (the last old one stays until a new one is ready), and put the
 * new version's share of the traffic at its share of ready instances.
 */
export function nextRollingBatch(s: RollingState): { newTarget: number; oldTarget: number; newShare: number; newReady: number } {
  const newTarget = Math.min(s.total, Math.max(s.newDesired, s.total + s.surge - s.oldDesired));
  const newReady = Math.min(s.newReady, s.newDesired);
  let oldTarget = Math.min(s.oldDesired, Math.max(0, s.total - s.unavailable - newReady));
  if (oldTarget === 0 && newReady === 0 && s.oldDesired > 0) oldTarget = 1;
  const newShare = oldTarget === 0 ? 100 : tenthRound((100 * newReady) / (newReady + oldTarget));
  return { newTarget, oldTarget, newShare, newReady };
}

/**
 * One look at a rolling replacement, as a Deployment controller would: start new instances as far
 * as maxSurge allows, stop old ones as far as maxUnavailable allows counting only ready new ones,
 * and keep traffic proportional to ready instances (traffic moves before instances stop).
 * Invariants: new + old desired ≤ total + surge; ready new + old desired ≥ total − unavailable.
 */
export async function rollingStep(ctx: RolloutsContext, r: Rollout): Promise<RollingOutcome> {
  const step = r.plan.steps[r.step];
  if (step?.type !== 'rolling') throw new Error(`step ${r.step} of ${r.id} is not a rolling step`);
  const total = Math.max(1, r.state.fullInstances);
  const { surge, unavailable } = rollingBudget(step.maxSurge, step.maxUnavailable, total);
  const { service, version } = r;
  const oldVersion = r.stable && r.stable !== version ? r.stable : null;
  let versions = await versionsOf(ctx, service);
  const nv = versions.find((v) => v.version === version);
  if (!nv) throw new RuntimeRefused(`version '${version}' of '${service}' no longer exists`);
  if (UNHEALTHY.has(nv.health))
    return { status: 'unhealthy', health: nv.health, reason: `${version} is ${nv.health}${nv.reason ? `: ${nv.reason}` : ''}` };
  const ov = oldVersion ? versions.find((v) => v.version === oldVersion) : undefined;
  const plan = nextRollingBatch({
    total,
    surge,
    unavailable,
    newDesired: nv.desiredInstances,
    newReady: Math.min(nv.readyInstances, nv.desiredInstances),
    oldDesired: oldVersion ? (ov?.desiredInstances ?? 0) : 0,
  });
  const { newReady, oldTarget } = plan;
  let newDesired = nv.desiredInstances;
  const oldDesired = ov?.desiredInstances ?? 0;
  let changed = false;
  if (plan.newTarget > newDesired) {
    const instances = plan.newTarget;
    versions = await runtimeCall(() => ctx.runtime.scale({ service, version, instances, actor: engineActor }));
    newDesired = instances;
    changed = true;
  }
  const newShare = oldVersion ? plan.newShare : 100;
  const weights: Record<string, number> =
    !oldVersion || newShare >= 100
      ? { [version]: 100 }
      : newShare <= 0
        ? { [oldVersion]: 100 }
        : { [oldVersion]: tenthRound(100 - newShare), [version]: newShare };
  const live = liveWeights(versions);
  const same = Object.keys(weights).length === Object.keys(live).length && Object.entries(weights).every(([v, w]) => live[v] === w);
  if (!same && (newReady > 0 || !weights[version])) {
    await runtimeCall(() => ctx.runtime.setWeights(service, weights, engineActor));
    changed = true;
  }
  if (oldVersion && oldTarget < oldDesired) {
    await runtimeCall(() => ctx.runtime.scale({ service, version: oldVersion, instances: oldTarget, actor: engineActor }));
    changed = true;
  }
  const counts = { newDesired, newReady, oldDesired: oldTarget, total, surge, unavailable };
  if (newReady >= total && oldTarget === 0) {
    return {
      status: 'done',
      message: `all ${total} instance${total === 1 ? '' : 's'} replaced; ${version} takes all the traffic.`,
      weights,
      counts,
    };
  }
  if (changed) {
    const old = oldVersion ? `, ${oldVersion} keeps ${oldTarget}` : '';
    return {
      status: 'batch',
      message: `${version} has ${newReady} of ${newDesired} instances ready${old}; ${weights[version] ?? 0}% of the traffic on ${version}.`,
      weights,
      counts,
    };
  }
  return { status: 'waiting', why: `${version} has ${newReady} of ${newDesired} instances ready`, ready: newReady, want: newDesired };
}
