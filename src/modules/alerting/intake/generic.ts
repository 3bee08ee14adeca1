import type { FieldIssue } from '../../../core/errors.js';
import type { IncomingGroup } from '../groups/groups.service.js';
import { groupOf, isObject, labelMap, labelsFingerprint, rfc3339 } from './parse-support.js';

/**
 * The generic JSON webhook (documented in docs/alerting.md): `{ alerts: [{ status, title,
 * key?, labels?, annotations?, startsAt? }] }` or one such alert. `key` is the dedup key (default:
 * a digest of the labels and title); alerts are grouped by the integration's groupBy labels.
 */
export function parseGenericWebhook(
  body: unknown,
  ctx: { integration: string; service: string; groupBy: string[]; now: number },
): { groups: IncomingGroup[]; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  const list = isObject(body) && Array.isArray(body.alerts) ? body.alerts : isObject(body) ? [body] : undefined;
  const base = isObject(body) && Array.isArray(body.alerts) ? '/alerts' : '';
  if (!list) return { groups: [], issues: [{ pointer: '', message: 'must be an alert object or { "alerts": [...] }' }] };
  if (!list.length) issues.push({ pointer: '/alerts', message: 'must not be empty' });
  const groups = new Map<string, IncomingGroup>();
  for (const [i, a] of list.entries()) {
    const at = base ? `${base}/${i}` : '';
    if (!isObject(a)) {
      issues.push({ pointer: at, message: 'must be an object' });
      continue;
    }
    if (a.status !== 'firing' && a.status !== 'resolved')
      issues.push({ pointer: `${at}/status`, message: 'must be "firing" or "resolved"' });
    if (typeof a.title !== 'string' || !a.title) issues.push({ pointer: `${at}/title`, message: 'must be a non-empty string' });
    if (a.key !== undefined && (typeof a.key !== 'string' || !a.key))
      issues.push({ pointer: `${at}/key`, message: 'must be a non-empty string' });
    const given = labelMap(a.labels, `${at}/labels`, issues);
    const annotations = labelMap(a.annotations, `${at}/annotations`, issues);
    const startsAt = rfc3339(a.startsAt, `${at}/startsAt`, issues) ?? ctx.now;
    if (issues.length) continue;
    const title = a.title as string;
    // The title is the alert's name, as `alertname` is for Prometheus alerts (silences match it).
    const labels: Record<string, string> = { alertname: title, ...given };
    const { key, groupLabels } = groupOf(labels, ctx.groupBy);
    let group = groups.get(key);
    if (!group) {
      group = {
        source: 'generic',
        integration: ctx.integration,
        key,
        service: labels.service ?? ctx.service,
        title,
        groupLabels,
        alerts: [],
      };
      groups.set(key, group);
    }
    group.alerts.push({
      fingerprint: typeof a.key === 'string' ? a.key : labelsFingerprint(labels),
      status: a.status as 'firing' | 'resolved',
      labels,
      annotations: { summary: title, ...annotations },
      startsAt,
      endsAt: null,
    });
  }
  return { groups: issues.length ? [] : [...groups.values()], issues };
}
