import type { Database as BetterSqlite, Statement } from 'better-sqlite3';
import { sql } from 'kysely';
import type { Database, Tx } from './database.js';

/** PostgreSQL array types for unnest(), per column. */
export type BulkColumnType = 'bigint' | 'double precision' | 'smallint' | 'integer' | 'text';

export interface BulkInsert {
  table: string;
  columns: { name: string; type: BulkColumnType }[];
  /** Columns of the unique key: rows that would duplicate one are skipped. */
  conflict: string[];
}

/** Rows per multi-row statement on SQLite: 128 × 4 columns stays far below the bound-parameter limit. */
const SQLITE_ROWS_PER_STATEMENT = 128;

const prepared = new WeakMap<object, Map<string, Statement>>();

function statement(sqlite: BetterSqlite, text: string): Statement {
  let cache = prepared.get(sqlite);
  if (!cache) {
    cache = new Map();
    prepared.set(sqlite, cache);
  }
  let stmt = cache.get(text);
  if (!stmt) {
    stmt = sqlite.prepare(text);
    cache.set(text, stmt);
  }
  return stmt;
}

/**
 * Inserts `length` rows given as columns (`columns[c][i]` is column c of row i, in `spec.columns`
 * order), skipping duplicates of the unique key, inside transaction `tx`; returns how many were
 * inserted. Engine-specific because the generic multi-row INSERT spends most of its time building
 * and binding SQL through the query builder: SQLite runs cached prepared statements of
 * SQLITE_ROWS_PER_STATEMENT rows each (then single rows) on the same connection as the
 * transaction, binding one flat parameter array per statement; PostgreSQL sends each column as
 * one array parameter to unnest().
 */
export async function bulkInsertIgnore(
  database: Database,
  tx: Tx,
  spec: BulkInsert,
  columns: ArrayLike<unknown>[],
  length: number,
): Promise<number> {
  if (length <= 0) return 0;
  const names = spec.columns.map((c) => c.name);
  if (database.dialect === 'sqlite' && database.sqlite) {
    const width = names.length;
    const head = `INSERT OR IGNORE INTO ${spec.table} (${names.join(', ')}) VALUES `;
    const tuple = `(${names.map(() => '?').join(', ')})`;
    let inserted = 0;
    let row = 0;
    if (length >= SQLITE_ROWS_PER_STATEMENT) {
      const many = statement(database.sqlite, head + Array(SQLITE_ROWS_PER_STATEMENT).fill(tuple).join(', '));
      const params: unknown[] = new Array(SQLITE_ROWS_PER_STATEMENT * width);
      for (; row + SQLITE_ROWS_PER_STATEMENT <= length; row += SQLITE_ROWS_PER_STATEMENT) {
        let p = 0;
        for (let r = row; r < row + SQLITE_ROWS_PER_STATEMENT; r++) for (let c = 0; c < width; c++) params[p++] = columns[c]![r];
        inserted += many.run(params).changes;
      }
    }
    if (row < length) {
      const one = statement(database.sqlite, head + tuple);
      const params: unknown[] = new Array(width);
      for (; row < length; row++) {
        for (let c = 0; c < width; c++) params[c] = columns[c]![row];
        inserted += one.run(params).changes;
      }
    }
    return inserted;
  }
  const arrays = columns.map((col) => (Array.isArray(col) && col.length === length ? col : Array.from({ length }, (_, i) => col[i])));
  const unnest = sql.join(spec.columns.map((c, i) => sql`${arrays[i]}::${sql.raw(c.type)}[]`));
  const result = await sql`INSERT INTO ${sql.table(spec.table)} (${sql.join(names.map((n) => sql.ref(n)))})
    SELECT * FROM unnest(${unnest})
    ON CONFLICT (${sql.join(spec.conflict.map((n) => sql.ref(n)))}) DO NOTHING`.execute(tx);
  return Number(result.numAffectedRows ?? 0);
}
