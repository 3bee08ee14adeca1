/** Overrides and swaps are runtime data, not spec: a GitOps apply of the Schedule must not clobber them. */
export interface OncallScheduleOverridesTable {
  id: string;
  schedule: string;
  user: string;
  starts_at: number;
  ends_at: number;
  reason: string | null;
  created_by: string;
  created_at: number;
}

export interface OncallScheduleSwapsTable {
  id: string;
  schedule: string;
  from_user: string;
  to_user: string;
  starts_at: number;
  ends_at: number;
  reason: string | null;
  created_by: string;
  created_at: number;
}

/** Gaps already announced, so the daily check says each one once. */
export interface OncallScheduleGapsTable {
  schedule: string;
  starts_at: number;
  ends_at: number;
  reported_at: number;
}

declare module '../../../core/db/schema.js' {
  interface Schema {
    oncall_schedule_overrides: OncallScheduleOverridesTable;
    oncall_schedule_swaps: OncallScheduleSwapsTable;
    oncall_schedule_gaps: OncallScheduleGapsTable;
  }
}
