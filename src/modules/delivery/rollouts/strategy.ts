import type { Executor } from '../../../core/db/database.js';
import { conflict } from '../../../core/errors.js';
import type { Resources } from '../../../core/resources/resources.js';
import type { CatalogService } from '../../catalog/index.js';
import { buildPlan, type RolloutPlan } from './plan.js';
import { DEFAULT_PRESET, PRESET_STRATEGIES } from './presets.js';
import { STRATEGY_KIND } from './rollouts.kinds.js';
import type { DeliverySectionValue, StrategySpecValue } from './rollouts.schema.js';

/** The Service's `delivery` section, if any. */
export function deliveryOf(service: CatalogService): DeliverySectionValue | undefined {
  return (service.spec as Record<string, unknown>).delivery as DeliverySectionValue | undefined;
}

/**
 * The plan a deploy of this service runs: the RolloutStrategy it names, its inline strategy, its
 * preset, or the `fast` preset when it names nothing.
 */
export async function resolvePlan(resources: Resources, service: CatalogService, tx?: Executor): Promise<RolloutPlan> {
  const delivery = deliveryOf(service);
  const strategy = delivery?.strategy;
  if (strategy === undefined) {
    const preset = delivery?.preset ?? DEFAULT_PRESET;
    return buildPlan(PRESET_STRATEGIES[preset], `preset ${preset}`);
  }
  if (typeof strategy === 'string') {
    const doc = await resources.get<StrategySpecValue>(STRATEGY_KIND, strategy, tx);
    if (!doc) {
      throw conflict(`Service '${service.metadata.name}' names ${STRATEGY_KIND} '${strategy}', which does not exist; apply it first`, {
        service: service.metadata.name,
        strategy,
      });
    }
    return buildPlan(doc.spec, `${STRATEGY_KIND}/${strategy}`);
  }
  return buildPlan(strategy, 'inline');
}
