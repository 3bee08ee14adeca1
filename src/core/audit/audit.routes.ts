import { Type } from '@sinclair/typebox';
import { EpochMs, Limit } from '../http/schemas.js';
import type { Core, RouteDefinition } from '../module.js';

export function auditRoutes(core: Core): RouteDefinition[] {
  return [
    {
      method: 'GET',
      url: '/api/v1/audit',
      access: 'admin',
      operationId: 'listAudit',
      summary: 'Audit log entries, newest first',
      tags: ['audit'],
      schema: {
        querystring: Type.Object(
          {
            actor: Type.Optional(Type.String()),
            action: Type.Optional(Type.String()),
            target: Type.Optional(Type.String()),
            since: Type.Optional(EpochMs),
            beforeSeq: Type.Optional(Type.Integer({ minimum: 1 })),
            limit: Limit,
          },
          { additionalProperties: false },
        ),
      },
      handler: async (req) => ({ items: await core.audit.list(req.query as Parameters<Core['audit']['list']>[0]) }),
    },
    {
      method: 'GET',
      url: '/api/v1/audit/verify',
      access: 'admin',
      operationId: 'verifyAudit',
      summary: 'Recompute the hash chain; names the first broken row',
      tags: ['audit'],
      handler: async () => core.audit.verify(),
    },
  ];
}
