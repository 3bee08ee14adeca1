import { type Expression, type Selectable, sql } from 'kysely';
import type { Database, Executor } from '../db/database.js';
import { newId } from '../ids.js';
import type { JobListFilter, JobRecord } from './jobs.js';
import type { JobsTable } from './jobs.tables.js';

type JobRow = Selectable<JobsTable>;

/** The claim that a completion must still hold: a reclaimed job has another owner or a higher attempt count. */
export interface ClaimToken {
  id: string;
  owner: string;
  attempts: number;
}

export interface InsertJob {
  kind: string;
  payload: unknown;
  runAt: number;
  maxAttempts: number;
  dedupKey?: string;
  now: number;
}

const PENDING = sql.lit('pending' as const);

/** A `jobs` row as the API shows it: camelCase, payload parsed, epoch-ms numbers. */
export function toRecord(row: JobRow): JobRecord {
  return {
    id: row.id,
    kind: row.kind,
    payload: JSON.parse(row.payload) as unknown,
    state: row.state,
    runAt: Number(row.run_at),
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    dedupKey: row.dedup_key,
    lastError: row.last_error,
    leaseOwner: row.lease_owner,
    leaseUntil: row.lease_until === null ? null : Number(row.lease_until),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** A pending job collided with the partial unique index on dedup_key. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** SQL over the `jobs` table; the runner owns the policy. */
export class JobsStore {
  constructor(private readonly database: Database) {}

  private get db(): Executor {
    return this.database.db;
  }

  /** Inserts a pending job, or moves the pending job that holds the same dedup key. */
  async insert(ex: Executor, input: InsertJob): Promise<JobRecord> {
    const row: JobRow = {
      id: newId('job', input.now),
      kind: input.kind,
      payload: JSON.stringify(input.payload ?? null),
      state: 'pending',
      run_at: input.runAt,
      attempts: 0,
      max_attempts: input.maxAttempts,
      dedup_key: input.dedupKey ?? null,
      last_error: null,
      lease_owner: null,
      lease_until: null,
      created_at: input.now,
      updated_at: input.now,
    };
    let query = ex.insertInto('jobs').values(row);
    if (input.dedupKey !== undefined) {
      // The conflict target names the partial index's predicate as a literal: both engines
      // infer the arbiter index from it, which a bound parameter would defeat.
      query = query.onConflict((oc) =>
        oc
          .column('dedup_key')
          .where('state', '=', PENDING)
          .doUpdateSet((eb) => ({
            kind: eb.ref('excluded.kind'),
            payload: eb.ref('excluded.payload'),
            run_at: eb.ref('excluded.run_at'),
            max_attempts: eb.ref('excluded.max_attempts'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
      );
    }
    const inserted = await query.returningAll().executeTakeFirstOrThrow();
    return toRecord(inserted);
  }

  async cancel(ex: Executor, dedupKey: string, now: number): Promise<number> {
    const result = await ex
      .updateTable('jobs')
      .set({ state: 'cancelled', updated_at: now })
      .where('dedup_key', '=', dedupKey)
      .where('state', '=', 'pending')
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /**
   * Atomically leases up to `limit` due jobs of the given kinds: pending ones whose time has
   * come and running ones whose lease expired (their replica died). PostgreSQL skips rows
   * another replica is claiming; SQLite's single writer makes the one statement atomic.
   */
  async claim(options: {
    kinds: string[];
    owner: string;
    now: number;
    limit: number;
    visibilityMs: (kind: string) => number;
    defaultVisibilityMs: number;
  }): Promise<JobRecord[]> {
    const { kinds, owner, now, limit } = options;
    if (kinds.length === 0 || limit <= 0) return [];
    const pg = this.database.dialect === 'postgres';
    // Two index-friendly scans (state, run_at) rather than one OR over both states, which
    // would scan and sort the whole queue on every claim.
    const candidates = (state: 'pending' | 'running', column: 'run_at' | 'lease_until') => {
      const query = this.db
        .selectFrom('jobs')
        .select(['id', 'run_at'])
        .where('state', '=', state)
        .where(column, '<=', now)
        .where('kind', 'in', kinds)
        .orderBy('run_at')
        .limit(limit);
      return pg ? query.forUpdate().skipLocked() : query;
    };
    const custom = kinds.filter((k) => options.visibilityMs(k) !== options.defaultVisibilityMs);
    const rows = await this.db
      .with('due_pending', () => candidates('pending', 'run_at'))
      .with('lease_expired', () => candidates('running', 'lease_until'))
      .with('picked', (qb) =>
        qb
          .selectFrom('due_pending')
          .select(['id', 'run_at'])
          .unionAll(qb.selectFrom('lease_expired').select(['id', 'run_at']))
          .orderBy('run_at')
          .limit(limit),
      )
      .updateTable('jobs')
      .set((eb) => {
        // Literal numbers: PostgreSQL cannot infer the type of bare parameters inside CASE.
        const lease = (kind: string) => sql.lit(now + options.visibilityMs(kind));
        let leaseUntil: Expression<number> = sql.lit(now + options.defaultVisibilityMs);
        const [first, ...rest] = custom;
        if (first !== undefined) {
          let expr = eb.case().when('kind', '=', first).then(lease(first));
          for (const kind of rest) expr = expr.when('kind', '=', kind).then(lease(kind));
          leaseUntil = expr.else(leaseUntil).end();
        }
        return {
          state: 'running' as const,
          lease_owner: owner,
          lease_until: leaseUntil,
          attempts: eb('attempts', '+', 1),
          updated_at: now,
        };
      })
      .where('id', 'in', (eb) => eb.selectFrom('picked').select('id'))
      .returningAll()
      .execute();
    return rows.map(toRecord).sort((a, b) => a.runAt - b.runAt);
  }

  /** Marks the job done if this claim still holds it; false when the lease was lost. */
  async complete(token: ClaimToken, now: number): Promise<boolean> {
    const result = await this.guarded(token).set({ state: 'done', lease_until: null, updated_at: now }).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Records a failure: back to pending at `retryAt`, or dead when `retryAt` is null. */
  async fail(token: ClaimToken, error: string, retryAt: number | null, now: number): Promise<'retry' | 'dead' | 'superseded' | 'lost'> {
    if (retryAt === null) {
      const result = await this.guarded(token)
        .set({ state: 'dead', last_error: error, lease_until: null, updated_at: now })
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0 ? 'dead' : 'lost';
    }
    return this.backToPending(token, { run_at: retryAt, last_error: error, updated_at: now }, now);
  }

  /** Returns unfinished claims to pending without counting the attempt (graceful shutdown). */
  async release(tokens: ClaimToken[], now: number): Promise<void> {
    for (const token of tokens) {
      await this.backToPending(token, { attempts: token.attempts - 1, updated_at: now }, now);
    }
  }

  private async backToPending(
    token: ClaimToken,
    changes: { run_at?: number; last_error?: string; attempts?: number; updated_at: number },
    now: number,
  ): Promise<'retry' | 'superseded' | 'lost'> {
    try {
      const result = await this.guarded(token)
        .set({ ...changes, state: 'pending', lease_owner: null, lease_until: null })
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0 ? 'retry' : 'lost';
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // Someone scheduled the same dedup key while this one ran: the newer timer wins.
      const result = await this.guarded(token)
        .set({ state: 'cancelled', last_error: changes.last_error ?? 'superseded', lease_until: null, updated_at: now })
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0 ? 'superseded' : 'lost';
    }
  }

  private guarded(token: ClaimToken) {
    return this.db
      .updateTable('jobs')
      .where('id', '=', token.id)
      .where('state', '=', 'running')
      .where('lease_owner', '=', token.owner)
      .where('attempts', '=', token.attempts);
  }

  /** The earliest time something of these kinds becomes claimable: a pending run_at or an expiring lease. */
  async nextWakeAt(kinds: string[]): Promise<number | null> {
    if (kinds.length === 0) return null;
    const row = await this.db
      .selectNoFrom((eb) => [
        eb
          .selectFrom('jobs')
          .select((s) => s.fn.min('run_at').as('m'))
          .where('state', '=', 'pending')
          .where('kind', 'in', kinds)
          .as('pending'),
        eb
          .selectFrom('jobs')
          .select((s) => s.fn.min('lease_until').as('m'))
          .where('state', '=', 'running')
          .where('kind', 'in', kinds)
          .as('leased'),
      ])
      .executeTakeFirst();
    const times = [row?.pending, row?.leased].filter((v): v is number => v !== null && v !== undefined).map(Number);
    return times.length > 0 ? Math.min(...times) : null;
  }

  async list(filter: JobListFilter): Promise<JobRecord[]> {
    let query = this.db.selectFrom('jobs').selectAll();
    if (filter.state) query = query.where('state', '=', filter.state);
    if (filter.kind) query = query.where('kind', '=', filter.kind);
    const limit = Math.max(1, Math.min(filter.limit ?? 100, 1000));
    const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toRecord);
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  /** Dead → pending with a fresh attempt budget; undefined when not dead or its key is already pending again. */
  async retry(id: string, now: number): Promise<JobRecord | undefined> {
    try {
      const row = await this.db
        .updateTable('jobs')
        .set({ state: 'pending', attempts: 0, run_at: now, lease_owner: null, lease_until: null, updated_at: now })
        .where('id', '=', id)
        .where('state', '=', 'dead')
        .returningAll()
        .executeTakeFirst();
      return row ? toRecord(row) : undefined;
    } catch (err) {
      if (isUniqueViolation(err)) return undefined;
      throw err;
    }
  }

  async depth(now: number): Promise<{ due: number; pending: number }> {
    const row = await this.db
      .selectFrom('jobs')
      .select([sql<number>`count(*)`.as('pending'), sql<number>`count(case when ${sql.ref('run_at')} <= ${now} then 1 end)`.as('due')])
      .where('state', '=', 'pending')
      .executeTakeFirst();
    return { due: Number(row?.due ?? 0), pending: Number(row?.pending ?? 0) };
  }
}
