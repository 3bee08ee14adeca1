import type { Database as BetterSqlite, Statement } from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/**
 * Kysely's SQLite driver prepares every query anew, and preparing costs about as much as running
 * a small query. The same SQL text recurs constantly (auth lookups, lists, claims), so keep the
 * most recent statements prepared. SQLite re-prepares a statement itself after a schema change.
 */
export function withStatementCache(sqlite: BetterSqlite, max = 512): SqliteDatabase {
  const cache = new Map<string, Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (stmt) {
        // Refresh its place in the LRU order.
        cache.delete(sql);
      } else {
        stmt = sqlite.prepare(sql);
        if (cache.size >= max) cache.delete(cache.keys().next().value as string);
      }
      cache.set(sql, stmt);
      return stmt;
    },
  };
}
