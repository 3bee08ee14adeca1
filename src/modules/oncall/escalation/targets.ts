import { DateTime } from 'luxon';
import type { Executor } from '../../../core/db/database.js';
import type { CatalogApi, Contact } from '../../catalog/index.js';
import type { SchedulesApi } from '../contracts.js';
import { type EscalationPolicySpec, type Target, WEEKDAYS } from './policy.schema.js';

/** Who one escalation step reaches: people (by user name) and bare webhooks. */
export interface StepAudience {
  users: string[];
  webhooks: Contact[];
  /** Targets that reached nobody (a schedule gap, an empty team), for the page's log. */
  empty: string[];
}

/**
 * Resolves a step's targets at `now`. Round-robin advances a per-team counter in the same
 * transaction, so each page takes the next member even across replicas.
 */
export async function resolveStep(
  deps: { catalog: CatalogApi; schedules: SchedulesApi },
  tx: Executor,
  targets: Target[],
  now: number,
  options: { peek?: boolean } = {},
): Promise<StepAudience> {
  const users = new Set<string>();
  const webhooks: Contact[] = [];
  const empty: string[] = [];
  for (const [i, target] of targets.entries()) {
    if ('user' in target) {
      users.add(target.user);
    } else if ('schedule' in target) {
      const who =
        target.who === 'next'
          ? ((await deps.schedules.nextOnCall(target.schedule, now, tx))?.users ?? [])
          : await deps.schedules.onCall(target.schedule, now, tx);
      if (who.length === 0) empty.push(`schedule ${target.schedule}`);
      for (const u of who) users.add(u);
    } else if ('team' in target) {
      const members = (await deps.catalog.getTeam(target.team, tx))?.spec.members ?? [];
      if (members.length === 0) empty.push(`team ${target.team}`);
      else if (target.mode === 'round-robin') users.add(members[await nextInTurn(tx, target.team, members.length, options.peek)]!);
      else for (const m of members) users.add(m);
    } else {
      webhooks.push({ name: `webhook-${i}`, type: 'webhook', url: target.webhook });
    }
  }
  return { users: [...users], webhooks, empty };
}

/** The member whose turn it is; `peek` (a preview) leaves the turn where it is. */
async function nextInTurn(tx: Executor, team: string, size: number, peek = false): Promise<number> {
  const row = await tx.selectFrom('oncall_round_robin').select('next_index').where('team', '=', team).executeTakeFirst();
  const index = (row?.next_index ?? 0) % size;
  if (peek) return index;
  if (row)
    await tx
      .updateTable('oncall_round_robin')
      .set({ next_index: index + 1 })
      .where('team', '=', team)
      .execute();
  else
    await tx
      .insertInto('oncall_round_robin')
      .values({ team, next_index: index + 1 })
      .execute();
  return index;
}

/**
 * Low-urgency pages wait for working hours: the first instant at or after `now` inside them
 * (computed in the policy's zone, so DST moves nothing).
 */
export function workingHoursStart(hours: NonNullable<EscalationPolicySpec['workingHours']>, now: number): number {
  const days = new Set(hours.days.map((d) => WEEKDAYS.indexOf(d) + 1));
  const at = (day: DateTime, clock: string) => {
    const [h, m] = clock.split(':').map(Number) as [number, number];
    return day.startOf('day').plus({ hours: h, minutes: m });
  };
  const start = DateTime.fromMillis(now, { zone: hours.timeZone });
  for (let i = 0; i < 8; i++) {
    const day = start.plus({ days: i });
    if (!days.has(day.weekday)) continue;
    const from = at(day, hours.from);
    const to = at(day, hours.to);
    if (now < to.toMillis()) return Math.max(now, from.toMillis());
  }
  return now;
}
