import type { Migration } from '../../../core/db/migrations.js';

export const scheduleMigrations: Migration[] = [
  {
    name: '0002_schedules',
    async up(db) {
      for (const table of ['oncall_schedule_overrides', 'oncall_schedule_swaps'] as const) {
        let t = db.schema
          .createTable(table)
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('schedule', 'text', (c) => c.notNull());
        t =
          table === 'oncall_schedule_overrides'
            ? t.addColumn('user', 'text', (c) => c.notNull())
            : t.addColumn('from_user', 'text', (c) => c.notNull()).addColumn('to_user', 'text', (c) => c.notNull());
        await t
          .addColumn('starts_at', 'bigint', (c) => c.notNull())
          .addColumn('ends_at', 'bigint', (c) => c.notNull())
          .addColumn('reason', 'text')
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex(`${table}_schedule`).on(table).columns(['schedule', 'ends_at']).execute();
      }
      await db.schema
        .createTable('oncall_schedule_gaps')
        .addColumn('schedule', 'text', (c) => c.notNull())
        .addColumn('starts_at', 'bigint', (c) => c.notNull())
        .addColumn('ends_at', 'bigint', (c) => c.notNull())
        .addColumn('reported_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('oncall_schedule_gaps_pk', ['schedule', 'starts_at', 'ends_at'])
        .execute();
    },
  },
];
