import type { Executor } from '../../../core/db/database.js';
import { newId } from '../../../core/ids.js';
import type { Core } from '../../../core/module.js';
import type { DeliveryRequest, NotificationsApi } from '../contracts.js';

/** The job that makes the next attempt of one delivery. */
export const JOB_SEND = 'oncall.notification.send';
/** One pending send job per delivery: rescheduling moves it, cancelling finds it. */
export const sendJobKey = (deliveryId: string) => `notification:${deliveryId}`;

/**
 * The enqueue side of the delivery queue. A delivery is a row keyed by the request's idempotency
 * key plus a durable job, both written in the caller's transaction: they commit with the page
 * state that asked for them, or not at all.
 */
export function createQueue(core: Core): NotificationsApi {
  return {
    async enqueue(tx: Executor, request: DeliveryRequest) {
      if (request.contacts.length === 0) throw new Error(`delivery '${request.idempotencyKey}' has no contacts to try`);
      const now = core.clock.now();
      const id = newId('ntf', now);
      const sendAt = request.sendAt ?? now;
      // The unique key makes a repeated enqueue (a retried transaction, a job run twice) a no-op.
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
          send_at: sendAt,
          next_attempt_at: sendAt,
          created_at: now,
          updated_at: now,
          sent_at: null,
        })
        .onConflict((oc) => oc.column('idempotency_key').doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) return false;
      // Scheduling inside the transaction wakes the runner at commit (NOTIFY on PostgreSQL, an
      // after-commit look on SQLite), so a due delivery goes out right away.
      await core.jobs.schedule(JOB_SEND, { id }, { tx, runAt: sendAt, dedupKey: sendJobKey(id) });
      return true;
    },

    async cancelPending(tx, pageId, filter = {}) {
      // Only deliveries nothing was tried for yet: one already under way finishes its contact chain.
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
      await tx
        .updateTable('oncall_deliveries')
        .set({ status: 'cancelled', next_attempt_at: null, last_error: null, updated_at: core.clock.now() })
        .where('id', 'in', ids)
        .execute();
      // A send already claimed by a runner is not stopped here; send.ts sees the cancel when it records.
      for (const id of ids) await core.jobs.cancel(sendJobKey(id), { tx });
      return ids.length;
    },
  };
}
