import { sql } from 'kysely';
import type { Database, Executor } from '../db/database.js';

/** The NOTIFY channel other replicas LISTEN on, namespaced by schema like the advisory locks. */
export function wakeChannel(database: Pick<Database, 'pgSchema'>): string {
  return `opsdeck_jobs_${database.pgSchema ?? 'public'}`.slice(0, 63);
}

/** Tells listening replicas a job is due at `runAt`; inside a transaction PostgreSQL delivers it at commit. */
export async function notifyScheduled(ex: Executor, database: Database, runAt: number): Promise<void> {
  await sql`select pg_notify(${wakeChannel(database)}, ${String(runAt)})`.execute(ex);
}
