import type { DeliveryContext } from '../contracts.js';
import { doraRoutes } from './dora.routes.js';
import { pruneSeen } from './dora.store.js';
import { doraSubscriber } from './dora.subscriber.js';

export { doraMigrations } from './dora.migrations.js';
export type { DoraReport } from './dora.service.js';
export { DORA_TOPICS } from './dora.subscriber.js';
export type { Band, DoraMetrics } from './metrics.js';

const SEEN_RETENTION_MS = 7 * 86_400_000;

/**
 * DORA metrics from opsdeck's own records: a durable subscriber keeps a small read model from
 * rollout, release and incident events; GET /api/v1/dora computes the four metrics and bands.
 */
export function setupDora(ctx: DeliveryContext): void {
  ctx.core.events.subscribe(doraSubscriber());
  ctx.core.jobs.recurring({
    id: 'delivery.dora-retention',
    scope: 'global',
    schedule: { every: 3_600_000 },
    run: () => pruneSeen(ctx.core.db, ctx.core.clock.now() - SEEN_RETENTION_MS),
  });
  for (const route of doraRoutes(ctx)) ctx.route(route);
}
