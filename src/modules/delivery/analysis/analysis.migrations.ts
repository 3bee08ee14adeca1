import type { Migration } from '../../../core/db/migrations.js';

/** The analysis part of the delivery module's migrations; the module lists them with its own. */
export const analysisMigrations: Migration[] = [
  {
    name: 'analysis_0001_runs_and_measurements',
    async up(db) {
      await db.schema
        .createTable('analysis_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('rollout_id', 'text', (c) => c.notNull())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('canary', 'text', (c) => c.notNull())
        .addColumn('stable', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('step', 'integer')
        .addColumn('templates', 'text', (c) => c.notNull())
        .addColumn('metrics', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('phase', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('analysis_runs_rollout').on('analysis_runs').columns(['rollout_id', 'started_at']).execute();
      await db.schema
        .createTable('analysis_measurements')
        .addColumn('run_id', 'text', (c) => c.notNull().references('analysis_runs.id').onDelete('cascade'))
        .addColumn('metric', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('decision', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('analysis_measurements_pk', ['run_id', 'metric', 'seq'])
        .execute();
    },
  },
];
