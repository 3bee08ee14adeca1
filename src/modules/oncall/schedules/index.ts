import type { Migration } from '../../../core/db/migrations.js';
import type { ModuleContext } from '../../../core/module.js';
import type { CatalogApi } from '../../catalog/index.js';
import type { SchedulesApi } from '../contracts.js';
import { announceGaps, scheduleKind } from './schedule.kind.js';
import { SCHEDULE_KIND, type ScheduleSpec } from './schedule.schema.js';
import { scheduleRoutes } from './schedules.routes.js';
import { createSchedules } from './schedules.service.js';
import './schedules.tables.js';
import { transaction } from '../../../core/db/database.js';
import { scheduleMigrations as migrations } from './schedules.migrations.js';

export { SCHEDULE_KIND } from './schedule.schema.js';
export const scheduleMigrations: Migration[] = migrations;

/** The Schedule kind, overrides and swaps, rendering, iCalendar feeds, and a daily check for gaps. */
export function setupSchedules(ctx: ModuleContext, deps: { catalog: CatalogApi }): SchedulesApi {
  const { core } = ctx;
  core.resources.register(scheduleKind(core));
  const schedules = createSchedules(core);
  for (const route of scheduleRoutes(core, { schedules, catalog: deps.catalog })) ctx.route(route);
  core.jobs.recurring({
    id: 'oncall.schedule-gaps',
    scope: 'global',
    schedule: { cron: '0 6 * * *' },
    async run() {
      const now = core.clock.now();
      for (const doc of await core.resources.list<ScheduleSpec>(SCHEDULE_KIND)) {
        await transaction(core.db, (tx) => announceGaps(core, tx, doc.metadata.name, doc.spec, now, 7 * 24 * 3600_000));
      }
    },
  });
  return schedules;
}
