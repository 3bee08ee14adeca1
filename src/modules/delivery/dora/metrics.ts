// The four DORA metrics from first-party facts, with the performance bands of the DORA State of
// DevOps report (2023 thresholds). Pure: facts in, numbers out.

export type Band = 'elite' | 'high' | 'medium' | 'low';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** An incident on the service within this long after a deployment counts as that deployment failing. */
export const INCIDENT_LINK_MS = DAY;

export interface RolloutFact {
  rolloutId: string;
  service: string;
  version: string;
  startedAt: number | null;
  finishedAt: number;
  outcome: 'succeeded' | 'aborted';
  isUndo: boolean;
  commitTime: number | null;
  releaseCreatedAt: number | null;
  undoneAt: number | null;
}

export interface IncidentFact {
  incidentId: string;
  service: string;
  rolloutId: string | null;
  openedAt: number;
  resolvedAt: number | null;
}

export interface DoraMetrics {
  deploymentFrequency: { deployments: number; perDay: number; perWeek: number; band: Band };
  leadTime: { samples: number; medianMs: number | null; p90Ms: number | null; band: Band | null };
  changeFailureRate: {
    finished: number;
    failures: number;
    ratio: number | null;
    byCause: { aborted: number; rolledBack: number; incident: number };
    band: Band | null;
  };
  timeToRestore: { samples: number; medianMs: number | null; band: Band | null };
}

/** Deploys per day: elite on demand (≥ 1/day), high ≥ 1/week, medium ≥ 1/month, else low. */
export function frequencyBand(perDay: number): Band {
  if (perDay >= 1) return 'elite';
  if (perDay >= 1 / 7) return 'high';
  if (perDay >= 1 / 30) return 'medium';
  return 'low';
}

/** Lead time: elite < 1 day, high < 1 week, medium < 1 month, else low. */
export function leadTimeBand(ms: number): Band {
  if (ms < DAY) return 'elite';
  if (ms < 7 * DAY) return 'high';
  if (ms < 30 * DAY) return 'medium';
  return 'low';
}

/** Change failure rate: elite ≤ 5%, high ≤ 10%, medium ≤ 15%, else low. */
export function failureRateBand(ratio: number): Band {
  if (ratio <= 0.05) return 'elite';
  if (ratio <= 0.1) return 'high';
  if (ratio <= 0.15) return 'medium';
  return 'low';
}

/** Time to restore: elite < 1 hour, high < 1 day, medium < 1 week, else low. */
export function restoreBand(ms: number): Band {
  if (ms < HOUR) return 'elite';
  if (ms < DAY) return 'high';
  if (ms < 7 * DAY) return 'medium';
  return 'low';
}

/** The q-quantile with linear interpolation between order statistics (median of two = their mean). */
export function quantile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Why a finished rollout counts as a failed change, and how long until service was restored (null: not yet). */
export function failureOf(
  r: RolloutFact,
  incidents: IncidentFact[],
): { cause: 'aborted' | 'rolledBack' | 'incident'; restoreMs: number | null } | null {
  if (r.outcome === 'aborted') {
    // The bad version took traffic from the rollout's start until the abort took it away.
    return { cause: 'aborted', restoreMs: r.finishedAt - (r.startedAt ?? r.finishedAt) };
  }
  if (r.undoneAt !== null) return { cause: 'rolledBack', restoreMs: Math.max(0, r.undoneAt - r.finishedAt) };
  const incident = incidents.find(
    (i) =>
      i.rolloutId === r.rolloutId ||
      (i.rolloutId === null && i.service === r.service && i.openedAt >= r.finishedAt && i.openedAt <= r.finishedAt + INCIDENT_LINK_MS),
  );
  if (incident) return { cause: 'incident', restoreMs: incident.resolvedAt === null ? null : incident.resolvedAt - incident.openedAt };
  return null;
}

/** The metrics over rollouts that finished inside a window of `days` days. */
export function doraMetrics(rollouts: RolloutFact[], incidents: IncidentFact[], days: number): DoraMetrics {
  const deployments = rollouts.filter((r) => r.outcome === 'succeeded' && !r.isUndo);
  const finished = rollouts.filter((r) => !r.isUndo);
  const leads = deployments.map((r) => Math.max(0, r.finishedAt - (r.commitTime ?? r.releaseCreatedAt ?? r.startedAt ?? r.finishedAt)));
  const byCause = { aborted: 0, rolledBack: 0, incident: 0 };
  const restores: number[] = [];
  for (const r of finished) {
    const failure = failureOf(r, incidents);
    if (!failure) continue;
    byCause[failure.cause]++;
    if (failure.restoreMs !== null) restores.push(failure.restoreMs);
  }
  const failures = byCause.aborted + byCause.rolledBack + byCause.incident;
  const perDay = days > 0 ? deployments.length / days : 0;
  const leadMedian = quantile(leads, 0.5);
  const ratio = finished.length ? failures / finished.length : null;
  const restoreMedian = quantile(restores, 0.5);
  return {
    deploymentFrequency: { deployments: deployments.length, perDay, perWeek: perDay * 7, band: frequencyBand(perDay) },
    leadTime: {
      samples: leads.length,
      medianMs: leadMedian,
      p90Ms: quantile(leads, 0.9),
      band: leadMedian === null ? null : leadTimeBand(leadMedian),
    },
    changeFailureRate: { finished: finished.length, failures, ratio, byCause, band: ratio === null ? null : failureRateBand(ratio) },
    timeToRestore: { samples: restores.length, medianMs: restoreMedian, band: restoreMedian === null ? null : restoreBand(restoreMedian) },
  };
}
