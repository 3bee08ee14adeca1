import type { FieldIssue } from '../../../core/errors.js';
import type { KindDefinition } from '../../../core/resources/resources.js';
import { parseMatcher } from '../silences/matchers.js';
import {
  ALERT_ROUTING_KIND,
  AlertRoutingSpec,
  MAINTENANCE_KIND,
  MaintenanceWindowSpec,
  ROUTING_NAME,
  type RouteNode,
} from './routing.schema.js';

function matcherIssues(texts: string[] | undefined, pointer: string, issues: FieldIssue[]): void {
  for (const [i, t] of (texts ?? []).entries()) {
    const m = parseMatcher(t);
    if (typeof m === 'string') issues.push({ pointer: `${pointer}/${i}`, message: m });
  }
}

function routeIssues(node: RouteNode, pointer: string, issues: FieldIssue[]): void {
  matcherIssues(node.matchers, `${pointer}/matchers`, issues);
  for (const [i, child] of (node.routes ?? []).entries()) routeIssues(child, `${pointer}/routes/${i}`, issues);
}

/** `AlertRouting`: the routing tree and inhibition rules (one resource, named `default`). */
export function alertRoutingKind(): KindDefinition<AlertRoutingSpec> {
  return {
    kind: ALERT_ROUTING_KIND,
    module: 'alerting',
    description:
      "Alertmanager-style routing tree (receiver, group_wait/interval, repeat_interval per matcher branch) and inhibition rules; one resource named 'default'.",
    spec: AlertRoutingSpec,
    validate(doc) {
      const issues: FieldIssue[] = [];
      if (doc.metadata.name !== ROUTING_NAME)
        issues.push({ pointer: '/metadata/name', message: `there is one routing tree: name it '${ROUTING_NAME}'` });
      routeIssues(doc.spec.route, '/spec/route', issues);
      for (const [i, r] of (doc.spec.inhibitRules ?? []).entries()) {
        matcherIssues(r.sourceMatchers, `/spec/inhibitRules/${i}/sourceMatchers`, issues);
        matcherIssues(r.targetMatchers, `/spec/inhibitRules/${i}/targetMatchers`, issues);
        if (!r.sourceMatchers.length)
          issues.push({ pointer: `/spec/inhibitRules/${i}/sourceMatchers`, message: 'needs at least one matcher' });
        if (!r.targetMatchers.length)
          issues.push({ pointer: `/spec/inhibitRules/${i}/targetMatchers`, message: 'needs at least one matcher' });
      }
      return issues;
    },
  };
}

/** `MaintenanceWindow`: no notifications for these services between start and end. */
export function maintenanceKind(): KindDefinition<MaintenanceWindowSpec> {
  return {
    kind: MAINTENANCE_KIND,
    module: 'alerting',
    description: 'A time window in which alert groups on these services notify nobody (they are still recorded).',
    spec: MaintenanceWindowSpec,
    async validate(doc, lookup) {
      const issues: FieldIssue[] = [];
      const start = Date.parse(doc.spec.start);
      const end = Date.parse(doc.spec.end);
      if (Number.isNaN(start)) issues.push({ pointer: '/spec/start', message: `"${doc.spec.start}" is not an ISO-8601 time` });
      if (Number.isNaN(end)) issues.push({ pointer: '/spec/end', message: `"${doc.spec.end}" is not an ISO-8601 time` });
      else if (!Number.isNaN(start) && end <= start) issues.push({ pointer: '/spec/end', message: 'must be after start' });
      for (const [i, s] of doc.spec.services.entries()) {
        if (s !== '*' && !(await lookup('Service', s)))
          issues.push({ pointer: `/spec/services/${i}`, message: `Service '${s}' does not exist` });
      }
      return issues;
    },
    columns: [
      { header: 'SERVICES', value: (d) => d.spec.services.join(',') },
      { header: 'START', value: (d) => d.spec.start },
      { header: 'END', value: (d) => d.spec.end },
    ],
  };
}
