import { Type } from '@sinclair/typebox';
import type { Core, RouteDefinition } from '../module.js';
import { ROLES } from './roles.js';

const TokenInfo = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Type.String(),
  createdAt: Type.Integer(),
  createdBy: Type.String(),
  lastUsedAt: Type.Union([Type.Integer(), Type.Null()]),
  revokedAt: Type.Union([Type.Integer(), Type.Null()]),
});

export function authRoutes(core: Core): RouteDefinition[] {
  return [
    {
      method: 'GET',
      url: '/api/v1/whoami',
      access: 'viewer',
      operationId: 'whoami',
      summary: 'The token making this request and its role',
      tags: ['auth'],
      handler: async (req) => ({ name: req.actor.name, role: req.actor.role }),
    },
    {
      method: 'POST',
      url: '/api/v1/tokens',
      access: 'admin',
      operationId: 'createToken',
      summary: 'Create an API token; the secret is returned once',
      tags: ['auth'],
      schema: {
        body: Type.Object(
          { name: Type.String({ minLength: 1, maxLength: 63 }), role: Type.Union(ROLES.map((r) => Type.Literal(r))) },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ token: Type.String(), info: TokenInfo }) },
      },
      handler: async (req, reply) => {
        const body = req.body as { name: string; role: (typeof ROLES)[number] };
        const created = await core.auth.createToken({ name: body.name, role: body.role, by: req.actor });
        return reply.status(201).send(created);
      },
    },
    {
      method: 'GET',
      url: '/api/v1/tokens',
      access: 'admin',
      operationId: 'listTokens',
      summary: 'List tokens (never their secrets)',
      tags: ['auth'],
      schema: { response: { 200: Type.Object({ items: Type.Array(TokenInfo) }) } },
      handler: async () => ({ items: await core.auth.listTokens() }),
    },
    {
      method: 'DELETE',
      url: '/api/v1/tokens/:name',
      access: 'admin',
      operationId: 'revokeToken',
      summary: 'Revoke a token by name',
      tags: ['auth'],
      schema: { params: Type.Object({ name: Type.String() }), response: { 200: Type.Object({ info: TokenInfo }) } },
      handler: async (req) => ({ info: await core.auth.revokeToken((req.params as { name: string }).name, req.actor) }),
    },
  ];
}
