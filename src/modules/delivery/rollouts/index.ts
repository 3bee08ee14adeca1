import { Counter, Histogram } from 'prom-client';
import type { Actor } from '../../../core/auth/roles.js';
import type { AnalysisService, DeliveryContext, FreezeService, RolloutService } from '../contracts.js';
import { JOB_DEADLINE, JOB_SIGNAL, JOB_STEP, type RolloutsContext, stepKey } from './context.js';
import { abortAll } from './control.js';
import { advance } from './engine.js';
import { pauseForFreeze } from './freeze-gate.js';
import { KeyedMutex } from './mutex.js';
import { deliverySectionIssues, rolloutStrategyKind } from './rollouts.kinds.js';
import { rolloutsMigrations } from './rollouts.migrations.js';
import { rolloutRoutes } from './rollouts.routes.js';
import { DeliverySection } from './rollouts.schema.js';
import { activeRollout, getRollout, unsettledRollouts } from './rollouts.store.js';
import { freezeSubscriber, handleDeadline, handleSignal, rolloutSubscriber, type Signal } from './signals.js';
import { startRollout } from './start.js';
import { type RolloutView, summaryOf, viewOf } from './views.js';

export { PRESET_STRATEGIES } from './presets.js';
export { STRATEGY_KIND } from './rollouts.kinds.js';
export type { DeliverySectionValue, StrategySpecValue } from './rollouts.schema.js';
export type { RolloutView } from './views.js';
export { rolloutsMigrations };

/** Every minute the engine looks at each unfinished rollout once more, in case a wake-up was lost. */
const RESWEEP_MS = 60_000;

/** The rollouts part's interface: the contract's RolloutService plus what the console and CLI need. */
export interface RolloutsApi extends RolloutService {
  view(id: string): Promise<RolloutView | undefined>;
  abortAll(actor: Actor, reason: string): Promise<{ id: string; service: string }[]>;
}

/**
 * Registers the RolloutStrategy kind and the Service `delivery` section, the engine's job
 * handlers, its subscriber and routes; returns the RolloutService.
 */
export function setupRollouts(delivery: DeliveryContext, deps: { analysis: AnalysisService; freezes: FreezeService }): RolloutsApi {
  const { core } = delivery;
  const hasKind = (kind: string) => core.resources.kinds().some((k) => k.kind === kind);
  core.resources.register(rolloutStrategyKind(hasKind));
  core.resources.extend('Service', 'delivery', DeliverySection, 'delivery', {
    validate: (doc, lookup) => deliverySectionIssues(doc, lookup, hasKind),
  });
  const ctx: RolloutsContext = {
    ...delivery,
    analysis: deps.analysis,
    freezes: deps.freezes,
    locks: new KeyedMutex(),
    metrics: {
      rollbackSeconds: new Histogram({
        name: 'opsdeck_delivery_rollback_seconds',
        help: 'Time from the decision that failed a rollout to the new version having no traffic',
        buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
        registers: [core.metrics],
      }),
      transitions: new Counter({
        name: 'opsdeck_delivery_rollout_transitions_total',
        help: 'Rollout transitions by type (started, step, paused, resumed, promoted, succeeded, aborted, ...)',
        labelNames: ['type'],
        registers: [core.metrics],
      }),
    },
  };
  const rolloutIdOf = (payload: unknown) => (payload as { rolloutId: string }).rolloutId;
  core.jobs.handle(JOB_STEP, ({ job }) => advance(ctx, rolloutIdOf(job.payload)));
  core.jobs.handle(JOB_DEADLINE, ({ job }) => handleDeadline(ctx, rolloutIdOf(job.payload)));
  core.jobs.handle(JOB_SIGNAL, ({ job }) => handleSignal(ctx, job.payload as Signal));
  core.events.subscribe(rolloutSubscriber(ctx));
  core.events.subscribe(freezeSubscriber(ctx));
  core.jobs.recurring({
    id: 'delivery.rollouts.resweep',
    scope: 'global',
    schedule: { every: RESWEEP_MS },
    async run() {
      for (const r of await unsettledRollouts(core.db)) {
        await core.jobs.schedule(JOB_STEP, { rolloutId: r.id }, { dedupKey: stepKey(r.id) });
      }
    },
  });
  for (const route of rolloutRoutes(ctx)) delivery.route(route);

  return {
    start: async (input) => summaryOf(await startRollout(ctx, input)),
    get: async (id) => {
      const r = await getRollout(core.db, id);
      return r ? summaryOf(r) : undefined;
    },
    active: async (service) => {
      const r = await activeRollout(core.db, service);
      return r ? summaryOf(r) : undefined;
    },
    pauseForFreeze: (service, reason, tx) => pauseForFreeze(ctx, service, reason, tx),
    view: async (id) => {
      const r = await getRollout(core.db, id);
      return r ? viewOf(ctx, r) : undefined;
    },
    abortAll: async (actor, reason) => (await abortAll(ctx, actor, reason)).map((r) => ({ id: r.id, service: r.service })),
  };
}
