import { withSeqPrimaryKey } from '../db/columns.js';
import type { Migration } from '../db/migrations.js';

export const eventsMigrations: Migration[] = [
  {
    name: 'events_0001_outbox',
    async up(db, { dialect }) {
      await withSeqPrimaryKey(db.schema.createTable('events'), dialect)
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'text')
        .addColumn('service', 'text')
        .addColumn('subject', 'text')
        .addColumn('change', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('data', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('events_service_seq').on('events').columns(['service', 'seq']).execute();
      await db.schema.createIndex('events_type_seq').on('events').columns(['type', 'seq']).execute();
      await db.schema.createIndex('events_at').on('events').column('at').execute();
      await db.schema
        .createTable('event_cursors')
        .addColumn('subscriber', 'text', (c) => c.primaryKey())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_error', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
];
