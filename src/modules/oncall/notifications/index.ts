import type { Migration } from '../../../core/db/migrations.js';
import type { ModuleContext } from '../../../core/module.js';
import type { CatalogApi } from '../../catalog/index.js';
import type { NotificationsApi } from '../contracts.js';
import type { Secrets } from '../secrets.js';
import { createBreakers } from './breakers.js';
import { createDeliveryLog } from './delivery-log.js';
import { notificationMigrations as migrations } from './notifications.migrations.js';
import { notificationRoutes } from './notifications.routes.js';
import './notifications.tables.js';
import { createQueue, JOB_SEND } from './queue.js';
import { createSender } from './send.js';

export type { AttemptView, DeliveryView } from './delivery-log.js';
export { NOTIFICATION_EVENTS } from './send.js';
export { type VerifyWebhookInput, verifyWebhookSignature } from './signature.js';
export const notificationMigrations: Migration[] = migrations;

/** Past the worst single attempt (a 5 s call) with room to record it; a crashed sender's delivery is retried this soon. */
const SEND_VISIBILITY_MS = 15_000;
/** Job runs that may die (crash, lost lease, database error) before a delivery is given up to dead letters. */
const SEND_JOB_MAX_ATTEMPTS = 10;

/** The delivery queue (webhook, Slack, email; retries, breakers, fallbacks), its log and test route. */
export function setupNotifications(ctx: ModuleContext, deps: { catalog: CatalogApi; secrets: Secrets }): NotificationsApi {
  const { core } = ctx;
  const queue = createQueue(core);
  const sender = createSender({ core, secrets: deps.secrets, breakers: createBreakers() });
  core.jobs.handle(JOB_SEND, ({ job, signal }) => sender.send((job.payload as { id: string }).id, signal), {
    maxAttempts: SEND_JOB_MAX_ATTEMPTS,
    visibilityTimeoutMs: SEND_VISIBILITY_MS,
  });
  for (const route of notificationRoutes(core, { ...deps, queue, log: createDeliveryLog(core) })) ctx.route(route);
  return queue;
}
