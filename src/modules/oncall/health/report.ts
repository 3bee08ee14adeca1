import { DateTime } from 'luxon';
import type { Executor } from '../../../core/db/database.js';
import type { CatalogApi } from '../../catalog/index.js';

/** Working hours for the off-hours count, read in each person's own zone. */
export const WORK_DAY = { from: 9, to: 18, days: [1, 2, 3, 4, 5] } as const;
/** Seed 001's targets, printed beside the measured values. */
export const TARGETS = { ackP95Ms: 5 * 60_000, falseAlarmRatio: 0.15 } as const;

export interface OncallReport {
  since: number;
  until: number;
  pages: number;
  acknowledged: number;
  mtta: { meanMs: number | null; p50Ms: number | null; p95Ms: number | null; targetP95Ms: number };
  mttr: { meanMs: number | null; p50Ms: number | null };
  /** Pages that went past their first step or round: nobody acknowledged in time. */
  escalationRate: number | null;
  /** Pages that resolved without anyone acknowledging: the closest measurable thing to a false alarm. */
  unacknowledgedResolveRate: number | null;
  falseAlarmTarget: number;
  people: { user: string; pages: number; perWeek: number; offHours: number; acknowledged: number }[];
  noisy: {
    title: string;
    service: string | null;
    pages: number;
    acknowledged: number;
    unacknowledgedResolves: number;
    escalated: number;
  }[];
}

const quantile = (sorted: number[], q: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : null;
const mean = (xs: number[]) => (xs.length ? Math.round(xs.reduce((a, b) => a + b, 0) / xs.length) : null);
const ratio = (n: number, d: number) => (d ? Math.round((n / d) * 1000) / 1000 : null);

/** The health of on-call over [since, until]: how fast people answer, how often, at what hours, and for what. */
export async function oncallReport(db: Executor, catalog: CatalogApi, since: number, until: number): Promise<OncallReport> {
  const pages = await db
    .selectFrom('oncall_pages')
    .selectAll()
    .where('triggered_at', '>=', since)
    .where('triggered_at', '<=', until)
    .execute();
  const ids = pages.map((p) => p.id);
  const log = ids.length
    ? await db
        .selectFrom('oncall_page_log')
        .select(['page_id', 'type', 'actor', 'data'])
        .where('page_id', 'in', ids)
        .where('type', 'in', ['acknowledged', 'escalated'])
        .execute()
    : [];
  const reached = ids.length ? await db.selectFrom('oncall_page_users').selectAll().where('page_id', 'in', ids).execute() : [];

  const ackTimes = log
    .filter((l) => l.type === 'acknowledged')
    .map((l) => (JSON.parse(l.data) as { afterMs?: number }).afterMs)
    .filter((v): v is number => typeof v === 'number')
    .sort((a, b) => a - b);
  const escalated = new Set(log.filter((l) => l.type === 'escalated').map((l) => l.page_id));
  const everAcked = new Set(log.filter((l) => l.type === 'acknowledged').map((l) => l.page_id));
  const resolveTimes = pages
    .filter((p) => p.resolved_at !== null)
    .map((p) => Number(p.resolved_at) - Number(p.triggered_at))
    .sort((a, b) => a - b);
  const unackedResolves = pages.filter((p) => p.status === 'resolved' && !everAcked.has(p.id));

  const weeks = Math.max(1, (until - since) / (7 * 24 * 3600_000));
  const zones = new Map<string, string>();
  const people = new Map<string, { pages: number; offHours: number; acknowledged: number }>();
  const ackBy = new Map(log.filter((l) => l.type === 'acknowledged').map((l) => [l.page_id, l.actor]));
  for (const r of reached) {
    if (!zones.has(r.user)) zones.set(r.user, (await catalog.getUser(r.user, db))?.spec.timeZone ?? 'UTC');
    const local = DateTime.fromMillis(Number(r.first_paged_at), { zone: zones.get(r.user)! });
    const off = !(WORK_DAY.days as readonly number[]).includes(local.weekday) || local.hour < WORK_DAY.from || local.hour >= WORK_DAY.to;
    const entry = people.get(r.user) ?? { pages: 0, offHours: 0, acknowledged: 0 };
    entry.pages++;
    if (off) entry.offHours++;
    const by = ackBy.get(r.page_id);
    if (by === r.user || by === `user:${r.user}`) entry.acknowledged++;
    people.set(r.user, entry);
  }

  const byAlert = new Map<string, OncallReport['noisy'][number]>();
  for (const p of pages) {
    const key = `${p.service ?? ''}\u0000${p.title}`;
    const entry = byAlert.get(key) ?? {
      title: p.title,
      service: p.service,
      pages: 0,
      acknowledged: 0,
      unacknowledgedResolves: 0,
      escalated: 0,
    };
    entry.pages++;
    if (everAcked.has(p.id)) entry.acknowledged++;
    if (p.status === 'resolved' && !everAcked.has(p.id)) entry.unacknowledgedResolves++;
    if (escalated.has(p.id)) entry.escalated++;
    byAlert.set(key, entry);
  }

  return {
    since,
    until,
    pages: pages.length,
    acknowledged: everAcked.size,
    mtta: { meanMs: mean(ackTimes), p50Ms: quantile(ackTimes, 0.5), p95Ms: quantile(ackTimes, 0.95), targetP95Ms: TARGETS.ackP95Ms },
    mttr: { meanMs: mean(resolveTimes), p50Ms: quantile(resolveTimes, 0.5) },
    escalationRate: ratio(escalated.size, pages.length),
    unacknowledgedResolveRate: ratio(unackedResolves.length, pages.length),
    falseAlarmTarget: TARGETS.falseAlarmRatio,
    people: [...people.entries()]
      .map(([user, e]) => ({ user, ...e, perWeek: Math.round((e.pages / weeks) * 10) / 10 }))
      .sort((a, b) => b.pages - a.pages || a.user.localeCompare(b.user)),
    // Most pages first; among equals, the ones people least often acted on.
    noisy: [...byAlert.values()]
      .sort((a, b) => b.pages - a.pages || a.acknowledged / a.pages - b.acknowledged / b.pages || a.title.localeCompare(b.title))
      .slice(0, 20),
  };
}
