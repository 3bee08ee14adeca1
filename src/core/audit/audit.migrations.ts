import { withSeqPrimaryKey } from '../db/columns.js';
import type { Migration } from '../db/migrations.js';

export const auditMigrations: Migration[] = [
  {
    name: 'audit_0001_log',
    async up(db, { dialect }) {
      await withSeqPrimaryKey(db.schema.createTable('audit_log'), dialect)
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
    },
  },
];
