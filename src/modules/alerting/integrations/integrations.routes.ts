import type { FastifyRequest } from 'fastify';
import { transaction } from '../../../core/db/database.js';
import { notFound } from '../../../core/errors.js';
import type { Core, RouteDefinition } from '../../../core/module.js';
import { INTEGRATION_KIND, type IntegrationSpec, newIntegrationKey } from './integration.kind.js';

export interface IntegrationUrl {
  integration: string;
  type: IntegrationSpec['type'];
  /** Where the sender posts. */
  url: string;
  /** pagerduty: the routing_key; prometheus: the bearer credential. */
  key: string;
  /** A ready-to-paste snippet of the sender's configuration. */
  hint: string;
}

function urlFor(base: string, name: string, type: IntegrationSpec['type'], key: string): IntegrationUrl {
  switch (type) {
    case 'alertmanager':
      return {
        integration: name,
        type,
        key,
        url: `${base}/api/v1/intake/alertmanager/${key}`,
        hint: `receivers: [{ name: opsdeck, webhook_configs: [{ url: "${base}/api/v1/intake/alertmanager/${key}" }] }]`,
      };
    case 'prometheus':
      return {
        integration: name,
        type,
        key,
        url: `${base}/api/v2/alerts`,
        hint: `alerting: { alertmanagers: [{ api_version: v2, scheme: ${base.split(':')[0]}, static_configs: [{ targets: ["${base.replace(/^https?:\/\//, '')}"] }], authorization: { credentials: "${key}" } }] }`,
      };
    case 'pagerduty':
      return {
        integration: name,
        type,
        key,
        url: `${base}/api/v1/intake/pagerduty/v2/enqueue`,
        hint: `routing_key: ${key} (change events: ${base}/api/v1/intake/pagerduty/v2/change/enqueue)`,
      };
    case 'generic':
      return {
        integration: name,
        type,
        key,
        url: `${base}/api/v1/intake/generic/${key}`,
        hint: 'POST {"alerts":[{"status":"firing","title":"...","labels":{}}]}',
      };
  }
}

/** The server's own base URL as the caller reached it. */
function baseUrl(request: FastifyRequest): string {
  return `${request.protocol}://${request.headers.host ?? 'localhost'}`;
}

export function integrationRoutes(core: Core): RouteDefinition[] {
  async function integration(name: string) {
    const res = await core.resources.get<IntegrationSpec>(INTEGRATION_KIND, name);
    const key = await core.db.selectFrom('alerting_integration_keys').selectAll().where('integration', '=', name).executeTakeFirst();
    if (!res || !key) throw notFound(`Integration '${name}' does not exist`);
    return { res, key };
  }
  return [
    {
      method: 'GET',
      url: '/api/v1/integrations/:name/url',
      // The key is a credential: only admins see it.
      access: 'admin',
      operationId: 'integrationUrl',
      summary: "An integration's intake URL and key",
      tags: ['alerting'],
      async handler(request) {
        const { name } = request.params as { name: string };
        const { res, key } = await integration(name);
        return urlFor(baseUrl(request), name, res.spec.type, key.key);
      },
    },
    {
      method: 'POST',
      url: '/api/v1/integrations/:name/rotate',
      access: 'admin',
      operationId: 'rotateIntegrationKey',
      summary: "Replaces an integration's key; the old one stops working at once",
      tags: ['alerting'],
      async handler(request) {
        const { name } = request.params as { name: string };
        const { res } = await integration(name);
        const key = newIntegrationKey();
        await transaction(core.db, async (tx) => {
          await tx
            .updateTable('alerting_integration_keys')
            .set({ key, rotated_at: core.clock.now() })
            .where('integration', '=', name)
            .execute();
          await core.audit.record(tx, { actor: request.actor, action: 'alerting.integration.rotate', target: `Integration/${name}` });
        });
        return urlFor(baseUrl(request), name, res.spec.type, key);
      },
    },
  ];
}
