import type { FastifyReply, FastifyRequest } from 'fastify';
import { transaction } from '../../../core/db/database.js';
import { AppError, type FieldIssue, validationFailed } from '../../../core/errors.js';
import type { Core, RouteDefinition } from '../../../core/module.js';
import { type IncomingGroup, ingestGroup } from '../groups/groups.service.js';
import { INTEGRATION_KIND, type IntegrationSpec } from '../integrations/integration.kind.js';
import { parseAlertmanagerWebhook } from './alertmanager.js';
import { parseGenericWebhook } from './generic.js';
import { type PagerDutyEvent, pagerDutyGroup, parsePagerDutyChange, parsePagerDutyEvent } from './pagerduty.js';
import { parsePostableAlerts } from './prometheus.js';

export const JOB_EXPIRE_ALERT = 'alerting.alert.expire';
export const CHANGE_EVENT = 'alerting.change.received';

/** PagerDuty's own limits: 512 KB per event, 120 events per minute per routing key. */
const PAGERDUTY_BODY_LIMIT = 512 * 1024;
const PAGERDUTY_EVENTS_PER_MINUTE = 120;
const INTAKE_BODY_LIMIT = 4 * 1024 * 1024;

interface Integration {
  name: string;
  spec: IntegrationSpec;
}

/** Fixed one-minute windows per key, in memory: a limit per replica, like a load balancer's. */
class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  constructor(private readonly perMinute: number) {}
  /** Seconds to wait, or 0 when allowed. */
  take(key: string, now: number): number {
    const w = this.windows.get(key);
    if (!w || now - w.start >= 60_000) {
      this.windows.set(key, { start: now, count: 1 });
      if (this.windows.size > 10_000) this.windows.clear();
      return 0;
    }
    if (w.count >= this.perMinute) return Math.ceil((w.start + 60_000 - now) / 1000);
    w.count++;
    return 0;
  }
}

export function intakeRoutes(core: Core): RouteDefinition[] {
  const limiter = new RateLimiter(PAGERDUTY_EVENTS_PER_MINUTE);

  /** The integration holding `key`: 404 unknown, 403 disabled, 400 wrong type for this endpoint. */
  async function integrationFor(key: string | undefined, type: IntegrationSpec['type'] | IntegrationSpec['type'][]): Promise<Integration> {
    const row = key
      ? await core.db.selectFrom('alerting_integration_keys').select('integration').where('key', '=', key).executeTakeFirst()
      : undefined;
    const res = row ? await core.resources.get<IntegrationSpec>(INTEGRATION_KIND, row.integration) : undefined;
    if (!res) throw new AppError(404, 'not_found', 'no integration has this key (rotated or deleted?)');
    if (res.spec.disabled) throw new AppError(403, 'forbidden', `integration '${res.metadata.name}' is disabled`);
    const types = Array.isArray(type) ? type : [type];
    if (!types.includes(res.spec.type)) {
      throw new AppError(
        400,
        'bad_request',
        `integration '${res.metadata.name}' is of type ${res.spec.type}; this endpoint takes ${types.join(' or ')}`,
      );
    }
    return { name: res.metadata.name, spec: res.spec };
  }

  /** Writes the groups in one transaction; Prometheus alerts with an endsAt get a timer that resolves them. */
  async function ingest(groups: IncomingGroup[]) {
    const now = core.clock.now();
    return transaction(core.db, async (tx) => {
      const outcomes = [];
      for (const g of groups) {
        const outcome = await ingestGroup(core, tx, g, now);
        outcomes.push(outcome);
        if (g.source !== 'prometheus' || !outcome.groupId) continue;
        for (const a of g.alerts) {
          if (a.status !== 'firing' || a.endsAt === null) continue;
          await core.jobs.schedule(
            JOB_EXPIRE_ALERT,
            { groupId: outcome.groupId, fingerprint: a.fingerprint, endsAt: a.endsAt },
            { tx, runAt: a.endsAt, dedupKey: `expire:${outcome.groupId}:${a.fingerprint}` },
          );
        }
      }
      return outcomes;
    });
  }

  const refuse = (issues: FieldIssue[], what: string) => {
    throw validationFailed(`invalid ${what}: ${issues.map((i) => `${i.pointer || '/'} ${i.message}`).join('; ')}`, issues);
  };
  const base = { access: 'public' as const, tags: ['intake'] };

  return [
    {
      ...base,
      method: 'POST',
      url: '/api/v1/intake/alertmanager/:key',
      operationId: 'intakeAlertmanager',
      summary: "Alertmanager webhook (v4): point a receiver's webhook_configs url here",
      bodyLimit: INTAKE_BODY_LIMIT,
      async handler(request) {
        const integration = await integrationFor((request.params as { key: string }).key, 'alertmanager');
        const { group, issues } = parseAlertmanagerWebhook(request.body, {
          integration: integration.name,
          service: integration.spec.service,
          now: core.clock.now(),
        });
        if (!group) refuse(issues, 'Alertmanager webhook');
        const [outcome] = await ingest([group!]);
        return { status: 'success', group: outcome?.groupId ?? null, opened: outcome?.opened ?? false, repeats: outcome?.repeats ?? 0 };
      },
    },
    {
      ...base,
      method: 'POST',
      url: '/api/v2/alerts',
      operationId: 'intakePrometheusAlerts',
      summary:
        "Alertmanager's API for Prometheus: postable alerts, authenticated with the integration key as bearer token or basic-auth password",
      bodyLimit: INTAKE_BODY_LIMIT,
      async handler(request, reply) {
        const integration = await integrationFor(keyFromAuthorization(request), 'prometheus');
        const { groups, issues } = parsePostableAlerts(request.body, {
          integration: integration.name,
          service: integration.spec.service,
          groupBy: integration.spec.groupBy ?? ['alertname'],
          now: core.clock.now(),
        });
        if (issues.length) refuse(issues, 'alerts');
        await ingest(groups);
        return reply.status(200).send();
      },
    },
    {
      ...base,
      method: 'POST',
      url: '/api/v1/intake/generic/:key',
      operationId: 'intakeGeneric',
      summary: 'Generic JSON alert webhook (schema in docs/alerting.md)',
      bodyLimit: INTAKE_BODY_LIMIT,
      async handler(request) {
        const integration = await integrationFor((request.params as { key: string }).key, 'generic');
        const { groups, issues } = parseGenericWebhook(request.body, {
          integration: integration.name,
          service: integration.spec.service,
          groupBy: integration.spec.groupBy ?? ['alertname'],
          now: core.clock.now(),
        });
        if (issues.length) refuse(issues, 'alerts');
        const outcomes = await ingest(groups);
        return { status: 'success', groups: outcomes.map((o) => o.groupId).filter((g) => g !== null) };
      },
    },
    {
      ...base,
      method: 'POST',
      url: '/api/v1/intake/pagerduty/v2/enqueue',
      operationId: 'intakePagerDutyEvent',
      summary: 'PagerDuty Events API v2 (routing_key = integration key)',
      bodyLimit: PAGERDUTY_BODY_LIMIT,
      async handler(request, reply) {
        const { event, errors } = parsePagerDutyEvent(request.body);
        if (!event) return reply.status(400).send({ status: 'invalid event', message: 'Event object is invalid', errors });
        const integration = await pagerDutyIntegration(event.routingKey, reply);
        if (!integration) return reply;
        const group = pagerDutyGroup(event as PagerDutyEvent, {
          integration: integration.name,
          service: integration.spec.service,
          now: core.clock.now(),
        });
        await ingest([group]);
        return reply.status(202).send({ status: 'success', message: 'Event processed', dedup_key: event.dedupKey });
      },
    },
    {
      ...base,
      method: 'POST',
      url: '/api/v1/intake/pagerduty/v2/change/enqueue',
      operationId: 'intakePagerDutyChange',
      summary: 'PagerDuty change events: recorded on the change timeline, never notify',
      bodyLimit: PAGERDUTY_BODY_LIMIT,
      async handler(request, reply) {
        const { change, errors } = parsePagerDutyChange(request.body);
        if (!change) return reply.status(400).send({ status: 'invalid event', message: 'Event object is invalid', errors });
        const integration = await pagerDutyIntegration(change.routingKey, reply);
        if (!integration) return reply;
        await transaction(core.db, (tx) =>
          core.events.publish(tx, {
            type: CHANGE_EVENT,
            service: integration.spec.service,
            subject: `Integration/${integration.name}`,
            actor: `integration:${integration.name}`,
            change: true,
            data: {
              summary: change.summary,
              source: change.source ?? null,
              timestamp: change.timestamp ?? null,
              details: change.details ?? null,
              links: change.links ?? null,
            },
          }),
        );
        return reply.status(202).send({ status: 'success', message: 'Change event processed' });
      },
    },
  ];

  /** PagerDuty answers rate limits with 429 and errors in its own shape; undefined when already answered. */
  async function pagerDutyIntegration(routingKey: string, reply: FastifyReply): Promise<Integration | undefined> {
    const wait = limiter.take(routingKey, core.clock.now());
    if (wait > 0) {
      reply
        .status(429)
        .header('retry-after', String(wait))
        .send({ status: 'throttle event', message: 'Requests for this routing key are being throttled' });
      return undefined;
    }
    try {
      return await integrationFor(routingKey, 'pagerduty');
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      reply.status(err.status).send({ status: 'invalid event', message: err.message, errors: [err.message] });
      return undefined;
    }
  }
}

/** The key Prometheus sends as `authorization: { credentials: KEY }` (bearer) or basic_auth password. */
function keyFromAuthorization(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization ?? '';
  const bearer = /^Bearer\s+(\S+)$/i.exec(header);
  if (bearer) return bearer[1];
  const basic = /^Basic\s+(\S+)$/i.exec(header);
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString();
    return decoded.slice(decoded.indexOf(':') + 1);
  }
  return undefined;
}
