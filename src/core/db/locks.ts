import { sql } from 'kysely';
import type { Database, Executor } from './database.js';

/**
 * Serialises writers of one logical stream (the outbox, the audit chain) until the
 * transaction ends. PostgreSQL: a transaction-scoped advisory lock keyed by schema and name.
 * SQLite has a single writer already, so nothing is needed.
 */
export async function lockForTransaction(tx: Executor, database: Pick<Database, 'dialect' | 'pgSchema'>, name: string): Promise<void> {
  if (database.dialect !== 'postgres') return;
  await sql`select pg_advisory_xact_lock(hashtext(${lockName(database, name)}))`.execute(tx);
}

/**
 * The outbox and the audit chain share one lock: a transaction that both publishes and audits
 * (most mutations) can then take them in either order without deadlocking against another.
 * Locks that guard a module's own state (e.g. `resources`) must be taken before this one.
 */
export const JOURNAL_LOCK = 'journal';

/** The advisory-lock name, namespaced by schema so isolated test schemas don't contend. */
export function lockName(database: Pick<Database, 'pgSchema'>, name: string): string {
  return `${database.pgSchema ?? 'public'}:${name}`;
}
