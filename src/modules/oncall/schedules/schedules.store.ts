import type { Executor } from '../../../core/db/database.js';
import type { Override, Swap } from './render.js';

/** Overrides and swaps of a schedule that touch [from, to). */
export async function loadExtras(
  db: Executor,
  schedule: string,
  from: number,
  to: number,
): Promise<{ overrides: Override[]; swaps: Swap[] }> {
  const overrides = await db
    .selectFrom('oncall_schedule_overrides')
    .selectAll()
    .where('schedule', '=', schedule)
    .where('ends_at', '>', from)
    .where('starts_at', '<', to)
    .execute();
  const swaps = await db
    .selectFrom('oncall_schedule_swaps')
    .selectAll()
    .where('schedule', '=', schedule)
    .where('ends_at', '>', from)
    .where('starts_at', '<', to)
    .execute();
  return {
    overrides: overrides.map((o) => ({
      id: o.id,
      user: o.user,
      from: Number(o.starts_at),
      to: Number(o.ends_at),
      createdAt: Number(o.created_at),
    })),
    swaps: swaps.map((s) => ({ id: s.id, fromUser: s.from_user, toUser: s.to_user, start: Number(s.starts_at), end: Number(s.ends_at) })),
  };
}
