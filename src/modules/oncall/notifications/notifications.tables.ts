export type DeliveryStatus = 'queued' | 'sent' | 'failed' | 'cancelled';

/** One notification to one person (or bare webhook) and its fallback chain of contacts. */
export interface OncallDeliveriesTable {
  id: string;
  /** Unique: enqueueing the same key again does nothing. */
  idempotency_key: string;
  page_id: string | null;
  user: string | null;
  /** JSON Contact[]: tried in order, the next after a permanent failure. */
  contacts: string;
  /** Which contact is being tried now. */
  contact_index: number;
  /** JSON NotificationMessage. */
  message: string;
  status: DeliveryStatus;
  /** Attempts on the current contact. */
  attempts: number;
  last_error: string | null;
  send_at: number;
  created_at: number;
  updated_at: number;
  sent_at: number | null;
}

/** The delivery log: every attempt on every contact. */
export interface OncallDeliveryAttemptsTable {
  delivery_id: string;
  n: number;
  at: number;
  channel: string;
  destination: string;
  outcome: 'sent' | 'retry' | 'permanent' | 'breaker-open';
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
