import { withSeqPrimaryKey } from '../../../core/db/columns.js';
import type { Migration } from '../../../core/db/migrations.js';

export const pipelinesMigrations: Migration[] = [
  {
    name: 'pipelines_0001_init',
    async up(db, { dialect }) {
      await db.schema
        .createTable('pipeline_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('pipeline', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('commit_time', 'bigint')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('current', 'integer', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('override_freeze', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .execute();
      await db.schema.createIndex('pipeline_runs_service').on('pipeline_runs').columns(['service', 'created_at']).execute();
      await db.schema.createIndex('pipeline_runs_state').on('pipeline_runs').columns(['state']).execute();

      await db.schema
        .createTable('pipeline_stages')
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('phase', 'text')
        .addColumn('reason', 'text')
        .addColumn('started_at', 'bigint')
        .addColumn('finished_at', 'bigint')
        .addColumn('command_started_at', 'bigint')
        .addColumn('heartbeat_at', 'bigint')
        .addColumn('pid', 'integer')
        .addColumn('exit_code', 'integer')
        .addColumn('deadline_at', 'bigint')
        .addColumn('rollout_id', 'text')
        .addColumn('approved_by', 'text')
        .addColumn('details', 'text')
        .addPrimaryKeyConstraint('pipeline_stages_pk', ['run_id', 'idx'])
        .execute();
      await db.schema.createIndex('pipeline_stages_state').on('pipeline_stages').columns(['state', 'type']).execute();
      await db.schema.createIndex('pipeline_stages_rollout').on('pipeline_stages').columns(['rollout_id']).execute();

      await withSeqPrimaryKey(db.schema.createTable('pipeline_logs'), dialect)
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('stream', 'text', (c) => c.notNull())
        .addColumn('line', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('pipeline_logs_run').on('pipeline_logs').columns(['run_id', 'idx', 'seq']).execute();
    },
  },
];
