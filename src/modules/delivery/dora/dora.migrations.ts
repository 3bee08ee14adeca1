import type { Migration } from '../../../core/db/migrations.js';

export const doraMigrations: Migration[] = [
  {
    name: 'dora_0001_init',
    async up(db) {
      await db.schema
        .createTable('dora_rollouts')
        .addColumn('rollout_id', 'text', (c) => c.primaryKey())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('started_at', 'bigint')
        .addColumn('finished_at', 'bigint')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('is_undo', 'integer', (c) => c.notNull())
        .addColumn('commit_time', 'bigint')
        .addColumn('release_created_at', 'bigint')
        .addColumn('undone_at', 'bigint')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('dora_rollouts_finished').on('dora_rollouts').columns(['finished_at', 'service']).execute();
      await db.schema.createIndex('dora_rollouts_service').on('dora_rollouts').columns(['service', 'finished_at']).execute();
      await db.schema
        .createTable('dora_releases')
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('dora_releases_pk', ['service', 'version'])
        .execute();
      await db.schema
        .createTable('dora_incidents')
        .addColumn('incident_id', 'text', (c) => c.primaryKey())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('rollout_id', 'text')
        .addColumn('opened_at', 'bigint', (c) => c.notNull())
        .addColumn('resolved_at', 'bigint')
        .execute();
      await db.schema.createIndex('dora_incidents_service').on('dora_incidents').columns(['service', 'opened_at']).execute();
      await db.schema
        .createTable('dora_seen')
        .addColumn('event_id', 'text', (c) => c.primaryKey())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
];
