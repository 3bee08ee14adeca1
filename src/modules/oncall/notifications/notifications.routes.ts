import { Type } from '@sinclair/typebox';
import { transaction } from '../../../core/db/database.js';
import { validationFailed } from '../../../core/errors.js';
import type { Core, RouteDefinition } from '../../../core/module.js';
import type { CatalogApi } from '../../catalog/index.js';
import type { NotificationsApi } from '../contracts.js';
import type { Secrets } from '../secrets.js';
import type { OncallDeliveriesTable } from './notifications.tables.js';

export interface DeliveryView {
  id: string;
  status: string;
  pageId: string | null;
  user: string | null;
  event: string;
  title: string;
  contact: string;
  channel: string;
  attempts: {
    n: number;
    at: number;
    channel: string;
    destination: string;
    outcome: string;
    statusCode: number | null;
    error: string | null;
    durationMs: number;
  }[];
  lastError: string | null;
  sendAt: number;
  createdAt: number;
  sentAt: number | null;
}

export function notificationRoutes(
  core: Core,
  deps: { catalog: CatalogApi; secrets: Secrets; queue: NotificationsApi },
): RouteDefinition[] {
  const view = async (rows: OncallDeliveriesTable[]): Promise<DeliveryView[]> => {
    const ids = rows.map((r) => r.id);
    const attempts = ids.length
      ? await core.db
          .selectFrom('oncall_delivery_attempts')
          .selectAll()
          .where('delivery_id', 'in', ids)
          .orderBy('delivery_id')
          .orderBy('n')
          .execute()
      : [];
    return rows.map((r) => {
      const contacts = JSON.parse(r.contacts) as { name: string; type: string }[];
      const message = JSON.parse(r.message) as { event: string; title: string };
      const contact = contacts[r.contact_index]!;
      return {
        id: r.id,
        status: r.status,
        pageId: r.page_id,
        user: r.user,
        event: message.event,
        title: message.title,
        contact: contact.name,
        channel: contact.type,
        attempts: attempts
          .filter((a) => a.delivery_id === r.id)
          .map((a) => ({
            n: a.n,
            at: Number(a.at),
            channel: a.channel,
            destination: a.destination,
            outcome: a.outcome,
            statusCode: a.status_code,
            error: a.error,
            durationMs: a.duration_ms,
          })),
        lastError: r.last_error,
        sendAt: Number(r.send_at),
        createdAt: Number(r.created_at),
        sentAt: r.sent_at === null ? null : Number(r.sent_at),
      };
    });
  };

  return [
    {
      method: 'GET',
      url: '/api/v1/notifications',
      access: 'viewer',
      operationId: 'listNotifications',
      summary: 'The delivery log: every notification with each attempt, newest first',
      tags: ['oncall'],
      schema: {
        querystring: Type.Object({
          page: Type.Optional(Type.String({ maxLength: 40 })),
          user: Type.Optional(Type.String({ maxLength: 63 })),
          status: Type.Optional(Type.Union(['queued', 'sent', 'failed', 'cancelled'].map((s) => Type.Literal(s)))),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
        }),
      },
      async handler(request) {
        const q = request.query as { page?: string; user?: string; status?: OncallDeliveriesTable['status']; limit?: number };
        let query = core.db
          .selectFrom('oncall_deliveries')
          .selectAll()
          .orderBy('created_at', 'desc')
          .orderBy('id', 'desc')
          .limit(q.limit ?? 100);
        if (q.page) query = query.where('page_id', '=', q.page);
        if (q.user) query = query.where('user', '=', q.user);
        if (q.status) query = query.where('status', '=', q.status);
        return { items: await view(await query.execute()) };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/notifications/signing-secret',
      access: 'admin',
      operationId: 'webhookSigningSecret',
      summary: 'The key webhook receivers verify x-opsdeck-signature with (base64)',
      tags: ['oncall'],
      async handler() {
        return {
          secret: (await deps.secrets.get('webhook-signing')).toString('base64'),
          algorithm: 'HMAC-SHA256 over "<x-opsdeck-timestamp>.<body>", hex, as v1=<hex>',
        };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/notifications/test',
      access: 'responder',
      operationId: 'sendTestNotification',
      summary: "Sends a test notification to a user's contacts (or one named contact)",
      tags: ['oncall'],
      schema: {
        body: Type.Object(
          { user: Type.String({ minLength: 1, maxLength: 63 }), contact: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })) },
          { additionalProperties: false },
        ),
      },
      async handler(request, reply) {
        const body = request.body as { user: string; contact?: string };
        const user = await deps.catalog.getUser(body.user);
        if (!user) throw validationFailed('unknown user', [{ pointer: '/user', message: `User '${body.user}' does not exist` }]);
        const contacts = user.spec.contacts ?? [];
        if (contacts.length === 0)
          throw validationFailed('no contacts', [{ pointer: '/user', message: `User '${body.user}' has no contacts` }]);
        const chosen = body.contact ? contacts.filter((c) => c.name === body.contact) : contacts;
        if (chosen.length === 0) {
          throw validationFailed('unknown contact', [
            {
              pointer: '/contact',
              message: `'${body.contact}' is not one of ${body.user}'s contacts (${contacts.map((c) => c.name).join(', ')})`,
            },
          ]);
        }
        const now = core.clock.now();
        const ids: string[] = [];
        await transaction(core.db, async (tx) => {
          // Each contact on its own, so the test says which ones work (no fallback between them).
          for (const contact of chosen) {
            const key = `test:${body.user}:${contact.name}:${now}:${Math.random().toString(36).slice(2)}`;
            await deps.queue.enqueue(tx, {
              idempotencyKey: key,
              user: body.user,
              contacts: [contact],
              message: {
                event: 'test',
                title: `Test notification for ${body.user}`,
                summary: `Sent by ${request.actor.name} to check the ${contact.name} contact.`,
                urgency: 'low',
                paged: [body.user],
                changes: [],
                at: now,
              },
            });
            ids.push(key);
          }
          await core.audit.record(tx, {
            actor: request.actor,
            action: 'oncall.notification.test',
            target: `user/${body.user}`,
            change: { contacts: chosen.map((c) => c.name) },
          });
        });
        const rows = await core.db.selectFrom('oncall_deliveries').selectAll().where('idempotency_key', 'in', ids).execute();
        return reply.status(202).send({ items: await view(rows) });
      },
    },
  ];
}
