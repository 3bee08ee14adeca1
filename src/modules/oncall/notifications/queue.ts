import { BrokenCircuitError, type CircuitBreakerPolicy, ConsecutiveBreaker, circuitBreaker, handleAll } from 'cockatiel';
import { Counter, Histogram } from 'prom-client';
import { type Executor, transaction } from '../../../core/db/database.js';
import { newId } from '../../../core/ids.js';
import { backoffDelayMs } from '../../../core/jobs/backoff.js';
import type { Core } from '../../../core/module.js';
import type { Contact } from '../../catalog/index.js';
import type { DeliveryRequest, NotificationMessage, NotificationsApi } from '../contracts.js';
import type { Secrets } from '../secrets.js';
import { destinationOf, type SendOutcome, sendTo } from './channels.js';

export const JOB_SEND = 'oncall.notification.send';
export const NOTIFICATION_EVENTS = { sent: 'oncall.notification.sent', failed: 'oncall.notification.failed' } as const;
/** Attempts per contact before falling back to the next one. */
export const MAX_ATTEMPTS = 6;
const RETRY_BASE_MS = 1000;
const RETRY_CAP_MS = 2 * 60_000;
const BREAKER_HALF_OPEN_MS = 30_000;
/** Consecutive transient failures to one destination (all deliveries together) that open its breaker. */
const BREAKER_FAILURES = 10;

const sendKey = (id: string) => `notification:${id}`;

class TransientFailure extends Error {}

/**
 * The delivery queue. Enqueueing inserts a row keyed by the request's idempotency key and a job
 * in the caller's transaction; the job makes one attempt on the current contact, then records it,
 * retries with jittered backoff, falls back to the next contact, or gives up, in one transaction.
 * An attempt interrupted by a crash before it is recorded is made again with the same delivery id
 * (sent as `x-opsdeck-delivery`): at least once per key, never a second key.
 */
export function createDeliveryQueue(core: Core, secrets: Secrets): NotificationsApi & { send(id: string): Promise<void> } {
  const breakers = new Map<string, CircuitBreakerPolicy>();
  const breaker = (destination: string) => {
    let b = breakers.get(destination);
    if (!b) {
      b = circuitBreaker(handleAll, { halfOpenAfter: BREAKER_HALF_OPEN_MS, breaker: new ConsecutiveBreaker(BREAKER_FAILURES) });
      breakers.set(destination, b);
    }
    return b;
  };
  const sent = new Counter({
    name: 'opsdeck_oncall_notifications_total',
    help: 'Notification attempts by channel and outcome',
    labelNames: ['channel', 'outcome'],
    registers: [core.metrics],
  });
  const seconds = new Histogram({
    name: 'opsdeck_oncall_notification_send_seconds',
    help: 'Time to make one notification attempt',
    labelNames: ['channel'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [core.metrics],
  });

  async function attempt(contact: Contact, message: NotificationMessage, id: string): Promise<SendOutcome & { breakerOpen?: boolean }> {
    const key = await secrets.get('webhook-signing');
    let outcome: SendOutcome | undefined;
    try {
      await breaker(destinationOf(contact)).execute(async () => {
        outcome = await sendTo(contact, message, id, key, core.clock.now());
        // Only transient failures say something about the destination's health.
        if (!outcome.ok && !outcome.permanent) throw new TransientFailure(outcome.error);
      });
    } catch (err) {
      if (err instanceof BrokenCircuitError)
        return { ok: false, permanent: false, error: `circuit open for ${destinationOf(contact)}`, breakerOpen: true };
      if (!(err instanceof TransientFailure)) throw err;
    }
    return outcome!;
  }

  return {
    async enqueue(tx: Executor, request: DeliveryRequest) {
      const now = core.clock.now();
      const id = newId('ntf', now);
      const inserted = await tx
        .insertInto('oncall_deliveries')
        .values({
          id,
          idempotency_key: request.idempotencyKey,
          page_id: request.pageId ?? null,
          user: request.user ?? null,
          contacts: JSON.stringify(request.contacts),
          contact_index: 0,
          message: JSON.stringify(request.message),
          status: 'queued',
          attempts: 0,
          last_error: null,
          send_at: request.sendAt ?? now,
          created_at: now,
          updated_at: now,
          sent_at: null,
        })
        .onConflict((oc) => oc.column('idempotency_key').doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) return false;
      await core.jobs.schedule(JOB_SEND, { id }, { tx, runAt: request.sendAt ?? now, dedupKey: sendKey(id) });
      return true;
    },

    async cancelPending(tx, pageId, filter = {}) {
      let query = tx
        .selectFrom('oncall_deliveries')
        .select('id')
        .where('page_id', '=', pageId)
        .where('status', '=', 'queued')
        .where('attempts', '=', 0)
        .where('contact_index', '=', 0);
      if (filter.before !== undefined) query = query.where('send_at', '<', filter.before);
      const ids = (await query.execute()).map((r) => r.id);
      if (ids.length === 0) return 0;
      await tx.updateTable('oncall_deliveries').set({ status: 'cancelled', updated_at: core.clock.now() }).where('id', 'in', ids).execute();
      for (const id of ids) await core.jobs.cancel(sendKey(id), { tx });
      return ids.length;
    },

    async send(id: string) {
      const row = await core.db.selectFrom('oncall_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row || row.status !== 'queued') return;
      const contacts = JSON.parse(row.contacts) as Contact[];
      const contact = contacts[row.contact_index]!;
      const message = JSON.parse(row.message) as NotificationMessage;
      const started = performance.now();
      const outcome = await attempt(contact, message, id);
      const duration = performance.now() - started;
      const label = outcome.ok ? 'sent' : outcome.breakerOpen ? 'breaker-open' : outcome.permanent ? 'permanent' : 'retry';
      sent.inc({ channel: contact.type, outcome: label });
      seconds.observe({ channel: contact.type }, duration / 1000);
      await transaction(core.db, async (tx) => {
        const now = core.clock.now();
        const current = await tx
          .selectFrom('oncall_deliveries')
          .select(['status', 'attempts', 'contact_index'])
          .where('id', '=', id)
          .executeTakeFirst();
        if (current?.status !== 'queued' || current.contact_index !== row.contact_index) return;
        const { n } = await tx
          .selectFrom('oncall_delivery_attempts')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('delivery_id', '=', id)
          .executeTakeFirstOrThrow();
        await tx
          .insertInto('oncall_delivery_attempts')
          .values({
            delivery_id: id,
            n: Number(n) + 1,
            at: now,
            channel: contact.type,
            destination: destinationOf(contact),
            outcome: label,
            status_code: outcome.status ?? null,
            error: outcome.ok ? null : outcome.error,
            duration_ms: Math.round(duration),
          })
          .execute();
        const publish = (type: string, data: Record<string, unknown>) =>
          core.events.publish(tx, {
            type,
            subject: id,
            service: message.service ?? null,
            data: { id, pageId: row.page_id, user: row.user, ...data },
          });
        if (outcome.ok) {
          await tx
            .updateTable('oncall_deliveries')
            .set({ status: 'sent', sent_at: now, updated_at: now, last_error: null })
            .where('id', '=', id)
            .execute();
          await publish(NOTIFICATION_EVENTS.sent, { channel: contact.type, contact: contact.name });
          return;
        }
        // An open breaker is the destination's state, not this delivery's failure: wait, keep the budget.
        const attempts = current.attempts + (outcome.breakerOpen ? 0 : 1);
        if (!outcome.permanent && attempts < MAX_ATTEMPTS) {
          const delay = outcome.breakerOpen ? BREAKER_HALF_OPEN_MS : backoffDelayMs(attempts, Math.random, RETRY_BASE_MS, RETRY_CAP_MS);
          await tx
            .updateTable('oncall_deliveries')
            .set({ attempts, last_error: outcome.error, updated_at: now })
            .where('id', '=', id)
            .execute();
          await core.jobs.schedule(JOB_SEND, { id }, { tx, runAt: now + Math.max(delay, 100), dedupKey: sendKey(id) });
          return;
        }
        if (row.contact_index + 1 < contacts.length) {
          // This way of reaching them is not working: the next one, now.
          await tx
            .updateTable('oncall_deliveries')
            .set({ contact_index: row.contact_index + 1, attempts: 0, last_error: outcome.error, updated_at: now })
            .where('id', '=', id)
            .execute();
          await core.jobs.schedule(JOB_SEND, { id }, { tx, runAt: now, dedupKey: sendKey(id) });
          return;
        }
        await tx
          .updateTable('oncall_deliveries')
          .set({ status: 'failed', attempts, last_error: outcome.error, updated_at: now })
          .where('id', '=', id)
          .execute();
        await publish(NOTIFICATION_EVENTS.failed, { error: outcome.error });
      });
    },
  };
}
