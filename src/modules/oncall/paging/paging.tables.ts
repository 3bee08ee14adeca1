export type PageStatus = 'triggered' | 'acknowledged' | 'resolved';

export interface OncallPagesTable {
  id: string;
  /** One open page per key (e.g. `alert-group:alg_…`): a repeat trigger finds it instead of paging again. */
  dedup_key: string | null;
  source: 'alert-group' | 'manual';
  group_id: string | null;
  service: string | null;
  /** The escalation policy it runs; null for a page sent straight to one user. */
  policy: string | null;
  /** Manual page to one user (`opsdeck page --user`). */
  direct_user: string | null;
  title: string;
  summary: string | null;
  urgency: 'high' | 'low';
  status: PageStatus;
  /** The step (0-based) notified last; the escalation job moves on to the next. */
  step: number;
  /** Which pass over the steps (0-based; `repeat` allows more). */
  round: number;
  /** 1 + how many times an acknowledged page re-triggered: part of every delivery's idempotency key. */
  cycle: number;
  triggered_at: number;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  resolved_at: number | null;
  resolved_by: string | null;
  /** JSON ChangeSummary[]: what changed on the service before the page. */
  changes: string;
  created_by: string;
  updated_at: number;
}

/** Everything that happened to a page, in order: the page's timeline and the on-call report's source. */
export interface OncallPageLogTable {
  id: string;
  page_id: string;
  at: number;
  type: string;
  actor: string | null;
  /** JSON details (step, round, users, reason). */
  data: string;
}

/** Who a page reached and when first: pages per person, off-hours pages. */
export interface OncallPageUsersTable {
  page_id: string;
  user: string;
  first_paged_at: number;
  step: number;
}

/** Round-robin position per team target. */
export interface OncallRoundRobinTable {
  team: string;
  next_index: number;
}

export interface OncallSecretsTable {
  purpose: string;
  /** base64 of 32 random bytes. */
  value: string;
  created_at: number;
}

declare module '../../../core/db/schema.js' {
  interface Schema {
    oncall_pages: OncallPagesTable;
    oncall_page_log: OncallPageLogTable;
    oncall_page_users: OncallPageUsersTable;
    oncall_round_robin: OncallRoundRobinTable;
    oncall_secrets: OncallSecretsTable;
  }
}
