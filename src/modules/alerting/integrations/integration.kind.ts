import { randomBytes } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import type { Executor } from '../../../core/db/database.js';
import type { KindDefinition } from '../../../core/resources/resources.js';

export const INTEGRATION_KIND = 'Integration';
export const INTEGRATION_TYPES = ['alertmanager', 'prometheus', 'pagerduty', 'generic'] as const;

export const IntegrationSpec = Type.Object({
  /** The service its alerts concern (a `service` label on an alert overrides it). */
  service: Type.String({ minLength: 1, maxLength: 63 }),
  type: Type.Union(INTEGRATION_TYPES.map((t) => Type.Literal(t))),
  /** A disabled integration refuses intake with 403 (its key keeps working once re-enabled). */
  disabled: Type.Optional(Type.Boolean()),
  /** prometheus and generic: labels that make a group (default: alertname). */
  groupBy: Type.Optional(Type.Array(Type.String({ pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' }), { maxItems: 20 })),
});
export type IntegrationSpec = Static<typeof IntegrationSpec>;

/** 32 hex characters: the shape of a PagerDuty routing key, so PagerDuty clients accept it. */
export function newIntegrationKey(): string {
  return randomBytes(16).toString('hex');
}

async function ensureKey(tx: Executor, integration: string, now: number): Promise<void> {
  await tx
    .insertInto('alerting_integration_keys')
    .values({ integration, key: newIntegrationKey(), created_at: now, rotated_at: null })
    .onConflict((oc) => oc.column('integration').doNothing())
    .execute();
}

/** The `Integration` kind: its key is generated in the apply transaction that creates it. */
export function integrationKind(now: () => number): KindDefinition<IntegrationSpec> {
  return {
    kind: INTEGRATION_KIND,
    module: 'alerting',
    description: 'An alert source (Alertmanager, Prometheus, PagerDuty Events v2 senders, generic webhooks) authenticated by its key.',
    spec: IntegrationSpec,
    refs: (spec) => [{ kind: 'Service', name: spec.service, pointer: '/spec/service' }],
    service: (doc) => doc.spec.service,
    async onApply(tx, doc) {
      await ensureKey(tx, doc.metadata.name, now());
    },
    async onDelete(tx, doc) {
      await tx.deleteFrom('alerting_integration_keys').where('integration', '=', doc.metadata.name).execute();
    },
    columns: [
      { header: 'TYPE', value: (d) => d.spec.type },
      { header: 'SERVICE', value: (d) => d.spec.service },
      { header: 'ENABLED', value: (d) => (d.spec.disabled ? 'no' : 'yes') },
    ],
  };
}
