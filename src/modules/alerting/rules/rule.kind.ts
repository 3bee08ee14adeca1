import type { FieldIssue } from '../../../core/errors.js';
import type { KindDefinition } from '../../../core/resources/resources.js';
import { checkPromql, METRICS_PROVIDER_KIND } from '../../telemetry/index.js';
import { validateAnomalySpec } from '../anomaly/index.js';
import { ALERT_RULE_KIND, AlertRuleSpec } from './rule.schema.js';

/** The `AlertRule` kind: one rule group; expressions must parse and anomaly specs must be valid at apply time. */
export function alertRuleKind(): KindDefinition<AlertRuleSpec> {
  return {
    kind: ALERT_RULE_KIND,
    module: 'alerting',
    description: 'A group of alert rules (Prometheus rule-group shape), with anomaly detection as a rule type.',
    spec: AlertRuleSpec,
    refs: (spec) => (spec.provider ? [{ kind: METRICS_PROVIDER_KIND, name: spec.provider, pointer: '/spec/provider' }] : []),
    async validate(doc, lookup) {
      const issues: FieldIssue[] = [];
      if (doc.spec.service && !(await lookup('Service', doc.spec.service))) {
        issues.push({ pointer: '/spec/service', message: `Service '${doc.spec.service}' does not exist` });
      }
      for (const [i, rule] of doc.spec.rules.entries()) {
        const at = `/spec/rules/${i}`;
        // Queries for a remote provider are Prometheus' to judge; ours must parse here.
        if (!doc.spec.provider) {
          const problem = checkPromql(rule.expr);
          if (problem) {
            issues.push({
              pointer: `${at}/expr`,
              message: problem.position === undefined ? problem.message : `${problem.message} (at character ${problem.position + 1})`,
            });
          }
        }
        if (rule.anomaly) {
          const checked = validateAnomalySpec(rule.anomaly);
          if ('issues' in checked)
            for (const issue of checked.issues) issues.push({ pointer: `${at}/anomaly${issue.path}`, message: issue.message });
        }
      }
      return issues;
    },
    service: (doc) => doc.spec.service,
    columns: [
      { header: 'RULES', value: (d) => String(d.spec.rules.length) },
      { header: 'INTERVAL', value: (d) => d.spec.interval ?? '15s' },
    ],
  };
}
