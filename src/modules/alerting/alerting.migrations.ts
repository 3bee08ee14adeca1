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
  {
    name: '0002_groups',
    async up(db) {
      await db.schema
        .createTable('alerting_integration_keys')
        .addColumn('integration', 'text', (c) => c.primaryKey())
        .addColumn('key', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('rotated_at', 'bigint')
        .execute();
      await db.schema
        .createTable('alerting_groups')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('group_key', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('integration', 'text')
        .addColumn('service', 'text')
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('group_labels', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('opened_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('acknowledged_at', 'bigint')
        .addColumn('acknowledged_by', 'text')
        .addColumn('resolved_at', 'bigint')
        .addColumn('resolved_by', 'text')
        .addColumn('events', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('alerting_groups_key').on('alerting_groups').columns(['group_key', 'status']).execute();
      await db.schema.createIndex('alerting_groups_status').on('alerting_groups').columns(['status', 'opened_at']).execute();
      await db.schema
        .createTable('alerting_group_alerts')
        .addColumn('group_id', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('annotations', 'text', (c) => c.notNull())
        .addColumn('starts_at', 'bigint', (c) => c.notNull())
        .addColumn('ends_at', 'bigint')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('received', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('alerting_group_alerts_pk', ['group_id', 'fingerprint'])
        .execute();
    },
  },
  {
    name: '0003_notify',
    async up(db) {
      await db.schema
        .createTable('alerting_silences')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('matchers', 'text', (c) => c.notNull())
        .addColumn('starts_at', 'bigint', (c) => c.notNull())
        .addColumn('ends_at', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('comment', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expired_at', 'bigint')
        .execute();
      await db.schema.createIndex('alerting_silences_ends').on('alerting_silences').columns(['ends_at']).execute();
      await db.schema
        .createTable('alerting_group_notify')
        .addColumn('group_id', 'text', (c) => c.primaryKey())
        .addColumn('receiver', 'text', (c) => c.notNull())
        .addColumn('last_notified_at', 'bigint')
        .addColumn('last_firing', 'text', (c) => c.notNull())
        .addColumn('last_status', 'text')
        .addColumn('notifications', 'integer', (c) => c.notNull())
        .addColumn('suppressed', 'integer', (c) => c.notNull())
        .execute();
    },
  },
];
