import { defineModule } from '../../core/module.js';
import type { TelemetryApi } from '../telemetry/index.js';
import { alertingMigrations } from './alerting.migrations.js';
import { alertingRoutes } from './alerting.routes.js';
import { anomalousSamples } from './rules/anomaly-rule.js';
import { evaluateGroup, groupIntervalMs, type RuleEngineContext } from './rules/evaluate.js';
import { alertRuleKind } from './rules/rule.kind.js';
import { ALERT_RULE_KIND, type AlertRuleSpec } from './rules/rule.schema.js';

export { ALERT_EVENTS } from './rules/evaluate.js';
export { ALERT_RULE_KIND } from './rules/rule.schema.js';

/**
 * Alerting: rules over any PromQL query (thresholds and anomaly detection), evaluated on their
 * group's interval with Prometheus' pending → firing → resolved state machine, persisted.
 */
export const alertingModule = defineModule({
  id: 'alerting',
  deps: ['telemetry'],
  migrations: alertingMigrations,
  setup(ctx) {
    const { core } = ctx;
    const telemetry = ctx.deps.telemetry as TelemetryApi;
    const engine: RuleEngineContext = {
      core,
      telemetry,
      anomalous: (rule, group, now) => anomalousSamples(telemetry, rule, group, now),
    };
    core.resources.register(alertRuleKind());

    /** When each group last ran, seeded from the store so a restart keeps the cadence. */
    const lastRun = new Map<string, number>();
    let seeded = false;
    core.jobs.recurring({
      id: 'alerting.rules',
      scope: 'global',
      schedule: { every: 1000 },
      async run() {
        if (!seeded) {
          for (const r of await core.db.selectFrom('alerting_rule_state').select(['rule', 'last_eval_at']).execute()) {
            lastRun.set(r.rule, Number(r.last_eval_at));
          }
          seeded = true;
        }
        const now = core.clock.now();
        const groups = await core.resources.list<AlertRuleSpec>(ALERT_RULE_KIND);
        await Promise.all(
          groups.map(async (group) => {
            const last = lastRun.get(group.metadata.name) ?? 0;
            if (now - last < groupIntervalMs(group.spec)) return;
            lastRun.set(group.metadata.name, now);
            await evaluateGroup(engine, group, now);
          }),
        );
      },
    });

    for (const route of alertingRoutes(core)) ctx.route(route);
    return {};
  },
});
