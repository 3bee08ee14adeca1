import type { Migration } from '../../core/db/migrations.js';

export const alertingMigrations: Migration[] = [
  {
    name: '0001_rules',
    async up(db) {
      await db.schema
        .createTable('alerting_alerts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('rule', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('annotations', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('value', 'double precision')
        .addColumn('active_at', 'bigint', (c) => c.notNull())
        .addColumn('fired_at', 'bigint')
        .addColumn('resolved_at', 'bigint')
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('alerting_alerts_rule_fp', ['rule', 'fingerprint'])
        .execute();
      await db.schema.createIndex('alerting_alerts_state').on('alerting_alerts').columns(['state']).execute();
      await db.schema
        .createTable('alerting_rule_state')
        .addColumn('rule', 'text', (c) => c.primaryKey())
        .addColumn('last_eval_at', 'bigint', (c) => c.notNull())
        .addColumn('last_duration_ms', 'integer', (c) => c.notNull())
        .addColumn('health', 'text', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .execute();
    },
  },
];
