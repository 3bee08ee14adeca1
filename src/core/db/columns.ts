import type { CreateTableBuilder } from 'kysely';
import type { DialectName } from './database.js';

/**
 * An auto-incrementing integer primary key named `seq`: the ordered cursor of append-only
 * tables (events, audit). SQLite's AUTOINCREMENT never reuses a value; PostgreSQL uses an
 * identity column.
 */
export function withSeqPrimaryKey<T extends string>(
  table: CreateTableBuilder<T, never>,
  dialect: DialectName,
): CreateTableBuilder<T, 'seq'> {
  return dialect === 'sqlite'
    ? table.addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
    : table.addColumn('seq', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity());
}
