import { notFound } from '../../../core/errors.js';
import type { DeliveryContext } from '../contracts.js';
import { finishedRollouts, incidentsBetween } from './dora.store.js';
import { type DoraMetrics, doraMetrics } from './metrics.js';

export interface DoraReport {
  since: number;
  until: number;
  days: number;
  overall: DoraMetrics;
  services: ({ service: string } & DoraMetrics)[];
}

/** The metrics over rollouts finished in [from, to], per service and overall. */
export async function doraReport(ctx: DeliveryContext, window: { from: number; to: number; service?: string }): Promise<DoraReport> {
  const { from, to, service } = window;
  if (service !== undefined && !(await ctx.catalog.getService(service))) {
    throw notFound(`Service '${service}' does not exist`, { service });
  }
  const db = ctx.core.db;
  const rollouts = await finishedRollouts(db, from, to, service);
  const incidents = await incidentsBetween(db, from, to, service);
  const days = (to - from) / 86_400_000;
  const names = [...new Set([...rollouts.map((r) => r.service), ...(service ? [service] : [])])].sort();
  return {
    since: from,
    until: to,
    days,
    overall: doraMetrics(rollouts, incidents, days),
    services: names.map((name) => ({
      service: name,
      ...doraMetrics(
        rollouts.filter((r) => r.service === name),
        incidents.filter((i) => i.service === name),
        days,
      ),
    })),
  };
}
