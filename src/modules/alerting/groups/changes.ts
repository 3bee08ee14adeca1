import type { Core } from '../../../core/module.js';
import type { CatalogApi } from '../../catalog/index.js';

/** How far back "what changed" looks from when a group opened (configurable per request). */
export const WHAT_CHANGED_WINDOW_MS = 30 * 60_000;

export interface ChangeView {
  at: number;
  type: string;
  service: string | null;
  subject: string | null;
  actor: string | null;
  data: unknown;
}

/**
 * What changed on `service` and everything it depends on in the window before `openedAt` (and
 * until now while the group is open), newest first: rollout steps, applies, restarts, weight
 * changes, faults. Read from the change timeline at read time, so late-arriving changes show.
 */
export async function whatChanged(
  core: Core,
  catalog: CatalogApi,
  input: { service: string | null; openedAt: number; until: number; windowMs?: number },
): Promise<ChangeView[]> {
  if (!input.service) return [];
  let services = [input.service];
  try {
    services = [input.service, ...(await catalog.dependencies(input.service))];
  } catch {
    // A service the catalog does not know: its own changes only.
  }
  const since = input.openedAt - (input.windowMs ?? WHAT_CHANGED_WINDOW_MS);
  const lists = await Promise.all(
    services.map((service) => core.events.list({ service, since, changesOnly: true, newestFirst: true, limit: 200 })),
  );
  return lists
    .flat()
    .filter((e) => e.at <= input.until)
    .sort((a, b) => b.at - a.at || b.seq - a.seq)
    .slice(0, 200)
    .map((e) => ({ at: e.at, type: e.type, service: e.service, subject: e.subject, actor: e.actor, data: e.data }));
}
