import type { Migration } from '../../core/db/migrations.js';
import { notificationMigrations } from './notifications/index.js';
import { pagingMigrations } from './paging/paging.migrations.js';
import { scheduleMigrations } from './schedules/index.js';

/** Each part of the module owns its tables; names are distinct so the parts apply in any order. */
export const oncallMigrations: Migration[] = [...pagingMigrations, ...scheduleMigrations, ...notificationMigrations];
