import { type Executor, transaction } from '../../core/db/database.js';
import { defineModule } from '../../core/module.js';
import type { CatalogApi } from '../catalog/index.js';
import type { TelemetryApi } from '../telemetry/index.js';
import { alertingMigrations } from './alerting.migrations.js';
import { alertingRoutes } from './alerting.routes.js';
import { whatChanged } from './groups/changes.js';
import { groupRoutes } from './groups/groups.routes.js';
import { actOnGroup, expireAlert } from './groups/groups.service.js';
import { ruleAlertsSubscriber } from './groups/rule-alerts.js';
import { intakeRoutes, JOB_EXPIRE_ALERT } from './intake/intake.routes.js';
import { integrationKind } from './integrations/integration.kind.js';
import { integrationRoutes } from './integrations/integrations.routes.js';
import { JOB_NOTIFY, runNotify } from './notify/notify.js';
import { alertRoutingKind, maintenanceKind } from './notify/notify.kinds.js';
import { anomalousSamples } from './rules/anomaly-rule.js';
import { evaluateGroup, groupIntervalMs, type RuleEngineContext } from './rules/evaluate.js';
import { alertRuleKind } from './rules/rule.kind.js';
import { ALERT_RULE_KIND, type AlertRuleSpec } from './rules/rule.schema.js';
import { silenceRoutes } from './silences/silences.routes.js';

export { GROUP_EVENTS } from './groups/groups.service.js';

/** What other modules may ask of alerting. */
export interface AlertingApi {
  /** Acknowledges or resolves an alert group inside the caller's transaction (e.g. from a page). */
  actOnGroup(tx: Executor, input: { id: string; action: 'acknowledge' | 'resolve'; by: string; now: number }): Promise<unknown>;
  /**
   * Changes on a service and its dependencies in the window before `openedAt`, newest first. Reads
   * the change timeline on its own connection: call it before opening a transaction.
   */
  whatChanged(input: {
    service: string | null;
    openedAt: number;
    until: number;
  }): Promise<{ at: number; type: string; service: string | null; subject: string | null; actor: string | null }[]>;
}
export { INTEGRATION_KIND } from './integrations/integration.kind.js';
export { NOTIFY_EVENT } from './notify/notify.js';
export { ALERT_EVENTS } from './rules/evaluate.js';
export { ALERT_RULE_KIND } from './rules/rule.schema.js';

/**
 * Alerting: rules over any PromQL query (thresholds and anomaly detection), evaluated on their
 * group's interval with Prometheus' pending → firing → resolved state machine, persisted; intake
 * from Alertmanager, Prometheus, PagerDuty Events v2 and generic webhooks by Integration key; and
 * alert groups (dedup, partial resolve, ack/resolve) with what changed before they opened.
 */
export const alertingModule = defineModule<AlertingApi>({
  id: 'alerting',
  deps: ['catalog', 'telemetry'],
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
    core.resources.register(integrationKind(() => core.clock.now()));
    core.resources.register(alertRoutingKind());
    core.resources.register(maintenanceKind());
    const catalog = ctx.deps.catalog as CatalogApi;
    core.jobs.handle(JOB_NOTIFY, async ({ job }) => runNotify(core, catalog, (job.payload as { groupId: string }).groupId));
    core.events.subscribe(ruleAlertsSubscriber(core));
    core.jobs.handle(JOB_EXPIRE_ALERT, async ({ job }) => {
      const p = job.payload as { groupId: string; fingerprint: string; endsAt: number };
      await transaction(core.db, (tx) => expireAlert(core, tx, { ...p, now: core.clock.now() }));
    });

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

    const routes = [
      ...alertingRoutes(core),
      ...groupRoutes(core, catalog),
      ...intakeRoutes(core),
      ...integrationRoutes(core),
      ...silenceRoutes(core),
    ];
    for (const route of routes) ctx.route(route);
    return {
      actOnGroup: (tx, input) => actOnGroup(core, tx, input),
      whatChanged: (input) => whatChanged(core, catalog, input),
    };
  },
});
