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
    },
  },
];
