import type { Migration } from '../../../core/db/migrations.js';
import type { ModuleContext } from '../../../core/module.js';
import type { CatalogApi } from '../../catalog/index.js';
import type { SchedulesApi } from '../contracts.js';

// PLACEHOLDER until the schedules part lands: replaced wholesale.
export const scheduleMigrations: Migration[] = [];

export function setupSchedules(_ctx: ModuleContext, _deps: { catalog: CatalogApi }): SchedulesApi {
  return {
    onCall: async () => [],
    nextOnCall: async () => undefined,
    render: async () => [],
  };
}
