import { createHash } from 'node:crypto';
import { transaction } from '../../../core/db/database.js';
import { newId } from '../../../core/ids.js';
import type { Core } from '../../../core/module.js';
import type { StoredResource } from '../../../core/resources/resources.js';
import type { Labels, QueryData, TelemetryApi } from '../../telemetry/index.js';
import { parsePromDuration } from '../../telemetry/index.js';
import type { AlertingAlertsTable } from '../alerting.tables.js';
import type { AlertRuleSpec, RuleSpec } from './rule.schema.js';
import { expandTemplate } from './templates.js';

export const ALERT_EVENTS = { firing: 'alerting.alert.firing', resolved: 'alerting.alert.resolved' } as const;

/** Resolved alerts stay visible this long (Prometheus keeps them 15 minutes for its senders). */
const RESOLVED_RETENTION_MS = 15 * 60_000;
export const DEFAULT_INTERVAL_MS = 15_000;

export interface RuleEngineContext {
  core: Core;
  telemetry: TelemetryApi;
  /** Samples of an anomaly rule that are anomalous now, with the detector's sentence. */
  anomalous?(rule: RuleSpec, group: StoredResource<AlertRuleSpec>, now: number): Promise<ResultSample[]>;
}

/** One series of a rule's result: its labels and value, plus extra annotations (anomaly reasons). */
export interface ResultSample {
  labels: Labels;
  value: number;
  annotations?: Record<string, string>;
}

/** The id of rule `index` in a group: `group/alert`, with `#n` when a group repeats an alert name. */
export function ruleId(group: string, rules: RuleSpec[], index: number): string {
  const name = rules[index]!.alert;
  const same = rules.slice(0, index).filter((r) => r.alert === name).length;
  return same ? `${group}/${name}#${same + 1}` : `${group}/${name}`;
}

export function groupIntervalMs(spec: AlertRuleSpec): number {
  return Math.max(1000, spec.interval ? parsePromDuration('interval', spec.interval) : DEFAULT_INTERVAL_MS);
}

function samplesOf(data: QueryData): ResultSample[] {
  if (data.resultType === 'vector') return data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
  if (data.resultType === 'scalar') return [{ labels: {}, value: Number(data.result[1]) }];
  throw new Error(`rule expressions must return an instant vector or a scalar, got ${data.resultType}`);
}

function fingerprint(labels: Labels): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((k) => [k, labels[k]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('base64url').slice(0, 32);
}

/** Evaluates every rule of one group at `now` and applies the state transitions. */
export async function evaluateGroup(ctx: RuleEngineContext, group: StoredResource<AlertRuleSpec>, now: number): Promise<void> {
  const started = performance.now();
  const errors: string[] = [];
  for (const [index, rule] of group.spec.rules.entries()) {
    const id = ruleId(group.metadata.name, group.spec.rules, index);
    try {
      const samples = rule.anomaly
        ? ((await ctx.anomalous?.(rule, group, now)) ?? [])
        : samplesOf(await ctx.telemetry.query({ query: rule.expr, time: now, provider: group.spec.provider }));
      await applyResult(ctx, group, rule, id, samples, now);
    } catch (err) {
      errors.push(`${rule.alert}: ${(err as Error).message}`);
    }
  }
  const row = {
    rule: group.metadata.name,
    last_eval_at: now,
    last_duration_ms: Math.round(performance.now() - started),
    health: errors.length ? ('err' as const) : ('ok' as const),
    last_error: errors.length ? errors.join('; ').slice(0, 2000) : null,
  };
  await ctx.core.db
    .insertInto('alerting_rule_state')
    .values(row)
    .onConflict((oc) => oc.column('rule').doUpdateSet(row))
    .execute();
}

/**
 * Prometheus' alert state machine for one rule: new series go pending (or straight to firing
 * without `for`), pending ones fire once `for` has passed, pending ones that vanish are dropped,
 * firing ones that vanish resolve after `keep_firing_for`. Written in one transaction with the
 * firing/resolved events, so an alert fires exactly once even across restarts.
 */
async function applyResult(
  ctx: RuleEngineContext,
  group: StoredResource<AlertRuleSpec>,
  rule: RuleSpec,
  id: string,
  samples: ResultSample[],
  now: number,
): Promise<void> {
  const forMs = rule.for ? parsePromDuration('for', rule.for) : 0;
  const keepMs = rule.keep_firing_for ? parsePromDuration('keep_firing_for', rule.keep_firing_for) : 0;
  const seen = new Map<string, { labels: Labels; annotations: Record<string, string>; value: number }>();
  for (const s of samples) {
    const base: Labels = { ...s.labels };
    delete base.__name__;
    const labels: Labels = { ...base };
    for (const [k, v] of Object.entries(rule.labels ?? {})) labels[k] = expandTemplate(v, base, s.value);
    labels.alertname = rule.alert;
    if (!labels.service && group.spec.service) labels.service = group.spec.service;
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(rule.annotations ?? {})) annotations[k] = expandTemplate(v, base, s.value);
    Object.assign(annotations, s.annotations ?? {});
    seen.set(fingerprint(labels), { labels, annotations, value: s.value });
  }

  await transaction(ctx.core.db, async (tx) => {
    const existing = await tx.selectFrom('alerting_alerts').selectAll().where('rule', '=', id).execute();
    const byFp = new Map(existing.map((a) => [a.fingerprint, a]));
    const fire = async (
      a: Pick<AlertingAlertsTable, 'id' | 'labels' | 'annotations' | 'active_at' | 'value'>,
      what: 'firing' | 'resolved',
    ) => {
      const labels = JSON.parse(a.labels) as Labels;
      await ctx.core.events.publish(tx, {
        type: ALERT_EVENTS[what],
        service: labels.service ?? null,
        subject: a.id,
        data: {
          id: a.id,
          rule: id,
          group: group.metadata.name,
          labels,
          annotations: JSON.parse(a.annotations),
          value: a.value,
          activeAt: a.active_at,
          at: now,
        },
      });
    };

    for (const [fp, s] of seen) {
      const prev = byFp.get(fp);
      const labels = JSON.stringify(s.labels);
      const annotations = JSON.stringify(s.annotations);
      const active = prev && (prev.state === 'pending' || prev.state === 'firing');
      const activeAt = active ? prev.active_at : now;
      const firing = (active && prev.state === 'firing') || now - activeAt >= forMs;
      const row = {
        labels,
        annotations,
        value: Number.isFinite(s.value) ? s.value : null,
        state: firing ? ('firing' as const) : ('pending' as const),
        active_at: activeAt,
        fired_at: firing ? (active && prev.state === 'firing' ? prev.fired_at : now) : null,
        resolved_at: null,
        last_seen_at: now,
        updated_at: now,
      };
      if (prev) await tx.updateTable('alerting_alerts').set(row).where('id', '=', prev.id).execute();
      const alertId = prev?.id ?? newId('alt');
      if (!prev)
        await tx
          .insertInto('alerting_alerts')
          .values({ id: alertId, rule: id, fingerprint: fp, ...row })
          .execute();
      if (firing && !(active && prev.state === 'firing'))
        await fire({ id: alertId, labels, annotations, active_at: activeAt, value: row.value }, 'firing');
    }

    for (const a of existing) {
      if (seen.has(a.fingerprint)) continue;
      if (a.state === 'pending') {
        await tx.deleteFrom('alerting_alerts').where('id', '=', a.id).execute();
      } else if (a.state === 'firing' && now - a.last_seen_at >= keepMs) {
        await tx
          .updateTable('alerting_alerts')
          .set({ state: 'resolved', resolved_at: now, updated_at: now })
          .where('id', '=', a.id)
          .execute();
        await fire(a, 'resolved');
      } else if (a.state === 'resolved' && a.resolved_at !== null && now - a.resolved_at > RESOLVED_RETENTION_MS) {
        await tx.deleteFrom('alerting_alerts').where('id', '=', a.id).execute();
      }
    }
  });
}
