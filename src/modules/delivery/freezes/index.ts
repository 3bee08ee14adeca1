import type { DeliveryContext, FreezeService } from '../contracts.js';
import { freezeKind } from './freezes.kind.js';
import { freezesRoutes } from './freezes.routes.js';
import { createFreezes, WINDOW_JOB } from './freezes.service.js';

export { freezesMigrations } from './freezes.migrations.js';
export type { FreezeSpec, FreezeView } from './freezes.schema.js';
export { FREEZE_LIFTED, FREEZE_STARTED, FREEZE_UPDATED, type Freezes } from './freezes.service.js';

/**
 * Deploy freezes: the `Freeze` kind (date ranges and recurring local-time windows), freezes other
 * modules set through the returned service (incidents: `freeze({key: 'incident:INC-12', ...})`),
 * and the /api/v1/freezes routes. Windows starting and ending are announced as
 * `delivery.freeze.started|lifted` by a durable timer per Freeze.
 */
export function setupFreezes(ctx: DeliveryContext): FreezeService {
  const freezes = createFreezes(ctx);
  ctx.core.resources.register(freezeKind(freezes));
  ctx.core.jobs.handle(WINDOW_JOB, async ({ job }) => {
    const { name } = job.payload as { name: string };
    await ctx.core.db.transaction().execute((tx) => freezes.syncWindows(tx, name));
  });
  for (const route of freezesRoutes(ctx, freezes)) ctx.route(route);
  return freezes;
}
