import type { Migration } from '../db/migrations.js';

/** Registered under module `core`; names carry the `resources_` prefix to stay unique there. */
export const resourcesMigrations: Migration[] = [
  {
    name: 'resources_0001_init',
    async up(db) {
      await db.schema
        .createTable('resources')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('annotations', 'text', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('generation', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('resources_pk', ['kind', 'name'])
        .execute();
      await db.schema
        .createTable('resource_versions')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('generation', 'integer', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('document', 'text', (c) => c.notNull())
        .addColumn('applied_by', 'text', (c) => c.notNull())
        .addColumn('applied_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('resource_versions_pk', ['kind', 'name', 'generation'])
        .execute();
    },
  },
];
