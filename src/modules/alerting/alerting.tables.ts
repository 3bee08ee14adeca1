/**
 * The alerting module's tables. An alert is one series of one rule's result (Prometheus'
 * "alert instance"); its row holds the state machine, so a restart neither loses a pending
 * `for` nor re-fires a firing alert.
 */

export type AlertState = 'pending' | 'firing' | 'resolved';

export interface AlertingAlertsTable {
  id: string;
  rule: string;
  /** Digest of the alert's labels within its rule. */
  fingerprint: string;
  labels: string;
  annotations: string;
  state: AlertState;
  value: number | null;
  /** When the expression first returned this series (the `for` clock). */
  active_at: number;
  fired_at: number | null;
  resolved_at: number | null;
  /** Last evaluation that returned this series (keep_firing_for counts from it). */
  last_seen_at: number;
  updated_at: number;
}

/** Per rule group: when it last ran and how that went. */
export interface AlertingRuleStateTable {
  rule: string;
  last_eval_at: number;
  last_duration_ms: number;
  health: 'ok' | 'err' | 'unknown';
  last_error: string | null;
}

declare module '../../core/db/schema.js' {
  interface Schema {
    alerting_alerts: AlertingAlertsTable;
    alerting_rule_state: AlertingRuleStateTable;
  }
}
