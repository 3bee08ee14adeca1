import type { FieldIssue } from '../../../core/errors.js';
import type { IncomingAlert, IncomingGroup } from '../groups/groups.service.js';
import { groupOf, isObject, labelMap, labelsFingerprint, rfc3339 } from './parse-support.js';

/**
 * Prometheus' postable alerts (`POST /api/v2/alerts`, the Alertmanager API Prometheus sends to):
 * an array of {labels, annotations, startsAt, endsAt, generatorURL}. An alert whose endsAt has
 * passed is resolved; one that is not sent again by its endsAt resolves then (Prometheus resends
 * firing alerts well before). Grouped by the integration's groupBy labels (default alertname).
 */
export function parsePostableAlerts(
  body: unknown,
  ctx: { integration: string; service: string; groupBy: string[]; now: number },
): { groups: IncomingGroup[]; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  if (!Array.isArray(body)) return { groups: [], issues: [{ pointer: '', message: 'must be a JSON array of alerts' }] };
  const groups = new Map<string, IncomingGroup>();
  for (const [i, a] of body.entries()) {
    const at = `/${i}`;
    if (!isObject(a)) {
      issues.push({ pointer: at, message: 'must be an object' });
      continue;
    }
    const labels = labelMap(a.labels, `${at}/labels`, issues);
    if (!Object.keys(labels).length) issues.push({ pointer: `${at}/labels`, message: 'must have at least one label' });
    const annotations = labelMap(a.annotations, `${at}/annotations`, issues);
    const startsAt = rfc3339(a.startsAt, `${at}/startsAt`, issues) ?? ctx.now;
    const endsAt = rfc3339(a.endsAt, `${at}/endsAt`, issues);
    if (endsAt !== null && endsAt < startsAt) issues.push({ pointer: `${at}/endsAt`, message: 'must not be before startsAt' });
    const alert: IncomingAlert = {
      fingerprint: labelsFingerprint(labels),
      status: endsAt !== null && endsAt <= ctx.now ? 'resolved' : 'firing',
      labels,
      annotations,
      startsAt,
      endsAt,
    };
    const { key, groupLabels } = groupOf(labels, ctx.groupBy);
    let group = groups.get(key);
    if (!group) {
      group = {
        source: 'prometheus',
        integration: ctx.integration,
        key,
        service: labels.service ?? ctx.service,
        title: annotations.summary ?? labels.alertname ?? 'alert',
        groupLabels,
        alerts: [],
      };
      groups.set(key, group);
    }
    group.alerts.push(alert);
  }
  return { groups: issues.length ? [] : [...groups.values()], issues };
}
