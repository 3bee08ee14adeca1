import { defineModule } from '../../core/module.js';
import type { CatalogApi } from '../catalog/index.js';
import type { SchedulesApi } from './contracts.js';
import { setupNotifications } from './notifications/index.js';
import { oncallMigrations } from './oncall.migrations.js';
import './paging/paging.tables.js';
import { setupSchedules } from './schedules/index.js';
import { createSecrets } from './secrets.js';

export type { OnCallSegment, SchedulesApi } from './contracts.js';

export interface OncallApi {
  schedules: SchedulesApi;
}

/**
 * On-call: who is on call (schedules with layers, restrictions, overrides and swaps), how they are
 * reached (contacts, personal notification rules, a delivery queue with retries and fallbacks), and
 * paging (escalation policies run as durable timers, ack/resolve, auto-unack).
 */
export const oncallModule = defineModule<OncallApi>({
  id: 'oncall',
  deps: ['catalog', 'alerting'],
  migrations: oncallMigrations,
  setup(ctx) {
    const catalog = ctx.deps.catalog as CatalogApi;
    const secrets = createSecrets(ctx.core);
    const schedules = setupSchedules(ctx, { catalog });
    setupNotifications(ctx, { catalog, secrets });
    return { schedules };
  },
});
