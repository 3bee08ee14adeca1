import { transaction } from '../../core/db/database.js';
import { defineModule } from '../../core/module.js';
import type { AlertingApi } from '../alerting/index.js';
import type { CatalogApi } from '../catalog/index.js';
import type { NotificationsApi, SchedulesApi } from './contracts.js';
import { registerEscalationKinds } from './escalation/policy.kind.js';
import { reportRoutes } from './health/report.routes.js';
import { setupNotifications } from './notifications/index.js';
import { oncallMigrations } from './oncall.migrations.js';
import { alertGroupSubscriber } from './paging/alert-groups.js';
import { createActionLinks } from './paging/links.js';
import { pageRoutes } from './paging/pages.routes.js';
import { createPaging, JOB_ESCALATE, JOB_UNACK, type Paging } from './paging/pages.service.js';
import { registerNotificationRules } from './people/notification-rules.js';
import { setupSchedules } from './schedules/index.js';
import { createSecrets } from './secrets.js';

export type { NotificationsApi, OnCallSegment, SchedulesApi } from './contracts.js';
export { ESCALATION_POLICY_KIND } from './escalation/policy.schema.js';
export { PAGE_EVENTS } from './paging/pages.service.js';

export interface OncallApi {
  schedules: SchedulesApi;
  notifications: NotificationsApi;
  /** Start, acknowledge and resolve pages inside the caller's transaction (incidents page through this). */
  paging: Pick<Paging, 'trigger' | 'acknowledge' | 'resolve'>;
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
    const { core } = ctx;
    const catalog = ctx.deps.catalog as CatalogApi;
    const alerting = ctx.deps.alerting as AlertingApi;
    const secrets = createSecrets(core);
    registerNotificationRules(core.resources);
    registerEscalationKinds(core.resources);
    const schedules = setupSchedules(ctx, { catalog });
    const notifications = setupNotifications(ctx, { catalog, secrets });
    const links = createActionLinks(secrets, () => core.publicUrl());
    const paging = createPaging({ core, catalog, schedules, notifications, links, actOnGroup: alerting.actOnGroup });

    core.jobs.handle(JOB_ESCALATE, async ({ job }) => {
      await transaction(core.db, (tx) => paging.escalate(tx, job.payload as Parameters<Paging['escalate']>[1]));
    });
    core.jobs.handle(JOB_UNACK, async ({ job }) => {
      await transaction(core.db, (tx) => paging.unacknowledge(tx, job.payload as Parameters<Paging['unacknowledge']>[1]));
    });
    core.events.subscribe(alertGroupSubscriber(core, paging));
    for (const route of [...pageRoutes(core, { paging, links, catalog, schedules, alerting }), ...reportRoutes(core, catalog)])
      ctx.route(route);
    return { schedules, notifications, paging };
  },
});
