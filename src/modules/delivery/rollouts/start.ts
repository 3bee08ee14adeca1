import type { Actor } from '../../../core/auth/roles.js';
import type { Executor } from '../../../core/db/database.js';
import { AppError, conflict, notFound } from '../../../core/errors.js';
import { newId } from '../../../core/ids.js';
import type { CatalogService } from '../../catalog/index.js';
import type { VersionView } from '../../runtime/index.js';
import type { StartRolloutInput } from '../contracts.js';
import type { RolloutsContext } from './context.js';
import { advance } from './engine.js';
import { checkFreeze, recordOverride } from './freeze-gate.js';
import { describeStep, type RolloutPlan } from './plan.js';
import {
  activeRollout,
  getRollout,
  insertRollout,
  latestRollout,
  type Rollout,
  type RolloutMeta,
  type RolloutState,
} from './rollouts.store.js';
import { resolvePlan } from './strategy.js';
import { transition } from './transition.js';

// Starting rollouts: `deploy` (and pipelines through RolloutService.start) and undo's fast path.

export const isUniqueViolation = (err: unknown) => {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
};

function describeActive(r: Rollout): string {
  const at = r.step < r.plan.steps.length ? ` at step ${r.step + 1}/${r.plan.steps.length}` : '';
  return `${r.id} (${r.version}, ${r.phase}${at}, started by ${r.deployer})`;
}

export function activeConflict(r: Rollout): AppError {
  return conflict(`Service '${r.service}' already has an active rollout: ${describeActive(r)}; promote, abort or wait for it first`, {
    rollout: { id: r.id, service: r.service, version: r.version, phase: r.phase, step: r.step },
  });
}

function initialState(fullInstances: number, stable: string | null): RolloutState {
  return {
    fullInstances,
    weights: stable ? { [stable]: 100 } : {},
    stepState: {},
    background: { runId: null, ended: null },
    headerRoute: null,
    mirror: null,
    canaryScale: null,
    switchedAt: null,
    decision: null,
    decisionAt: null,
    weightZeroAt: null,
  };
}

export interface NewRollout {
  service: string;
  version: string;
  stable: string | null;
  plan: RolloutPlan;
  actor: Actor;
  fullInstances: number;
  meta: RolloutMeta;
  rollbackOf?: string;
  /** Extra writes in the same transaction (undo settles what it reverts). */
  also?: (tx: Executor) => Promise<void>;
  audit: { action: string; change: Record<string, unknown> };
}

export async function createRollout(ctx: RolloutsContext, n: NewRollout): Promise<Rollout> {
  // Strictly increasing per service, so "the last rollout" is never a tie (an undo in the same millisecond).
  const previous = await latestRollout(ctx.core.db, n.service);
  const now = Math.max(ctx.core.clock.now(), (previous?.createdAt ?? 0) + 1);
  const r: Rollout = {
    id: newId('rol', now),
    service: n.service,
    version: n.version,
    stable: n.stable,
    strategy: n.plan.strategy,
    plan: n.plan,
    phase: 'Progressing',
    step: 0,
    reason: null,
    pauseReason: null,
    deployer: n.actor.name,
    active: true,
    progressDeadlineAt: null,
    settled: false,
    rollbackOf: n.rollbackOf ?? null,
    state: initialState(n.fullInstances, n.stable),
    meta: n.meta,
    revision: 0,
    createdAt: now,
    updatedAt: now,
    finishedAt: null,
  };
  await ctx.core.db.transaction().execute(async (tx) => {
    try {
      await insertRollout(tx, r);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const other = await activeRollout(tx, n.service);
      throw other ? activeConflict(other) : err;
    }
    await n.also?.(tx);
    await transition(
      ctx,
      r,
      n.actor,
      (w) => {
        const steps = n.plan.steps.map((s) => describeStep(s, n.version));
        const from = n.stable ? `${n.stable} → ${n.version}` : n.version;
        const what = n.rollbackOf ? `undo of ${n.rollbackOf}` : `${n.plan.source}, ${n.plan.strategy}`;
        w.log('started', `Started by ${n.actor.name}: ${from} (${what}; ${steps.length} step${steps.length === 1 ? '' : 's'}).`, {
          steps,
          fullInstances: n.fullInstances,
          ...(n.meta.releaseCreated ? { releaseCreated: true } : {}),
        });
        w.publish('started', {
          deployer: n.actor.name,
          source: n.plan.source,
          steps,
          commitTime: n.meta.commitTime,
          releaseCreatedAt: n.meta.releaseCreatedAt,
          pipelineRunId: n.meta.pipelineRunId,
          rollbackOf: r.rollbackOf,
        });
        w.audit(n.audit.action, n.audit.change);
        recordOverride(w, n.meta.overrideFreeze);
        w.kick();
      },
      { tx },
    );
  });
  await advance(ctx, r.id);
  return (await getRollout(ctx.core.db, r.id))!;
}

/** The version with the most traffic (the one a rollout replaces). */
function primaryOf(versions: VersionView[]): VersionView | undefined {
  return [...versions].filter((v) => v.weight > 0).sort((a, b) => b.weight - a.weight)[0];
}

export async function requireService(ctx: RolloutsContext, name: string): Promise<CatalogService> {
  const service = await ctx.catalog.getService(name);
  if (!service) throw notFound(`Service '${name}' does not exist`, { service: name });
  return service;
}

/** `deploy`: starts a rollout of `version` (creating its release from the service's runtime spec if missing). */
export async function startRollout(ctx: RolloutsContext, input: StartRolloutInput): Promise<Rollout> {
  const { service: name, version, actor } = input;
  const service = await requireService(ctx, name);
  const versions = await ctx.runtime.listVersions(name);
  const plan = await resolvePlan(ctx.core.resources, service);
  const active = await activeRollout(ctx.core.db, name);
  if (active) throw activeConflict(active);
  const overrideFreeze = await checkFreeze(ctx, name, actor, input.overrideFreeze);
  const primary = primaryOf(versions);
  if (primary?.version === version && primary.weight >= 100) {
    throw conflict(`Service '${name}' already runs ${version} with all of its traffic; nothing to roll out`, { service: name, version });
  }
  let release = (await ctx.runtime.listReleases(name)).find((r) => r.version === version);
  let releaseCreated = false;
  if (!release) {
    try {
      release = await ctx.runtime.createRelease({ service: name, version, actor });
      releaseCreated = true;
    } catch (err) {
      if (!(err instanceof AppError && err.status === 409)) throw err;
      release = (await ctx.runtime.listReleases(name)).find((r) => r.version === version);
      if (!release) throw err;
    }
  }
  if (release.state === 'retired') throw conflict(`version '${version}' of '${name}' is retired and cannot be rolled out again`);
  const stable = primary && primary.version !== version ? primary.version : null;
  const runtimeInstances = (service.spec as { runtime?: { instances?: number } }).runtime?.instances;
  const fullInstances = Math.max(1, (stable ? primary?.desiredInstances : undefined) || runtimeInstances || 1);
  return createRollout(ctx, {
    service: name,
    version,
    stable,
    plan,
    actor,
    fullInstances,
    meta: {
      commitTime: input.commitTime ?? null,
      releaseCreatedAt: release.createdAt,
      releaseCreated,
      pipelineRunId: input.pipelineRunId ?? null,
      overrideFreeze,
    },
    audit: {
      action: 'delivery.rollout.deploy',
      change: { stable, strategy: plan.source, commitTime: input.commitTime ?? null, pipelineRunId: input.pipelineRunId ?? null },
    },
  });
}
