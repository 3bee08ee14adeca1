import { sql } from 'kysely';
import type { Migration } from '../db/migrations.js';

export const authMigrations: Migration[] = [
  {
    name: 'auth_0001_tokens',
    async up(db) {
      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .execute();
      // A name is reusable once its token is revoked.
      await db.schema
        .createIndex('api_tokens_active_name')
        .on('api_tokens')
        .column('name')
        .unique()
        .where(sql.ref('revoked_at'), 'is', null)
        .execute();
    },
  },
];
