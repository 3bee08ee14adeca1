import type { Core } from '../../../core/module.js';
import type { Contact } from '../../catalog/index.js';
import type { NotificationMessage } from '../contracts.js';
import type { AttemptOutcome, DeliveryStatus, OncallDeliveriesTable } from './notifications.tables.js';

export interface AttemptView {
  n: number;
  at: number;
  contact: string;
  channel: string;
  destination: string;
  outcome: AttemptOutcome;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

/** One delivery as the log (API, CLI) shows it: where it stands, its chain, and every attempt. */
export interface DeliveryView {
  id: string;
  idempotencyKey: string;
  status: DeliveryStatus;
  pageId: string | null;
  user: string | null;
  event: NotificationMessage['event'];
  title: string;
  /** The contact being tried now, or the one that was used. */
  contact: string;
  channel: string;
  /** The fallback chain, in order (names). */
  chain: string[];
  attempts: AttemptView[];
  lastError: string | null;
  sendAt: number;
  nextAttemptAt: number | null;
  createdAt: number;
  sentAt: number | null;
}

export interface LogFilter {
  page?: string;
  user?: string;
  status?: DeliveryStatus;
  limit?: number;
}

/** Reads the delivery log; the tables are written by queue.ts and send.ts only. */
export function createDeliveryLog(core: Core) {
  async function views(rows: OncallDeliveriesTable[]): Promise<DeliveryView[]> {
    const ids = rows.map((r) => r.id);
    const attempts = ids.length
      ? await core.db.selectFrom('oncall_delivery_attempts').selectAll().where('delivery_id', 'in', ids).orderBy('n').execute()
      : [];
    return rows.map((r) => {
      const contacts = JSON.parse(r.contacts) as Contact[];
      const message = JSON.parse(r.message) as NotificationMessage;
      const contact = contacts[r.contact_index] ?? contacts[0]!;
      return {
        id: r.id,
        idempotencyKey: r.idempotency_key,
        status: r.status,
        pageId: r.page_id,
        user: r.user,
        event: message.event,
        title: message.title,
        contact: contact.name,
        channel: contact.type,
        chain: contacts.map((c) => c.name),
        attempts: attempts
          .filter((a) => a.delivery_id === r.id)
          .map((a) => ({
            n: a.n,
            at: Number(a.at),
            contact: a.contact,
            channel: a.channel,
            destination: a.destination,
            outcome: a.outcome,
            statusCode: a.status_code,
            error: a.error,
            durationMs: a.duration_ms,
          })),
        lastError: r.last_error,
        sendAt: Number(r.send_at),
        nextAttemptAt: r.next_attempt_at === null ? null : Number(r.next_attempt_at),
        createdAt: Number(r.created_at),
        sentAt: r.sent_at === null ? null : Number(r.sent_at),
      };
    });
  }

  return {
    /** Newest first. */
    async list(filter: LogFilter = {}): Promise<DeliveryView[]> {
      let query = core.db
        .selectFrom('oncall_deliveries')
        .selectAll()
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(filter.limit ?? 100);
      if (filter.page) query = query.where('page_id', '=', filter.page);
      if (filter.user) query = query.where('user', '=', filter.user);
      if (filter.status) query = query.where('status', '=', filter.status);
      return views(await query.execute());
    },
    async get(id: string): Promise<DeliveryView | undefined> {
      const row = await core.db.selectFrom('oncall_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? (await views([row]))[0] : undefined;
    },
    /** In the order of `keys`. */
    async byKeys(keys: string[]): Promise<DeliveryView[]> {
      if (keys.length === 0) return [];
      const rows = await core.db.selectFrom('oncall_deliveries').selectAll().where('idempotency_key', 'in', keys).execute();
      rows.sort((a, b) => keys.indexOf(a.idempotency_key) - keys.indexOf(b.idempotency_key));
      return views(rows);
    },
  };
}

export type DeliveryLog = ReturnType<typeof createDeliveryLog>;
