import type { Migration } from '../../../core/db/migrations.js';

export const freezesMigrations: Migration[] = [
  {
    name: 'freezes_0001_init',
    async up(db) {
      await db.schema
        .createTable('delivery_freezes')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('lifted_at', 'bigint')
        .addColumn('lifted_by', 'text')
        .execute();
      await db.schema.createIndex('delivery_freezes_active').on('delivery_freezes').columns(['lifted_at', 'service']).execute();
      await db.schema
        .createTable('delivery_freeze_windows')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('services', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
];
