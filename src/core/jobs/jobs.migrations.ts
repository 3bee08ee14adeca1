import { sql } from 'kysely';
import type { Migration } from '../db/migrations.js';

/** The job system's tables; the kernel registers them under module `core`. */
export const jobsMigrations: Migration[] = [
  {
    name: 'jobs_0001_init',
    async up(db) {
      await db.schema
        .createTable('jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('run_at', 'bigint', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('max_attempts', 'integer', (c) => c.notNull())
        .addColumn('dedup_key', 'text')
        .addColumn('last_error', 'text')
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      // Only pending jobs are deduplicated: a running job with the same key may coexist with
      // its successor (a handler re-arming its own timer).
      await db.schema
        .createIndex('jobs_dedup_pending')
        .on('jobs')
        .column('dedup_key')
        .unique()
        .where(sql.ref('state'), '=', 'pending')
        .execute();
      // Claims and the runner's "next due" query scan by state then time.
      await db.schema.createIndex('jobs_state_run_at').on('jobs').columns(['state', 'run_at']).execute();
      await db.schema
        .createTable('leader_leases')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
];
