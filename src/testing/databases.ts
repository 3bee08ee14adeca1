import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type Database, type DialectName, openDatabase } from '../core/db/database.js';
import { type Migration, migrate } from '../core/db/migrations.js';

/** PostgreSQL used by tests; CI and this machine have it at this address. */
export const TEST_PG_URL = process.env.OPSDECK_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export const DIALECTS: DialectName[] = ['sqlite', 'postgres'];

export interface TestDatabase extends Database {
  /** Drops the schema / deletes the file. */
  destroy(): Promise<void>;
  /** How to open the same store again (another process, a restart). */
  url?: string;
  dataDir?: string;
}

/**
 * A fresh, isolated store: SQLite in a temp dir, or a new PostgreSQL schema. PostgreSQL being
 * unreachable is a test failure, never a skip.
 */
export async function openTestDatabase(
  dialect: DialectName,
  migrations: { module: string; migrations: Migration[] }[] = [],
): Promise<TestDatabase> {
  let database: Database;
  let cleanup: () => Promise<void>;
  let extra: { url?: string; dataDir?: string };
  if (dialect === 'sqlite') {
    const dataDir = mkdtempSync(join(tmpdir(), 'opsdeck-test-'));
    database = await openDatabase({ dataDir });
    cleanup = async () => rmSync(dataDir, { recursive: true, force: true });
    extra = { dataDir };
  } else {
    const pgSchema = `t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
    try {
      database = await openDatabase({ url: TEST_PG_URL, pgSchema, poolSize: 5 });
    } catch (err) {
      throw new Error(`PostgreSQL at ${TEST_PG_URL} is required by the tests and is unreachable: ${(err as Error).message}`);
    }
    cleanup = async () => {
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE`);
      } finally {
        await client.end();
      }
    };
    extra = { url: TEST_PG_URL };
  }
  if (migrations.length) await migrate(database, migrations);
  const close = database.close;
  let closed = false;
  return {
    ...database,
    ...extra,
    close: async () => {
      if (closed) return;
      closed = true;
      await close();
    },
    destroy: async () => {
      if (!closed) {
        closed = true;
        await close();
      }
      await cleanup();
    },
  };
}
