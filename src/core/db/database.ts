import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, type Transaction } from 'kysely';
import pg from 'pg';
import { ScopedPostgresDialect } from './pg-introspector.js';
import type { Schema } from './schema.js';
import { withStatementCache } from './sqlite-statements.js';

export type DialectName = 'sqlite' | 'postgres';

/** The query builder over every module's tables. */
export type Db = Kysely<Schema>;
export type Tx = Transaction<Schema>;
/** Anything queries can run on: the database or an open transaction. */
export type Executor = Kysely<Schema>;

export interface Database {
  db: Db;
  dialect: DialectName;
  /** PostgreSQL: the schema used (tests isolate themselves with one each). */
  pgSchema?: string;
  /** PostgreSQL: connection settings, for the dedicated listen/leader connections. */
  pgConfig?: pg.ClientConfig;
  /** SQLite: path of the database file (or ':memory:'). */
  sqlitePath?: string;
  /**
   * SQLite: the raw connection behind Kysely (there is one). Only core/db adapters use it, for
   * bulk paths that run inside a Kysely transaction on this same connection (see bulk.ts).
   */
  sqlite?: SqliteDatabase.Database;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** `postgres://…`; when absent, SQLite in `dataDir`. */
  url?: string;
  dataDir?: string;
  /** SQLite file path override (':memory:' for throwaway). */
  sqlitePath?: string;
  /** PostgreSQL schema to create and use as search_path (tests, multi-tenant setups). */
  pgSchema?: string;
  poolSize?: number;
}

// epoch-ms columns are bigint in PostgreSQL; they fit in a JS number.
const INT8_OID = 20;
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** Opens the store: SQLite (WAL, busy timeout) by default, PostgreSQL when a URL is given. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.url) return openPostgres(options.url, options.pgSchema, options.poolSize ?? 10);
  const path = options.sqlitePath ?? join(options.dataDir ?? '.opsdeck', 'opsdeck.db');
  if (path !== ':memory:') mkdirSync(join(path, '..'), { recursive: true });
  const sqlite = new SqliteDatabase(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 10000');
  sqlite.pragma('synchronous = NORMAL');
  // Bulk writes (metric samples) dirty many pages per commit. A 64 MiB page cache (default 2 MiB)
  // keeps the hot B-tree pages in memory, and checkpointing every 40,000 WAL pages (up to ~160 MiB
  // of WAL; default 1,000) runs a checkpoint, with its fsyncs, once per many commits instead of
  // about once per commit, and writes a page dirtied by several of them back once.
  sqlite.pragma('cache_size = -65536');
  sqlite.pragma('wal_autocheckpoint = 40000');
  sqlite.pragma('foreign_keys = ON');
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return {
    db,
    dialect: 'sqlite',
    sqlitePath: path,
    sqlite,
    close: () => db.destroy(),
  };
}

async function openPostgres(url: string, pgSchema: string | undefined, poolSize: number): Promise<Database> {
  if (pgSchema && !/^[a-z_][a-z0-9_]*$/.test(pgSchema)) throw new Error(`invalid schema name ${pgSchema}`);
  const pgConfig: pg.ClientConfig = {
    connectionString: url,
    types: pgTypes,
    ...(pgSchema ? { options: `-c search_path=${pgSchema}` } : {}),
  };
  if (pgSchema) {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS ${pgSchema}`);
    } catch (err) {
      // Replicas starting together race on IF NOT EXISTS; losing that race is fine.
      if ((err as { code?: string }).code !== '23505') throw err;
    } finally {
      await admin.end();
    }
  }
  const pool = new pg.Pool({ ...pgConfig, max: poolSize });
  // An idle client losing its connection must not crash the process.
  pool.on('error', () => {});
  const db = new Kysely<Schema>({ dialect: new ScopedPostgresDialect({ pool }) });
  return { db, dialect: 'postgres', pgSchema, pgConfig, close: () => db.destroy() };
}

/** Runs `fn` in one transaction. */
export function transaction<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction().execute(fn);
}
