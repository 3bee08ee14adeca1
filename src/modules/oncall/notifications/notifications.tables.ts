/** `queued` until it is sent, every contact in the chain has failed, or the page stopped it first. */
export type DeliveryStatus = 'queued' | 'sent' | 'failed' | 'cancelled';
export const DELIVERY_STATUSES: DeliveryStatus[] = ['queued', 'sent', 'failed', 'cancelled'];

/**
 * What one attempt came to. `retry` and `breaker-open` are followed by another attempt on the same
 * contact; `permanent` and `exhausted` (the last allowed attempt failed) by the next contact, if any.
 */
export type AttemptOutcome = 'sent' | 'retry' | 'breaker-open' | 'permanent' | 'exhausted';

/** One notification to one person (or a bare webhook) and its fallback chain of contacts. */
export interface OncallDeliveriesTable {
  id: string;
  /** Unique: enqueueing the same key again does nothing. */
  idempotency_key: string;
  page_id: string | null;
  user: string | null;
  /** JSON Contact[]: tried in order, the next after a permanent failure or exhausted retries. */
  contacts: string;
  /** Which contact is being tried now (or was used, once final). */
  contact_index: number;
  /** JSON NotificationMessage. */
  message: string;
  status: DeliveryStatus;
  /** Attempts on the current contact. */
  attempts: number;
  last_error: string | null;
  /** When it was asked to go out. */
  send_at: number;
  /** When the next attempt is due; null once final. */
  next_attempt_at: number | null;
  created_at: number;
  updated_at: number;
  sent_at: number | null;
}

/** The delivery log: every attempt on every contact, numbered per delivery. */
export interface OncallDeliveryAttemptsTable {
  delivery_id: string;
  n: number;
  at: number;
  contact_index: number;
  /** The contact's name and type at the time (the user's contacts may change later). */
  contact: string;
  channel: string;
  destination: string;
  outcome: AttemptOutcome;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

declare module '../../../core/db/schema.js' {
  interface Schema {
    oncall_deliveries: OncallDeliveriesTable;
    oncall_delivery_attempts: OncallDeliveryAttemptsTable;
  }
}
