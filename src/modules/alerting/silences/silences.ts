import type { Executor } from '../../../core/db/database.js';
import type { AlertingSilencesTable } from '../alerting.tables.js';
import { formatMatcher, matchersPredicate, type SilenceMatcher } from './matchers.js';

export type SilenceState = 'pending' | 'active' | 'expired';

export interface SilenceView {
  id: string;
  matchers: SilenceMatcher[];
  /** The matchers as text, e.g. `alertname="HighErrors" service=~"feed.*"`. */
  selector: string;
  startsAt: number;
  endsAt: number;
  createdBy: string;
  comment: string;
  state: SilenceState;
}

/** Silences need no timer to expire: their state is a function of the time. */
export function silenceState(s: Pick<AlertingSilencesTable, 'starts_at' | 'ends_at' | 'expired_at'>, now: number): SilenceState {
  if (s.expired_at !== null || Number(s.ends_at) <= now) return 'expired';
  return Number(s.starts_at) > now ? 'pending' : 'active';
}

export function silenceView(s: AlertingSilencesTable, now: number): SilenceView {
  const matchers = JSON.parse(s.matchers) as SilenceMatcher[];
  return {
    id: s.id,
    matchers,
    selector: matchers.map(formatMatcher).join(' '),
    startsAt: Number(s.starts_at),
    endsAt: Number(s.expired_at ?? s.ends_at),
    createdBy: s.created_by,
    comment: s.comment,
    state: silenceState(s, now),
  };
}

/** The active silences as predicates over an alert's labels, with their ids. */
export async function activeSilences(
  ex: Executor,
  now: number,
): Promise<Array<{ id: string; matches: (labels: Record<string, string>) => boolean }>> {
  const rows = await ex
    .selectFrom('alerting_silences')
    .selectAll()
    .where('ends_at', '>', now)
    .where('starts_at', '<=', now)
    .where('expired_at', 'is', null)
    .execute();
  return rows.map((s) => ({ id: s.id, matches: matchersPredicate(JSON.parse(s.matchers) as SilenceMatcher[]) }));
}
