import type { FieldIssue } from '../../../core/errors.js';
import type { IncomingAlert, IncomingGroup } from '../groups/groups.service.js';
import { isObject, labelMap, labelsFingerprint, rfc3339 } from './parse-support.js';

/**
 * Alertmanager's webhook (version 4): one notification per Alertmanager group. The group is
 * keyed by `groupKey`; each alert by its `fingerprint`; alerts with status resolved resolve just
 * themselves.
 */
export function parseAlertmanagerWebhook(
  body: unknown,
  ctx: { integration: string; service: string; now: number },
): { group?: IncomingGroup; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  if (!isObject(body)) return { issues: [{ pointer: '', message: 'must be an Alertmanager webhook JSON object' }] };
  if (body.version !== '4')
    issues.push({ pointer: '/version', message: `must be "4" (Alertmanager webhook version), got ${JSON.stringify(body.version)}` });
  if (typeof body.groupKey !== 'string' || !body.groupKey) issues.push({ pointer: '/groupKey', message: 'must be a non-empty string' });
  if (!Array.isArray(body.alerts)) issues.push({ pointer: '/alerts', message: 'must be an array' });
  const groupLabels = labelMap(body.groupLabels, '/groupLabels', issues);
  const commonLabels = labelMap(body.commonLabels, '/commonLabels', issues);
  const commonAnnotations = labelMap(body.commonAnnotations, '/commonAnnotations', issues);
  const alerts: IncomingAlert[] = [];
  for (const [i, a] of (Array.isArray(body.alerts) ? body.alerts : []).entries()) {
    const at = `/alerts/${i}`;
    if (!isObject(a)) {
      issues.push({ pointer: at, message: 'must be an object' });
      continue;
    }
    if (a.status !== 'firing' && a.status !== 'resolved')
      issues.push({ pointer: `${at}/status`, message: 'must be "firing" or "resolved"' });
    const labels = labelMap(a.labels, `${at}/labels`, issues);
    const annotations = labelMap(a.annotations, `${at}/annotations`, issues);
    const startsAt = rfc3339(a.startsAt, `${at}/startsAt`, issues);
    const endsAt = rfc3339(a.endsAt, `${at}/endsAt`, issues);
    if (a.fingerprint !== undefined && typeof a.fingerprint !== 'string')
      issues.push({ pointer: `${at}/fingerprint`, message: 'must be a string' });
    alerts.push({
      fingerprint: typeof a.fingerprint === 'string' && a.fingerprint ? a.fingerprint : labelsFingerprint(labels),
      status: a.status === 'resolved' ? 'resolved' : 'firing',
      labels,
      annotations,
      startsAt: startsAt ?? ctx.now,
      endsAt: a.status === 'resolved' ? endsAt : null,
    });
  }
  if (issues.length) return { issues };
  const name = commonLabels.alertname ?? groupLabels.alertname ?? alerts[0]?.labels.alertname ?? 'alert';
  const title =
    commonAnnotations.summary ?? commonAnnotations.description ?? `${name} (${alerts.length} alert${alerts.length === 1 ? '' : 's'})`;
  return {
    issues,
    group: {
      source: 'alertmanager',
      integration: ctx.integration,
      key: body.groupKey as string,
      service: commonLabels.service ?? ctx.service,
      title,
      groupLabels,
      alerts,
    },
  };
}
