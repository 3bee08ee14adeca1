import { withSeqPrimaryKey } from '../../../core/db/columns.js';
import type { Migration } from '../../../core/db/migrations.js';

export const rolloutsMigrations: Migration[] = [
  {
    name: 'rollouts_0001_init',
    async up(db, { dialect }) {
      await db.schema
        .createTable('delivery_rollouts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('stable', 'text')
        .addColumn('strategy', 'text', (c) => c.notNull())
        .addColumn('plan', 'text', (c) => c.notNull())
        .addColumn('phase', 'text', (c) => c.notNull())
        .addColumn('step', 'integer', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('pause_reason', 'text')
        .addColumn('deployer', 'text', (c) => c.notNull())
        .addColumn('active_service', 'text', (c) => c.unique())
        .addColumn('progress_deadline_at', 'bigint')
        .addColumn('settled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('rollback_of', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('meta', 'text', (c) => c.notNull())
        .addColumn('revision', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .execute();
      await db.schema.createIndex('delivery_rollouts_service').on('delivery_rollouts').columns(['service', 'created_at']).execute();
      await db.schema.createIndex('delivery_rollouts_phase').on('delivery_rollouts').columns(['phase', 'created_at']).execute();

      await withSeqPrimaryKey(db.schema.createTable('delivery_rollout_log'), dialect)
        .addColumn('rollout_id', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('step', 'integer')
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('delivery_rollout_log_rollout').on('delivery_rollout_log').columns(['rollout_id', 'seq']).execute();
    },
  },
];
