import { AppError } from '../../../core/errors.js';
import type { VersionView } from '../../runtime/index.js';
import { engineActor, type RolloutsContext } from './context.js';
import { tenthRound } from './plan.js';
import type { Rollout } from './rollouts.store.js';

// Runtime effects as idempotent "make it so" calls: running one twice, or after a crash halfway,
// converges to the same place. Nothing here holds a transaction (the runtime opens its own).

/** A runtime answer that means the rollout cannot go on (not a transient failure). */
export class RuntimeRefused extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** Calls the runtime; a 4xx (unknown version, retired, no instances) becomes RuntimeRefused, anything else is thrown (the job retries). */
export async function runtimeCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppError && err.status < 500) throw new RuntimeRefused(err.message);
    throw err;
  }
}

export const UNHEALTHY = new Set(['crash-loop', 'failed']);

export type ConvergeResult =
  | { status: 'done'; weights: Record<string, number> }
  | { status: 'waiting'; why: string; ready: number; want: number }
  | { status: 'unhealthy'; reason: string; health: string };

export async function versionsOf(ctx: RolloutsContext, service: string): Promise<VersionView[]> {
  return runtimeCall(() => ctx.runtime.listVersions(service));
}

/** Live weights, percent by version, only versions with traffic. */
export function liveWeights(versions: VersionView[]): Record<string, number> {
  return Object.fromEntries(versions.filter((v) => v.weight > 0).map((v) => [v.version, v.weight]));
}

function sameWeights(a: Record<string, number>, b: Record<string, number>): boolean {
  const ka = Object.keys(a).filter((k) => a[k]! > 0);
  const kb = Object.keys(b).filter((k) => b[k]! > 0);
  return ka.length === kb.length && ka.every((k) => Math.abs(a[k]! - (b[k] ?? 0)) < 1e-9);
}

/** The split with `weight` percent on the new version and the rest on the stable one. */
export function splitOf(r: Rollout, weight: number): Record<string, number> {
  const w = tenthRound(weight);
  if (!r.stable || r.stable === r.version || w >= 100) return { [r.version]: 100 };
  if (w <= 0) return { [r.stable]: 100 };
  return { [r.stable]: tenthRound(100 - w), [r.version]: w };
}

/** How many instances the new version runs at `weight`: its setCanaryScale, else proportional (at least 1 with traffic). */
export function canaryInstances(r: Rollout, weight: number, options: { final?: boolean } = {}): number {
  const full = r.state.fullInstances;
  // Blue-green runs the new version at full size from its first step.
  if (r.strategy === 'blueGreen') return full;
  if (options.final || weight >= 100) {
    const cs = r.state.canaryScale;
    return options.final || !cs ? full : scaled(cs, full);
  }
  if (r.state.canaryScale) return scaled(r.state.canaryScale, full);
  if (weight > 0) return Math.min(full, Math.max(1, Math.ceil((full * weight) / 100 - 1e-9)));
  return r.state.headerRoute || r.state.mirror ? 1 : 0;
}

function scaled(cs: { instances?: number; percent?: number }, full: number): number {
  if (cs.instances !== undefined) return cs.instances;
  return Math.max(1, Math.ceil((full * (cs.percent ?? 0)) / 100 - 1e-9));
}

/**
 * Brings the new version to `instances` and, once they are ready, the split to `weight`:
 * scale-ups before traffic moves, scale-downs after. `requireReady` waits for readiness even
 * without traffic (blue-green's preview, the header route).
 */
export async function converge(
  ctx: RolloutsContext,
  r: Rollout,
  target: { weight: number; instances: number; requireReady?: boolean },
): Promise<ConvergeResult> {
  const { service, version } = r;
  const actor = engineActor;
  let versions = await versionsOf(ctx, service);
  const canary = versions.find((v) => v.version === version);
  if (!canary) throw new RuntimeRefused(`version '${version}' of '${service}' no longer exists`);
  if (UNHEALTHY.has(canary.health)) {
    return {
      status: 'unhealthy',
      health: canary.health,
      reason: `${version} is ${canary.health}${canary.reason ? `: ${canary.reason}` : ''}`,
    };
  }
  if (canary.desiredInstances < target.instances) {
    versions = await runtimeCall(() => ctx.runtime.scale({ service, version, instances: target.instances, actor }));
  }
  const want = target.instances;
  const ready = Math.min(canary.readyInstances, want);
  if ((target.weight > 0 || target.requireReady) && want > 0 && canary.readyInstances < want) {
    return { status: 'waiting', why: `${version} has ${ready} of ${want} instance${want === 1 ? '' : 's'} ready`, ready, want };
  }
  const weights = splitOf(r, target.weight);
  if (r.stable && r.stable !== version && (weights[r.stable] ?? 0) > 0) {
    const stable = versions.find((v) => v.version === r.stable);
    if (stable && stable.desiredInstances === 0) {
      versions = await runtimeCall(() =>
        ctx.runtime.scale({ service, version: r.stable!, instances: Math.max(1, r.state.fullInstances), actor }),
      );
    }
  }
  if (!sameWeights(liveWeights(versions), weights)) {
    versions = await runtimeCall(() => ctx.runtime.setWeights(service, weights, actor));
  }
  const now = versions.find((v) => v.version === version);
  if (now && now.desiredInstances > target.instances) {
    await runtimeCall(() => ctx.runtime.scale({ service, version, instances: target.instances, actor }));
  }
  return { status: 'done', weights };
}
