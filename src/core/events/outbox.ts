import { type ExpressionBuilder, type Selectable, sql } from 'kysely';
import type { Clock } from '../clock.js';
import type { Database, Executor } from '../db/database.js';
import { JOURNAL_LOCK, lockForTransaction } from '../db/locks.js';
import { PgListener } from '../db/pg-listener.js';
import type { Schema } from '../db/schema.js';
import { newId } from '../ids.js';
import type { Logger } from '../logger.js';
import { type DomainEvent, type EventQuery, type Events, type Subscriber, topicMatches } from './events.js';
import type { EventsTable } from './events.tables.js';

export interface EventsOptions {
  database: Database;
  clock: Clock;
  logger: Logger;
  /** Fallback poll for writers we get no notification from (other SQLite processes). */
  pollIntervalMs?: number;
}

const BATCH = 200;
const MAX_FAILURES = 10;

/** The transactional outbox, durable subscribers with cursors, and the live tail that feeds SSE. */
export function createEvents(options: EventsOptions): Events {
  const { database, clock } = options;
  const db = database.db;
  const logger = options.logger.child({ module: 'events' });
  const pollMs = options.pollIntervalMs ?? (database.dialect === 'sqlite' ? 250 : 1000);
  const channel = `opsdeck_events_${database.pgSchema ?? 'public'}`;
  const subscribers = new Map<string, Subscriber>();
  const listeners = new Set<(event: DomainEvent) => void>();
  let tailSeq = 0;
  let running: { api: boolean; worker: boolean } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let pending: Promise<void> | undefined;
  let again = false;
  let pgListener: PgListener | undefined;

  const toEvent = (row: Selectable<EventsTable>): DomainEvent => ({
    seq: Number(row.seq),
    id: row.id,
    type: row.type,
    at: Number(row.at),
    actor: row.actor,
    service: row.service,
    subject: row.subject,
    change: Boolean(row.change),
    data: JSON.parse(row.data),
  });

  const typeFilter = (patterns: string[]) => (eb: ExpressionBuilder<Schema, 'events'>) =>
    eb.or(patterns.map((p) => (p.endsWith('.*') ? eb('type', 'like', `${p.slice(0, -1).replace(/[%_]/g, '\\$&')}%`) : eb('type', '=', p))));

  async function list(query: EventQuery, executor: Executor = db): Promise<DomainEvent[]> {
    let q = executor.selectFrom('events').selectAll();
    const types = query.types?.filter((t) => t !== '*') ?? [];
    if (types.length && !query.types?.includes('*')) q = q.where(typeFilter(types));
    if (query.service) q = q.where('service', '=', query.service);
    if (query.since !== undefined) q = q.where('at', '>=', query.since);
    if (query.afterSeq !== undefined) q = q.where('seq', '>', query.afterSeq);
    if (query.changesOnly) q = q.where('change', '=', 1);
    q = q.orderBy('seq', query.newestFirst ? 'desc' : 'asc').limit(Math.min(query.limit ?? 100, 1000));
    const rows = await q.execute();
    return rows.map(toEvent);
  }

  async function maxSeq(executor: Executor = db): Promise<number> {
    const row = await executor
      .selectFrom('events')
      .select((eb) => eb.fn.max('seq').as('m'))
      .executeTakeFirst();
    return Number(row?.m ?? 0);
  }

  /** Delivers the live tail to in-process listeners (SSE). */
  async function pumpTail(): Promise<void> {
    if (!listeners.size) {
      tailSeq = await maxSeq();
      return;
    }
    for (;;) {
      const batch = await list({ afterSeq: tailSeq, limit: BATCH });
      for (const event of batch) {
        tailSeq = event.seq;
        for (const l of listeners) {
          try {
            l(event);
          } catch (err) {
            logger.warn({ err }, 'event listener failed');
          }
        }
      }
      if (batch.length < BATCH) return;
    }
  }

  async function dispatchOne(sub: Subscriber): Promise<number> {
    let delivered = 0;
    try {
      delivered = await db.transaction().execute(async (tx) => {
        await tx
          .insertInto('event_cursors')
          .values({ subscriber: sub.id, seq: 0, failures: 0, last_error: null, updated_at: clock.now() })
          .onConflict((oc) => oc.column('subscriber').doNothing())
          .execute();
        let cursorQuery = tx.selectFrom('event_cursors').selectAll().where('subscriber', '=', sub.id);
        // One replica at a time per subscriber; the others skip it rather than wait.
        if (database.dialect === 'postgres') cursorQuery = cursorQuery.forUpdate().skipLocked();
        const cursor = await cursorQuery.executeTakeFirst();
        if (!cursor) return 0;
        const upper = await maxSeq(tx);
        const types = sub.types.includes('*') ? undefined : sub.types;
        let q = tx.selectFrom('events').selectAll().where('seq', '>', Number(cursor.seq)).where('seq', '<=', upper);
        if (types?.length) q = q.where(typeFilter(types));
        const rows = await q.orderBy('seq').limit(BATCH).execute();
        let seq = Number(cursor.seq);
        for (const row of rows) {
          const event = toEvent(row);
          if (topicMatches(event.type, sub.types)) await sub.handle(event, tx);
          seq = event.seq;
        }
        // Nothing matched below `upper`: skip the cursor past the events we scanned.
        if (rows.length < BATCH) seq = Math.max(seq, upper);
        if (seq !== Number(cursor.seq) || cursor.failures) {
          await tx
            .updateTable('event_cursors')
            .set({ seq, failures: 0, last_error: null, updated_at: clock.now() })
            .where('subscriber', '=', sub.id)
            .execute();
        }
        return rows.length;
      });
    } catch (err) {
      await recordFailure(sub, err as Error);
    }
    return delivered;
  }

  /** A poison event must not block a subscriber forever: after MAX_FAILURES it is skipped and logged. */
  async function recordFailure(sub: Subscriber, err: Error): Promise<void> {
    logger.error({ err, subscriber: sub.id }, 'subscriber failed; will retry');
    const cursor = await db.selectFrom('event_cursors').selectAll().where('subscriber', '=', sub.id).executeTakeFirst();
    if (!cursor) return;
    const failures = cursor.failures + 1;
    let seq = Number(cursor.seq);
    if (failures >= MAX_FAILURES) {
      const next = await list({ afterSeq: seq, types: sub.types, limit: 1 });
      if (next[0]) {
        logger.error({ subscriber: sub.id, seq: next[0].seq, type: next[0].type }, 'skipping event after repeated failures');
        seq = next[0].seq;
      }
    }
    await db
      .updateTable('event_cursors')
      .set({ seq, failures: failures >= MAX_FAILURES ? 0 : failures, last_error: err.message, updated_at: clock.now() })
      .where('subscriber', '=', sub.id)
      .execute();
  }

  async function dispatch(): Promise<number> {
    let total = 0;
    for (const sub of subscribers.values()) {
      for (;;) {
        const n = await dispatchOne(sub);
        total += n;
        if (n < BATCH) break;
      }
    }
    return total;
  }

  async function cycle(): Promise<void> {
    if (!running) return;
    if (running.api) await pumpTail();
    if (running.worker) await dispatch();
  }

  /** Runs one cycle now, or once more after the current one: wake-ups never overlap or get lost. */
  function wake(): void {
    if (!running) return;
    if (pending) {
      again = true;
      return;
    }
    pending = cycle()
      .catch((err) => logger.error({ err }, 'event cycle failed'))
      .finally(() => {
        pending = undefined;
        if (again) {
          again = false;
          wake();
        }
      });
  }

  function schedulePoll(): void {
    timer = setTimeout(() => {
      wake();
      if (running) schedulePoll();
    }, pollMs);
    timer.unref();
  }

  return {
    async publish(tx, input) {
      await lockForTransaction(tx, database, JOURNAL_LOCK);
      await tx
        .insertInto('events')
        .values({
          id: newId('evt', clock.now()),
          type: input.type,
          at: clock.now(),
          actor: input.actor ?? null,
          service: input.service ?? null,
          subject: input.subject ?? null,
          change: input.change ? 1 : 0,
          data: JSON.stringify(input.data ?? {}),
        })
        .execute();
      if (database.dialect === 'postgres') {
        await sql`select pg_notify(${channel}, '')`.execute(tx);
      } else if (running) {
        // The caller's transaction commits after this returns; look shortly after.
        setTimeout(wake, 2).unref();
      }
    },
    list: (query) => list(query),
    subscribe(subscriber) {
      if (subscribers.has(subscriber.id)) throw new Error(`duplicate subscriber ${subscriber.id}`);
      subscribers.set(subscriber.id, subscriber);
    },
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dispatch,
    async start(roles) {
      running = roles;
      tailSeq = await maxSeq();
      if (database.dialect === 'postgres' && database.pgConfig) {
        pgListener = new PgListener({ config: database.pgConfig, channel, logger, onNotify: wake, onConnected: wake });
        await pgListener.start();
      }
      schedulePoll();
      wake();
    },
    async stop() {
      running = undefined;
      if (timer) clearTimeout(timer);
      await pgListener?.stop();
      await pending;
    },
    async lag() {
      const top = await maxSeq();
      const rows = await db.selectFrom('event_cursors').select(['subscriber', 'seq']).execute();
      const bySub = new Map(rows.map((r) => [r.subscriber, Number(r.seq)]));
      return [...subscribers.keys()].map((id) => ({ subscriber: id, lag: top - (bySub.get(id) ?? 0) }));
    },
  };
}
