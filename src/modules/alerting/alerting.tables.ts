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

/** The intake key of an Integration: generated on create, rotatable, shown to admins for the URL. */
export interface AlertingIntegrationKeysTable {
  integration: string;
  key: string;
  created_at: number;
  rotated_at: number | null;
}

export type GroupStatus = 'open' | 'acknowledged' | 'resolved';
export type GroupSource = 'rule' | 'alertmanager' | 'prometheus' | 'pagerduty' | 'generic';

/** An alert group: what one notification is about. Alerts with the same key share one while it is not resolved. */
export interface AlertingGroupsTable {
  id: string;
  /** `<source or integration>:<key>`; unique among groups that are not resolved. */
  group_key: string;
  source: GroupSource;
  integration: string | null;
  service: string | null;
  title: string;
  group_labels: string;
  status: GroupStatus;
  opened_at: number;
  updated_at: number;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  resolved_at: number | null;
  resolved_by: string | null;
  /** Every alert event received for the group, repeats included (dedup count = events − alerts). */
  events: number;
}

export interface AlertingGroupAlertsTable {
  group_id: string;
  fingerprint: string;
  status: 'firing' | 'resolved';
  labels: string;
  annotations: string;
  starts_at: number;
  ends_at: number | null;
  updated_at: number;
  /** How many times this alert was received. */
  received: number;
}

/** A silence: alerts matching every matcher notify nobody between starts_at and ends_at. */
export interface AlertingSilencesTable {
  id: string;
  /** JSON: [{ name, value, isRegex, isEqual }] as in Alertmanager's API. */
  matchers: string;
  starts_at: number;
  ends_at: number;
  created_by: string;
  comment: string;
  created_at: number;
  /** Set when expired by hand before ends_at. */
  expired_at: number | null;
}

/** Notification bookkeeping per group: when it last notified and with what. */
export interface AlertingGroupNotifyTable {
  group_id: string;
  receiver: string;
  last_notified_at: number | null;
  /** Fingerprints of the firing alerts at the last notification: a change re-notifies after group_interval. */
  last_firing: string;
  last_status: string | null;
  notifications: number;
  suppressed: number;
}

declare module '../../core/db/schema.js' {
  interface Schema {
    alerting_alerts: AlertingAlertsTable;
    alerting_rule_state: AlertingRuleStateTable;
    alerting_integration_keys: AlertingIntegrationKeysTable;
    alerting_groups: AlertingGroupsTable;
    alerting_group_alerts: AlertingGroupAlertsTable;
    alerting_silences: AlertingSilencesTable;
    alerting_group_notify: AlertingGroupNotifyTable;
  }
}
