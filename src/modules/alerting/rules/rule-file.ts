import type { FieldIssue } from '../../../core/errors.js';
import { ALERT_RULE_KIND } from './rule.schema.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A Prometheus rule-group name as a resource name: lower-case, `-` for anything else, at most 63. */
export function resourceName(group: string): string {
  const name = group
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return name || 'rules';
}

const RULE_KEYS = new Set(['alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']);

/**
 * A Prometheus rule file (`groups: [{ name, interval, rules: [...] }]`) as AlertRule documents,
 * one per group, rules kept as they are. Recording rules are refused by pointer: the built-in
 * store does not evaluate them (query the expression directly, or keep them in Prometheus).
 */
export function ruleFileDocuments(
  file: unknown,
  options: { service?: string; provider?: string } = {},
): { documents: unknown[]; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  if (!isObject(file) || !Array.isArray(file.groups))
    return { documents: [], issues: [{ pointer: '/groups', message: 'a Prometheus rule file has a top-level groups list' }] };
  const names = new Map<string, number>();
  const documents: unknown[] = [];
  file.groups.forEach((g, i) => {
    const at = `/groups/${i}`;
    if (!isObject(g) || typeof g.name !== 'string' || !g.name) {
      issues.push({ pointer: `${at}/name`, message: 'each group needs a name' });
      return;
    }
    const name = resourceName(g.name);
    const clash = names.get(name);
    if (clash !== undefined)
      issues.push({ pointer: `${at}/name`, message: `"${g.name}" and group ${clash} both become AlertRule '${name}'` });
    names.set(name, i);
    if (!Array.isArray(g.rules) || !g.rules.length) {
      issues.push({ pointer: `${at}/rules`, message: 'must be a non-empty list' });
      return;
    }
    const rules: Record<string, unknown>[] = [];
    g.rules.forEach((r, j) => {
      if (!isObject(r)) {
        issues.push({ pointer: `${at}/rules/${j}`, message: 'must be an object' });
        return;
      }
      if (r.record !== undefined) {
        issues.push({
          pointer: `${at}/rules/${j}/record`,
          message: 'recording rules are not supported; use the expression directly or keep this rule in Prometheus',
        });
        return;
      }
      for (const key of Object.keys(r))
        if (!RULE_KEYS.has(key)) issues.push({ pointer: `${at}/rules/${j}/${key}`, message: `unknown rule field '${key}'` });
      rules.push(r);
    });
    documents.push({
      apiVersion: 'opsdeck.dev/v1',
      kind: ALERT_RULE_KIND,
      metadata: { name, annotations: { 'opsdeck.dev/prometheus-group': g.name } },
      spec: {
        ...(typeof g.interval === 'string' ? { interval: g.interval } : {}),
        ...(options.service ? { service: options.service } : {}),
        ...(options.provider ? { provider: options.provider } : {}),
        rules,
      },
    });
  });
  return { documents: issues.length ? [] : documents, issues };
}
