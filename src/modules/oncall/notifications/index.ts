import type { Migration } from '../../../core/db/migrations.js';
import type { ModuleContext } from '../../../core/module.js';
import type { CatalogApi } from '../../catalog/index.js';
import type { NotificationsApi } from '../contracts.js';
import type { Secrets } from '../secrets.js';

// PLACEHOLDER until the notifications part lands: replaced wholesale.
export const notificationMigrations: Migration[] = [];

export function setupNotifications(_ctx: ModuleContext, _deps: { catalog: CatalogApi; secrets: Secrets }): NotificationsApi {
  return {
    enqueue: async () => true,
    cancelPending: async () => 0,
  };
}
