import { Type } from '@sinclair/typebox';
import { parse as parseYaml } from 'yaml';
import { validationFailed } from '../../core/errors.js';
import type { Core, RouteDefinition } from '../../core/module.js';
import type { AlertingAlertsTable, AlertState } from './alerting.tables.js';
import { groupIntervalMs, ruleId } from './rules/evaluate.js';
import { ALERT_RULE_KIND, type AlertRuleSpec } from './rules/rule.schema.js';
import { ruleFileDocuments } from './rules/rule-file.js';

export interface AlertView {
  id: string;
  rule: string;
  state: AlertState;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number | null;
  activeAt: number;
  firedAt: number | null;
  resolvedAt: number | null;
}

function view(a: AlertingAlertsTable): AlertView {
  return {
    id: a.id,
    rule: a.rule,
    state: a.state,
    labels: JSON.parse(a.labels),
    annotations: JSON.parse(a.annotations),
    value: a.value === null ? null : Number(a.value),
    activeAt: Number(a.active_at),
    firedAt: a.fired_at === null ? null : Number(a.fired_at),
    resolvedAt: a.resolved_at === null ? null : Number(a.resolved_at),
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

export function alertingRoutes(core: Core): RouteDefinition[] {
  const alerts = async (state?: AlertState) => {
    let q = core.db.selectFrom('alerting_alerts').selectAll().orderBy('active_at', 'desc');
    if (state) q = q.where('state', '=', state);
    return (await q.execute()).map(view);
  };
  return [
    {
      method: 'POST',
      url: '/api/v1/rules/import',
      access: 'deployer',
      operationId: 'importPrometheusRules',
      summary: 'Apply a Prometheus rule file (groups: [...]) as AlertRule resources, one per group',
      tags: ['alerting'],
      schema: { querystring: Type.Object({ service: Type.Optional(Type.String()), provider: Type.Optional(Type.String()) }) },
      async handler(request) {
        const { service, provider } = request.query as { service?: string; provider?: string };
        let file: unknown = request.body;
        if (typeof file === 'string') {
          try {
            file = parseYaml(file);
          } catch (err) {
            const message = `the rule file is not YAML: ${(err as Error).message}`;
            throw validationFailed(message, [{ pointer: '', message }]);
          }
        }
        const { documents, issues } = ruleFileDocuments(file, { ...(service ? { service } : {}), ...(provider ? { provider } : {}) });
        if (issues.length)
          throw validationFailed(`${issues.length} problem${issues.length === 1 ? '' : 's'} in the rule file; nothing was applied`, issues);
        return { items: await core.resources.apply({ documents }, request.actor) };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/alerting/alerts',
      access: 'viewer',
      operationId: 'listRuleAlerts',
      summary: "Alerts from opsdeck's rules, newest first",
      tags: ['alerting'],
      schema: {
        querystring: Type.Object({
          state: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('firing'), Type.Literal('resolved')])),
        }),
      },
      async handler(request) {
        const { state } = request.query as { state?: AlertState };
        return { items: await alerts(state) };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/alerts',
      access: 'viewer',
      operationId: 'promAlerts',
      summary: 'Active alerts in the Prometheus API shape',
      tags: ['alerting'],
      async handler() {
        const active = (await alerts()).filter((a) => a.state !== 'resolved');
        return {
          status: 'success',
          data: {
            alerts: active.map((a) => ({
              labels: a.labels,
              annotations: a.annotations,
              state: a.state,
              activeAt: iso(a.activeAt),
              value: a.value === null ? 'NaN' : String(a.value),
            })),
          },
        };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/rules',
      access: 'viewer',
      operationId: 'promRules',
      summary: 'Rule groups with their state, in the Prometheus API shape',
      tags: ['alerting'],
      async handler() {
        const groups = await core.resources.list<AlertRuleSpec>(ALERT_RULE_KIND);
        const states = new Map((await core.db.selectFrom('alerting_rule_state').selectAll().execute()).map((s) => [s.rule, s]));
        const byRule = new Map<string, AlertView[]>();
        for (const a of await alerts()) {
          if (a.state === 'resolved') continue;
          const list = byRule.get(a.rule);
          if (list) list.push(a);
          else byRule.set(a.rule, [a]);
        }
        return {
          status: 'success',
          data: {
            groups: groups.map((g) => {
              const st = states.get(g.metadata.name);
              return {
                name: g.metadata.name,
                file: `${ALERT_RULE_KIND}/${g.metadata.name}`,
                interval: groupIntervalMs(g.spec) / 1000,
                lastEvaluation: st ? iso(Number(st.last_eval_at)) : '0001-01-01T00:00:00Z',
                evaluationTime: st ? Number(st.last_duration_ms) / 1000 : 0,
                rules: g.spec.rules.map((r, i) => {
                  const mine = byRule.get(ruleId(g.metadata.name, g.spec.rules, i)) ?? [];
                  return {
                    type: 'alerting',
                    name: r.alert,
                    query: r.expr,
                    duration: r.for ?? '0s',
                    keepFiringFor: r.keep_firing_for ?? '0s',
                    labels: r.labels ?? {},
                    annotations: r.annotations ?? {},
                    ...(r.anomaly ? { anomaly: r.anomaly } : {}),
                    state: mine.some((a) => a.state === 'firing') ? 'firing' : mine.length ? 'pending' : 'inactive',
                    alerts: mine.map((a) => ({
                      labels: a.labels,
                      annotations: a.annotations,
                      state: a.state,
                      activeAt: iso(a.activeAt),
                      value: String(a.value),
                    })),
                    health: st?.health ?? 'unknown',
                    lastError: st?.last_error ?? '',
                  };
                }),
              };
            }),
          },
        };
      },
    },
  ];
}
