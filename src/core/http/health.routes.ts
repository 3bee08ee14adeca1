import { sql } from 'kysely';
import type { Registry } from 'prom-client';
import type { Core, RouteDefinition } from '../module.js';

export interface HealthState {
  /** False once shutdown has begun, so load balancers stop sending traffic. */
  accepting: boolean;
  pendingMigrations: () => Promise<string[]>;
}

export function healthRoutes(core: Core, metrics: Registry, state: HealthState): RouteDefinition[] {
  return [
    {
      method: 'GET',
      url: '/healthz',
      access: 'public',
      operationId: 'liveness',
      summary: 'Liveness: the process is up (does not touch the database)',
      tags: ['meta'],
      handler: async () => ({ status: 'ok' }),
    },
    {
      method: 'GET',
      url: '/readyz',
      access: 'public',
      operationId: 'readiness',
      summary: 'Readiness: the database is reachable and every migration is applied',
      tags: ['meta'],
      handler: async (_req, reply) => {
        if (!state.accepting) return reply.status(503).send({ status: 'not_ready', reason: 'shutting down' });
        try {
          await sql`select 1`.execute(core.db);
        } catch (err) {
          return reply.status(503).send({ status: 'not_ready', reason: `database unreachable: ${(err as Error).message}` });
        }
        const pending = await state.pendingMigrations();
        if (pending.length) return reply.status(503).send({ status: 'not_ready', reason: `pending migrations: ${pending.join(', ')}` });
        return { status: 'ready' };
      },
    },
    {
      method: 'GET',
      url: '/metrics',
      access: 'public',
      operationId: 'metrics',
      summary: "opsdeck's own metrics in Prometheus exposition format",
      tags: ['meta'],
      handler: async (_req, reply) => reply.header('content-type', metrics.contentType).send(await metrics.metrics()),
    },
  ];
}
