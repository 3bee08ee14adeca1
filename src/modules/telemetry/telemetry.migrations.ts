import { sql } from 'kysely';
import type { Migration } from '../../core/db/migrations.js';

export const telemetryMigrations: Migration[] = [
  {
    name: '0001_init',
    async up(db, { dialect }) {
      const series = db.schema.createTable('telemetry_series');
      await (dialect === 'sqlite'
        ? series.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        : series.addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
      )
        .addColumn('metric', 'text', (c) => c.notNull())
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('telemetry_series_metric').on('telemetry_series').columns(['metric']).execute();

      // Clustered by (series, time): a range read of one series is one contiguous scan. No index on
      // time alone: retention and rollups walk series by id, which keeps ingest to one index write.
      const samples = db.schema
        .createTable('telemetry_samples')
        .addColumn('series_id', 'bigint', (c) => c.notNull())
        .addColumn('t', 'bigint', (c) => c.notNull())
        .addColumn('v', 'double precision')
        .addColumn('stale', 'smallint', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('telemetry_samples_pk', ['series_id', 't']);
      await (dialect === 'sqlite' ? samples.modifyEnd(sql`without rowid`) : samples).execute();

      const rollups = db.schema
        .createTable('telemetry_rollups')
        .addColumn('series_id', 'bigint', (c) => c.notNull())
        .addColumn('t', 'bigint', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('sum', 'double precision')
        .addColumn('min', 'double precision')
        .addColumn('max', 'double precision')
        .addColumn('last', 'double precision')
        .addColumn('last_t', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('telemetry_rollups_pk', ['series_id', 't']);
      await (dialect === 'sqlite' ? rollups.modifyEnd(sql`without rowid`) : rollups).execute();

      await db.schema
        .createTable('telemetry_rollup_state')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('rolled_until', 'bigint', (c) => c.notNull())
        .execute();
      await db.insertInto('telemetry_rollup_state').values({ id: 1, rolled_until: 0 }).execute();
    },
  },
];
