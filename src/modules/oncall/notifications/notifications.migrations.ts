import type { Migration } from '../../../core/db/migrations.js';

export const notificationMigrations: Migration[] = [
  {
    name: '0003_notifications',
    async up(db) {
      await db.schema
        .createTable('oncall_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
        .addColumn('page_id', 'text')
        .addColumn('user', 'text')
        .addColumn('contacts', 'text', (c) => c.notNull())
        .addColumn('contact_index', 'integer', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .addColumn('send_at', 'bigint', (c) => c.notNull())
        .addColumn('next_attempt_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('sent_at', 'bigint')
        .execute();
      // cancelPending and `notifications log --page`; the log's newest-first listing; `--user`.
      await db.schema.createIndex('oncall_deliveries_page').on('oncall_deliveries').columns(['page_id', 'status']).execute();
      await db.schema.createIndex('oncall_deliveries_created').on('oncall_deliveries').columns(['created_at']).execute();
      await db.schema.createIndex('oncall_deliveries_user').on('oncall_deliveries').columns(['user', 'created_at']).execute();
      await db.schema
        .createTable('oncall_delivery_attempts')
        .addColumn('delivery_id', 'text', (c) => c.notNull())
        .addColumn('n', 'integer', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('contact_index', 'integer', (c) => c.notNull())
        .addColumn('contact', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('destination', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('status_code', 'integer')
        .addColumn('error', 'text')
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('oncall_delivery_attempts_pk', ['delivery_id', 'n'])
        .execute();
    },
  },
];
