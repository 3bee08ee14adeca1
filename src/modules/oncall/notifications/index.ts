import type { Migration } from '../../../core/db/migrations.js';
import type { ModuleContext } from '../../../core/module.js';
import type { CatalogApi } from '../../catalog/index.js';
import type { NotificationsApi } from '../contracts.js';
import type { Secrets } from '../secrets.js';
import { notificationMigrations as migrations } from './notifications.migrations.js';
import { notificationRoutes } from './notifications.routes.js';
import './notifications.tables.js';
import { createDeliveryQueue, JOB_SEND } from './queue.js';

export { verifyWebhookSignature } from './channels.js';
export const notificationMigrations: Migration[] = migrations;

/** The delivery queue (webhook, Slack, email; retries, breakers, fallbacks), its log and test route. */
export function setupNotifications(ctx: ModuleContext, deps: { catalog: CatalogApi; secrets: Secrets }): NotificationsApi {
  const queue = createDeliveryQueue(ctx.core, deps.secrets);
  ctx.core.jobs.handle(JOB_SEND, async ({ job }) => queue.send((job.payload as { id: string }).id), { maxAttempts: 3 });
  for (const route of notificationRoutes(ctx.core, { ...deps, queue })) ctx.route(route);
  return { enqueue: queue.enqueue, cancelPending: queue.cancelPending };
}
