import { Counter, Histogram } from 'prom-client';
import { type Executor, transaction } from '../../../core/db/database.js';
import { backoffDelayMs } from '../../../core/jobs/backoff.js';
import type { Core } from '../../../core/module.js';
import type { Contact } from '../../catalog/index.js';
import type { NotificationMessage } from '../contracts.js';
import type { Secrets } from '../secrets.js';
import type { BreakerResult, Breakers } from './breakers.js';
import { destinationOf, sendTo } from './channels.js';
import type { AttemptOutcome, OncallDeliveriesTable } from './notifications.tables.js';
import { JOB_SEND, sendJobKey } from './queue.js';

export const NOTIFICATION_EVENTS = { sent: 'oncall.notification.sent', failed: 'oncall.notification.failed' } as const;
/** Attempts per contact before falling back to the next one (about half a minute of backoff in all). */
export const MAX_ATTEMPTS = 6;
export const RETRY_BASE_MS = 1000;
export const RETRY_CAP_MS = 2 * 60_000;
/** Full jitter can draw ~0; a floor keeps a retry from landing on the same broken moment. */
const RETRY_MIN_MS = 200;

type Row = OncallDeliveriesTable;

export interface Sender {
  /** Makes the next attempt of a delivery and records it; safe to call again for the same attempt. */
  send(id: string, signal?: AbortSignal): Promise<void>;
}

/**
 * The send handler. One job run = one attempt on the current contact, then one transaction that
 * logs it and decides what comes next: sent; retry later (transient: network, timeout, 408/429/5xx,
 * SMTP 4xx, an open breaker); or the next contact (permanent: other 4xx, SMTP 5xx, no provider, or
 * MAX_ATTEMPTS transient failures), and `failed` when the chain runs out.
 *
 * The attempt is made before anything is written, so the send path costs one indexed read. A crash
 * between the send and the record means the job's lease runs out and the attempt is made again
 * with the same delivery id: at least once per delivery, which receivers deduplicate on.
 */
export function createSender(deps: { core: Core; secrets: Secrets; breakers: Breakers; random?: () => number }): Sender {
  const { core, secrets, breakers } = deps;
  const random = deps.random ?? Math.random;
  const attempts = new Counter({
    name: 'opsdeck_oncall_notifications_total',
    help: 'Notification attempts by channel and outcome (sent, retry, breaker-open, permanent, exhausted)',
    labelNames: ['channel', 'outcome'],
    registers: [core.metrics],
  });
  const seconds = new Histogram({
    name: 'opsdeck_oncall_notification_send_seconds',
    help: 'Time one notification attempt took (HTTP POST or SMTP conversation)',
    labelNames: ['channel'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [core.metrics],
  });

  async function attempt(row: Row, contact: Contact, signal?: AbortSignal): Promise<BreakerResult> {
    const message = JSON.parse(row.message) as NotificationMessage;
    // Only webhooks are signed; the key is cached after the first read.
    const signingKey = contact.type === 'webhook' ? await secrets.get('webhook-signing') : Buffer.alloc(0);
    return breakers.run(destinationOf(contact), () =>
      sendTo({ contact, contactIndex: row.contact_index, message, deliveryId: row.id, signingKey, now: core.clock.now(), signal }),
    );
  }

  function outcomeOf(result: BreakerResult, attemptsAfter: number): AttemptOutcome {
    if (result.ok) return 'sent';
    if (result.permanent) return 'permanent';
    if (attemptsAfter >= MAX_ATTEMPTS) return 'exhausted';
    return 'breakerOpen' in result ? 'breaker-open' : 'retry';
  }

  async function record(
    tx: Executor,
    row: Row,
    contact: Contact,
    result: BreakerResult,
    durationMs: number,
  ): Promise<AttemptOutcome | undefined> {
    const now = core.clock.now();
    const current = await tx
      .selectFrom('oncall_deliveries')
      .select(['status', 'attempts', 'contact_index'])
      .where('id', '=', row.id)
      .executeTakeFirst();
    // Another runner (this job re-run after a lost lease) already recorded this very attempt.
    if (!current || current.attempts !== row.attempts || current.contact_index !== row.contact_index) return undefined;
    if (current.status !== 'queued' && current.status !== 'cancelled') return undefined;
    // An open breaker counts as an attempt: the destination is known to be failing, so the clock
    // towards the next contact runs as if we had tried (without the timeout), and the person is
    // reached another way in the same ~30 s instead of waiting for the host to come back.
    const attemptsAfter = current.attempts + 1;
    const outcome = outcomeOf(result, attemptsAfter);
    const { n } = await tx
      .selectFrom('oncall_delivery_attempts')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('delivery_id', '=', row.id)
      .executeTakeFirstOrThrow();
    await tx
      .insertInto('oncall_delivery_attempts')
      .values({
        delivery_id: row.id,
        n: Number(n) + 1,
        at: now,
        contact_index: row.contact_index,
        contact: contact.name,
        channel: contact.type,
        destination: destinationOf(contact),
        outcome,
        status_code: result.status ?? null,
        error: result.ok ? null : result.error.slice(0, 1000),
        duration_ms: Math.round(durationMs),
      })
      .execute();
    const update = (set: Partial<Row>) =>
      tx
        .updateTable('oncall_deliveries')
        .set({ ...set, updated_at: now })
        .where('id', '=', row.id)
        .execute();
    const publish = (type: string, data: Record<string, unknown>) =>
      core.events.publish(tx, {
        type,
        subject: row.id,
        service: (JSON.parse(row.message) as NotificationMessage).service ?? null,
        data: { id: row.id, pageId: row.page_id, user: row.user, ...data },
      });

    if (result.ok) {
      // Sent, even if the page was acknowledged meanwhile (it did go out; the log says so).
      await update({ status: 'sent', sent_at: now, next_attempt_at: null, attempts: attemptsAfter, last_error: null });
      await publish(NOTIFICATION_EVENTS.sent, { channel: contact.type, contact: contact.name });
      return outcome;
    }
    if (current.status === 'cancelled') {
      await update({ attempts: attemptsAfter, last_error: result.error });
      return outcome;
    }
    if (outcome === 'retry' || outcome === 'breaker-open') {
      const delay = Math.max(RETRY_MIN_MS, backoffDelayMs(attemptsAfter, random, RETRY_BASE_MS, RETRY_CAP_MS));
      await update({ attempts: attemptsAfter, last_error: result.error, next_attempt_at: now + delay });
      await core.jobs.schedule(JOB_SEND, { id: row.id }, { tx, runAt: now + delay, dedupKey: sendJobKey(row.id) });
      return outcome;
    }
    const contacts = JSON.parse(row.contacts) as Contact[];
    if (row.contact_index + 1 < contacts.length) {
      // This way of reaching them is not working: the next one, now, with a fresh retry budget.
      await update({ contact_index: row.contact_index + 1, attempts: 0, last_error: result.error, next_attempt_at: now });
      await core.jobs.schedule(JOB_SEND, { id: row.id }, { tx, runAt: now, dedupKey: sendJobKey(row.id) });
      return outcome;
    }
    await update({ status: 'failed', attempts: attemptsAfter, last_error: result.error, next_attempt_at: null });
    await publish(NOTIFICATION_EVENTS.failed, { channel: contact.type, contact: contact.name, error: result.error });
    return outcome;
  }

  return {
    async send(id, signal) {
      const row = await core.db.selectFrom('oncall_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
      // Sent, failed or cancelled already: a job delivered twice (at-least-once) does nothing.
      if (row?.status !== 'queued') return;
      const contacts = JSON.parse(row.contacts) as Contact[];
      const contact = contacts[row.contact_index];
      if (!contact) throw new Error(`delivery ${id} points past its contact chain (${row.contact_index})`);
      const started = performance.now();
      const result = await attempt(row, contact, signal);
      const durationMs = performance.now() - started;
      const outcome = await transaction(core.db, (tx) => record(tx, row, contact, result, durationMs));
      if (!outcome) return;
      attempts.inc({ channel: contact.type, outcome });
      if (!('breakerOpen' in result)) seconds.observe({ channel: contact.type }, durationMs / 1000);
    },
  };
}
