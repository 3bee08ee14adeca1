import { type Kysely, type Migration as KyselyMigration, Migrator } from 'kysely';
import type { Database, DialectName } from './database.js';

/**
 * A schema change. Written once with Kysely's schema builder; `dialect` is passed in for the
 * few places the engines differ (use the helpers in `columns.ts`).
 */
export interface Migration {
  /** Sortable within its module, e.g. `0001_init`. */
  name: string;
  // Migrations must keep working after the TypeScript schema moves on, so they are untyped.
  // biome-ignore lint/suspicious/noExplicitAny: see above
  up(db: Kysely<any>, ctx: { dialect: DialectName }): Promise<void>;
}

function collect(database: Database, sets: { module: string; migrations: Migration[] }[]) {
  const all: Record<string, KyselyMigration> = {};
  for (const set of sets) {
    for (const m of set.migrations) {
      const key = `${set.module}:${m.name}`;
      if (all[key]) throw new Error(`duplicate migration ${key}`);
      all[key] = { up: (db) => m.up(db, { dialect: database.dialect }) };
    }
  }
  return all;
}

function migrator(database: Database, sets: { module: string; migrations: Migration[] }[]): Migrator {
  return new Migrator({
    db: database.db,
    provider: { getMigrations: async () => collect(database, sets) },
    allowUnorderedMigrations: true,
    migrationTableName: 'opsdeck_migrations',
    migrationLockTableName: 'opsdeck_migrations_lock',
    // Kysely looks for its tables across all schemas unless told which one is ours.
    ...(database.pgSchema ? { migrationTableSchema: database.pgSchema } : {}),
  });
}

/**
 * Applies every pending migration of every module. Names are `<module>:<name>`; Kysely's
 * migrator holds a lock (an advisory lock on PostgreSQL) so replicas starting together
 * don't race, and unordered application lets a module added later bring its own history.
 */
export async function migrate(database: Database, sets: { module: string; migrations: Migration[] }[]): Promise<string[]> {
  const { error, results } = await migrator(database, sets).migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Names of known migrations not yet applied (readiness reports them). */
export async function pendingMigrations(database: Database, sets: { module: string; migrations: Migration[] }[]): Promise<string[]> {
  const list = await migrator(database, sets).getMigrations();
  return list.filter((m) => !m.executedAt).map((m) => m.name);
}
