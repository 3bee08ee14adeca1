import type { Migration } from '../../core/db/migrations.js';

export const runtimeMigrations: Migration[] = [
  {
    name: '0001_init',
    async up(db) {
      await db.schema
        .createTable('runtime_revision')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('revision', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.insertInto('runtime_revision').values({ id: 1, revision: 0, updated_at: 0 }).execute();

      await db.schema
        .createTable('runtime_services')
        .addColumn('service', 'text', (c) => c.primaryKey())
        .addColumn('spec_instances', 'integer')
        .addColumn('runtime_hash', 'text')
        .addColumn('mirror_version', 'text')
        .addColumn('mirror_percent', 'integer')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('runtime_releases')
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('overrides', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('failed_reason', 'text')
        .addColumn('failed_at', 'bigint')
        .addPrimaryKeyConstraint('runtime_releases_pk', ['service', 'version'])
        .execute();

      await db.schema
        .createTable('runtime_assignments')
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('weight', 'integer', (c) => c.notNull())
        .addColumn('instances', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('runtime_assignments_pk', ['service', 'version'])
        .execute();

      await db.schema
        .createTable('runtime_faults')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('version', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('percent', 'integer', (c) => c.notNull())
        .addColumn('latency_ms', 'integer')
        .addColumn('jitter_ms', 'integer')
        .addColumn('status', 'integer')
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('runtime_faults_service').on('runtime_faults').columns(['service', 'expires_at']).execute();

      await db.schema
        .createTable('runtime_actions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('version', 'text')
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('done_at', 'bigint')
        .addColumn('done_by', 'text')
        .execute();
      await db.schema.createIndex('runtime_actions_pending').on('runtime_actions').columns(['done_at', 'expires_at']).execute();

      await db.schema
        .createTable('runtime_agents')
        .addColumn('agent_id', 'text', (c) => c.primaryKey())
        .addColumn('agent_url', 'text', (c) => c.notNull())
        .addColumn('applied_revision', 'bigint', (c) => c.notNull())
        .addColumn('agent_at', 'bigint', (c) => c.notNull())
        .addColumn('reported_at', 'bigint', (c) => c.notNull())
        .addColumn('instances', 'text', (c) => c.notNull())
        .addColumn('versions', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('runtime_agent_events')
        .addColumn('agent_id', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('runtime_agent_events_pk', ['agent_id', 'event_id'])
        .execute();
      await db.schema.createIndex('runtime_agent_events_received').on('runtime_agent_events').column('received_at').execute();

      await db.schema
        .createTable('runtime_traffic')
        .addColumn('agent_id', 'text', (c) => c.notNull())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('from_ms', 'bigint', (c) => c.notNull())
        .addColumn('to_ms', 'bigint', (c) => c.notNull())
        .addColumn('requests', 'integer', (c) => c.notNull())
        .addColumn('by_class', 'text', (c) => c.notNull())
        .addColumn('buckets', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('runtime_traffic_pk', ['agent_id', 'service', 'version', 'from_ms'])
        .execute();
      await db.schema.createIndex('runtime_traffic_window').on('runtime_traffic').columns(['service', 'to_ms']).execute();
    },
  },
];
