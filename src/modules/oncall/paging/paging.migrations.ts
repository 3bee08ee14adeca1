import { sql } from 'kysely';
import type { Migration } from '../../../core/db/migrations.js';

export const pagingMigrations: Migration[] = [
  {
    name: '0001_pages',
    async up(db) {
      await db.schema
        .createTable('oncall_secrets')
        .addColumn('purpose', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('oncall_pages')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('dedup_key', 'text')
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('group_id', 'text')
        .addColumn('service', 'text')
        .addColumn('policy', 'text')
        .addColumn('direct_user', 'text')
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('summary', 'text')
        .addColumn('urgency', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('step', 'integer', (c) => c.notNull())
        .addColumn('round', 'integer', (c) => c.notNull())
        .addColumn('cycle', 'integer', (c) => c.notNull())
        .addColumn('triggered_at', 'bigint', (c) => c.notNull())
        .addColumn('acknowledged_at', 'bigint')
        .addColumn('acknowledged_by', 'text')
        .addColumn('resolved_at', 'bigint')
        .addColumn('resolved_by', 'text')
        .addColumn('changes', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      // One open page per dedup key, enforced by the store so two replicas can't both open one.
      await db.schema
        .createIndex('oncall_pages_open_key')
        .on('oncall_pages')
        .column('dedup_key')
        .unique()
        .where(sql.ref('status'), '<>', 'resolved')
        .execute();
      await db.schema.createIndex('oncall_pages_status').on('oncall_pages').columns(['status', 'triggered_at']).execute();
      await db.schema.createIndex('oncall_pages_service').on('oncall_pages').columns(['service', 'triggered_at']).execute();
      await db.schema
        .createTable('oncall_page_log')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('page_id', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('actor', 'text')
        .addColumn('data', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('oncall_page_log_page').on('oncall_page_log').columns(['page_id', 'at']).execute();
      await db.schema
        .createTable('oncall_page_users')
        .addColumn('page_id', 'text', (c) => c.notNull())
        .addColumn('user', 'text', (c) => c.notNull())
        .addColumn('first_paged_at', 'bigint', (c) => c.notNull())
        .addColumn('step', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('oncall_page_users_pk', ['page_id', 'user'])
        .execute();
      await db.schema.createIndex('oncall_page_users_user').on('oncall_page_users').columns(['user', 'first_paged_at']).execute();
      await db.schema
        .createTable('oncall_round_robin')
        .addColumn('team', 'text', (c) => c.primaryKey())
        .addColumn('next_index', 'integer', (c) => c.notNull())
        .execute();
    },
  },
];
